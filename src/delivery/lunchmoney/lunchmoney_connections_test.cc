#include "delivery/lunchmoney/lunchmoney_connections.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/database.h"

namespace finsync::delivery::lunchmoney {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;

// A Lunch Money that knows some tokens and can be told to fail.
class FakeApi final : public LunchMoneyApi {
 public:
  struct Budget {
    User user;
    std::vector<Asset> assets;
  };
  std::map<std::string, Budget, std::less<>> budgets;
  std::optional<Error> next_error;  // Answered (once) instead of the next call.
  int calls = 0;

  Result<User> GetMe(std::string_view token) override {
    ++calls;
    if (auto error = TakeError()) return *error;
    auto budget = budgets.find(token);
    if (budget == budgets.end()) return Rejected();
    return budget->second.user;
  }
  Result<std::vector<Asset>> ListAssets(std::string_view token) override {
    ++calls;
    if (auto error = TakeError()) return *error;
    auto budget = budgets.find(token);
    if (budget == budgets.end()) return Rejected();
    return budget->second.assets;
  }
  Result<std::vector<InsertedTransaction>> InsertTransactions(std::string_view,
                                                              const std::vector<NewTransaction>&,
                                                              const InsertOptions&) override {
    return Error::Of(ErrorCode::kInternal, "not used");
  }
  Result<Transaction> GetTransaction(std::string_view, int64_t) override {
    return Error::Of(ErrorCode::kInternal, "not used");
  }
  Status UpdateTransaction(std::string_view, int64_t, const TransactionUpdate&) override {
    return Error::Of(ErrorCode::kInternal, "not used");
  }
  Result<std::vector<Transaction>> FindTransactions(std::string_view, int64_t, domain::Date,
                                                    domain::Date) override {
    return Error::Of(ErrorCode::kInternal, "not used");
  }
  Result<RemovalOutcome> RemoveTransaction(std::string_view, int64_t, std::string_view) override {
    return Error::Of(ErrorCode::kInternal, "not used");
  }

 private:
  static Error Rejected() {
    return Error::Of(ErrorCode::kUnauthenticated,
                     "Lunch Money rejected the access token (HTTP 401) while reading the user: "
                     "\"Access token does not exist.\".");
  }
  std::optional<Error> TakeError() {
    auto error = std::move(next_error);
    next_error.reset();
    return error;
  }
};

Asset MakeAsset(int64_t id, std::string name, std::string balance, std::string currency) {
  Asset asset;
  asset.id = id;
  asset.name = std::move(name);
  asset.type_name = "cash";
  asset.balance = std::move(balance);
  asset.currency = std::move(currency);
  return asset;
}

// A real SQLite file with two users, Alice's bank account, and a Lunch Money that knows
// Alice's token (two assets) and Bob's (one asset).
class LunchMoneyConnectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_lunchmoney_test_" + std::to_string(::getpid()) + "_" + test->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    auto database = store::Open((directory_ / "lm.db").string(), store::DatabaseOptions{});
    ASSERT_TRUE(database.ok()) << database.error().detail;
    database_ = std::move(database.value());
    box_ = std::make_unique<SecretBox>(SecretBox::GenerateKey());
    service_ =
        std::make_unique<ConnectionService>(*database_, clock_, *box_, api_, ConnectionLimits{2});
    alice_ = Insert("INSERT INTO users (email, created_at) VALUES ('alice@x', 0) RETURNING id");
    bob_ = Insert("INSERT INTO users (email, created_at) VALUES ('bob@x', 0) RETURNING id");
    int64_t bank = Insert(
        "INSERT INTO bank_connections (user_id, institution_id, integrator, status, "
        "max_historical_days, access_valid_for_days, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", 'SANDBOX', 'SANDBOX', 'LN', 90, 90, 0, 0) RETURNING id");
    bank_account_ = Insert(
        "INSERT INTO bank_accounts (user_id, bank_connection_id, integrator_id, name, currency, "
        "fields_for_duplicate_filtering, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", " + std::to_string(bank) +
        ", 'acc', 'Everyday', 'EUR', '[]', 0, 0) RETURNING id");
    User alice_user;
    alice_user.user_id = 18328;
    alice_user.user_name = "Alice";
    alice_user.budget_name = "Household";
    alice_user.primary_currency = "EUR";
    api_.budgets["alice-token"] = {
        alice_user,
        {MakeAsset(72, "Checking", "1201.01", "EUR"), MakeAsset(73, "Card", "0.00", "USD")}};
    User bob_user;
    bob_user.user_id = 99;
    bob_user.user_name = "Bob";
    bob_user.primary_currency = "USD";
    api_.budgets["bob-token"] = {bob_user, {MakeAsset(500, "Wallet", "5.00", "USD")}};
  }

  void TearDown() override {
    service_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  int64_t Insert(const std::string& sql) {
    int64_t id = 0;
    Status status = database_->Write([&](store::Connection& connection) -> Status {
      auto rows = connection.Query(sql, {});
      if (!rows.ok()) return rows.status();
      id = rows.value().at(0).Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok()) << status.error().detail;
    return id;
  }

  int64_t Count(const std::string& sql) {
    int64_t count = -1;
    Status status = database_->Read([&](store::Connection& connection) -> Status {
      auto rows = connection.Query(sql, {});
      if (!rows.ok()) return rows.status();
      count = rows.value().at(0).Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok()) << status.error().detail;
    return count;
  }

  Connection Connect(int64_t user_id, std::string token) {
    auto created = service_->CreateConnection(user_id, token);
    EXPECT_TRUE(created.ok()) << created.error().detail;
    return created.ok() ? created.value() : Connection{};
  }

  int64_t LinkTo(int64_t asset_id) {
    int64_t link = Insert(
        "INSERT INTO transfer_links (user_id, bank_account_id, destination_type, destination_id, "
        "transfer_start_date, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", " + std::to_string(bank_account_) + ", 'LUNCH_MONEY', " +
        std::to_string(asset_id) + ", '2025-01-01', 0, 0) RETURNING id");
    Insert(
        "INSERT INTO rules (user_id, type, name, enabled, trigger_on_any_condition, "
        "skip_other_rules_when_triggered, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", 'LUNCH_MONEY', 'r', 1, 0, 0, 0, 0) RETURNING id");
    return link;
  }

  ManualClock clock_{kStartMs};
  FakeApi api_;
  std::filesystem::path directory_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<SecretBox> box_;
  std::unique_ptr<ConnectionService> service_;
  int64_t alice_ = 0;
  int64_t bob_ = 0;
  int64_t bank_account_ = 0;
};

TEST_F(LunchMoneyConnectionsTest, CreateStoresTheUserAssetsAndOnlyASealedToken) {
  // The token is checked with Lunch Money, stored only as ciphertext, and comes back through
  // ResolveAsset together with the asset's Lunch Money id and currency.
  Connection connection = Connect(alice_, "  alice-token\n");
  EXPECT_EQ(connection.user_id, alice_);
  EXPECT_EQ(connection.lunch_money_user_id, 18328);
  EXPECT_EQ(connection.user_name, "Alice");
  EXPECT_EQ(connection.budget_name, "Household");
  EXPECT_EQ(connection.primary_currency, "EUR");
  EXPECT_EQ(connection.health.status, sync::HealthStatus::kHealthy);
  EXPECT_EQ(connection.last_synced_at_ms, kStartMs);
  auto assets = service_->ListAssets(alice_, connection.id);
  ASSERT_TRUE(assets.ok());
  ASSERT_EQ(assets.value().size(), 2u);
  EXPECT_EQ(assets.value()[0].lunch_money_id, 72);
  EXPECT_EQ(assets.value()[0].balance, "1201.01");
  EXPECT_EQ(assets.value()[0].connection_id, connection.id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM lunch_money_connections WHERE "
                  "instr(token_ciphertext, 'alice-token') > 0"),
            0);
  auto resolved = service_->ResolveAsset(alice_, assets.value()[1].id);
  ASSERT_TRUE(resolved.ok()) << resolved.error().detail;
  EXPECT_EQ(resolved.value().token, "alice-token");
  EXPECT_EQ(resolved.value().lunch_money_asset_id, 73);
  EXPECT_EQ(resolved.value().currency, "USD");
  EXPECT_EQ(resolved.value().connection_id, connection.id);
}

TEST_F(LunchMoneyConnectionsTest, CreateRefusesBadTokensWithoutStoringAnything) {
  // Table: the token, what Lunch Money does, the error code and the field message's start.
  struct Case {
    std::string token;
    std::optional<ErrorCode> lunch_money_error;
    ErrorCode code;
    std::string message_start;
  };
  const std::vector<Case> cases = {
      {"", std::nullopt, ErrorCode::kValidationFailed, "is required"},
      {" \n", std::nullopt, ErrorCode::kValidationFailed, "is required"},
      {std::string(513, 'x'), std::nullopt, ErrorCode::kValidationFailed, "must be at most 512"},
      {"two words", std::nullopt, ErrorCode::kValidationFailed, "must not contain spaces"},
      {"unknown-token", std::nullopt, ErrorCode::kValidationFailed,
       "was rejected by Lunch Money: Lunch Money rejected the access token"},
      {"alice-token", ErrorCode::kUnavailable, ErrorCode::kUnavailable, ""},
      {"alice-token", ErrorCode::kTooManyRequests, ErrorCode::kTooManyRequests, ""},
      {"alice-token", ErrorCode::kNotFound, ErrorCode::kUnavailable, ""},
  };
  for (const auto& test_case : cases) {
    if (test_case.lunch_money_error) {
      api_.next_error = Error::Of(*test_case.lunch_money_error, "Lunch Money said no");
    }
    auto created = service_->CreateConnection(alice_, test_case.token);
    ASSERT_FALSE(created.ok()) << test_case.token;
    EXPECT_EQ(created.error().code, test_case.code) << test_case.token;
    if (test_case.code == ErrorCode::kValidationFailed) {
      ASSERT_EQ(created.error().field_errors.size(), 1u);
      EXPECT_EQ(created.error().field_errors[0].field, "access_token");
      EXPECT_EQ(created.error().field_errors[0].message.rfind(test_case.message_start, 0), 0u)
          << created.error().field_errors[0].message;
    }
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM lunch_money_connections"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM lunch_money_assets"), 0);
}

TEST_F(LunchMoneyConnectionsTest, PlanLimitCountsConnectionsPerUser) {
  Connect(alice_, "alice-token");
  Connect(alice_, "alice-token");
  int calls = api_.calls;
  auto third = service_->CreateConnection(alice_, "alice-token");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::kPlanLimitReached);
  EXPECT_EQ(api_.calls, calls);  // Refused before asking Lunch Money.
  Connect(bob_, "bob-token");    // Bob has his own allowance.
}

TEST_F(LunchMoneyConnectionsTest, OtherUsersObjectsAreNotFound) {
  Connection alice = Connect(alice_, "alice-token");
  auto assets = service_->ListAssets(alice_, std::nullopt);
  ASSERT_TRUE(assets.ok());
  int64_t asset_id = assets.value()[0].id;
  EXPECT_EQ(service_->GetConnection(bob_, alice.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->RefreshConnection(bob_, alice.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->DeleteConnection(bob_, alice.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->GetAsset(bob_, asset_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->ResolveAsset(bob_, asset_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->RecordOutcome(bob_, alice.id, Status::Ok()).error().code,
            ErrorCode::kNotFound);
  EXPECT_TRUE(service_->ListAssets(bob_, alice.id).value().empty());
  EXPECT_TRUE(service_->ListConnections(bob_).value().empty());
  EXPECT_TRUE(service_->GetConnection(alice_, alice.id).ok());
}

TEST_F(LunchMoneyConnectionsTest, RefreshUpdatesKeepsIdsAndRemovesVanishedAssets) {
  // Asset 72 changes, 73 vanishes (with the transfer link and rules pointing at it), 74 is
  // new; finsync's row id of 72 stays the same, so links into it keep working.
  Connection connection = Connect(alice_, "alice-token");
  auto before = service_->ListAssets(alice_, connection.id).value();
  int64_t kept_id = before[0].id;
  int64_t gone_id = before[1].id;
  int64_t kept_link = LinkTo(kept_id);
  int64_t gone_link = LinkTo(gone_id);
  Insert(
      "INSERT INTO rule_attachments (user_id, rule_id, target_kind, target_id, position, "
      "created_at) SELECT " +
      std::to_string(alice_) + ", MAX(id), 'LUNCH_MONEY', " + std::to_string(gone_id) +
      ", 0, 0 FROM rules RETURNING rule_id");
  Insert(
      "INSERT INTO rule_attachments (user_id, rule_id, target_kind, target_id, position, "
      "created_at) SELECT " +
      std::to_string(alice_) + ", MIN(id), 'TRANSFER_LINK', " + std::to_string(gone_link) +
      ", 0, 0 FROM rules RETURNING rule_id");
  auto& budget = api_.budgets["alice-token"];
  budget.user.budget_name = "Renamed";
  budget.assets = {MakeAsset(72, "Checking", "99.50", "EUR"),
                   MakeAsset(74, "Savings", "10.00", "EUR")};
  clock_.Advance(60'000);
  auto refreshed = service_->RefreshConnection(alice_, connection.id);
  ASSERT_TRUE(refreshed.ok()) << refreshed.error().detail;
  EXPECT_EQ(refreshed.value().budget_name, "Renamed");
  EXPECT_EQ(refreshed.value().last_synced_at_ms, kStartMs + 60'000);
  auto after = service_->ListAssets(alice_, connection.id).value();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].id, kept_id);
  EXPECT_EQ(after[0].balance, "99.50");
  EXPECT_EQ(after[1].lunch_money_id, 74);
  EXPECT_EQ(service_->GetAsset(alice_, gone_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transfer_links WHERE id = " + std::to_string(gone_link)),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transfer_links WHERE id = " + std::to_string(kept_link)),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM rule_attachments"), 0);
}

TEST_F(LunchMoneyConnectionsTest, HealthFollowsRefreshesAndDeliveries) {
  // Failures make it FAILING and, after kDeadAfterFailures in a row, DEAD; a rate limit does
  // not count; a success heals it; a rejected token kills it at once and refresh says 409.
  Connection connection = Connect(alice_, "alice-token");
  api_.next_error = Error::Of(ErrorCode::kUnavailable, "Lunch Money answered HTTP 503");
  auto failed = service_->RefreshConnection(alice_, connection.id);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  auto current = service_->GetConnection(alice_, connection.id).value();
  EXPECT_EQ(current.health.status, sync::HealthStatus::kFailing);
  EXPECT_EQ(current.health.failure_count, 1);
  EXPECT_EQ(current.health.integrator_message, "Lunch Money answered HTTP 503");
  Error limited = Error::Of(ErrorCode::kTooManyRequests, "slow down");
  ASSERT_TRUE(service_->RecordOutcome(alice_, connection.id, limited).ok());
  EXPECT_EQ(service_->GetConnection(alice_, connection.id).value().health.failure_count, 1);
  for (int i = 1; i < sync::kDeadAfterFailures - 1; ++i) {
    ASSERT_TRUE(
        service_->RecordOutcome(alice_, connection.id, Error::Of(ErrorCode::kUnavailable, "x"))
            .ok());
  }
  EXPECT_EQ(service_->GetConnection(alice_, connection.id).value().health.status,
            sync::HealthStatus::kFailing);
  ASSERT_TRUE(
      service_->RecordOutcome(alice_, connection.id, Error::Of(ErrorCode::kUnavailable, "x")).ok());
  EXPECT_EQ(service_->GetConnection(alice_, connection.id).value().health.status,
            sync::HealthStatus::kDead);
  ASSERT_TRUE(service_->RefreshConnection(alice_, connection.id).ok());
  current = service_->GetConnection(alice_, connection.id).value();
  EXPECT_EQ(current.health.status, sync::HealthStatus::kHealthy);
  EXPECT_EQ(current.health.failure_count, 0);
  api_.budgets.erase("alice-token");  // The user revoked the token in Lunch Money.
  auto rejected = service_->RefreshConnection(alice_, connection.id);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kConflict);
  EXPECT_NE(rejected.error().detail.find("connect again"), std::string::npos);
  EXPECT_EQ(service_->GetConnection(alice_, connection.id).value().health.status,
            sync::HealthStatus::kDead);
}

TEST_F(LunchMoneyConnectionsTest, DeleteCascadesToAssetsLinksAndRules) {
  Connection alice = Connect(alice_, "alice-token");
  Connection bob = Connect(bob_, "bob-token");
  auto assets = service_->ListAssets(alice_, alice.id).value();
  LinkTo(assets[0].id);
  Insert(
      "INSERT INTO rule_attachments (user_id, rule_id, target_kind, target_id, position, "
      "created_at) SELECT " +
      std::to_string(alice_) + ", MAX(id), 'LUNCH_MONEY', " + std::to_string(assets[0].id) +
      ", 0, 0 FROM rules RETURNING rule_id");
  ASSERT_TRUE(service_->DeleteConnection(alice_, alice.id).ok());
  EXPECT_EQ(service_->GetConnection(alice_, alice.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->DeleteConnection(alice_, alice.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM lunch_money_assets WHERE user_id = " + std::to_string(alice_)),
      0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM transfer_links"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM rule_attachments"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM rules"), 1);  // Rules themselves stay.
  EXPECT_TRUE(service_->GetConnection(bob_, bob.id).ok());
  EXPECT_EQ(service_->ListAssets(bob_, std::nullopt).value().size(), 1u);
}

TEST_F(LunchMoneyConnectionsTest, ATokenSealedUnderAnotherKeyIsReportedNotReturned) {
  Connection connection = Connect(alice_, "alice-token");
  int64_t asset_id = service_->ListAssets(alice_, connection.id).value()[0].id;
  SecretBox other_key(SecretBox::GenerateKey());
  ConnectionService restarted(*database_, clock_, other_key, api_);
  auto resolved = restarted.ResolveAsset(alice_, asset_id);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().code, ErrorCode::kInternal);
  auto refreshed = restarted.RefreshConnection(alice_, connection.id);
  ASSERT_FALSE(refreshed.ok());
  EXPECT_EQ(refreshed.error().code, ErrorCode::kConflict);
  EXPECT_EQ(restarted.GetConnection(alice_, connection.id).value().health.status,
            sync::HealthStatus::kDead);
}

}  // namespace
}  // namespace finsync::delivery::lunchmoney
