#include "rules/compiler.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/test_support.h"

namespace finsync::rules {
namespace {

using enum Operator;
using enum ActionType;
using testing::ActionOf;
using testing::ConditionOf;

// A valid BANK rule that the cases below break in one way each.
Rule ValidBankRule() {
  Rule rule;
  rule.id = 7;
  rule.name = "Tidy Spotify";
  rule.type = RuleType::kBank;
  rule.conditions = {ConditionOf("creditor.name", kContains, "spotify")};
  rule.actions = {ActionOf(kSetField, "generated.payee", "{{ creditor.name | upcase }}")};
  return rule;
}

std::vector<std::string> ErrorKeys(const Status& status) {
  std::vector<std::string> keys;
  if (status.ok()) return keys;
  for (const FieldError& error : status.error().field_errors) keys.push_back(error.field);
  return keys;
}

std::string MessageFor(const Status& status, std::string_view key) {
  if (status.ok()) return "";
  for (const FieldError& error : status.error().field_errors) {
    if (error.field == key) return error.message;
  }
  return "";
}

TEST(CompilerTest, SeedExampleSentVerbatimGetsOneErrorPerPlaceholder) {
  // Proves seed 001's create-rule body with its placeholder values is refused with a precise
  // error for the unknown field path and for the YNAB action on a BANK rule, and nothing else.
  Rule rule;
  rule.name = "string";
  rule.description = "string";
  rule.enabled = true;
  rule.trigger_on_any_condition = true;
  rule.skip_other_rules_when_triggered = true;
  rule.type = RuleType::kBank;
  rule.conditions = {ConditionOf("string", kEquals, "string")};
  rule.actions = {ActionOf(kSetYnabField, "string", "string")};
  const Status status = ValidateRule(rule);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(ErrorKeys(status),
            (std::vector<std::string>{"conditions.0.field_name", "actions.0.action_type"}));
  EXPECT_EQ(MessageFor(status, "actions.0.action_type"),
            "SET_YNAB_FIELD is not allowed in a BANK rule; use SET_FIELD");
  EXPECT_EQ(status.error().detail.rfind("The rule is invalid: conditions.0.field_name", 0), 0u);
}

TEST(CompilerTest, SeedExampleWithRealValuesIsAccepted) {
  // Proves the seed's shape with real values (currency NOK, a YNAB memo) compiles for a YNAB
  // rule and, with SET_FIELD, for a BANK rule.
  Rule ynab;
  ynab.name = "Norwegian purchases";
  ynab.type = RuleType::kYnab;
  ynab.trigger_on_any_condition = true;
  ynab.conditions = {ConditionOf("currency", kEquals, "NOK")};
  ynab.actions = {ActionOf(kSetYnabField, "memo", "NOK {{ amount }}"),
                  ActionOf(kSetYnabField, "flag_color", "blue"), ActionOf(kSkipTransfer, "", "")};
  EXPECT_TRUE(ValidateRule(ynab).ok()) << MessageFor(ValidateRule(ynab), "actions.0.value");
  Rule bank = ValidBankRule();
  bank.conditions = {ConditionOf("currency", kEquals, "NOK")};
  EXPECT_TRUE(ValidateRule(bank).ok());
}

struct InvalidRuleCase {
  std::string_view what;
  std::function<void(Rule&)> change;
  std::string_view key;
  std::string_view message_part;
};

TEST(CompilerTest, EachInvalidElementIsReportedUnderItsApiKey) {
  // Proves each rule-level, condition and action mistake is refused when the rule is saved,
  // under the key the API reports, with a message that says what to do.
  const InvalidRuleCase cases[] = {
      {"blank name", [](Rule& rule) { rule.name = "  "; }, "name", "is required"},
      {"long name", [](Rule& rule) { rule.name = std::string(256, 'n'); }, "name",
       "longer than 255 bytes"},
      {"long description", [](Rule& rule) { rule.description = std::string(2001, 'd'); },
       "description", "longer than 2000 bytes"},
      {"no actions", [](Rule& rule) { rule.actions.clear(); }, "actions",
       "a rule needs at least one action"},
      {"too many conditions", [](Rule& rule) { rule.conditions.resize(101, rule.conditions[0]); },
       "conditions", "at most 100 conditions"},
      {"too many actions", [](Rule& rule) { rule.actions.resize(101, rule.actions[0]); }, "actions",
       "at most 100 actions"},
      {"unknown condition field", [](Rule& rule) { rule.conditions[0].field_name = "payee"; },
       "conditions.0.field_name", "unknown field 'payee'"},
      {"operator for another type", [](Rule& rule) { rule.conditions[0].operation = kGreaterThan; },
       "conditions.0.operator", "GREATER_THAN does not apply to creditor.name, a text field"},
      {"bad regex",
       [](Rule& rule) { rule.conditions[0] = ConditionOf("creditor.name", kMatchesRegex, "a["); },
       "conditions.0.value", "invalid regular expression: missing ]"},
      {"too many decimals",
       [](Rule& rule) { rule.conditions[0] = ConditionOf("amount", kLessThan, "-0.00001"); },
       "conditions.0.value", "more than 4 decimal places"},
      {"SET_YNAB_FIELD on WEBHOOK",
       [](Rule& rule) {
         rule.type = RuleType::kWebhook;
         rule.actions[0].type = kSetYnabField;
       },
       "actions.0.action_type",
       "SET_YNAB_FIELD is not allowed in a WEBHOOK rule; use SET_FIELD, "
       "SKIP_TRANSFER"},
      {"SKIP_TRANSFER on BANK", [](Rule& rule) { rule.actions[0].type = kSkipTransfer; },
       "actions.0.action_type", "SKIP_TRANSFER is not allowed in a BANK rule"},
      {"SET_FIELD on YNAB", [](Rule& rule) { rule.type = RuleType::kYnab; },
       "actions.0.action_type", "use SET_YNAB_FIELD, SKIP_TRANSFER"},
      {"SET_YNAB_FIELD on LUNCH_MONEY",
       [](Rule& rule) {
         rule.type = RuleType::kLunchMoney;
         rule.actions[0] = ActionOf(kSetYnabField, "memo", "x");
       },
       "actions.0.action_type", "use SET_LUNCH_MONEY_FIELD, SKIP_TRANSFER"},
      {"bank field not editable", [](Rule& rule) { rule.actions[0].field_name = "amount"; },
       "actions.0.field_name",
       "unknown field 'amount' for SET_FIELD in a BANK rule; use one of generated.payee, "
       "generated.description, generated.date"},
      {"YNAB field that does not exist",
       [](Rule& rule) {
         rule.type = RuleType::kYnab;
         rule.actions[0] = ActionOf(kSetYnabField, "currency", "EUR");
       },
       "actions.0.field_name", "unknown field 'currency' for SET_YNAB_FIELD in a YNAB rule"},
      {"bad template", [](Rule& rule) { rule.actions[0].value = "{{ creditor.name | upper }}"; },
       "actions.0.value", "unknown filter 'upper' at offset 19"},
      {"constant date that is not one",
       [](Rule& rule) { rule.actions[0] = ActionOf(kSetField, "generated.date", "tomorrow"); },
       "actions.0.value", "'tomorrow' is not a date (YYYY-MM-DD)"},
      {"constant flag colour",
       [](Rule& rule) {
         rule.type = RuleType::kYnab;
         rule.actions[0] = ActionOf(kSetYnabField, "flag_color", "pink");
       },
       "actions.0.value", "flag_color must be one of"},
      {"constant amount with too many decimals",
       [](Rule& rule) {
         rule.type = RuleType::kLunchMoney;
         rule.actions[0] = ActionOf(kSetLunchMoneyField, "amount", "1.23456");
       },
       "actions.0.value", "more than 4 decimal places"},
      {"constant template that cannot render",
       [](Rule& rule) {
         rule.type = RuleType::kYnab;
         rule.actions[0] = ActionOf(kSetYnabField, "amount", "{{ 'x' | plus: 1 }}");
       },
       "actions.0.value", "plus: 'x' is not a number"},
      {"amount finer than the pinned currency",
       [](Rule& rule) {
         rule.conditions = {ConditionOf("currency", kEquals, "JPY"),
                            ConditionOf("amount", kGreaterThan, "1.5")};
       },
       "conditions.1.value", "'1.5' has more decimals than JPY allows (0)"},
      {"amount finer than the pinned account currency",
       [](Rule& rule) {
         rule.conditions = {ConditionOf("amount", kIn, "1, 2.5"),
                            ConditionOf("bank_account.currency", kEquals, " jpy ")};
       },
       "conditions.0.value", "'2.5' has more decimals than JPY allows (0)"},
  };
  for (const InvalidRuleCase& test_case : cases) {
    Rule rule = ValidBankRule();
    test_case.change(rule);
    const Status status = ValidateRule(rule);
    ASSERT_FALSE(status.ok()) << test_case.what;
    const std::vector<std::string> keys = ErrorKeys(status);
    EXPECT_EQ(keys, std::vector<std::string>{std::string(test_case.key)}) << test_case.what;
    const std::string message = MessageFor(status, test_case.key);
    EXPECT_NE(message.find(test_case.message_part), std::string::npos)
        << test_case.what << ": '" << message << "' lacks '" << test_case.message_part << "'";
  }
}

TEST(CompilerTest, ValidVariantsOfRiskyRulesAreAccepted) {
  // Proves the checks above do not over-reach: OR rules do not pin a currency, fields in a
  // destination value are checked at run time, and exact amounts pass a pinned currency.
  Rule any = ValidBankRule();
  any.trigger_on_any_condition = true;
  any.conditions = {ConditionOf("currency", kEquals, "JPY"),
                    ConditionOf("amount", kGreaterThan, "1.5")};
  EXPECT_TRUE(ValidateRule(any).ok());
  Rule exact = ValidBankRule();
  exact.conditions = {ConditionOf("currency", kEquals, "JPY"),
                      ConditionOf("amount", kGreaterThan, "1500.000")};
  EXPECT_TRUE(ValidateRule(exact).ok());
  Rule dynamic = ValidBankRule();
  dynamic.type = RuleType::kYnab;
  dynamic.actions = {ActionOf(kSetYnabField, "approved", "{{ booked }}"),
                     ActionOf(kSetYnabField, "amount", "{amount*-1}")};
  EXPECT_TRUE(ValidateRule(dynamic).ok());
  Rule no_conditions = ValidBankRule();
  no_conditions.conditions.clear();
  EXPECT_TRUE(ValidateRule(no_conditions).ok());
}

TEST(CompilerTest, EveryProblemIsReportedAtOnce) {
  // Proves a rule with several mistakes gets all of them in one answer, in order.
  Rule rule = ValidBankRule();
  rule.name = "";
  rule.conditions = {ConditionOf("nope", kEquals, "x"), ConditionOf("amount", kEquals, "1"),
                     ConditionOf("booked", kEquals, "maybe")};
  rule.actions = {ActionOf(kSetField, "generated.payee", "ok"),
                  ActionOf(kSetField, "generated.payee", "{{ nope }}")};
  EXPECT_EQ(ErrorKeys(ValidateRule(rule)),
            (std::vector<std::string>{"name", "conditions.0.field_name", "conditions.2.value",
                                      "actions.1.value"}));
}

TEST(CompilerTest, RuleSetsKeepOrderDropDisabledRulesAndSortConditionsByCost) {
  // Proves a compiled set keeps the given order without disabled rules, records its type and
  // whether it reads amounts, and tests cheap conditions before regexes.
  Rule first = ValidBankRule();
  first.id = 1;
  first.conditions = {ConditionOf("creditor.name", kMatchesRegex, "spot"),
                      ConditionOf("remittance_information.unstructured", kContains, "card"),
                      ConditionOf("amount", kLessThan, "0")};
  Rule disabled = ValidBankRule();
  disabled.id = 2;
  disabled.enabled = false;
  Rule third = ValidBankRule();
  third.id = 3;
  Result<CompiledRuleSet> set = Compile({first, disabled, third});
  ASSERT_TRUE(set.ok()) << set.error().detail;
  EXPECT_EQ(set.value().type(), RuleType::kBank);
  EXPECT_TRUE(set.value().reads_amount());
  ASSERT_EQ(set.value().rules().size(), 2u);
  EXPECT_EQ(set.value().rules()[0].id, 1);
  EXPECT_EQ(set.value().rules()[1].id, 3);
  const std::vector<CompiledCondition>& conditions = set.value().rules()[0].conditions;
  EXPECT_EQ(conditions[0].operation(), kLessThan);
  EXPECT_EQ(conditions[1].operation(), kContains);
  EXPECT_EQ(conditions[2].operation(), kMatchesRegex);

  Result<CompiledRuleSet> empty = Compile({});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty.value().type());
  EXPECT_FALSE(empty.value().reads_amount());
}

TEST(CompilerTest, RuleSetErrorsNameTheRule) {
  // Proves set compilation prefixes each error with its rule's position, and refuses a set
  // that mixes rule types.
  Rule broken = ValidBankRule();
  broken.conditions[0].field_name = "nope";
  Rule ynab = ValidBankRule();
  ynab.type = RuleType::kYnab;
  ynab.actions = {ActionOf(kSkipTransfer, "", "")};
  const Result<CompiledRuleSet> set = Compile({ValidBankRule(), broken, ynab});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(ErrorKeys(set.status()),
            (std::vector<std::string>{"rules.1.conditions.0.field_name", "rules.2.type"}));
  EXPECT_EQ(MessageFor(set.status(), "rules.2.type"),
            "a YNAB rule cannot share a rule set with BANK rules");
}

}  // namespace
}  // namespace finsync::rules
