// Exact decimal numbers for template arithmetic ({{ amount | times: -1 }}): an int64
// coefficient and a count of decimals, never a double, so money stays exact. Every operation
// reports overflow instead of wrapping or rounding silently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace finsync::rules {

// The most decimals a number may carry: 10^18 is the largest power of ten in an int64.
inline constexpr int32_t kDecimalScaleMax = 18;

// coefficient / 10^scale. "-42.50" is {-4250, 2}; the scale is kept, so it formats back as
// "-42.50", which is how money should print.
struct Decimal {
  int64_t coefficient = 0;
  int32_t scale = 0;  // 0..kDecimalScaleMax.
};

enum class DecimalError : uint8_t {
  kNone,
  kOverflow,  // The exact result does not fit in an int64 coefficient.
  kDivisionByZero,
  kTooManyDecimals  // The exact result needs more than kDecimalScaleMax decimals.
};

struct DecimalResult {
  DecimalError error = DecimalError::kNone;
  Decimal value;  // Meaningful only when ok().

  bool ok() const { return error == DecimalError::kNone; }
};

// Strict grammar: [+-] digits [ "." digits ], as in domain::ParseDecimalAmount. No whitespace,
// no exponent notation. nullopt when the text is not such a number or does not fit.
std::optional<Decimal> ParseDecimal(std::string_view text);

// Canonical text with exactly `scale` decimals: {-4250, 2} -> "-42.50", {7, 0} -> "7".
std::string FormatDecimal(Decimal number);

// a + b and a - b carry the larger scale. a * b carries the sum of the scales (trailing zeros
// are dropped first when that sum would exceed the maximum).
DecimalResult AddDecimal(Decimal left, Decimal right);
DecimalResult SubtractDecimal(Decimal left, Decimal right);
DecimalResult MultiplyDecimal(Decimal left, Decimal right);

// Liquid semantics where they are exact: two integers divide to an integer rounded towards
// negative infinity (7 / 2 = 3, -7 / 2 = -4). Otherwise the quotient keeps the larger of the
// two scales and is rounded half away from zero (-42.50 / 3 = -14.17), because that is how
// money is rounded by hand and it matches `round`.
DecimalResult DivideDecimal(Decimal dividend, Decimal divisor);

DecimalResult AbsDecimal(Decimal number);

// Rounds half away from zero to at most `digits` decimals (0..kDecimalScaleMax); a number with
// fewer decimals is returned as it is (round: 2 leaves 1.5 as 1.5, as Liquid does).
DecimalResult RoundDecimal(Decimal number, int32_t digits);

// -1, 0 or 1 as left is less than, equal to or greater than right, exactly.
int32_t CompareDecimal(Decimal left, Decimal right);

}  // namespace finsync::rules
