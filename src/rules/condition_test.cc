#include "rules/condition.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "rules/test_support.h"

namespace finsync::rules {
namespace {

using enum Operator;
using testing::CardPayment;
using testing::ConditionOf;
using testing::Everyday;

struct MatchCase {
  std::string_view field;
  Operator operation;
  std::string_view value;
  bool case_sensitive;
  bool expected;
};

// Compiles the condition (which must be valid) and evaluates it on `transaction`.
bool Evaluate(const MatchCase& test_case, const domain::BankTransaction& transaction) {
  Result<CompiledCondition> compiled = CompiledCondition::Compile(
      ConditionOf(std::string(test_case.field), test_case.operation, std::string(test_case.value),
                  test_case.case_sensitive));
  EXPECT_TRUE(compiled.ok()) << test_case.field << " " << OperatorName(test_case.operation) << " '"
                             << test_case.value << "': "
                             << (compiled.ok() ? "" : compiled.error().field_errors[0].message);
  if (!compiled.ok()) return !test_case.expected;
  return compiled.value().Matches(transaction, Everyday(), CurrencyExponent(transaction.currency));
}

void ExpectCases(std::span<const MatchCase> cases, const domain::BankTransaction& transaction) {
  for (const MatchCase& test_case : cases) {
    EXPECT_EQ(Evaluate(test_case, transaction), test_case.expected)
        << test_case.field << " " << OperatorName(test_case.operation) << " '" << test_case.value
        << "' case_sensitive=" << test_case.case_sensitive;
  }
}

TEST(ConditionTest, EveryTextOperatorMatchesExactlyAndFoldsCaseOnRequest) {
  // Proves every text operator on a filled and an empty text field, with and without case
  // sensitivity, including both forms of IN and the derived account fields.
  const MatchCase cases[] = {
      {"creditor.name", kEquals, "spotify ab", false, true},
      {"creditor.name", kEquals, "spotify ab", true, false},
      {"creditor.name", kEquals, "Spotify AB", true, true},
      {"creditor.name", kEquals, "Spotify", false, false},
      {"creditor.name", kNotEquals, "spotify ab", false, false},
      {"creditor.name", kNotEquals, "Netflix", false, true},
      {"creditor.name", kContains, "TIFY", false, true},
      {"creditor.name", kContains, "TIFY", true, false},
      {"creditor.name", kContains, "netflix", false, false},
      {"creditor.name", kNotContains, "netflix", false, true},
      {"creditor.name", kNotContains, "spot", false, false},
      {"creditor.name", kStartsWith, "SPOT", false, true},
      {"creditor.name", kStartsWith, "SPOT", true, false},
      {"creditor.name", kStartsWith, "AB", false, false},
      {"creditor.name", kEndsWith, " ab", false, true},
      {"creditor.name", kEndsWith, " ab", true, false},
      {"creditor.name", kEndsWith, "spot", false, false},
      {"creditor.name", kMatchesRegex, "^spot.*ab$", false, true},
      {"creditor.name", kMatchesRegex, "^spot.*ab$", true, false},
      {"creditor.name", kMatchesRegex, "\\bAB\\b", true, true},
      {"creditor.name", kMatchesRegex, "netflix|hulu", false, false},
      {"creditor.name", kIsEmpty, "", false, false},
      {"creditor.name", kIsNotEmpty, "", false, true},
      {"creditor.name", kIn, "Netflix, spotify ab", false, true},
      {"creditor.name", kIn, "Netflix, spotify ab", true, false},
      {"creditor.name", kIn, "[\"Netflix, Inc.\", \"Spotify AB\"]", true, true},
      {"creditor.name", kIn, "Netflix, Hulu", false, false},
      {"entry_reference", kIsEmpty, "ignored", false, true},
      {"entry_reference", kIsNotEmpty, "", false, false},
      {"entry_reference", kEquals, "", false, true},
      {"entry_reference", kNotEquals, "", false, false},
      {"entry_reference", kContains, "a", false, false},
      {"entry_reference", kNotContains, "a", false, true},
      {"entry_reference", kStartsWith, "a", false, false},
      {"entry_reference", kEndsWith, "a", false, false},
      {"entry_reference", kMatchesRegex, "^$", false, true},
      {"entry_reference", kIn, "a, b", false, false},
      {"status", kEquals, "booked", false, true},
      {"currency", kIn, "NOK, eur", false, true},
      {"creditor.account", kStartsWith, "SE35", true, true},
      {"debtor.account", kEquals, "1234.56.78903", true, true},
      {"bank_account.name", kEquals, "everyday", false, true},
      {"bank_account.iban", kStartsWith, "NO93", true, true},
      {"bank_account.currency", kEquals, "EUR", true, true},
      {"remittance_information.unstructured", kContains, "p2f3", false, true},
      {"remittance_information.structured", kStartsWith, "RF", true, true},
      {"additional_information", kEndsWith, "1234", true, true},
      {"bank_transaction_code", kMatchesRegex, "^PMNT-[A-Z]{4}-", true, true},
      {"merchant_category_code", kIn, "5815,5816", true, true},
      {"generated.payee", kEquals, "SPOTIFY", false, true},
      {"generated.description", kContains, "premium", false, true},
      {"transaction_id", kEquals, "tx-1", false, true},
      {"internal_transaction_id", kIsEmpty, "", false, true},
      {"source", kEquals, "sandbox", true, true},
  };
  ExpectCases(cases, CardPayment());
}

TEST(ConditionTest, CaseFoldingCoversLatinOneButNotOtherScripts) {
  // Proves the documented Unicode behaviour: Latin-1 letters fold without allocation, other
  // scripts compare exactly, and a case-insensitive regex folds every script, including when a
  // plain literal regex is run as a substring search (the Kelvin sign still matches "k").
  domain::BankTransaction transaction = CardPayment();
  transaction.debtor.name = "Ørjan Ødegård";
  transaction.creditor.name = "ΕΛΛΗΝΙΚΆ ΚΑΦΕ";
  transaction.additional_information = "\u212AIWI TAXI";  // Starts with the Kelvin sign.
  const MatchCase cases[] = {
      {"debtor.name", kContains, "ødegård", false, true},
      {"debtor.name", kEquals, "ØRJAN ØDEGÅRD", false, true},
      {"debtor.name", kStartsWith, "øRJ", false, true},
      {"debtor.name", kEndsWith, "GÅRD", false, true},
      {"debtor.name", kContains, "ødegård", true, false},
      {"creditor.name", kContains, "καφε", false, false},
      {"creditor.name", kContains, "ΚΑΦΕ", false, true},
      {"creditor.name", kMatchesRegex, "καφε", false, true},
      {"additional_information", kContains, "kiwi", false, false},
      {"additional_information", kMatchesRegex, "kiwi", false, true},
      {"additional_information", kMatchesRegex, "taxi", false, true},
      {"additional_information", kMatchesRegex, "taxi", true, false},
      {"additional_information", kMatchesRegex, "IWI TAXI", true, true},
      {"additional_information", kMatchesRegex, "i t", false, true},
      {"additional_information", kMatchesRegex, "taxi$", false, true},
  };
  ExpectCases(cases, transaction);
}

TEST(ConditionTest, MoneyComparesExactlyInTheTransactionCurrency) {
  // Proves money operators against -42.50 EUR, including values with more decimals than EUR
  // has (they lie between cents and never equal), both IN forms, and an unknown currency.
  const MatchCase cases[] = {
      {"amount", kEquals, "-42.50", false, true},
      {"amount", kEquals, "-42.5", false, true},
      {"amount", kEquals, " -42.500 ", false, true},
      {"amount", kEquals, "-42.51", false, false},
      {"amount", kEquals, "42.50", false, false},
      {"amount", kNotEquals, "-42.50", false, false},
      {"amount", kNotEquals, "0", false, true},
      {"amount", kGreaterThan, "-50", false, true},
      {"amount", kGreaterThan, "-42.50", false, false},
      {"amount", kGreaterThanOrEqual, "-42.50", false, true},
      {"amount", kGreaterThanOrEqual, "-42.49", false, false},
      {"amount", kLessThan, "0", false, true},
      {"amount", kLessThan, "-42.50", false, false},
      {"amount", kLessThanOrEqual, "-42.50", false, true},
      {"amount", kLessThanOrEqual, "-42.51", false, false},
      {"amount", kEquals, "-42.505", false, false},
      {"amount", kGreaterThan, "-42.505", false, true},
      {"amount", kGreaterThanOrEqual, "-42.505", false, true},
      {"amount", kLessThan, "-42.495", false, true},
      {"amount", kLessThanOrEqual, "-42.505", false, false},
      {"amount", kGreaterThan, "-42.4999", false, false},
      {"amount", kIn, "-42.50, 10", false, true},
      {"amount", kIn, "[-42.5, \"10\"]", false, true},
      {"amount", kIn, "1, 2", false, false},
  };
  ExpectCases(cases, CardPayment());
}

TEST(ConditionTest, MoneyUsesEachCurrencysExponent) {
  // Proves one compiled value compares right in JPY (exponent 0) and KWD (exponent 3), and
  // that an unknown currency matches no money condition at all.
  domain::BankTransaction yen = CardPayment();
  yen.currency = "JPY";
  yen.amount_minor = 1000;
  domain::BankTransaction dinar = CardPayment();
  dinar.currency = "KWD";
  dinar.amount_minor = 1234;
  domain::BankTransaction unknown = CardPayment();
  unknown.currency = "XXX";
  const MatchCase yen_cases[] = {
      {"amount", kEquals, "1000", false, true},     {"amount", kEquals, "1000.00", false, true},
      {"amount", kEquals, "10", false, false},      {"amount", kGreaterThan, "999.5", false, true},
      {"amount", kLessThan, "1000.5", false, true}, {"amount", kLessThan, "999.9", false, false},
  };
  const MatchCase dinar_cases[] = {
      {"amount", kEquals, "1.234", false, true},
      {"amount", kGreaterThan, "1.2335", false, true},
      {"amount", kEquals, "1.23", false, false},
  };
  const MatchCase unknown_cases[] = {
      {"amount", kEquals, "-42.50", false, false},
      {"amount", kNotEquals, "-42.50", false, false},
      {"amount", kLessThan, "0", false, false},
  };
  ExpectCases(yen_cases, yen);
  ExpectCases(dinar_cases, dinar);
  ExpectCases(unknown_cases, unknown);
}

TEST(ConditionTest, MoneyAtTheEdgesOfInt64StaysExact) {
  // Proves that amounts near the int64 limits compare correctly against values that do and do
  // not fit, with no overflow.
  domain::BankTransaction largest = CardPayment();
  largest.currency = "CLF";  // Exponent 4: the value is scaled up the most.
  largest.amount_minor = INT64_MAX;
  const MatchCase cases[] = {
      {"amount", kGreaterThan, "922337203685477", false, true},
      {"amount", kEquals, "922337203685477.5807", false, true},
      {"amount", kLessThan, "-922337203685477", false, false},
  };
  ExpectCases(cases, largest);
}

TEST(ConditionTest, DatesCompareAsDatesAndMissingDatesAreOnlyEmpty) {
  // Proves every date operator on a present date (booking_date 2025-03-14) and on a missing
  // one (generated.date), where only IS_EMPTY and NOT_EQUALS hold.
  const MatchCase cases[] = {
      {"booking_date", kEquals, "2025-03-14", false, true},
      {"booking_date", kNotEquals, "2025-03-14", false, false},
      {"booking_date", kGreaterThan, "2025-03-13", false, true},
      {"booking_date", kGreaterThan, "2025-03-14", false, false},
      {"booking_date", kGreaterThanOrEqual, "2025-03-14", false, true},
      {"booking_date", kLessThan, "2025-03-15", false, true},
      {"booking_date", kLessThan, "2024-12-31", false, false},
      {"booking_date", kLessThanOrEqual, "2025-03-13", false, false},
      {"booking_date", kIsEmpty, "", false, false},
      {"booking_date", kIsNotEmpty, "", false, true},
      {"booking_date", kIn, "2025-01-01, 2025-03-14", false, true},
      {"booking_date", kIn, "[\"2025-01-01\"]", false, false},
      {"value_date", kEquals, "2025-03-15", false, true},
      {"generated.date", kIsEmpty, "", false, true},
      {"generated.date", kIsNotEmpty, "", false, false},
      {"generated.date", kEquals, "2025-03-14", false, false},
      {"generated.date", kNotEquals, "2025-03-14", false, true},
      {"generated.date", kGreaterThan, "1900-01-01", false, false},
      {"generated.date", kLessThan, "9999-12-31", false, false},
      {"generated.date", kIn, "2025-03-14", false, false},
  };
  ExpectCases(cases, CardPayment());
}

TEST(ConditionTest, BooleansCompareTrueAndFalse) {
  // Proves booked on a booked and a pending transaction, with the value in any case.
  domain::BankTransaction pending = CardPayment();
  pending.status = domain::BookingStatus::kPending;
  const MatchCase booked_cases[] = {
      {"booked", kEquals, "true", false, true},
      {"booked", kEquals, "TRUE", false, true},
      {"booked", kEquals, "false", false, false},
      {"booked", kNotEquals, "false", false, true},
  };
  const MatchCase pending_cases[] = {
      {"booked", kEquals, "false", false, true},
      {"booked", kNotEquals, "false", false, false},
      {"status", kEquals, "PENDING", true, true},
  };
  ExpectCases(booked_cases, CardPayment());
  ExpectCases(pending_cases, pending);
}

struct CompileErrorCase {
  std::string_view field;
  Operator operation;
  std::string value;
  std::string_view key;
  std::string_view message_part;
};

TEST(ConditionTest, InvalidConditionsAreRefusedWithTheFieldAndReason) {
  // Proves each kind of bad condition is refused at compile time, keyed on the element at
  // fault, with a message that says what is wrong.
  const CompileErrorCase cases[] = {
      {"string", kEquals, "string", "field_name", "unknown field 'string'; fields are amount"},
      {"Amount", kEquals, "1", "field_name", "unknown field 'Amount'"},
      {"amount", kContains, "1", "operator", "CONTAINS does not apply to amount, a money field"},
      {"amount", kIsEmpty, "", "operator", "IS_EMPTY does not apply to amount"},
      {"creditor.name", kGreaterThan, "a", "operator", "use one of EQUALS, NOT_EQUALS"},
      {"booked", kContains, "t", "operator", "a boolean field; use one of EQUALS, NOT_EQUALS"},
      {"booking_date", kMatchesRegex, ".", "operator", "MATCHES_REGEX does not apply"},
      {"amount", kEquals, "12.34567", "value", "more than 4 decimal places"},
      {"amount", kEquals, "abc", "value", "'abc' is not an amount"},
      {"amount", kEquals, "", "value", "amount is empty"},
      {"amount", kGreaterThan, "1e5", "value", "is not an amount"},
      {"amount", kEquals, "1,50", "value", "is not an amount"},
      {"amount", kEquals, "99999999999999999", "value", "too large"},
      {"amount", kIn, "1, x", "value", "item 1 'x' is not an amount"},
      {"booking_date", kEquals, "2025-02-30", "value", "day does not exist in that month"},
      {"booking_date", kEquals, "14.03.2025", "value", "is not a date (YYYY-MM-DD)"},
      {"booking_date", kIn, "2025-01-01, 2025-13-01", "value", "item 1 '2025-13-01'"},
      {"booked", kEquals, "yes", "value", "'yes' must be true or false"},
      {"creditor.name", kMatchesRegex, "(abc", "value", "invalid regular expression: missing )"},
      {"creditor.name", kMatchesRegex, "", "value", "MATCHES_REGEX needs a value"},
      {"creditor.name", kContains, "", "value", "CONTAINS needs a value"},
      {"creditor.name", kNotContains, "", "value", "NOT_CONTAINS needs a value"},
      {"creditor.name", kStartsWith, "", "value", "STARTS_WITH needs a value"},
      {"creditor.name", kEndsWith, "", "value", "ENDS_WITH needs a value"},
      {"creditor.name", kIn, " ", "value", "IN needs a list of items"},
      {"creditor.name", kIn, "a,,b", "value", "item 1 is empty"},
      {"creditor.name", kIn, "[]", "value", "at least one item"},
      {"creditor.name", kIn, "[1, {}]", "value", "item 1 must be a string or a number"},
      {"creditor.name", kIn, "[1,", "value", "must be a JSON array"},
      {"creditor.name", kIn, "[1", "value", "must be a JSON array"},
      {"creditor.name", kEquals, std::string(1001, 'x'), "value", "longer than 1000 bytes"},
      {"creditor.name", kIn, "a" + std::string(100, ','), "value", "item 1 is empty"},
  };
  for (const CompileErrorCase& test_case : cases) {
    const Result<CompiledCondition> compiled = CompiledCondition::Compile(
        ConditionOf(std::string(test_case.field), test_case.operation, test_case.value));
    ASSERT_FALSE(compiled.ok()) << test_case.field << " " << test_case.value;
    ASSERT_EQ(compiled.error().field_errors.size(), 1u);
    const FieldError& error = compiled.error().field_errors[0];
    EXPECT_EQ(error.field, test_case.key) << test_case.field << " '" << test_case.value << "'";
    EXPECT_NE(error.message.find(test_case.message_part), std::string::npos)
        << "'" << error.message << "' lacks '" << test_case.message_part << "'";
  }
}

TEST(ConditionTest, InListsAreBoundedAndReadInBothForms) {
  // Proves both IN list forms give the same items, whitespace handling differs as documented,
  // and more than kInListItemsMax items are refused.
  EXPECT_EQ(ParseInList(" a , b ,c").value(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ParseInList("[\" a \", 1.50, \"b,c\"]").value(),
            (std::vector<std::string>{" a ", "1.50", "b,c"}));
  std::string hundred = "1";
  for (int32_t item = 2; item <= 100; ++item) hundred += "," + std::to_string(item);
  EXPECT_TRUE(ParseInList(hundred).ok());
  const Result<std::vector<std::string>> too_many = ParseInList(hundred + ",101");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().detail, "IN takes at most 100 items");
}

TEST(ConditionTest, CheapConditionsCostLessThanRegexes) {
  // Proves the cost order the rule compiler sorts by: numbers, then equality, then IN, then
  // substring search, then regexes that need RE2.
  const auto cost_of = [](std::string field, Operator operation, std::string value) {
    return CompiledCondition::Compile(ConditionOf(std::move(field), operation, std::move(value)))
        .value()
        .cost();
  };
  EXPECT_LT(cost_of("amount", kLessThan, "0"), cost_of("creditor.name", kEquals, "a"));
  EXPECT_LT(cost_of("creditor.name", kEquals, "a"), cost_of("creditor.name", kIn, "a,b"));
  EXPECT_LT(cost_of("creditor.name", kIn, "a,b"), cost_of("creditor.name", kContains, "a"));
  EXPECT_LT(cost_of("creditor.name", kContains, "a"),
            cost_of("creditor.name", kMatchesRegex, "a+b"));
  // A plain literal regex is searched like CONTAINS, so it costs the same.
  EXPECT_EQ(cost_of("creditor.name", kMatchesRegex, "taxi"),
            cost_of("creditor.name", kContains, "taxi"));
}

}  // namespace
}  // namespace finsync::rules
