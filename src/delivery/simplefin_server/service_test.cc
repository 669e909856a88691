#include "delivery/simplefin_server/service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/crypto.h"
#include "store/database.h"

namespace finsync::delivery::simplefin {
namespace {

constexpr int64_t kStartMs = 1'741'953'600'000;  // 2025-03-14T12:00:00Z
constexpr int64_t kHourMs = 3'600'000;
constexpr std::string_view kRoot = "https://finsync.example/simplefin";
constexpr std::string_view kBank = "SANDBOX_FINSYNC_SBXFDEB1";

// A real SQLite file holding two users. Alice has one linked connection at the German sandbox
// bank with two EUR accounts (Girokonto with balances and four transactions, Tagesgeld with
// none); Bob has one account of his own.
class SimplefinServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_simplefin_test_" + std::to_string(::getpid()) + "_" + test->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    auto database = store::Open((directory_ / "simplefin.db").string(), store::DatabaseOptions{});
    ASSERT_TRUE(database.ok()) << database.error().detail;
    database_ = std::move(database.value());
    service_ = std::make_unique<SimplefinService>(*database_, clock_, sources::Catalog::BuiltIn(),
                                                  ServiceOptions{std::string(kRoot), 24 * kHourMs});
    alice_ = Insert("INSERT INTO users (email, created_at) VALUES ('alice@x', 0) RETURNING id");
    bob_ = Insert("INSERT INTO users (email, created_at) VALUES ('bob@x', 0) RETURNING id");
    alice_connection_ = InsertConnection(alice_, "LN");
    giro_ = InsertAccount(alice_, alice_connection_, "Girokonto");
    savings_ = InsertAccount(alice_, alice_connection_, "Tagesgeld");
    bob_account_ = InsertAccount(bob_, InsertConnection(bob_, "LN"), "Bobs Konto");
    Insert(
        "INSERT INTO bank_balances (user_id, bank_account_id, balance_type, amount_minor, "
        "currency, reference_date, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", " + std::to_string(giro_) +
        ", 'closingBooked', 123456, 'EUR', '2025-03-13', 0, 1741900000000) RETURNING id");
    Insert(
        "INSERT INTO bank_balances (user_id, bank_account_id, balance_type, amount_minor, "
        "currency, reference_date, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", " + std::to_string(giro_) +
        ", 'interimAvailable', 120000, 'EUR', '2025-03-14', 0, 1741950000000) RETURNING id");
    rent_ = InsertTransaction(giro_, "BOOKED", "'2025-03-01'", -90000, "Landlord");
    groceries_ = InsertTransaction(giro_, "BOOKED", "'2025-03-13'", -4213, "Rewe");
    old_ = InsertTransaction(giro_, "BOOKED", "'2024-10-01'", -100, "Old");
    pending_ = InsertTransaction(giro_, "PENDING", "NULL", -999, "Kiosk");
    InsertTransaction(bob_account_, "BOOKED", "'2025-03-13'", -1, "Bobs shop");
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
      if (!rows.value().empty()) id = rows.value().at(0).Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok()) << status.error().detail;
    return id;
  }

  int64_t InsertConnection(int64_t user, const std::string& status) {
    return Insert(
        "INSERT INTO bank_connections (user_id, institution_id, integrator, status, "
        "max_historical_days, access_valid_for_days, created_at, updated_at) VALUES (" +
        std::to_string(user) + ", '" + std::string(kBank) + "', 'SANDBOX', '" + status +
        "', 90, 90, 0, 0) RETURNING id");
  }

  int64_t InsertAccount(int64_t user, int64_t connection, const std::string& name) {
    return Insert(
        "INSERT INTO bank_accounts (user_id, bank_connection_id, integrator_id, name, currency, "
        "fields_for_duplicate_filtering, created_at, updated_at) VALUES (" +
        std::to_string(user) + ", " + std::to_string(connection) + ", '" + name + "', '" + name +
        "', 'EUR', '[]', 0, 0) RETURNING id");
  }

  // A transaction whose value date is its booking date (or, pending, 2025-03-14).
  int64_t InsertTransaction(int64_t account, const std::string& status,
                            const std::string& booking_date_sql, int64_t amount_minor,
                            const std::string& payee) {
    std::string generated = booking_date_sql == "NULL" ? "'2025-03-14'" : booking_date_sql;
    return Insert(
        "INSERT INTO bank_transactions (user_id, bank_account_id, status, booking_date, "
        "value_date, amount_minor, currency, generated_payee, generated_description, "
        "remittance_unstructured, generated_date, source, content_key, fingerprint, created_at, "
        "updated_at) SELECT user_id, id, '" +
        status + "', " + booking_date_sql + ", " + generated + ", " + std::to_string(amount_minor) +
        ", 'EUR', '" + payee + "', '', 'Ref " + payee + "', " + generated +
        ", 'test', 'k', 'f', 0, 0 FROM bank_accounts WHERE id = " + std::to_string(account) +
        " RETURNING id");
  }

  // The claim secret inside a setup token.
  static std::string ClaimSecret(const std::string& setup_token) {
    auto url = Base64Decode(setup_token);
    EXPECT_TRUE(url);
    std::string prefix = std::string(kRoot) + "/claim/";
    EXPECT_EQ(url->substr(0, prefix.size()), prefix);
    return url->substr(prefix.size());
  }

  // Creates and claims an access; returns it with its Basic credentials.
  std::pair<Access, BasicCredentials> ClaimedAccess(const NewAccess& request = {}) {
    auto created = service_->CreateSetupToken(alice_, request);
    EXPECT_TRUE(created.ok());
    auto claimed = service_->Claim(ClaimSecret(created.value().setup_token));
    EXPECT_TRUE(claimed.ok());
    EXPECT_EQ(claimed.value().outcome, ClaimOutcome::kClaimed);
    const std::string& url = claimed.value().access_url;
    std::string credentials = url.substr(8, url.find('@') - 8);  // After "https://".
    BasicCredentials basic{credentials.substr(0, credentials.find(':')),
                           credentials.substr(credentials.find(':') + 1)};
    auto authenticated = service_->Authenticate(basic);
    EXPECT_TRUE(authenticated.ok());
    EXPECT_EQ(authenticated.value().outcome, AuthenticationOutcome::kAuthenticated);
    return {authenticated.value().access, basic};
  }

  AccountSet Read(const Access& access, AccountsQuery query) {
    auto set = service_->ReadAccountSet(access, query);
    EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().detail);
    return set.ok() ? set.value() : AccountSet{};
  }

  static std::vector<std::string> Ids(const Account& account) {
    std::vector<std::string> ids;
    for (const auto& t : account.transactions) ids.push_back(t.id);
    return ids;
  }

  ManualClock clock_{kStartMs};
  std::filesystem::path directory_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<SimplefinService> service_;
  int64_t alice_ = 0, bob_ = 0, alice_connection_ = 0, giro_ = 0, savings_ = 0, bob_account_ = 0;
  int64_t rent_ = 0, groceries_ = 0, old_ = 0, pending_ = 0;
};

TEST_F(SimplefinServiceTest, SetupTokenIsAClaimUrlClaimedExactlyOnce) {
  auto created = service_->CreateSetupToken(alice_, NewAccess{"Actual Budget", std::nullopt});
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created.value().access.name, "Actual Budget");
  EXPECT_EQ(created.value().access.StatusAt(clock_.NowMilliseconds()), AccessStatus::kUnclaimed);
  EXPECT_EQ(created.value().access.setup_token_expires_at_ms, kStartMs + 24 * kHourMs);
  std::string secret = ClaimSecret(created.value().setup_token);
  EXPECT_EQ(secret.size(), 40u);

  auto first = service_->Claim(secret);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value().outcome, ClaimOutcome::kClaimed);
  std::string expected_prefix = "https://" + std::to_string(created.value().access.id) + ":";
  EXPECT_EQ(first.value().access_url.substr(0, expected_prefix.size()), expected_prefix);
  EXPECT_TRUE(first.value().access_url.ends_with("@finsync.example/simplefin"));

  auto second = service_->Claim(secret);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value().outcome, ClaimOutcome::kAlreadyClaimed);
  EXPECT_TRUE(second.value().access_url.empty());
  EXPECT_EQ(service_->Claim("no-such-secret").value().outcome, ClaimOutcome::kUnknown);
  EXPECT_EQ(service_->Claim("").value().outcome, ClaimOutcome::kUnknown);
  EXPECT_EQ(service_->Claim(std::string(500, 'a')).value().outcome, ClaimOutcome::kUnknown);

  auto stored = service_->GetAccess(alice_, created.value().access.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored.value().claimed_at_ms, kStartMs);
  EXPECT_EQ(stored.value().StatusAt(clock_.NowMilliseconds()), AccessStatus::kClaimed);
}

TEST_F(SimplefinServiceTest, SecretsAreStoredOnlyAsHashes) {
  auto created = service_->CreateSetupToken(alice_, {});
  std::string secret = ClaimSecret(created.value().setup_token);
  auto claimed = service_->Claim(secret);
  std::string url = claimed.value().access_url;
  std::string password = url.substr(url.find(':', 8) + 1, url.find('@') - url.find(':', 8) - 1);
  std::string dump;
  Status read = database_->Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT claim_hash, secret_hash FROM simplefin_accesses", {});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) dump += row.Text(0) + "|" + row.Text(1);
    return Status::Ok();
  });
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(dump.find(secret), std::string::npos);
  EXPECT_EQ(dump.find(password), std::string::npos);
  EXPECT_NE(dump.find(crypto::Sha256Hex(password)), std::string::npos);
}

TEST_F(SimplefinServiceTest, UnclaimedTokensExpireAndRevokedOnesCannotBeClaimed) {
  auto expiring = service_->CreateSetupToken(alice_, {});
  auto revoked = service_->CreateSetupToken(alice_, {});
  ASSERT_TRUE(service_->RevokeAccess(alice_, revoked.value().access.id).ok());
  EXPECT_EQ(service_->Claim(ClaimSecret(revoked.value().setup_token)).value().outcome,
            ClaimOutcome::kRevoked);
  clock_.Advance(24 * kHourMs);
  EXPECT_EQ(service_->Claim(ClaimSecret(expiring.value().setup_token)).value().outcome,
            ClaimOutcome::kExpired);
  auto listed = service_->ListAccesses(alice_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed.value().size(), 2u);
  EXPECT_EQ(listed.value()[0].StatusAt(clock_.NowMilliseconds()), AccessStatus::kExpired);
  EXPECT_EQ(listed.value()[1].StatusAt(clock_.NowMilliseconds()), AccessStatus::kRevoked);
}

TEST_F(SimplefinServiceTest, AuthenticationNeedsTheRightSecretAndAnUnrevokedAccess) {
  auto [access, credentials] = ClaimedAccess();
  struct Case {
    std::string username;
    std::string password;
    AuthenticationOutcome outcome;
  };
  std::vector<Case> cases = {
      {credentials.username, credentials.password, AuthenticationOutcome::kAuthenticated},
      {credentials.username, credentials.password + "x", AuthenticationOutcome::kBadCredentials},
      {credentials.username, "", AuthenticationOutcome::kBadCredentials},
      {"999", credentials.password, AuthenticationOutcome::kBadCredentials},
      {"", credentials.password, AuthenticationOutcome::kBadCredentials},
      {"1x", credentials.password, AuthenticationOutcome::kBadCredentials},
      {"99999999999999999999999", credentials.password, AuthenticationOutcome::kBadCredentials},
  };
  for (const auto& test_case : cases) {
    auto result = service_->Authenticate({test_case.username, test_case.password});
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.value().outcome, test_case.outcome) << test_case.username;
  }
  // An unclaimed access has no password yet.
  auto unclaimed = service_->CreateSetupToken(alice_, {});
  EXPECT_EQ(
      service_->Authenticate({std::to_string(unclaimed.value().access.id), "x"}).value().outcome,
      AuthenticationOutcome::kBadCredentials);
  ASSERT_TRUE(service_->RevokeAccess(alice_, access.id).ok());
  EXPECT_EQ(service_->Authenticate(credentials).value().outcome, AuthenticationOutcome::kRevoked);
  // Revoking again keeps the first time; another user's access is not found.
  clock_.Advance(kHourMs);
  ASSERT_TRUE(service_->RevokeAccess(alice_, access.id).ok());
  EXPECT_EQ(service_->GetAccess(alice_, access.id).value().revoked_at_ms, kStartMs);
  EXPECT_EQ(service_->RevokeAccess(bob_, access.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->GetAccess(bob_, access.id).error().code, ErrorCode::kNotFound);
}

TEST_F(SimplefinServiceTest, ValidatesTheRequestNamingTheField) {
  struct Case {
    NewAccess request;
    std::string field;
  };
  std::vector<Case> cases = {
      {{std::string("  "), std::nullopt}, "name"},
      {{std::string(101, 'n'), std::nullopt}, "name"},
      {{std::nullopt, std::vector<int64_t>{}}, "bank_account_ids"},
      {{std::nullopt, std::vector<int64_t>{giro_, 0}}, "bank_account_ids.1"},
      {{std::nullopt, std::vector<int64_t>{giro_, giro_}}, "bank_account_ids.1"},
      {{std::nullopt, std::vector<int64_t>{giro_, bob_account_}}, "bank_account_ids.1"},
      {{std::nullopt, std::vector<int64_t>{987654}}, "bank_account_ids.0"},
  };
  for (const auto& test_case : cases) {
    auto created = service_->CreateSetupToken(alice_, test_case.request);
    ASSERT_FALSE(created.ok()) << test_case.field;
    EXPECT_EQ(created.error().code, ErrorCode::kValidationFailed);
    ASSERT_FALSE(created.error().field_errors.empty());
    EXPECT_EQ(created.error().field_errors[0].field, test_case.field);
  }
  EXPECT_TRUE(service_->ListAccesses(alice_).value().empty());
}

TEST_F(SimplefinServiceTest, LiveAccessesAreLimitedPerUser) {
  for (int64_t i = 0; i < kLiveAccessesPerUserMax; ++i) {
    ASSERT_TRUE(service_->CreateSetupToken(alice_, {}).ok());
  }
  auto refused = service_->CreateSetupToken(alice_, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPlanLimitReached);
  EXPECT_TRUE(service_->CreateSetupToken(bob_, {}).ok());
  clock_.Advance(24 * kHourMs);  // Expired unclaimed tokens no longer count.
  EXPECT_TRUE(service_->CreateSetupToken(alice_, {}).ok());
}

TEST_F(SimplefinServiceTest, ReadsAccountsBalancesAndTheWindowsTransactions) {
  auto [access, credentials] = ClaimedAccess();
  AccountSet set = Read(access, AccountsQuery{});
  ASSERT_EQ(set.accounts.size(), 2u);
  ASSERT_EQ(set.errors.size(), 1u);  // Savings has no balance yet.
  EXPECT_EQ(set.errors[0].account_id, std::to_string(savings_));
  const Account& giro = set.accounts[0];
  EXPECT_EQ(giro.id, std::to_string(giro_));
  EXPECT_EQ(giro.name, "Girokonto");
  EXPECT_EQ(giro.currency, "EUR");
  EXPECT_EQ(giro.balance, "1234.56");
  EXPECT_EQ(giro.available_balance, "1200.00");
  EXPECT_EQ(giro.balance_date, 1'741'950'000);
  ASSERT_EQ(set.connections.size(), 1u);
  EXPECT_EQ(set.connections[0].name, "finsync Sandbox Bank");
  EXPECT_EQ(set.connections[0].organization_id, kBank);
  // The default window is the last 90 days; pending transactions only when asked.
  EXPECT_EQ(Ids(giro),
            (std::vector<std::string>{std::to_string(rent_), std::to_string(groceries_)}));
  AccountsQuery pending;
  pending.pending = true;
  set = Read(access, pending);
  EXPECT_EQ(Ids(set.accounts[0]),
            (std::vector<std::string>{std::to_string(pending_), std::to_string(rent_),
                                      std::to_string(groceries_)}));
  EXPECT_TRUE(set.accounts[0].transactions[0].pending);
  // Savings has no balance yet: zero, and an entry saying so.
  EXPECT_EQ(set.accounts[1].balance, "0.00");
  EXPECT_FALSE(set.accounts[1].available_balance);
}

TEST_F(SimplefinServiceTest, AnAccountWithoutBalancesSaysSo) {
  auto [access, credentials] = ClaimedAccess();
  AccountsQuery query;
  query.account_ids = {std::to_string(savings_)};
  AccountSet set = Read(access, query);
  ASSERT_EQ(set.accounts.size(), 1u);
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].code, "act.missingdata");
  EXPECT_EQ(set.errors[0].account_id, std::to_string(savings_));
  EXPECT_EQ(set.accounts[0].balance_date, kStartMs / 1000);
}

TEST_F(SimplefinServiceTest, DateRangeIsStartInclusiveEndExclusiveAndCapped) {
  auto [access, credentials] = ClaimedAccess();
  constexpr int64_t k2025_03_13 = 1'741'824'000;
  AccountsQuery query;
  query.account_ids = {std::to_string(giro_)};
  query.start_date = k2025_03_13;
  AccountSet set = Read(access, query);
  EXPECT_EQ(Ids(set.accounts[0]), (std::vector<std::string>{std::to_string(groceries_)}));
  query.start_date.reset();
  query.end_date = k2025_03_13;
  set = Read(access, query);
  EXPECT_EQ(Ids(set.accounts[0]), (std::vector<std::string>{std::to_string(rent_)}));
  // 2024-10-01 is more than 90 days before the end: capped, with an entry.
  query.start_date = 1'727'740'800;  // 2024-10-01
  query.end_date.reset();
  set = Read(access, query);
  EXPECT_EQ(Ids(set.accounts[0]),
            (std::vector<std::string>{std::to_string(rent_), std::to_string(groceries_)}));
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_EQ(set.errors[0].code, "gen.api");
  // ... but a 90-day window ending later reaches it.
  query.end_date = 1'727'740'800 + 86'400;
  set = Read(access, query);
  EXPECT_EQ(Ids(set.accounts[0]), (std::vector<std::string>{std::to_string(old_)}));
  EXPECT_TRUE(set.errors.empty());
}

TEST_F(SimplefinServiceTest, RetentionHidesWhatItWillDelete) {
  auto [access, credentials] = ClaimedAccess();
  Insert("UPDATE users SET retention_days = 7 WHERE id = " + std::to_string(alice_) +
         " RETURNING id");
  AccountsQuery query;
  query.account_ids = {std::to_string(giro_)};
  EXPECT_EQ(Ids(Read(access, query).accounts[0]),
            (std::vector<std::string>{std::to_string(groceries_)}));
}

TEST_F(SimplefinServiceTest, RestrictionsAndFiltersNeverShowOtherAccounts) {
  auto [access, credentials] = ClaimedAccess(NewAccess{std::nullopt, std::vector{savings_}});
  EXPECT_EQ(access.bank_account_ids, (std::vector<int64_t>{savings_}));
  AccountSet set = Read(access, AccountsQuery{});
  ASSERT_EQ(set.accounts.size(), 1u);
  EXPECT_EQ(set.accounts[0].id, std::to_string(savings_));
  AccountsQuery query;
  query.account_ids = {std::to_string(giro_), std::to_string(bob_account_), "ACT-x",
                       std::to_string(savings_)};
  set = Read(access, query);
  ASSERT_EQ(set.accounts.size(), 1u);
  std::vector<std::string> missing;
  for (const auto& error : set.errors) {
    if (error.code == "act.") missing.push_back(error.account_id);
  }
  EXPECT_EQ(missing, (std::vector<std::string>{std::to_string(giro_), std::to_string(bob_account_),
                                               "ACT-x"}));
  // A deleted account leaves the restriction; the access then sees nothing.
  Insert("DELETE FROM bank_accounts WHERE id = " + std::to_string(savings_) + " RETURNING id");
  EXPECT_TRUE(
      Read(service_->GetAccess(alice_, access.id).value(), AccountsQuery{}).accounts.empty());
}

TEST_F(SimplefinServiceTest, ConnectionAndAccountProblemsAreErrorEntries) {
  auto [access, credentials] = ClaimedAccess();
  Insert("UPDATE bank_connections SET status = 'EX' WHERE id = " +
         std::to_string(alice_connection_) + " RETURNING id");
  Insert("UPDATE bank_accounts SET health_status = 'FAILING' WHERE id = " + std::to_string(giro_) +
         " RETURNING id");
  AccountsQuery query;
  query.account_ids = {std::to_string(giro_)};
  AccountSet set = Read(access, query);
  ASSERT_EQ(set.errors.size(), 2u);
  EXPECT_EQ(set.errors[0].code, "con.auth");
  EXPECT_EQ(set.errors[0].connection_id, std::to_string(alice_connection_));
  EXPECT_TRUE(
      set.errors[0].message.starts_with("Connection to finsync Sandbox Bank may need attention"));
  EXPECT_EQ(set.errors[1].code, "act.failed");
  EXPECT_EQ(set.accounts[0].transactions.size(), 2u);  // Stored data is still served.
}

TEST_F(SimplefinServiceTest, BalancesOnlySkipsTransactionsAndDuplicateNamesAreTold) {
  Insert("UPDATE bank_accounts SET name = 'Konto', iban = 'DE89370400440532013000' WHERE id = " +
         std::to_string(giro_) + " RETURNING id");
  Insert("UPDATE bank_accounts SET name = 'Konto' WHERE id = " + std::to_string(savings_) +
         " RETURNING id");
  auto [access, credentials] = ClaimedAccess();
  AccountsQuery query;
  query.balances_only = true;
  AccountSet set = Read(access, query);
  ASSERT_EQ(set.accounts.size(), 2u);
  EXPECT_TRUE(set.accounts[0].transactions.empty());
  EXPECT_EQ(set.accounts[0].name, "Konto (IBAN ending 3000)");
  EXPECT_EQ(set.accounts[1].name, "Konto (#" + std::to_string(savings_) + ")");
}

}  // namespace
}  // namespace finsync::delivery::simplefin
