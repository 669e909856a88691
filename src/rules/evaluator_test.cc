#include "rules/evaluator.h"

#include <gtest/gtest.h>

#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "rules/test_support.h"

namespace finsync::rules {
namespace {

using enum Operator;
using enum ActionType;
using testing::ActionOf;
using testing::CardPayment;
using testing::ConditionOf;
using testing::Everyday;

// Conditions with a known outcome on CardPayment().
Condition Holds() { return ConditionOf("creditor.name", kContains, "spotify"); }
Condition Fails() { return ConditionOf("amount", kGreaterThan, "0"); }

Rule BankRule(int64_t id, std::vector<Condition> conditions, std::vector<Action> actions) {
  Rule rule;
  rule.id = id;
  rule.name = "rule " + std::to_string(id);
  rule.type = RuleType::kBank;
  rule.conditions = std::move(conditions);
  rule.actions = std::move(actions);
  return rule;
}

Action SetPayee(std::string value, int64_t id = 0) {
  return ActionOf(kSetField, "generated.payee", std::move(value), id);
}

CompiledRuleSet CompileOrDie(const std::vector<Rule>& rules) {
  Result<CompiledRuleSet> set = Compile(rules);
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().detail);
  return std::move(set.value());
}

// Runs BANK rules over one CardPayment() and returns its generated payee afterwards.
std::string PayeeAfter(const std::vector<Rule>& rules) {
  domain::BankTransaction transaction = CardPayment();
  std::vector<RuleLogEntry> log;
  ApplyBankRules(CompileOrDie(rules), Everyday(), std::span(&transaction, 1), log);
  return transaction.generated.payee;
}

TEST(EvaluatorTest, ConditionsCombineWithAndByDefaultAndOrOnRequest) {
  // Proves AND and OR over holding and failing conditions, and that a rule without
  // conditions always fires.
  struct Case {
    std::vector<Condition> conditions;
    bool any;
    bool fires;
  };
  const Case cases[] = {
      {{Holds(), Holds()}, false, true},
      {{Holds(), Fails()}, false, false},
      {{Fails(), Fails()}, false, false},
      {{Holds(), Fails()}, true, true},
      {{Fails(), Holds()}, true, true},
      {{Fails(), Fails()}, true, false},
      {{}, false, true},
      {{}, true, true},
  };
  for (const Case& test_case : cases) {
    Rule rule = BankRule(1, test_case.conditions, {SetPayee("fired")});
    rule.trigger_on_any_condition = test_case.any;
    EXPECT_EQ(PayeeAfter({rule}) == "fired", test_case.fires)
        << test_case.conditions.size() << " conditions, any=" << test_case.any;
  }
}

TEST(EvaluatorTest, OrderDisabledRulesAndSkipDecideWhatRuns) {
  // Proves rules run in order with later rules seeing earlier changes, disabled rules never
  // run, and skip_other_rules_when_triggered stops later rules only when its rule fires.
  Rule rename = BankRule(1, {Holds()}, {SetPayee("Music")});
  Rule follow = BankRule(2, {ConditionOf("generated.payee", kEquals, "music")},
                         {SetPayee("{{ generated.payee }} (seen)")});
  EXPECT_EQ(PayeeAfter({rename, follow}), "Music (seen)");
  EXPECT_EQ(PayeeAfter({follow, rename}), "Music");

  Rule disabled = rename;
  disabled.enabled = false;
  EXPECT_EQ(PayeeAfter({disabled}), "Spotify");

  Rule stop = BankRule(3, {Holds()}, {SetPayee("first")});
  stop.skip_other_rules_when_triggered = true;
  Rule later = BankRule(4, {}, {SetPayee("{{ generated.payee }} and later")});
  EXPECT_EQ(PayeeAfter({stop, later}), "first");
  stop.conditions = {Fails()};
  EXPECT_EQ(PayeeAfter({stop, later}), "Spotify and later");
}

TEST(EvaluatorTest, ActionsRunInOrderAndEachIsLogged) {
  // Proves actions of one rule run in order, each seeing the previous one's change, and that
  // every attempt is logged with exact previous and new values; a failed action is logged
  // with its reason and does not stop the next one.
  Rule rule = BankRule(
      9, {Holds()},
      {SetPayee("A", 101), SetPayee("{{ generated.payee }}B", 102),
       ActionOf(kSetField, "generated.date", "{{ creditor.name }}", 103),
       ActionOf(kSetField, "generated.date", "{{ value_date }}", 104),
       ActionOf(kSetField, "generated.description", "{{ creditor.name | plus: 1 }}", 105)});
  std::vector<domain::BankTransaction> batch = {CardPayment(), CardPayment()};
  batch[1].id = 43;
  batch[1].creditor.name = "Netflix";
  std::vector<RuleLogEntry> log;
  const EvaluationSummary summary = ApplyBankRules(CompileOrDie({rule}), Everyday(), batch, log);
  EXPECT_EQ(summary.rules_fired, 1u);
  EXPECT_EQ(summary.actions_succeeded, 3u);
  EXPECT_EQ(summary.actions_failed, 2u);
  EXPECT_EQ(batch[0].generated.payee, "AB");
  EXPECT_EQ(batch[0].generated.date, testing::DateOf(2025, 3, 15));
  EXPECT_EQ(batch[1].generated.payee, "Spotify");
  struct Expected {
    int64_t action_id;
    std::string_view field, previous, next;
    bool success;
    std::string_view message;
  };
  const Expected expected[] = {
      {101, "generated.payee", "Spotify", "A", true, ""},
      {102, "generated.payee", "A", "AB", true, ""},
      {103, "generated.date", "", "Spotify AB", false,
       "'Spotify AB' is not a date (YYYY-MM-DD): expected YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ "
       "for a time"},
      {104, "generated.date", "", "2025-03-15", true, ""},
      {105, "generated.description", "Spotify Premium", "", false,
       "plus: 'Spotify AB' is not a number"},
  };
  ASSERT_EQ(log.size(), std::size(expected));
  for (size_t index = 0; index < log.size(); ++index) {
    const RuleLogEntry& entry = log[index];
    EXPECT_EQ(entry.rule_id, 9);
    EXPECT_EQ(entry.action_id, expected[index].action_id);
    EXPECT_EQ(entry.transaction_index, 0u);
    EXPECT_EQ(entry.transaction_id, 42);
    EXPECT_EQ(entry.field, expected[index].field);
    EXPECT_EQ(entry.previous_value, expected[index].previous);
    EXPECT_EQ(entry.new_value, expected[index].next);
    EXPECT_EQ(entry.success, expected[index].success);
    EXPECT_EQ(entry.message, expected[index].message);
  }
}

TEST(EvaluatorTest, RulesThatDoNotFireLeaveNoTrace) {
  // Proves a rule whose conditions fail changes nothing and logs nothing. It also allocates
  // nothing: matching reads fields as string_views, compares with values parsed and folded at
  // compile time, and calls RE2::PartialMatch without submatches; only firing rules create log
  // entries and strings. bench/rules_bench.cc counts allocations to confirm it (0 per
  // transaction in BM_NonMatchingRules).
  Rule rule = BankRule(1,
                       {ConditionOf("amount", kLessThan, "0"),
                        ConditionOf("creditor.name", kMatchesRegex, "netflix|hulu"),
                        ConditionOf("remittance_information.unstructured", kContains, "spotify")},
                       {SetPayee("never")});
  std::vector<domain::BankTransaction> batch = {CardPayment(), CardPayment()};
  std::vector<RuleLogEntry> log;
  const EvaluationSummary summary = ApplyBankRules(CompileOrDie({rule}), Everyday(), batch, log);
  EXPECT_EQ(summary.rules_fired, 0u);
  EXPECT_EQ(summary.actions_succeeded + summary.actions_failed, 0u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.capacity(), 0u);
  EXPECT_EQ(batch[0].generated.payee, "Spotify");
}

TEST(EvaluatorTest, BatchEntriesNameTheirTransaction) {
  // Proves a batch evaluates each transaction independently and logs its position and id.
  std::vector<domain::BankTransaction> batch = {CardPayment(), CardPayment(), CardPayment()};
  batch[1].creditor.name = "Netflix";
  for (size_t index = 0; index < batch.size(); ++index) batch[index].id = 100 + index;
  std::vector<RuleLogEntry> log;
  ApplyBankRules(CompileOrDie({BankRule(1, {Holds()}, {SetPayee("Music")})}), Everyday(), batch,
                 log);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].transaction_index, 0u);
  EXPECT_EQ(log[0].transaction_id, 100);
  EXPECT_EQ(log[1].transaction_index, 2u);
  EXPECT_EQ(log[1].transaction_id, 102);
  EXPECT_EQ(batch[1].generated.payee, "Spotify");
}

Rule DestinationRule(RuleType type, std::vector<Action> actions) {
  Rule rule = BankRule(5, {Holds()}, std::move(actions));
  rule.type = type;
  return rule;
}

TEST(EvaluatorTest, DestinationRulesChangeOnlyTheOutgoingCopy) {
  // Proves YNAB, Lunch Money and webhook rules set their own fields on the outgoing copy, the
  // bank transaction stays as it was, and SKIP_TRANSFER is logged and sets the skip flag.
  const domain::BankTransaction transaction = CardPayment();
  struct Case {
    Rule rule;
    Destination destination;
    std::function<void(const OutgoingTransaction&)> check;
  };
  const Case cases[] = {
      {DestinationRule(RuleType::kYnab, {ActionOf(kSetYnabField, "memo",
                                                  "{{ remittance_information.unstructured"
                                                  " | truncate: 12, '' }}"),
                                         ActionOf(kSetYnabField, "amount", "{amount*-1}"),
                                         ActionOf(kSetYnabField, "flag_color", "purple"),
                                         ActionOf(kSetYnabField, "approved", "{{ booked }}")}),
       Destination::kYnab,
       [](const OutgoingTransaction& outgoing) {
         EXPECT_EQ(outgoing.description, "CARD PAYMENT");
         EXPECT_EQ(outgoing.amount_minor, 4250);
         EXPECT_EQ(outgoing.flag_color, "purple");
         EXPECT_EQ(outgoing.approved, true);
         EXPECT_FALSE(outgoing.skip_transfer);
       }},
      {DestinationRule(RuleType::kLunchMoney,
                       {ActionOf(kSetLunchMoneyField, "payee", "{{ creditor.name }}"),
                        ActionOf(kSetLunchMoneyField, "tags", "music, subscriptions"),
                        ActionOf(kSkipTransfer, "", "")}),
       Destination::kLunchMoney,
       [](const OutgoingTransaction& outgoing) {
         EXPECT_EQ(outgoing.payee, "Spotify AB");
         EXPECT_EQ(outgoing.tags, (std::vector<std::string>{"music", "subscriptions"}));
         EXPECT_TRUE(outgoing.skip_transfer);
       }},
      {DestinationRule(RuleType::kWebhook,
                       {ActionOf(kSetField, "generated.payee", "{{ creditor.name | upcase }}")}),
       Destination::kWebhook,
       [](const OutgoingTransaction& outgoing) { EXPECT_EQ(outgoing.payee, "SPOTIFY AB"); }},
  };
  for (const Case& test_case : cases) {
    OutgoingTransaction outgoing = MakeOutgoingTransaction(transaction, test_case.destination);
    std::vector<RuleLogEntry> log;
    const EvaluationSummary summary =
        ApplyDestinationRules(CompileOrDie({test_case.rule}), Everyday(),
                              std::span(&transaction, 1), std::span(&outgoing, 1), log);
    EXPECT_EQ(summary.actions_failed, 0u) << (log.empty() ? "" : log.back().message);
    EXPECT_EQ(log.size(), test_case.rule.actions.size());
    test_case.check(outgoing);
  }
  EXPECT_EQ(transaction.generated.payee, CardPayment().generated.payee);
}

TEST(EvaluatorTest, SkipTransferIsLoggedLikeAnyAction) {
  // Proves the SKIP_TRANSFER log entry: field skip_transfer, previous false, new true.
  const domain::BankTransaction transaction = CardPayment();
  OutgoingTransaction outgoing = MakeOutgoingTransaction(transaction, Destination::kYnab);
  Rule rule = DestinationRule(RuleType::kYnab, {ActionOf(kSkipTransfer, "ignored", "", 77)});
  std::vector<RuleLogEntry> log;
  ApplyDestinationRules(CompileOrDie({rule}), Everyday(), std::span(&transaction, 1),
                        std::span(&outgoing, 1), log);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].action_id, 77);
  EXPECT_EQ(log[0].field, "skip_transfer");
  EXPECT_EQ(log[0].previous_value, "false");
  EXPECT_EQ(log[0].new_value, "true");
  EXPECT_TRUE(log[0].success);
  EXPECT_TRUE(outgoing.skip_transfer);
}

TEST(EvaluatorTest, UndoRestoresOnlyWhatTheRuleLeft) {
  // Proves undo restores the previous value, and is refused when the field changed since,
  // when the action had failed, and for fields that are not bank fields.
  domain::BankTransaction transaction = CardPayment();
  std::vector<RuleLogEntry> log;
  ApplyBankRules(CompileOrDie({BankRule(1, {}, {SetPayee("Music")})}), Everyday(),
                 std::span(&transaction, 1), log);
  ASSERT_EQ(log.size(), 1u);
  domain::BankTransaction edited = transaction;
  edited.generated.payee = "Edited by hand";
  const Status refused = UndoBankRuleChange(log[0], edited);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_EQ(refused.error().detail,
            "generated.payee has changed since the rule ran: it is 'Edited by hand', the rule "
            "set 'Music'");
  EXPECT_TRUE(UndoBankRuleChange(log[0], transaction).ok());
  EXPECT_EQ(transaction.generated.payee, "Spotify");

  RuleLogEntry failed = log[0];
  failed.success = false;
  EXPECT_EQ(UndoBankRuleChange(failed, transaction).error().code, ErrorCode::kConflict);
  RuleLogEntry other = log[0];
  other.field = "memo";
  EXPECT_EQ(UndoBankRuleChange(other, transaction).error().code, ErrorCode::kConflict);
}

TEST(EvaluatorDeathTest, MismatchedRuleSetIsAProgrammingError) {
  // Proves a caller that runs rules of the wrong type is stopped, not silently ignored.
  const domain::BankTransaction transaction = CardPayment();
  OutgoingTransaction outgoing = MakeOutgoingTransaction(transaction, Destination::kLunchMoney);
  const CompiledRuleSet bank_rules = CompileOrDie({BankRule(1, {}, {SetPayee("x")})});
  std::vector<RuleLogEntry> log;
  EXPECT_DEATH(ApplyDestinationRules(bank_rules, Everyday(), std::span(&transaction, 1),
                                     std::span(&outgoing, 1), log),
               "contract violated");
}

}  // namespace
}  // namespace finsync::rules
