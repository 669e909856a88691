#include "domain/money.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace finsync::domain {
namespace {

constexpr std::array<int64_t, kAmountExponentMax + 1> kPowersOfTen = [] {
  std::array<int64_t, kAmountExponentMax + 1> powers{};
  powers[0] = 1;
  for (size_t index = 1; index < powers.size(); ++index) powers[index] = powers[index - 1] * 10;
  return powers;
}();

static_assert(kPowersOfTen[kAmountExponentMax] == 1'000'000'000'000'000'000);

// Requires 0 <= exponent <= kAmountExponentMax, which every caller has already checked.
int64_t PowerOfTen(int32_t exponent) { return kPowersOfTen[static_cast<size_t>(exponent)]; }

constexpr int32_t kMilliunitsExponent = 3;

bool IsValidExponent(int32_t exponent) { return exponent >= 0 && exponent <= kAmountExponentMax; }

bool IsDigit(char byte) { return byte >= '0' && byte <= '9'; }

// Names one byte for an error message; non-printable bytes are shown in hex so a message never
// carries control characters or broken UTF-8 into logs and JSON.
std::string DescribeByte(char byte) {
  const auto value = static_cast<unsigned char>(byte);
  if (value >= 0x20 && value < 0x7F) return std::string("'") + byte + "'";
  std::array<char, 16> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "byte 0x%02X", static_cast<unsigned>(value));
  return buffer.data();
}

AmountParseResult Failure(AmountError error, std::string message) {
  return AmountParseResult{error, 0, std::move(message)};
}

AmountParseResult FailureAt(AmountError error, std::string_view what, size_t offset) {
  return Failure(error, std::string(what) + " at offset " + std::to_string(offset));
}

// Accumulates decimal digits into the magnitude of an amount in minor units, refusing to go
// past what int64 can hold for the sign (2^63 for negative amounts, so INT64_MIN parses).
class MinorUnitsAccumulator {
 public:
  MinorUnitsAccumulator(int32_t exponent, bool negative)
      : limit_(negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1),
        exponent_(exponent),
        negative_(negative) {}

  AmountError AddIntegerDigit(uint32_t digit) { return Push(digit); }

  AmountError AddFractionDigit(uint32_t digit) {
    if (fraction_digits_ < exponent_) {
      ++fraction_digits_;
      return Push(digit);
    }
    // Beyond the exponent only zeros carry no value; anything else would need rounding.
    return digit == 0 ? AmountError::kNone : AmountError::kTooManyDecimals;
  }

  // Scales by the fraction digits that were not written ("1.5" for exponent 2 is 150).
  AmountError Finish() {
    for (; fraction_digits_ < exponent_; ++fraction_digits_) {
      if (Push(0) != AmountError::kNone) return AmountError::kOverflow;
    }
    return AmountError::kNone;
  }

  int64_t amount_minor() const {
    if (!negative_) return static_cast<int64_t>(magnitude_);
    // Two's complement negation in uint64 is exact, including for 2^63 (INT64_MIN).
    return static_cast<int64_t>(0 - magnitude_);
  }

 private:
  AmountError Push(uint32_t digit) {
    if (magnitude_ > (limit_ - digit) / 10) return AmountError::kOverflow;
    magnitude_ = magnitude_ * 10 + digit;
    return AmountError::kNone;
  }

  uint64_t magnitude_ = 0;
  uint64_t limit_;
  int32_t exponent_;
  int32_t fraction_digits_ = 0;
  bool negative_;
};

// Checks thousands-separator groups as they close: the first group has 1..3 digits, the
// middle groups all have 3 digits (or all 2, Indian style), and the last group has 3.
class DigitGroupChecker {
 public:
  bool CloseGroupAtSeparator(int32_t group_digits) {
    if (!seen_separator_) {
      seen_separator_ = true;
      first_group_digits_ = group_digits;
      return group_digits >= 1 && group_digits <= 3;
    }
    if (middle_group_digits_ == 0) {
      middle_group_digits_ = group_digits;
      return (group_digits == 3 || group_digits == 2) && first_group_digits_ <= group_digits;
    }
    return group_digits == middle_group_digits_;
  }

  bool CloseLastGroup(int32_t group_digits) const { return !seen_separator_ || group_digits == 3; }

 private:
  bool seen_separator_ = false;
  int32_t first_group_digits_ = 0;
  int32_t middle_group_digits_ = 0;  // Zero until the second separator closes a middle group.
};

// One pass over the text. Syntax errors are returned at once with their offset; value errors
// (too many decimals, overflow) are remembered and reported only if the syntax is valid, so
// "1.2345e2" is reported as exponent notation rather than as too many decimals.
class AmountScanner {
 public:
  AmountScanner(std::string_view text, int32_t exponent, char decimal_separator,
                std::string_view thousands_separator)
      : text_(text),
        exponent_(exponent),
        decimal_separator_(decimal_separator),
        thousands_separator_(thousands_separator),
        negative_(!text.empty() && text.front() == '-'),
        accumulator_(exponent, negative_) {}

  // Requires non-empty text; the caller reports empty text itself.
  AmountParseResult Scan() {
    if (text_.front() == '+' || text_.front() == '-') ++position_;
    if (std::optional<AmountParseResult> failure = ScanIntegerPart()) return *failure;
    if (position_ < text_.size()) {
      ++position_;  // ScanIntegerPart stops only at the end or at the decimal separator.
      if (std::optional<AmountParseResult> failure = ScanFractionPart()) return *failure;
    }
    if (value_error_ == AmountError::kNone) value_error_ = accumulator_.Finish();
    return ResultFromValue();
  }

 private:
  std::optional<AmountParseResult> ScanIntegerPart() {
    int32_t group_digits = 0;
    int32_t integer_digits = 0;
    while (position_ < text_.size() && text_[position_] != decimal_separator_) {
      const char byte = text_[position_];
      if (IsDigit(byte)) {
        NoteValueError(accumulator_.AddIntegerDigit(static_cast<uint32_t>(byte - '0')));
        ++group_digits;
        ++integer_digits;
        ++position_;
        continue;
      }
      if (!IsThousandsSeparatorHere()) return UnexpectedByte();
      if (!groups_.CloseGroupAtSeparator(group_digits)) {
        return FailureAt(AmountError::kMisplacedSeparator, "misplaced thousands separator",
                         position_);
      }
      group_digits = 0;
      position_ += thousands_separator_.size();
    }
    if (integer_digits == 0) {
      return FailureAt(AmountError::kMissingDigits, "expected a digit", position_);
    }
    if (!groups_.CloseLastGroup(group_digits)) {
      return FailureAt(AmountError::kMisplacedSeparator,
                       "expected 3 digits after the last thousands separator", position_);
    }
    return std::nullopt;
  }

  std::optional<AmountParseResult> ScanFractionPart() {
    const size_t fraction_start = position_;
    for (; position_ < text_.size(); ++position_) {
      const char byte = text_[position_];
      if (!IsDigit(byte)) {
        if (byte == decimal_separator_ || IsThousandsSeparatorHere()) {
          return FailureAt(AmountError::kMisplacedSeparator,
                           "separator after the decimal separator", position_);
        }
        return UnexpectedByte();
      }
      NoteValueError(accumulator_.AddFractionDigit(static_cast<uint32_t>(byte - '0')));
    }
    if (position_ == fraction_start) {
      return FailureAt(AmountError::kMissingDigits, "expected a digit after the decimal separator",
                       position_);
    }
    return std::nullopt;
  }

  bool IsThousandsSeparatorHere() const {
    return !thousands_separator_.empty() &&
           text_.substr(position_).starts_with(thousands_separator_);
  }

  AmountParseResult UnexpectedByte() const {
    const char byte = text_[position_];
    if (byte == 'e' || byte == 'E') {
      return FailureAt(AmountError::kExponentNotation,
                       "exponent notation is not accepted; write the amount out in full",
                       position_);
    }
    if (byte == '+' || byte == '-') {
      return FailureAt(AmountError::kInvalidCharacter, "a sign is only allowed first", position_);
    }
    return FailureAt(AmountError::kInvalidCharacter, "unexpected " + DescribeByte(byte), position_);
  }

  // Keeps the first value error in text order; later digits cannot undo it.
  void NoteValueError(AmountError error) {
    if (value_error_ != AmountError::kNone || error == AmountError::kNone) return;
    value_error_ = error;
    value_error_offset_ = position_;
  }

  AmountParseResult ResultFromValue() const {
    if (value_error_ == AmountError::kTooManyDecimals) {
      return FailureAt(AmountError::kTooManyDecimals,
                       "more than " + std::to_string(exponent_) + " decimal places",
                       value_error_offset_);
    }
    if (value_error_ == AmountError::kOverflow) {
      return Failure(AmountError::kOverflow, "amount is too large to store exactly");
    }
    return AmountParseResult{AmountError::kNone, accumulator_.amount_minor(), {}};
  }

  std::string_view text_;
  int32_t exponent_;
  char decimal_separator_;
  std::string_view thousands_separator_;
  bool negative_;
  size_t position_ = 0;
  MinorUnitsAccumulator accumulator_;
  DigitGroupChecker groups_;
  AmountError value_error_ = AmountError::kNone;
  size_t value_error_offset_ = 0;
};

// Separators must not be confusable with the number itself or with each other.
bool AreUsableSeparators(char decimal_separator, std::string_view thousands_separator) {
  if (IsDigit(decimal_separator) || decimal_separator == '+' || decimal_separator == '-') {
    return false;
  }
  for (char byte : thousands_separator) {
    if (IsDigit(byte) || byte == '+' || byte == '-' || byte == decimal_separator) return false;
  }
  return true;
}

[[noreturn]] void AbortInvalidExponent(const char* function, int32_t exponent) {
  std::fprintf(stderr, "%s: exponent %d outside 0..%d\n", function, exponent, kAmountExponentMax);
  std::abort();
}

}  // namespace

AmountParseResult ParseDecimalAmount(std::string_view text, int32_t exponent) {
  return ParseLocalizedAmount(text, exponent, '.', "");
}

AmountParseResult ParseLocalizedAmount(std::string_view text, int32_t exponent,
                                       char decimal_separator,
                                       std::string_view thousands_separator) {
  if (!IsValidExponent(exponent)) {
    return Failure(AmountError::kInvalidFormat,
                   "exponent " + std::to_string(exponent) + " is outside 0..18");
  }
  if (!AreUsableSeparators(decimal_separator, thousands_separator)) {
    return Failure(AmountError::kInvalidFormat, "decimal and thousands separators are unusable");
  }
  if (text.empty()) return Failure(AmountError::kEmpty, "amount is empty");
  return AmountScanner(text, exponent, decimal_separator, thousands_separator).Scan();
}

std::string FormatDecimalAmount(int64_t amount_minor, int32_t exponent) {
  if (!IsValidExponent(exponent)) AbortInvalidExponent("FormatDecimalAmount", exponent);
  const bool negative = amount_minor < 0;
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(amount_minor) : static_cast<uint64_t>(amount_minor);
  std::array<char, 24> buffer{};
  const std::to_chars_result converted =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), magnitude);
  const std::string_view digits(buffer.data(), static_cast<size_t>(converted.ptr - buffer.data()));
  const auto decimals = static_cast<size_t>(exponent);

  std::string text;
  text.reserve(digits.size() + decimals + 3);
  if (negative) text.push_back('-');
  if (decimals == 0) {
    text.append(digits);
  } else if (digits.size() <= decimals) {
    text.append("0.").append(decimals - digits.size(), '0').append(digits);
  } else {
    const size_t integer_digits = digits.size() - decimals;
    text.append(digits.substr(0, integer_digits)).append(".").append(digits.substr(integer_digits));
  }
  return text;
}

std::optional<int64_t> CheckedAddMinor(int64_t left_minor, int64_t right_minor) {
  int64_t sum = 0;
  if (__builtin_add_overflow(left_minor, right_minor, &sum)) return std::nullopt;
  return sum;
}

std::optional<int64_t> CheckedSubtractMinor(int64_t left_minor, int64_t right_minor) {
  int64_t difference = 0;
  if (__builtin_sub_overflow(left_minor, right_minor, &difference)) return std::nullopt;
  return difference;
}

std::optional<int64_t> CheckedNegateMinor(int64_t amount_minor) {
  return CheckedSubtractMinor(0, amount_minor);
}

MilliunitsResult MinorToMilliunits(int64_t amount_minor, int32_t exponent) {
  if (!IsValidExponent(exponent)) return {MilliunitsError::kInvalidExponent, 0};
  if (exponent <= kMilliunitsExponent) {
    int64_t milliunits = 0;
    const int64_t factor = PowerOfTen(kMilliunitsExponent - exponent);
    if (__builtin_mul_overflow(amount_minor, factor, &milliunits)) {
      return {MilliunitsError::kOverflow, 0};
    }
    return {MilliunitsError::kNone, milliunits};
  }
  const int64_t divisor = PowerOfTen(exponent - kMilliunitsExponent);
  if (amount_minor % divisor != 0) return {MilliunitsError::kNotRepresentable, 0};
  return {MilliunitsError::kNone, amount_minor / divisor};
}

MilliunitsResult MilliunitsToMinor(int64_t amount_milliunits, int32_t exponent) {
  if (!IsValidExponent(exponent)) return {MilliunitsError::kInvalidExponent, 0};
  if (exponent >= kMilliunitsExponent) {
    int64_t minor = 0;
    const int64_t factor = PowerOfTen(exponent - kMilliunitsExponent);
    if (__builtin_mul_overflow(amount_milliunits, factor, &minor)) {
      return {MilliunitsError::kOverflow, 0};
    }
    return {MilliunitsError::kNone, minor};
  }
  const int64_t divisor = PowerOfTen(kMilliunitsExponent - exponent);
  if (amount_milliunits % divisor != 0) return {MilliunitsError::kNotRepresentable, 0};
  return {MilliunitsError::kNone, amount_milliunits / divisor};
}

std::optional<Money> Money::CheckedAdd(Money other) const {
  if (currency_ != other.currency_) return std::nullopt;
  const std::optional<int64_t> sum = CheckedAddMinor(amount_minor_, other.amount_minor_);
  if (!sum) return std::nullopt;
  return Money(*sum, currency_);
}

std::optional<Money> Money::CheckedSubtract(Money other) const {
  if (currency_ != other.currency_) return std::nullopt;
  const std::optional<int64_t> difference =
      CheckedSubtractMinor(amount_minor_, other.amount_minor_);
  if (!difference) return std::nullopt;
  return Money(*difference, currency_);
}

std::optional<Money> Money::CheckedNegate() const {
  const std::optional<int64_t> negated = CheckedNegateMinor(amount_minor_);
  if (!negated) return std::nullopt;
  return Money(*negated, currency_);
}

AmountParseResult ParseMoneyAmount(std::string_view text, Currency currency) {
  return ParseDecimalAmount(text, currency.exponent());
}

std::string FormatMoneyAmount(Money money) {
  return FormatDecimalAmount(money.amount_minor(), money.currency().exponent());
}

}  // namespace finsync::domain
