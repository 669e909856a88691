#include "rules/decimal.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace finsync::rules {
namespace {

using enum DecimalError;

TEST(DecimalTest, ParseKeepsTheWrittenScale) {
  // Proves the strict grammar, that the scale written is kept (so money prints as written),
  // and that zeros beyond 18 decimals are accepted while other digits are not.
  struct Case {
    std::string_view text;
    bool ok;
    int64_t coefficient;
    int32_t scale;
  };
  const Case cases[] = {
      {"-42.50", true, -4250, 2},
      {"7", true, 7, 0},
      {"+3.0", true, 30, 1},
      {"0.1000000000000000000000", true, 1'000'000'000'000'000'00, 18},
      {"-9223372036854775808", true, INT64_MIN, 0},
      {"9223372036854775808", false, 0, 0},
      {"0.0000000000000000001", false, 0, 0},
      {"1e5", false, 0, 0},
      {" 1", false, 0, 0},
      {".5", false, 0, 0},
      {"", false, 0, 0},
  };
  for (const Case& test_case : cases) {
    const std::optional<Decimal> parsed = ParseDecimal(test_case.text);
    ASSERT_EQ(parsed.has_value(), test_case.ok) << test_case.text;
    if (!parsed) continue;
    EXPECT_EQ(parsed->coefficient, test_case.coefficient) << test_case.text;
    EXPECT_EQ(parsed->scale, test_case.scale) << test_case.text;
  }
  EXPECT_EQ(FormatDecimal({-4250, 2}), "-42.50");
  EXPECT_EQ(FormatDecimal({-5, 3}), "-0.005");
}

TEST(DecimalTest, ArithmeticIsExactOrRefused) {
  // Proves each operation's result and scale, and each refusal, on one line per case.
  enum class Operation { kAdd, kSubtract, kMultiply, kDivide, kAbs, kRound };
  using enum Operation;
  struct Case {
    Operation operation;
    std::string_view left;
    std::string_view right;  // The digits for kRound; unused by kAbs.
    DecimalError error;
    std::string_view expected;
  };
  const Case cases[] = {
      {kAdd, "0.1", "0.2", kNone, "0.3"},
      {kAdd, "-42.50", "2.5", kNone, "-40.00"},
      {kAdd, "9223372036854775807", "1", kOverflow, ""},
      {kSubtract, "-42.50", "0.005", kNone, "-42.505"},
      {kSubtract, "-9223372036854775808", "1", kOverflow, ""},
      {kMultiply, "-42.50", "-1", kNone, "42.50"},
      {kMultiply, "1.5", "1.5", kNone, "2.25"},
      {kMultiply, "0.0000000100", "0.0000000100", kNone, "0.000000000000000100"},
      {kMultiply, "0.0000000001", "0.0000000003", kTooManyDecimals, ""},
      {kMultiply, "9223372036854775807", "2", kOverflow, ""},
      {kDivide, "7", "2", kNone, "3"},
      {kDivide, "-7", "2", kNone, "-4"},
      {kDivide, "7", "-2", kNone, "-4"},
      {kDivide, "-8", "2", kNone, "-4"},
      {kDivide, "-42.50", "3", kNone, "-14.17"},
      {kDivide, "42.50", "4", kNone, "10.63"},
      {kDivide, "-42.50", "4", kNone, "-10.63"},
      {kDivide, "10", "0.5", kNone, "20.0"},
      {kDivide, "1", "0", kDivisionByZero, ""},
      {kDivide, "1.0", "0.00", kDivisionByZero, ""},
      {kDivide, "-9223372036854775808", "-1", kOverflow, ""},
      {kDivide, "922337203685477580.7", "0.000000000000000001", kOverflow, ""},
      {kAbs, "-42.50", "", kNone, "42.50"},
      {kAbs, "-9223372036854775808", "", kOverflow, ""},
      {kRound, "2.345", "2", kNone, "2.35"},
      {kRound, "-2.345", "2", kNone, "-2.35"},
      {kRound, "2.5", "0", kNone, "3"},
      {kRound, "-2.5", "0", kNone, "-3"},
      {kRound, "2.4", "0", kNone, "2"},
      {kRound, "1.5", "2", kNone, "1.5"},
      {kRound, "1.5", "19", kTooManyDecimals, ""},
  };
  for (const Case& test_case : cases) {
    const Decimal left = *ParseDecimal(test_case.left);
    const Decimal right = test_case.right.empty() ? Decimal{} : *ParseDecimal(test_case.right);
    const DecimalResult result = test_case.operation == kAdd        ? AddDecimal(left, right)
                                 : test_case.operation == kSubtract ? SubtractDecimal(left, right)
                                 : test_case.operation == kMultiply ? MultiplyDecimal(left, right)
                                 : test_case.operation == kDivide   ? DivideDecimal(left, right)
                                 : test_case.operation == kAbs
                                     ? AbsDecimal(left)
                                     : RoundDecimal(left, static_cast<int32_t>(right.coefficient));
    EXPECT_EQ(result.error, test_case.error) << test_case.left << " " << test_case.right;
    if (result.ok()) {
      EXPECT_EQ(FormatDecimal(result.value), test_case.expected)
          << test_case.left << " " << test_case.right;
    }
  }
}

TEST(DecimalTest, CompareIgnoresScale) {
  // Proves comparison is by value: 1.50 equals 1.5, and extreme values order correctly.
  EXPECT_EQ(CompareDecimal({150, 2}, {15, 1}), 0);
  EXPECT_EQ(CompareDecimal({-4250, 2}, {-42, 0}), -1);
  EXPECT_EQ(CompareDecimal({INT64_MAX, 0}, {INT64_MAX, 18}), 1);
  EXPECT_EQ(CompareDecimal({INT64_MIN, 18}, {INT64_MIN, 0}), 1);
}

}  // namespace
}  // namespace finsync::rules
