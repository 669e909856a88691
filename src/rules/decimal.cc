#include "rules/decimal.h"

#include <algorithm>
#include <limits>

#include "domain/money.h"

namespace finsync::rules {
namespace {

// 128 bits hold every intermediate result: two int64 coefficients multiplied, or one scaled
// by up to 10^18. Results are narrowed back to int64 with an explicit overflow check.
using Wide = __int128;

constexpr Wide PowerOfTen(int32_t exponent) {
  Wide power = 1;
  for (int32_t step = 0; step < exponent; ++step) power *= 10;
  return power;
}

DecimalResult Failure(DecimalError error) { return DecimalResult{error, {}}; }

DecimalResult Narrow(Wide coefficient, int32_t scale) {
  if (coefficient > std::numeric_limits<int64_t>::max() ||
      coefficient < std::numeric_limits<int64_t>::min()) {
    return Failure(DecimalError::kOverflow);
  }
  return DecimalResult{DecimalError::kNone, Decimal{static_cast<int64_t>(coefficient), scale}};
}

// The coefficient at a larger scale; exact because |coefficient| * 10^18 < 2^127.
Wide Rescale(Decimal number, int32_t scale) {
  return static_cast<Wide>(number.coefficient) * PowerOfTen(scale - number.scale);
}

Wide Magnitude(Wide value) { return value < 0 ? -value : value; }

// Rounds numerator / denominator half away from zero; denominator is non-zero.
Wide DivideRounded(Wide numerator, Wide denominator) {
  Wide quotient = numerator / denominator;
  const Wide remainder = numerator % denominator;
  if (2 * Magnitude(remainder) >= Magnitude(denominator)) {
    quotient += ((numerator < 0) != (denominator < 0)) ? -1 : 1;
  }
  return quotient;
}

DecimalResult DivideIntegers(int64_t dividend, int64_t divisor) {
  Wide quotient = static_cast<Wide>(dividend) / divisor;
  const bool inexact = static_cast<Wide>(dividend) % divisor != 0;
  if (inexact && ((dividend < 0) != (divisor < 0))) quotient -= 1;
  return Narrow(quotient, 0);
}

}  // namespace

std::optional<Decimal> ParseDecimal(std::string_view text) {
  const size_t point = text.find('.');
  const size_t fraction_digits = point == std::string_view::npos ? 0 : text.size() - point - 1;
  // Zeros beyond the maximum scale are accepted by the amount parser; other digits are not.
  const auto scale = static_cast<int32_t>(
      std::min<size_t>(fraction_digits, static_cast<size_t>(kDecimalScaleMax)));
  const domain::AmountParseResult parsed = domain::ParseDecimalAmount(text, scale);
  if (!parsed.ok()) return std::nullopt;
  return Decimal{parsed.amount_minor, scale};
}

std::string FormatDecimal(Decimal number) {
  return domain::FormatDecimalAmount(number.coefficient, number.scale);
}

DecimalResult AddDecimal(Decimal left, Decimal right) {
  const int32_t scale = std::max(left.scale, right.scale);
  return Narrow(Rescale(left, scale) + Rescale(right, scale), scale);
}

DecimalResult SubtractDecimal(Decimal left, Decimal right) {
  const int32_t scale = std::max(left.scale, right.scale);
  return Narrow(Rescale(left, scale) - Rescale(right, scale), scale);
}

DecimalResult MultiplyDecimal(Decimal left, Decimal right) {
  Wide product = static_cast<Wide>(left.coefficient) * right.coefficient;
  int32_t scale = left.scale + right.scale;
  while (scale > kDecimalScaleMax && product % 10 == 0) {
    product /= 10;
    --scale;
  }
  if (scale > kDecimalScaleMax) return Failure(DecimalError::kTooManyDecimals);
  return Narrow(product, scale);
}

DecimalResult DivideDecimal(Decimal dividend, Decimal divisor) {
  if (divisor.coefficient == 0) return Failure(DecimalError::kDivisionByZero);
  if (dividend.scale == 0 && divisor.scale == 0) {
    return DivideIntegers(dividend.coefficient, divisor.coefficient);
  }
  // quotient * 10^scale = dividend.c * 10^(scale + divisor.scale - dividend.scale) / divisor.c
  const int32_t scale = std::max(dividend.scale, divisor.scale);
  const int32_t exponent = scale + divisor.scale - dividend.scale;
  Wide numerator = 0;
  if (__builtin_mul_overflow(static_cast<Wide>(dividend.coefficient), PowerOfTen(exponent),
                             &numerator)) {
    return Failure(DecimalError::kOverflow);
  }
  return Narrow(DivideRounded(numerator, divisor.coefficient), scale);
}

DecimalResult AbsDecimal(Decimal number) {
  const Wide magnitude = Magnitude(number.coefficient);
  return Narrow(magnitude, number.scale);
}

DecimalResult RoundDecimal(Decimal number, int32_t digits) {
  if (digits < 0 || digits > kDecimalScaleMax) return Failure(DecimalError::kTooManyDecimals);
  if (number.scale <= digits) return DecimalResult{DecimalError::kNone, number};
  return Narrow(DivideRounded(number.coefficient, PowerOfTen(number.scale - digits)), digits);
}

int32_t CompareDecimal(Decimal left, Decimal right) {
  const int32_t scale = std::max(left.scale, right.scale);
  const Wide left_scaled = Rescale(left, scale);
  const Wide right_scaled = Rescale(right, scale);
  if (left_scaled < right_scaled) return -1;
  return left_scaled > right_scaled ? 1 : 0;
}

}  // namespace finsync::rules
