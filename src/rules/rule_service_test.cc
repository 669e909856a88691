#include "rules/rule_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "ingest/ingest.h"
#include "rules/test_support.h"
#include "store/database.h"

namespace finsync::rules {
namespace {

using enum Operator;
using enum ActionType;
using testing::ActionOf;
using testing::ConditionOf;

constexpr int64_t kStartMs = 1'700'000'000'000;

// A real SQLite file in a fresh temporary directory holding two users; Alice has one bank
// connection with one EUR account and three stored transactions.
class RuleServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_rules_test_" + std::to_string(::getpid()) + "_" + test->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    auto database = store::Open((directory_ / "rules.db").string(), store::DatabaseOptions{});
    ASSERT_TRUE(database.ok()) << database.error().detail;
    database_ = std::move(database.value());
    service_ = std::make_unique<RuleService>(*database_, clock_, RuleLimits{5, 5, 3});
    alice_ = Insert("INSERT INTO users (email, created_at) VALUES ('alice@x', 0) RETURNING id");
    bob_ = Insert("INSERT INTO users (email, created_at) VALUES ('bob@x', 0) RETURNING id");
    connection_ = Insert(
        "INSERT INTO bank_connections (user_id, institution_id, integrator, status, "
        "max_historical_days, access_valid_for_days, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", 'SANDBOX', 'SANDBOX', 'LN', 90, 90, 0, 0) RETURNING id");
    account_ = Insert(
        "INSERT INTO bank_accounts (user_id, bank_connection_id, integrator_id, name, currency, "
        "fields_for_duplicate_filtering, created_at, updated_at) VALUES (" +
        std::to_string(alice_) + ", " + std::to_string(connection_) +
        ", 'acc', 'Everyday', 'EUR', '[]', 0, 0) RETURNING id");
    spotify_ = InsertTransaction("Spotify AB", -4250, "Spotify");
    InsertTransaction("Rema 1000", -12000, "Rema 1000");
    InsertTransaction("", 250000, "Salary");
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

  int64_t InsertTransaction(const std::string& creditor, int64_t amount_minor,
                            const std::string& payee) {
    int64_t id = 0;
    Status status = database_->Write([&](store::Connection& connection) -> Status {
      auto rows = connection.Query(
          "INSERT INTO bank_transactions (user_id, bank_account_id, status, amount_minor, "
          "currency, creditor_name, generated_payee, generated_date, source, content_key, "
          "fingerprint, created_at, updated_at) VALUES (?, ?, 'BOOKED', ?, 'EUR', ?, ?, "
          "'2025-03-14', 'sandbox', ?, 'f', 0, 0) RETURNING id",
          {alice_, account_, amount_minor, creditor, payee, creditor + payee});
      if (!rows.ok()) return rows.status();
      id = rows.value().at(0).Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok()) << status.error().detail;
    return id;
  }

  std::string StoredPayee(int64_t transaction_id) {
    std::string payee;
    Status status = database_->Read([&](store::Connection& connection) -> Status {
      auto rows = connection.Query("SELECT generated_payee FROM bank_transactions WHERE id = ?",
                                   {transaction_id});
      if (!rows.ok()) return rows.status();
      payee = rows.value().at(0).Text(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok());
    return payee;
  }

  // A BANK rule: creditor.name CONTAINS "spotify" -> generated.payee = "Music: {{...}}".
  NewRule SpotifyRule(std::string name = "Spotify") {
    NewRule request;
    request.rule.name = std::move(name);
    request.rule.conditions = {ConditionOf("creditor.name", kContains, "spotify")};
    request.rule.actions = {ActionOf(kSetField, "generated.payee", "Music: {{ creditor.name }}")};
    request.action_orders = {0};
    return request;
  }

  int64_t CreateOrDie(const NewRule& request) {
    auto created = service_->CreateRule(alice_, request);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().detail);
    return created.ok() ? created.value().rule.id : 0;
  }

  ManualClock clock_{kStartMs};
  std::filesystem::path directory_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<RuleService> service_;
  int64_t alice_ = 0;
  int64_t bob_ = 0;
  int64_t connection_ = 0;
  int64_t account_ = 0;
  int64_t spotify_ = 0;
};

TEST_F(RuleServiceTest, PlanLimitsOnConditionsAndActions) {
  // Proves the per-rule limits answer kPlanLimitReached naming the limit, and that exactly
  // the limit is accepted.
  struct Case {
    size_t conditions;
    size_t actions;
    bool accepted;
    std::string message;
  };
  const std::vector<Case> cases = {
      {5, 5, true, ""},
      {6, 1, false, "at most 5 conditions"},
      {1, 6, false, "at most 5 actions"},
  };
  for (const Case& test_case : cases) {
    NewRule request = SpotifyRule();
    request.rule.conditions.assign(test_case.conditions, ConditionOf("amount", kLessThan, "0"));
    request.rule.actions.assign(test_case.actions, ActionOf(kSetField, "generated.payee", "x"));
    request.action_orders.assign(test_case.actions, 0);
    auto created = service_->CreateRule(alice_, request);
    EXPECT_EQ(created.ok(), test_case.accepted) << test_case.conditions << "/" << test_case.actions;
    if (created.ok()) continue;
    EXPECT_EQ(created.error().code, ErrorCode::kPlanLimitReached);
    EXPECT_NE(created.error().detail.find(test_case.message), std::string::npos)
        << created.error().detail;
  }
}

TEST_F(RuleServiceTest, CreateRefusesEachBadFieldWithItsKey) {
  // Proves invalid rules and attachments are refused together, each under its body key.
  NewRule request = SpotifyRule();
  request.rule.conditions.push_back(ConditionOf("creditor.name", kMatchesRegex, "(open"));
  request.attachments.bank_accounts =
      std::vector<TargetRequest>{{TargetKind::kBankAccount, 0, std::nullopt}};
  request.attachments.banks =
      std::vector<TargetRequest>{{TargetKind::kBankAccount, 999, std::nullopt}};
  request.attachments.transfer_links =
      std::vector<TargetRequest>{{TargetKind::kTransferLink, 1, std::nullopt}};
  auto created = service_->CreateRule(alice_, request);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kValidationFailed);
  std::vector<std::string> keys;
  for (const FieldError& error : created.error().field_errors) keys.push_back(error.field);
  EXPECT_EQ(keys, (std::vector<std::string>{"conditions.1.value", "bank_accounts.0.id",
                                            "transfer_links.0.id", "banks.0.id"}));
}

TEST_F(RuleServiceTest, AttachDetachReorderKeepDensePositions) {
  // Proves each attachment operation leaves the expected order, and the per-target limit.
  const int64_t a = CreateOrDie(SpotifyRule("a"));
  const int64_t b = CreateOrDie(SpotifyRule("b"));
  const int64_t c = CreateOrDie(SpotifyRule("c"));
  const int64_t d = CreateOrDie(SpotifyRule("d"));
  struct Step {
    std::string operation;
    int64_t rule_id;
    std::optional<int64_t> order;
    std::vector<int64_t> expected;
  };
  const std::vector<Step> steps = {
      {"attach", a, std::nullopt, {a}},
      {"attach", b, std::nullopt, {a, b}},
      {"attach", c, 0, {c, a, b}},
      {"attach", a, 99, {c, b, a}},            // Moving an attached rule; order is clamped.
      {"attach", b, std::nullopt, {c, b, a}},  // Attached already, no order: unchanged.
      {"detach", b, std::nullopt, {c, a}},
      {"attach", b, 1, {c, b, a}},
  };
  for (const Step& step : steps) {
    auto ids =
        step.operation == "attach"
            ? service_->Attach(alice_, TargetKind::kBankAccount, account_, step.rule_id, step.order)
            : service_->Detach(alice_, TargetKind::kBankAccount, account_, step.rule_id);
    ASSERT_TRUE(ids.ok()) << step.operation << " " << step.rule_id << ": " << ids.error().detail;
    EXPECT_EQ(ids.value(), step.expected) << step.operation << " " << step.rule_id;
  }
  auto limited = service_->Attach(alice_, TargetKind::kBankAccount, account_, d, std::nullopt);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, ErrorCode::kPlanLimitReached);
  EXPECT_FALSE(service_->Reorder(alice_, TargetKind::kBankAccount, account_, {a, b}).ok());
  EXPECT_FALSE(service_->Reorder(alice_, TargetKind::kBankAccount, account_, {a, b, b}).ok());
  auto reordered = service_->Reorder(alice_, TargetKind::kBankAccount, account_, {a, b, c});
  ASSERT_TRUE(reordered.ok());
  ASSERT_TRUE(service_->DeleteRule(alice_, b).ok());
  auto rule = service_->GetRule(alice_, c);
  ASSERT_TRUE(rule.ok());
  ASSERT_EQ(rule.value().attachments.size(), 1u);
  EXPECT_EQ(rule.value().attachments[0].position, 1);  // a, c after b was deleted.
}

TEST_F(RuleServiceTest, ApplyWritesLogsAndUndoRestoresOnce) {
  // Proves apply changes only matching transactions and logs exactly what changed, that undo
  // restores the previous value and logs itself, and that a repeated undo is refused.
  const int64_t rule_id = CreateOrDie(SpotifyRule());
  ASSERT_TRUE(
      service_->Attach(alice_, TargetKind::kBankAccount, account_, rule_id, std::nullopt).ok());
  auto report = service_->ApplyAccountRules(alice_, account_);
  ASSERT_TRUE(report.ok()) << report.error().detail;
  EXPECT_EQ(report.value().transactions_scanned, 3);
  EXPECT_EQ(report.value().transactions_changed, 1);
  EXPECT_EQ(StoredPayee(spotify_), "Music: Spotify AB");
  auto logs = service_->ListLogs(alice_, RuleLogFilter{});
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs.value().size(), 1u);
  const RuleLog log = logs.value()[0];
  EXPECT_EQ(log.rule_id, rule_id);
  EXPECT_EQ(log.bank_transaction_id, spotify_);
  EXPECT_EQ(log.bank_account_id, account_);
  EXPECT_EQ(log.field, "generated.payee");
  EXPECT_EQ(log.previous_value, "Spotify");
  EXPECT_EQ(log.new_value, "Music: Spotify AB");
  EXPECT_TRUE(log.success);
  EXPECT_EQ(log.executed_at_ms, kStartMs);
  // A second apply finds nothing to change and logs nothing.
  auto again = service_->ApplyAccountRules(alice_, account_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value().transactions_changed, 0);
  EXPECT_EQ(again.value().logs_written, 0);

  auto undo = service_->Undo(alice_, log.id);
  ASSERT_TRUE(undo.ok()) << undo.error().detail;
  EXPECT_EQ(StoredPayee(spotify_), "Spotify");
  EXPECT_EQ(undo.value().undo_of_log_id, log.id);
  EXPECT_EQ(undo.value().previous_value, "Music: Spotify AB");
  EXPECT_EQ(undo.value().new_value, "Spotify");
  auto repeated = service_->Undo(alice_, log.id);
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.error().code, ErrorCode::kConflict);
  EXPECT_NE(repeated.error().detail.find("already undone"), std::string::npos);
  auto of_undo = service_->Undo(alice_, undo.value().id);
  ASSERT_FALSE(of_undo.ok());
  EXPECT_EQ(of_undo.error().code, ErrorCode::kConflict);
  EXPECT_EQ(service_->Undo(bob_, log.id).error().code, ErrorCode::kNotFound);
}

TEST_F(RuleServiceTest, UndoIsRefusedWhenTheFieldChangedSince) {
  // Proves undo never overwrites a value someone else wrote after the rule.
  const int64_t rule_id = CreateOrDie(SpotifyRule());
  ASSERT_TRUE(
      service_->Attach(alice_, TargetKind::kBankAccount, account_, rule_id, std::nullopt).ok());
  ASSERT_TRUE(service_->ApplyAccountRules(alice_, account_).ok());
  auto logs = service_->ListLogs(alice_, RuleLogFilter{});
  ASSERT_TRUE(logs.ok() && logs.value().size() == 1u);
  Status edited = database_->Write([&](store::Connection& connection) {
    return connection
        .Execute("UPDATE bank_transactions SET generated_payee = 'By hand' WHERE id = ?",
                 {spotify_})
        .status();
  });
  ASSERT_TRUE(edited.ok());
  auto undo = service_->Undo(alice_, logs.value()[0].id);
  ASSERT_FALSE(undo.ok());
  EXPECT_EQ(undo.error().code, ErrorCode::kConflict);
  EXPECT_EQ(StoredPayee(spotify_), "By hand");
}

TEST_F(RuleServiceTest, PreviewWritesNothing) {
  // Proves a preview reports the change a disabled rule would make and stores nothing.
  NewRule request = SpotifyRule();
  request.rule.enabled = false;
  const int64_t rule_id = CreateOrDie(request);
  auto preview = service_->PreviewRule(alice_, rule_id, account_, 10);
  ASSERT_TRUE(preview.ok()) << preview.error().detail;
  ASSERT_EQ(preview.value().changes.size(), 1u);
  EXPECT_EQ(preview.value().changes[0].bank_transaction_id, spotify_);
  EXPECT_EQ(preview.value().changes[0].new_value, "Music: Spotify AB");
  EXPECT_EQ(StoredPayee(spotify_), "Spotify");
  EXPECT_TRUE(service_->ListLogs(alice_, RuleLogFilter{}).value().empty());
}

TEST_F(RuleServiceTest, IngestStageAppliesCachedRulesAndRecordsLogs) {
  // Proves the stage changes transactions before they are stored, writes one log per action
  // in the same transaction, and sees a rule attached after its cache was filled.
  BankRuleStage stage(*service_, clock_);
  ingest::AccountConfig config;
  config.user_id = alice_;
  config.bank_account_id = account_;
  domain::BankTransaction transaction = testing::CardPayment();
  transaction.id = 0;
  transaction.user_id = alice_;
  transaction.bank_account_id = account_;
  domain::BankTransaction* pointers[] = {&transaction};
  stage.Apply(config, pointers);  // No rules yet: fills the cache with an empty set.
  EXPECT_EQ(transaction.generated.payee, "Spotify");
  const int64_t rule_id = CreateOrDie(SpotifyRule());
  ASSERT_TRUE(
      service_->Attach(alice_, TargetKind::kBankAccount, account_, rule_id, std::nullopt).ok());
  // Ingest calls Apply and Record inside one Write, on the writer's thread.
  Status recorded = database_->Write([&](store::Connection& connection) {
    stage.Apply(config, pointers);
    EXPECT_EQ(transaction.generated.payee, "Music: Spotify AB");
    transaction.id = spotify_;  // As ingest sets it once stored.
    return stage.Record(connection, pointers);
  });
  ASSERT_TRUE(recorded.ok());
  auto logs = service_->ListLogs(alice_, RuleLogFilter{});
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs.value().size(), 1u);
  EXPECT_EQ(logs.value()[0].bank_transaction_id, spotify_);
  EXPECT_EQ(logs.value()[0].previous_value, "Spotify");
}

TEST_F(RuleServiceTest, AnotherUsersObjectsAreNotFound) {
  // Proves rules, conditions and accounts of one user are invisible to another.
  const int64_t rule_id = CreateOrDie(SpotifyRule());
  auto rule = service_->GetRule(alice_, rule_id);
  ASSERT_TRUE(rule.ok());
  const int64_t condition_id = rule.value().rule.conditions[0].id;
  EXPECT_EQ(service_->GetRule(bob_, rule_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->GetCondition(bob_, condition_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->DeleteRule(bob_, rule_id).error().code, ErrorCode::kNotFound);
  NewRule bobs = SpotifyRule();
  auto bob_rule = service_->CreateRule(bob_, bobs);
  ASSERT_TRUE(bob_rule.ok());
  auto attached = service_->Attach(bob_, TargetKind::kBankAccount, account_,
                                   bob_rule.value().rule.id, std::nullopt);
  ASSERT_FALSE(attached.ok());
  EXPECT_EQ(attached.error().code, ErrorCode::kNotFound);
}

TEST_F(RuleServiceTest, ConditionChangesAreValidatedAgainstTheWholeRule) {
  // Proves a condition or action change is checked by compiling the rule, with errors keyed by
  // the item's own fields, and that the last action cannot be deleted.
  const int64_t rule_id = CreateOrDie(SpotifyRule());
  ConditionPatch bad;
  bad.field_name = "amount";
  bad.operation = kContains;
  bad.value = "1";
  auto created = service_->CreateCondition(alice_, rule_id, bad);
  ASSERT_FALSE(created.ok());
  ASSERT_FALSE(created.error().field_errors.empty());
  EXPECT_EQ(created.error().field_errors[0].field, "operator");
  auto rule = service_->GetRule(alice_, rule_id);
  ASSERT_TRUE(rule.ok());
  Status deleted = service_->DeleteAction(alice_, rule.value().rule.actions[0].id);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().code, ErrorCode::kValidationFailed);
}

}  // namespace
}  // namespace finsync::rules
