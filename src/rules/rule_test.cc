#include "rules/rule.h"

#include <gtest/gtest.h>

namespace finsync::rules {
namespace {

TEST(RuleTest, EnumNamesAreTheApisExactSpellings) {
  // Proves every enum value has the seed's name, parses back from it, and that other
  // spellings are refused.
  for (RuleType type : AllRuleTypes()) EXPECT_EQ(ParseRuleType(RuleTypeName(type)), type);
  for (Operator operation : AllOperators()) {
    EXPECT_EQ(ParseOperator(OperatorName(operation)), operation);
  }
  for (ActionType type : AllActionTypes()) EXPECT_EQ(ParseActionType(ActionTypeName(type)), type);
  EXPECT_EQ(AllOperators().size(), 14u);
  EXPECT_EQ(OperatorName(Operator::kGreaterThanOrEqual), "GREATER_THAN_OR_EQUAL");
  EXPECT_EQ(OperatorName(Operator::kMatchesRegex), "MATCHES_REGEX");
  EXPECT_EQ(RuleTypeName(RuleType::kLunchMoney), "LUNCH_MONEY");
  EXPECT_EQ(ActionTypeName(ActionType::kSetLunchMoneyField), "SET_LUNCH_MONEY_FIELD");
  EXPECT_EQ(ParseOperator("equals"), std::nullopt);
  EXPECT_EQ(ParseOperator("EQUALS "), std::nullopt);
  EXPECT_EQ(ParseRuleType("Bank"), std::nullopt);
  EXPECT_EQ(ParseActionType(""), std::nullopt);
}

}  // namespace
}  // namespace finsync::rules
