#include "delivery/ynab/ynab_mirror.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

namespace finsync::delivery::ynab {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr char kToken[] = "secret-ynab-token";
constexpr char kBudget[] = "11111111-1111-1111-1111-111111111111";
constexpr char kAccount[] = "22222222-2222-2222-2222-222222222222";

// A scripted YNAB: answers by path; `status` overrides every answer while set.
class ScriptedYnab final : public net::HttpClient {
 public:
  Result<net::HttpResponse> Send(const net::HttpRequest& request) override {
    urls.push_back(request.url);
    if (status) {
      return net::HttpResponse{*status, {}, R"({"error":{"id":"x","name":"x","detail":"down"}})"};
    }
    if (request.headers[0].second != std::string("Bearer ") + kToken) {
      return net::HttpResponse{401,
                               {},
                               R"({"error":{"id":"401","name":"not_authorized",)"
                               R"("detail":"Unauthorized"}})"};
    }
    std::string path = request.url.substr(request.url.find("/v1") + 3);
    path = path.substr(0, path.find('?'));
    const auto found = answers.find(path);
    if (found == answers.end()) return net::HttpResponse{404, {}, "{}"};
    return net::HttpResponse{200, {}, found->second};
  }

  std::vector<std::string> urls;
  std::optional<int> status;
  std::map<std::string, std::string> answers = {
      {"/user", R"({"data":{"user":{"id":"ynab-user-1"}}})"},
      {"/budgets", std::string(R"({"data":{"budgets":[{"id":")") + kBudget +
                       R"(","name":"Home","currency_format":{"iso_code":"EUR"}}]}})"},
      {std::string("/budgets/") + kBudget + "/accounts",
       std::string(R"({"data":{"server_knowledge":5,"accounts":[{"id":")") + kAccount +
           R"(","name":"Checking","type":"checking","on_budget":true,"closed":false,)"
           R"("balance":-1000,"cleared_balance":0,"uncleared_balance":-1000,)"
           R"("transfer_payee_id":null,"deleted":false}]}})"},
      {std::string("/budgets/") + kBudget + "/payees",
       R"({"data":{"server_knowledge":5,"payees":[]}})"},
      {std::string("/budgets/") + kBudget + "/categories",
       R"({"data":{"server_knowledge":5,"category_groups":[]}})"},
      {std::string("/budgets/") + kBudget + "/transactions",
       R"({"data":{"server_knowledge":5,"transactions":[]}})"},
  };
};

// A real SQLite file in a fresh directory with two users, the scripted YNAB and a job queue.
class YnabMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_ynab_test_" + std::to_string(::getpid()) + "_" + test->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    auto database = store::Open((directory_ / "ynab.db").string(), store::DatabaseOptions{});
    ASSERT_TRUE(database.ok()) << database.error().detail;
    database_ = std::move(database.value());
    alice_ = Insert("INSERT INTO users (email, created_at) VALUES ('alice@x', 0) RETURNING id");
    bob_ = Insert("INSERT INTO users (email, created_at) VALUES ('bob@x', 0) RETURNING id");
    queue_ = std::make_unique<jobs::JobQueue>(*database_, clock_);
    YnabClientOptions options;
    options.base_url = "https://ynab.test/v1";
    options.clock = &clock_;
    client_ = std::make_unique<YnabClient>(http_, options);
    mirror_ = std::make_unique<YnabMirror>(*database_, clock_, *client_, box_, MirrorOptions{});
    mirror_->SetJobQueue(queue_.get());
  }

  void TearDown() override {
    mirror_.reset();
    queue_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  int64_t Insert(const std::string& sql) {
    int64_t id = 0;
    Status status = database_->Write([&](store::Connection& connection) -> Status {
      auto rows = connection.Query(sql, {});
      if (!rows.ok()) return rows.status();
      id = rows.value()[0].Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok());
    return id;
  }

  std::vector<store::Row> Rows(const std::string& sql) {
    std::vector<store::Row> rows;
    Status status = database_->Read([&](store::Connection& connection) -> Status {
      auto result = connection.Query(sql, {});
      if (!result.ok()) return result.status();
      rows = std::move(result.value());
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok());
    return rows;
  }

  YnabConnection Connect() {
    auto connection = mirror_->CreateConnection(alice_, NewYnabConnection{kToken});
    EXPECT_TRUE(connection.ok()) << connection.error().detail;
    return connection.ok() ? connection.value() : YnabConnection{};
  }

  jobs::Job RefreshJob(int64_t connection_id) {
    jobs::Job job;
    job.user_id = alice_;
    job.kind = std::string(kRefreshJob);
    job.payload = "{\"connection_id\":" + std::to_string(connection_id) + "}";
    job.run_at_ms = clock_.NowMilliseconds();
    return job;
  }

  std::filesystem::path directory_;
  ManualClock clock_{kStartMs};
  ScriptedYnab http_;
  SecretBox box_{SecretBox::GenerateKey()};
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<jobs::JobQueue> queue_;
  std::unique_ptr<YnabClient> client_;
  std::unique_ptr<YnabMirror> mirror_;
  int64_t alice_ = 0;
  int64_t bob_ = 0;
};

// Proves a new connection stores only ciphertext, mirrors the budget and its account, gives
// delivery the token and the account's coordinates, and commits its refresh job with it.
TEST_F(YnabMirrorTest, CreateStoresSealedTokenAndMirrors) {
  const YnabConnection connection = Connect();
  EXPECT_EQ(connection.ynab_user_id, "ynab-user-1");
  EXPECT_EQ(connection.health.status, sync::HealthStatus::kHealthy);
  const auto stored = Rows("SELECT token_ciphertext FROM ynab_connections");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].Text(0).find(kToken), std::string::npos);
  auto token = mirror_->AccessToken(alice_, connection.id);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token.value(), kToken);
  EXPECT_EQ(mirror_->AccessToken(bob_, connection.id).error().code, ErrorCode::kNotFound);

  auto budgets = mirror_->ListBudgets(alice_, std::nullopt);
  ASSERT_TRUE(budgets.ok());
  ASSERT_EQ(budgets.value().size(), 1u);
  auto accounts = mirror_->ListAccounts(alice_, budgets.value()[0].id);
  ASSERT_TRUE(accounts.ok());
  ASSERT_EQ(accounts.value().size(), 1u);
  EXPECT_EQ(accounts.value()[0].balance_milliunits, -1000);
  auto resolved = mirror_->ResolveAccount(alice_, accounts.value()[0].id);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved.value().budget_ynab_id, kBudget);
  EXPECT_EQ(resolved.value().account_ynab_id, kAccount);
  EXPECT_EQ(resolved.value().currency, "EUR");
  EXPECT_EQ(resolved.value().connection_id, connection.id);
  EXPECT_EQ(mirror_->ResolveAccount(bob_, accounts.value()[0].id).error().code,
            ErrorCode::kNotFound);

  const auto jobs = Rows("SELECT kind, dedupe_key, run_at_ms FROM jobs");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].Text(0), kRefreshJob);
  EXPECT_EQ(jobs[0].Text(1), "ynab:connection:" + std::to_string(connection.id));
  EXPECT_EQ(jobs[0].Int(2), kStartMs + 3'600'000);

  // The second refresh is a delta request.
  ASSERT_TRUE(mirror_->RefreshConnection(alice_, connection.id).ok());
  EXPECT_NE(http_.urls.back().find("last_knowledge_of_server=5"), std::string::npos);
  // A deleted account is hidden from delivery and never comes back.
  ASSERT_TRUE(mirror_->DeleteAccount(alice_, budgets.value()[0].id, accounts.value()[0].id).ok());
  ASSERT_TRUE(mirror_->RefreshConnection(alice_, connection.id).ok());
  EXPECT_EQ(mirror_->ResolveAccount(alice_, accounts.value()[0].id).error().code,
            ErrorCode::kNotFound);
  EXPECT_TRUE(mirror_->ListAccounts(alice_, budgets.value()[0].id).value().empty());
}

// Proves a token YNAB rejects is a field error on access_token and stores nothing.
TEST_F(YnabMirrorTest, RejectedTokenIsFieldError) {
  auto connection = mirror_->CreateConnection(alice_, NewYnabConnection{"wrong"});
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().code, ErrorCode::kValidationFailed);
  ASSERT_EQ(connection.error().field_errors.size(), 1u);
  EXPECT_EQ(connection.error().field_errors[0].field, "access_token");
  EXPECT_TRUE(Rows("SELECT id FROM ynab_connections").empty());
  EXPECT_TRUE(Rows("SELECT id FROM jobs").empty());
}

// Proves health: failures make the connection FAILING, the tenth in a row DEAD, a success
// HEALTHY; a token YNAB stops accepting is DEAD at once and a 409 for the caller.
TEST_F(YnabMirrorTest, HealthTransitions) {
  const YnabConnection connection = Connect();
  http_.status = 503;
  for (int i = 1; i <= 10; ++i) {
    auto refreshed = mirror_->RefreshConnection(alice_, connection.id);
    ASSERT_FALSE(refreshed.ok());
    EXPECT_EQ(refreshed.error().code, ErrorCode::kUnavailable);
    auto current = mirror_->GetConnection(alice_, connection.id).value();
    EXPECT_EQ(current.health.failure_count, i);
    EXPECT_EQ(current.health.status,
              i < 10 ? sync::HealthStatus::kFailing : sync::HealthStatus::kDead);
  }
  http_.status.reset();
  ASSERT_TRUE(mirror_->RefreshConnection(alice_, connection.id).ok());
  EXPECT_EQ(mirror_->GetConnection(alice_, connection.id).value().health.status,
            sync::HealthStatus::kHealthy);
  http_.status = 401;
  auto rejected = mirror_->RefreshConnection(alice_, connection.id);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kConflict);
  const auto dead = mirror_->GetConnection(alice_, connection.id).value();
  EXPECT_EQ(dead.health.status, sync::HealthStatus::kDead);
  EXPECT_NE(dead.health.integrator_message.find("YNAB rejected the access token"),
            std::string::npos);
}

// Proves the job's outcomes: the next hourly slot after a success, YNAB's wait after a 429
// (without counting a failure), a day for a dead connection, and the end for a deleted one.
TEST_F(YnabMirrorTest, RefreshJobOutcomes) {
  const YnabConnection connection = Connect();
  clock_.Advance(60'000);
  jobs::Job job = RefreshJob(connection.id);
  job.run_at_ms = kStartMs;
  auto outcome = mirror_->RunRefreshJob(job);
  EXPECT_EQ(outcome.kind, jobs::JobOutcome::Kind::kRescheduleAt);
  EXPECT_EQ(outcome.run_at_ms, kStartMs + 3'600'000);

  http_.status = 429;
  outcome = mirror_->RunRefreshJob(RefreshJob(connection.id));
  EXPECT_EQ(outcome.kind, jobs::JobOutcome::Kind::kRescheduleAt);
  EXPECT_EQ(outcome.run_at_ms, clock_.NowMilliseconds() + 300'000);
  EXPECT_EQ(mirror_->GetConnection(alice_, connection.id).value().health.failure_count, 0);

  http_.status = 401;
  outcome = mirror_->RunRefreshJob(RefreshJob(connection.id));
  EXPECT_EQ(outcome.run_at_ms, clock_.NowMilliseconds() + 86'400'000);

  ASSERT_TRUE(mirror_->DeleteConnection(alice_, connection.id).ok());
  outcome = mirror_->RunRefreshJob(RefreshJob(connection.id));
  EXPECT_EQ(outcome.kind, jobs::JobOutcome::Kind::kFailed);
  EXPECT_EQ(Rows("SELECT state FROM jobs")[0].Text(0), "cancelled");
  EXPECT_TRUE(Rows("SELECT id FROM ynab_budgets").empty());
}

// Proves a token sealed under another server key is reported as needing a new connection.
TEST_F(YnabMirrorTest, OtherKeyCannotOpenToken) {
  const YnabConnection connection = Connect();
  SecretBox other(SecretBox::GenerateKey());
  YnabMirror rekeyed(*database_, clock_, *client_, other, MirrorOptions{});
  auto token = rekeyed.AccessToken(alice_, connection.id);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.error().code, ErrorCode::kConflict);
  EXPECT_NE(token.error().detail.find("Connect YNAB again"), std::string::npos);
}

}  // namespace
}  // namespace finsync::delivery::ynab
