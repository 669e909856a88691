#include "domain/money.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace finsync::domain {
namespace {

using namespace std::string_view_literals;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Currency CurrencyOf(std::string_view code) { return *Currency::FromCode(code); }

struct ParseCase {
  std::string_view text;
  int32_t exponent;
  AmountError error;
  int64_t amount_minor;  // Checked only when error is kNone.
};

void ExpectParse(const ParseCase& test_case, const AmountParseResult& result) {
  EXPECT_EQ(result.error, test_case.error) << "'" << test_case.text << "': " << result.message;
  if (test_case.error == AmountError::kNone) {
    EXPECT_EQ(result.amount_minor, test_case.amount_minor) << "'" << test_case.text << "'";
    EXPECT_TRUE(result.message.empty());
  } else {
    EXPECT_FALSE(result.message.empty()) << "'" << test_case.text << "'";
  }
}

TEST(ParseDecimalAmountTest, ParsesExactlyOrNamesTheMistake) {
  // Proves that decimal text becomes exact minor units, and every kind of bad input gets its
  // own error, including the int64 edges and syntax errors that hide value errors.
  using enum AmountError;
  const ParseCase cases[] = {
      {"-42.50", 2, kNone, -4250},
      {"42.5", 2, kNone, 4250},
      {"-42.5", 2, kNone, -4250},
      {"+3", 2, kNone, 300},
      {"12", 2, kNone, 1200},
      {"0.10", 2, kNone, 10},
      {"0.05", 2, kNone, 5},
      {"-0.05", 2, kNone, -5},
      {"0", 2, kNone, 0},
      {"-0", 2, kNone, 0},
      {"-0.00", 2, kNone, 0},
      {"007.5", 2, kNone, 750},
      {"1.500", 2, kNone, 150},
      {"1.5000000000000000000000000", 2, kNone, 150},
      {"100", 0, kNone, 100},
      {"100.000", 0, kNone, 100},
      {"12.345", 3, kNone, 12345},
      {"1.2345", 4, kNone, 12345},
      {"0.000000000000000001", 18, kNone, 1},
      {"9.223372036854775807", 18, kNone, kMax},
      {"-9.223372036854775808", 18, kNone, kMin},
      {"92233720368547758.07", 2, kNone, kMax},
      {"-92233720368547758.08", 2, kNone, kMin},
      {"9223372036854775807", 0, kNone, kMax},
      {"-9223372036854775808", 0, kNone, kMin},
      {"0000000000000000000000000000001", 0, kNone, 1},
      {"92233720368547758.08", 2, kOverflow, 0},
      {"-92233720368547758.09", 2, kOverflow, 0},
      {"9223372036854775808", 0, kOverflow, 0},
      {"92233720368547758.1", 2, kOverflow, 0},
      {"99999999999999999999", 2, kOverflow, 0},
      {"10", 18, kOverflow, 0},
      {"1.5", 0, kTooManyDecimals, 0},
      {"1.001", 2, kTooManyDecimals, 0},
      {"1.0000000000001", 2, kTooManyDecimals, 0},
      {"0.0001", 3, kTooManyDecimals, 0},
      {"99999999999999999999.001", 2, kOverflow, 0},
      {"", 2, kEmpty, 0},
      {"-", 2, kMissingDigits, 0},
      {"+", 2, kMissingDigits, 0},
      {".5", 2, kMissingDigits, 0},
      {"-.5", 2, kMissingDigits, 0},
      {"5.", 2, kMissingDigits, 0},
      {".", 2, kMissingDigits, 0},
      {"1e2", 2, kExponentNotation, 0},
      {"1E2", 2, kExponentNotation, 0},
      {"1.5e3", 2, kExponentNotation, 0},
      {"1.2345e2", 2, kExponentNotation, 0},
      {"1.2.3", 2, kMisplacedSeparator, 0},
      {"1..2", 2, kMisplacedSeparator, 0},
      {" 1", 2, kInvalidCharacter, 0},
      {"1 ", 2, kInvalidCharacter, 0},
      {"1,5", 2, kInvalidCharacter, 0},
      {"1,000.00", 2, kInvalidCharacter, 0},
      {"--1", 2, kInvalidCharacter, 0},
      {"+-1", 2, kInvalidCharacter, 0},
      {"1-", 2, kInvalidCharacter, 0},
      {"1.5-", 2, kInvalidCharacter, 0},
      {"0x10", 2, kInvalidCharacter, 0},
      {"NaN", 2, kInvalidCharacter, 0},
      {"Infinity", 2, kInvalidCharacter, 0},
      {"1\0"sv, 2, kInvalidCharacter, 0},
      {"\xD9\xA1", 2, kInvalidCharacter, 0},
      {"1", -1, kInvalidFormat, 0},
      {"1", 19, kInvalidFormat, 0},
  };
  for (const ParseCase& test_case : cases) {
    ExpectParse(test_case, ParseDecimalAmount(test_case.text, test_case.exponent));
  }
}

TEST(ParseDecimalAmountTest, MessagesNameTheProblemAndTheOffset) {
  // Proves that the human message says what is wrong and where, without echoing raw bytes.
  struct Case {
    std::string_view text;
    int32_t exponent;
    std::string_view message;
  };
  const Case cases[] = {
      {"", 2, "amount is empty"},
      {"12x", 2, "unexpected 'x' at offset 2"},
      {"1\xC2\xA0", 2, "unexpected byte 0xC2 at offset 1"},
      {"1.001", 2, "more than 2 decimal places at offset 4"},
      {"1e5", 2, "exponent notation is not accepted; write the amount out in full at offset 1"},
      {"1-", 2, "a sign is only allowed first at offset 1"},
      {"-", 2, "expected a digit at offset 1"},
      {"5.", 2, "expected a digit after the decimal separator at offset 2"},
      {"1.2.3", 2, "separator after the decimal separator at offset 3"},
      {"99999999999999999999", 2, "amount is too large to store exactly"},
      {"1", 19, "exponent 19 is outside 0..18"},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(ParseDecimalAmount(test_case.text, test_case.exponent).message, test_case.message);
  }
}

struct LocalizedCase {
  std::string_view text;
  char decimal_separator;
  std::string_view thousands_separator;
  AmountError error;
  int64_t amount_minor;  // Checked only when error is kNone.
};

TEST(ParseLocalizedAmountTest, AcceptsBankFileConventionsAndRefusesAmbiguousGrouping) {
  // Proves that decimal commas and thousands separators parse exactly, and that grouping which
  // only fits a different locale is refused instead of silently scaling the amount.
  using enum AmountError;
  const LocalizedCase cases[] = {
      {"-42,50", ',', "", kNone, -4250},
      {"1,2", ',', "", kNone, 120},
      {"1.234,56", ',', ".", kNone, 123456},
      {"-1.234,5", ',', ".", kNone, -123450},
      {"1.234.567,89", ',', ".", kNone, 123456789},
      {"1234,56", ',', ".", kNone, 123456},
      {"1,234,567.89", '.', ",", kNone, 123456789},
      {"999,999", '.', ",", kNone, 99999900},
      {"1 234,50", ',', " ", kNone, 123450},
      {"1\xC2\xA0"
       "234,50",
       ',', "\xC2\xA0", kNone, 123450},
      {"1'234.50", '.', "'", kNone, 123450},
      {"12,34,567.89", '.', ",", kNone, 123456789},
      {"1,00,000", '.', ",", kNone, 10000000},
      {"1.5", ',', ".", kMisplacedSeparator, 0},
      {"1.50", ',', ".", kMisplacedSeparator, 0},
      {"1.2345", ',', ".", kMisplacedSeparator, 0},
      {"1234.567,00", ',', ".", kMisplacedSeparator, 0},
      {".123,00", ',', ".", kMisplacedSeparator, 0},
      {"-.123", ',', ".", kMisplacedSeparator, 0},
      {"1..234", ',', ".", kMisplacedSeparator, 0},
      {"1.234.", ',', ".", kMisplacedSeparator, 0},
      {"1.234.,5", ',', ".", kMisplacedSeparator, 0},
      {"123,45,678", '.', ",", kMisplacedSeparator, 0},
      {"1,234,56,789", '.', ",", kMisplacedSeparator, 0},
      {"1,23,456,789", '.', ",", kMisplacedSeparator, 0},
      {"1,234.5,6", '.', ",", kMisplacedSeparator, 0},
      {"1,2,3", ',', "", kMisplacedSeparator, 0},
      {"1.5", ',', "", kInvalidCharacter, 0},
      {"1\xC2"
       "234",
       ',', "\xC2\xA0", kInvalidCharacter, 0},
      {"1e3", ',', ".", kExponentNotation, 0},
      {",5", ',', ".", kMissingDigits, 0},
      {"", ',', ".", kEmpty, 0},
      {"1,5", ',', ",", kInvalidFormat, 0},
      {"1,5", ',', "1", kInvalidFormat, 0},
      {"1,5", '-', "", kInvalidFormat, 0},
      {"1,5", '7', "", kInvalidFormat, 0},
  };
  for (const LocalizedCase& test_case : cases) {
    const ParseCase as_plain{test_case.text, 2, test_case.error, test_case.amount_minor};
    ExpectParse(as_plain, ParseLocalizedAmount(test_case.text, 2, test_case.decimal_separator,
                                               test_case.thousands_separator));
  }
}

TEST(FormatDecimalAmountTest, WritesCanonicalDecimalsForEveryInt64) {
  // Proves that formatting is exact at the int64 edges and pads small amounts with zeros.
  struct Case {
    int64_t amount_minor;
    int32_t exponent;
    std::string_view text;
  };
  const Case cases[] = {
      {-4250, 2, "-42.50"},
      {4250, 2, "42.50"},
      {5, 2, "0.05"},
      {-5, 2, "-0.05"},
      {0, 2, "0.00"},
      {100, 2, "1.00"},
      {100, 0, "100"},
      {0, 0, "0"},
      {-1, 0, "-1"},
      {1, 3, "0.001"},
      {1234, 3, "1.234"},
      {12345, 4, "1.2345"},
      {1, 18, "0.000000000000000001"},
      {kMax, 0, "9223372036854775807"},
      {kMin, 0, "-9223372036854775808"},
      {kMax, 2, "92233720368547758.07"},
      {kMin, 2, "-92233720368547758.08"},
      {kMin, 18, "-9.223372036854775808"},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(FormatDecimalAmount(test_case.amount_minor, test_case.exponent), test_case.text);
  }
}

TEST(FormatDecimalAmountTest, InvalidExponentIsAProgrammerErrorAndAborts) {
  // Proves that formatting with an exponent no currency has stops the process loudly.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(FormatDecimalAmount(1, 19), "exponent 19 outside 0..18");
  EXPECT_DEATH(FormatDecimalAmount(1, -1), "exponent -1 outside 0..18");
}

TEST(FormatDecimalAmountTest, ParseOfFormatGivesBackTheSameAmount) {
  // Proves that formatting and parsing are inverse for edge values in every ISO exponent.
  const int64_t amounts[] = {0, 1, -1, 9, -10, 99, 100, -101, 123456789, kMax, kMin, kMax - 1};
  for (int32_t exponent = 0; exponent <= kAmountExponentMax; ++exponent) {
    for (int64_t amount_minor : amounts) {
      const std::string text = FormatDecimalAmount(amount_minor, exponent);
      const AmountParseResult parsed = ParseDecimalAmount(text, exponent);
      ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.message;
      EXPECT_EQ(parsed.amount_minor, amount_minor) << text;
    }
  }
}

TEST(CheckedArithmeticTest, ReturnsTheExactResultOrNothing) {
  // Proves that sums, differences and negations that leave int64 are refused, not wrapped.
  struct Case {
    int64_t left;
    int64_t right;
    std::optional<int64_t> sum;
    std::optional<int64_t> difference;
  };
  const Case cases[] = {
      {1, 2, 3, -1},
      {-5, 5, 0, -10},
      {kMax, 1, std::nullopt, kMax - 1},
      {kMin, -1, std::nullopt, kMin + 1},
      {kMin, 1, kMin + 1, std::nullopt},
      {kMax, kMin, -1, std::nullopt},
      {0, kMin, kMin, std::nullopt},
      {-1, kMax, kMax - 1, kMin},
      {kMax, kMax, std::nullopt, 0},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(CheckedAddMinor(test_case.left, test_case.right), test_case.sum)
        << test_case.left << " + " << test_case.right;
    EXPECT_EQ(CheckedSubtractMinor(test_case.left, test_case.right), test_case.difference)
        << test_case.left << " - " << test_case.right;
  }
  EXPECT_EQ(CheckedNegateMinor(0), 0);
  EXPECT_EQ(CheckedNegateMinor(-42), 42);
  EXPECT_EQ(CheckedNegateMinor(kMax), -kMax);
  EXPECT_EQ(CheckedNegateMinor(kMin), std::nullopt);
}

TEST(MoneyTest, ArithmeticKeepsTheCurrencyAndRefusesMixing) {
  // Proves that Money arithmetic is exact within one currency and refuses mixed currencies.
  const Money ten_euros(1000, CurrencyOf("EUR"));
  const Money two_euros(200, CurrencyOf("EUR"));
  const Money two_dollars(200, CurrencyOf("USD"));
  EXPECT_EQ(ten_euros.CheckedAdd(two_euros), Money(1200, CurrencyOf("EUR")));
  EXPECT_EQ(ten_euros.CheckedSubtract(two_euros), Money(800, CurrencyOf("EUR")));
  EXPECT_EQ(ten_euros.CheckedNegate(), Money(-1000, CurrencyOf("EUR")));
  EXPECT_EQ(ten_euros.CheckedAdd(two_dollars), std::nullopt);
  EXPECT_EQ(ten_euros.CheckedSubtract(two_dollars), std::nullopt);
  EXPECT_EQ(Money(kMax, CurrencyOf("EUR")).CheckedAdd(two_euros), std::nullopt);
  EXPECT_EQ(Money(kMin, CurrencyOf("EUR")).CheckedNegate(), std::nullopt);
  EXPECT_NE(two_euros, two_dollars);
}

TEST(MoneyTest, ParsesAndFormatsInTheCurrencysExponent) {
  // Proves that the currency, not the caller, decides how many decimals an amount may have.
  struct Case {
    std::string_view text;
    std::string_view code;
    AmountError error;
    int64_t amount_minor;
    std::string_view formatted;  // Empty when parsing fails.
  };
  const Case cases[] = {
      {"-42.5", "EUR", AmountError::kNone, -4250, "-42.50"},
      {"12.345", "KWD", AmountError::kNone, 12345, "12.345"},
      {"12.345", "EUR", AmountError::kTooManyDecimals, 0, ""},
      {"1000", "JPY", AmountError::kNone, 1000, "1000"},
      {"1000.5", "JPY", AmountError::kTooManyDecimals, 0, ""},
      {"0.0001", "CLF", AmountError::kNone, 1, "0.0001"},
  };
  for (const Case& test_case : cases) {
    const Currency currency = CurrencyOf(test_case.code);
    const AmountParseResult parsed = ParseMoneyAmount(test_case.text, currency);
    EXPECT_EQ(parsed.error, test_case.error) << test_case.text << " " << test_case.code;
    if (!parsed.ok()) continue;
    EXPECT_EQ(parsed.amount_minor, test_case.amount_minor);
    EXPECT_EQ(FormatMoneyAmount(Money(parsed.amount_minor, currency)), test_case.formatted);
  }
}

TEST(MilliunitsTest, ConvertsExactlyOrRefuses) {
  // Proves that YNAB milliunit conversion is exact both ways and never rounds: amounts that
  // would need rounding or would overflow are refused with their own error.
  using enum MilliunitsError;
  struct Case {
    int64_t amount;
    int32_t exponent;
    MilliunitsError error;
    int64_t converted;  // Checked only when error is kNone.
  };
  const Case to_milliunits[] = {
      {-29423, 2, kNone, -294230},
      {100, 0, kNone, 100000},
      {1234, 3, kNone, 1234},
      {12340, 4, kNone, 1234},
      {-10, 4, kNone, -1},
      {12345, 4, kNotRepresentable, 0},
      {kMin, 4, kNotRepresentable, 0},
      {kMax, 3, kNone, kMax},
      {kMax / 10, 2, kNone, kMax / 10 * 10},
      {kMax, 2, kOverflow, 0},
      {kMin, 0, kOverflow, 0},
      {1, -1, kInvalidExponent, 0},
      {1, 19, kInvalidExponent, 0},
  };
  for (const Case& test_case : to_milliunits) {
    const MilliunitsResult result = MinorToMilliunits(test_case.amount, test_case.exponent);
    EXPECT_EQ(result.error, test_case.error) << test_case.amount;
    if (result.ok()) {
      EXPECT_EQ(result.amount, test_case.converted) << test_case.amount;
    }
  }
  const Case to_minor[] = {
      {-294230, 2, kNone, -29423},     {100000, 0, kNone, 100},
      {1234, 3, kNone, 1234},          {1234, 4, kNone, 12340},
      {1234, 2, kNotRepresentable, 0}, {100500, 0, kNotRepresentable, 0},
      {kMin, 3, kNone, kMin},          {kMax, 4, kOverflow, 0},
      {1, 19, kInvalidExponent, 0},
  };
  for (const Case& test_case : to_minor) {
    const MilliunitsResult result = MilliunitsToMinor(test_case.amount, test_case.exponent);
    EXPECT_EQ(result.error, test_case.error) << test_case.amount;
    if (result.ok()) {
      EXPECT_EQ(result.amount, test_case.converted) << test_case.amount;
    }
  }
}

}  // namespace
}  // namespace finsync::domain
