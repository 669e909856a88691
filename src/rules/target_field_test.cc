#include "rules/target_field.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "rules/test_support.h"

namespace finsync::rules {
namespace {

using enum TargetField;
using testing::CardPayment;

TEST(TargetFieldTest, ActionTypesArePermittedPerRuleType) {
  // Proves the action-type table: BANK takes SET_FIELD only; each destination takes its own
  // set-action and SKIP_TRANSFER; WEBHOOK sets generated fields with SET_FIELD.
  using enum ActionType;
  struct Case {
    RuleType rule_type;
    bool set_field, set_ynab, set_lunch_money, skip;
  };
  const Case cases[] = {
      {RuleType::kBank, true, false, false, false},
      {RuleType::kYnab, false, true, false, true},
      {RuleType::kLunchMoney, false, false, true, true},
      {RuleType::kWebhook, true, false, false, true},
  };
  for (const Case& test_case : cases) {
    const std::string_view name = RuleTypeName(test_case.rule_type);
    EXPECT_EQ(ActionAllowed(test_case.rule_type, kSetField), test_case.set_field) << name;
    EXPECT_EQ(ActionAllowed(test_case.rule_type, kSetYnabField), test_case.set_ynab) << name;
    EXPECT_EQ(ActionAllowed(test_case.rule_type, kSetLunchMoneyField), test_case.set_lunch_money)
        << name;
    EXPECT_EQ(ActionAllowed(test_case.rule_type, kSkipTransfer), test_case.skip) << name;
  }
  EXPECT_EQ(AllowedActionList(RuleType::kYnab), "SET_YNAB_FIELD, SKIP_TRANSFER");
  EXPECT_EQ(TargetFieldList(RuleType::kBank),
            "generated.payee, generated.description, generated.date");
  EXPECT_EQ(TargetFieldList(RuleType::kYnab),
            "payee_name, memo, date, amount, category_id, category_name, flag_color, cleared, "
            "approved");
  EXPECT_EQ(TargetFieldList(RuleType::kLunchMoney),
            "payee, notes, date, amount, category_id, status, tags, external_id");
  EXPECT_EQ(FindTargetField(RuleType::kLunchMoney, "notes")->field, kDescription);
  EXPECT_EQ(FindTargetField(RuleType::kWebhook, "generated.payee")->field, kPayee);
  EXPECT_FALSE(FindTargetField(RuleType::kBank, "payee_name"));
}

TEST(TargetFieldTest, OutgoingCopyStartsFromTheGeneratedFields) {
  // Proves what a destination receives before any rule ran, for booked and pending
  // transactions with and without a generated date.
  domain::BankTransaction transaction = CardPayment();
  OutgoingTransaction outgoing = MakeOutgoingTransaction(transaction, Destination::kYnab);
  EXPECT_EQ(outgoing.destination, Destination::kYnab);
  EXPECT_FALSE(outgoing.skip_transfer);
  EXPECT_EQ(outgoing.payee, "Spotify");
  EXPECT_EQ(outgoing.description, "Spotify Premium");
  EXPECT_EQ(outgoing.date, testing::DateOf(2025, 3, 14));
  EXPECT_EQ(outgoing.amount_minor, -4250);
  EXPECT_EQ(outgoing.currency, "EUR");
  EXPECT_EQ(outgoing.cleared, "cleared");
  EXPECT_FALSE(outgoing.approved);
  transaction.generated.date = testing::DateOf(2025, 3, 1);
  transaction.status = domain::BookingStatus::kPending;
  outgoing = MakeOutgoingTransaction(transaction, Destination::kLunchMoney);
  EXPECT_EQ(outgoing.date, testing::DateOf(2025, 3, 1));
  EXPECT_EQ(outgoing.cleared, "uncleared");
}

TEST(TargetFieldTest, WritesCheckEachDestinationFieldsValues) {
  // Proves every destination field's accepted and refused values, that nothing changes on a
  // refusal, and how each value reads back for the rule log.
  struct Case {
    Destination destination;
    TargetField field;
    std::string value;
    std::string_view problem_part;  // "" when the write must succeed.
    std::string read_back;          // After the write (unchanged on refusal).
  };
  const std::string uuid = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
  const Case cases[] = {
      {Destination::kYnab, kPayee, "  Spotify  ", "", "  Spotify  "},
      {Destination::kYnab, kDescription, "Music", "", "Music"},
      {Destination::kYnab, kDate, " 2025-04-01 ", "", "2025-04-01"},
      {Destination::kYnab, kDate, "", "date must not be empty", "2025-03-14"},
      {Destination::kWebhook, kDate, "", "", ""},
      {Destination::kYnab, kDate, "2025-02-30", "not a date (YYYY-MM-DD): day does not exist",
       "2025-03-14"},
      {Destination::kYnab, kAmount, "42.50", "", "42.50"},
      {Destination::kYnab, kAmount, " -1 ", "", "-1.00"},
      {Destination::kYnab, kAmount, "42.505", "more than 2 decimal places", "-42.50"},
      {Destination::kYnab, kAmount, "abc", "'abc' is not an amount", "-42.50"},
      {Destination::kYnab, kCategoryId, uuid, "", uuid},
      {Destination::kYnab, kCategoryId, "", "", ""},
      {Destination::kYnab, kCategoryId, "123", "YNAB category UUID", ""},
      {Destination::kYnab, kCategoryName, "Music", "", "Music"},
      {Destination::kYnab, kFlagColor, "red", "", "red"},
      {Destination::kYnab, kFlagColor, "", "", ""},
      {Destination::kYnab, kFlagColor, "pink",
       "flag_color must be one of: \"\" (none) red orange yellow green blue purple", ""},
      {Destination::kYnab, kCleared, "reconciled", "", "reconciled"},
      {Destination::kYnab, kCleared, "maybe", "cleared must be one of: cleared uncleared",
       "cleared"},
      {Destination::kYnab, kApproved, "true", "", "true"},
      {Destination::kYnab, kApproved, "false", "", "false"},
      {Destination::kYnab, kApproved, "yes", "approved must be true or false", ""},
      {Destination::kLunchMoney, kCategoryId, "123", "", "123"},
      {Destination::kLunchMoney, kCategoryId, "0123", "Lunch Money category number", ""},
      {Destination::kLunchMoney, kCategoryId, uuid, "Lunch Money category number", ""},
      {Destination::kLunchMoney, kCleared, "uncleared", "", "uncleared"},
      {Destination::kLunchMoney, kCleared, "reconciled", "status must be one of", "cleared"},
      {Destination::kLunchMoney, kTags, " music, subscriptions ,, ", "", "music,subscriptions"},
      {Destination::kLunchMoney, kTags, "", "", ""},
      {Destination::kLunchMoney, kExternalId, std::string(75, 'x'), "", std::string(75, 'x')},
      {Destination::kLunchMoney, kExternalId, std::string(76, 'x'), "longer than 75 bytes", ""},
  };
  for (const Case& test_case : cases) {
    OutgoingTransaction outgoing = MakeOutgoingTransaction(CardPayment(), test_case.destination);
    const std::string problem = WriteTarget(test_case.field, test_case.value, outgoing);
    if (test_case.problem_part.empty()) {
      EXPECT_EQ(problem, "") << test_case.value;
    } else {
      EXPECT_NE(problem.find(test_case.problem_part), std::string::npos)
          << "'" << problem << "' lacks '" << test_case.problem_part << "'";
    }
    EXPECT_EQ(ReadTarget(test_case.field, outgoing), test_case.read_back) << test_case.value;
  }
}

TEST(TargetFieldTest, BankWritesChangeOnlyGeneratedFields) {
  // Proves BANK rules write the generated payee, description and date, clear the date with an
  // empty value, and refuse a date that is not one.
  domain::BankTransaction transaction = CardPayment();
  EXPECT_EQ(WriteTarget(kPayee, "Music", transaction), "");
  EXPECT_EQ(transaction.generated.payee, "Music");
  EXPECT_EQ(WriteTarget(kDescription, " Premium ", transaction), "");
  EXPECT_EQ(transaction.generated.description, " Premium ");
  EXPECT_EQ(WriteTarget(kDate, "2025-03-01", transaction), "");
  EXPECT_EQ(ReadTarget(kDate, transaction), "2025-03-01");
  EXPECT_NE(WriteTarget(kDate, "yesterday", transaction), "");
  EXPECT_EQ(ReadTarget(kDate, transaction), "2025-03-01");
  EXPECT_EQ(WriteTarget(kDate, "", transaction), "");
  EXPECT_FALSE(transaction.generated.date);
  EXPECT_EQ(transaction.creditor.name, "Spotify AB");
}

}  // namespace
}  // namespace finsync::rules
