// Exact money: an int64 count of minor units plus its currency. Decimal text is converted to
// and from minor units digit by digit, never through a double, so "0.10" is exactly 10 cents.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/currency.h"

namespace finsync::domain {

// The largest exponent the amount functions accept: 10^18 is the largest power of ten that
// fits in int64. ISO 4217 exponents are 0..4; YNAB milliunits use 3.
inline constexpr int32_t kAmountExponentMax = 18;

// Why decimal text was not an amount. Each value is one distinct mistake a caller can act on.
enum class AmountError : uint8_t {
  kNone,                // Parsed.
  kEmpty,               // The text is empty.
  kInvalidCharacter,    // A byte that is not a digit, a leading sign or a configured separator.
  kMissingDigits,       // No digit where one is required: "-", ".5", "5.", "1,.5".
  kExponentNotation,    // Scientific notation such as "1e2"; amounts must be written out.
  kMisplacedSeparator,  // A second decimal separator, or a thousands separator out of place.
  kTooManyDecimals,     // A non-zero digit beyond the currency's exponent: "1.001" for EUR.
  kOverflow,            // The amount does not fit in int64 minor units.
  kInvalidFormat,       // The caller's exponent or separators are unusable (programmer error).
};

// The outcome of parsing an amount: minor units on success, otherwise the error and a short
// human message (ready for a 422 detail) that names the offending byte offset where one exists.
struct AmountParseResult {
  AmountError error = AmountError::kNone;
  int64_t amount_minor = 0;  // Meaningful only when ok().
  std::string message;       // Empty when ok().

  bool ok() const { return error == AmountError::kNone; }
};

// Parses a plain decimal amount in major units into minor units for `exponent`.
// Grammar: [+-] digits [ "." digits ]. Accepts the text of a JSON number ("-42.5", "12") as
// well as "+3" and leading zeros; rejects whitespace, ".5", "5." and exponent notation.
// Zeros beyond the exponent are fine ("1.500" -> 150 for exponent 2); any other digit there
// is kTooManyDecimals, because silently rounding money is never right.
AmountParseResult ParseDecimalAmount(std::string_view text, int32_t exponent);

// Like ParseDecimalAmount, for bank files: `decimal_separator` is usually '.' or ',' and
// `thousands_separator` is any byte sequence ("", ".", ",", " ", "'", or "\xC2\xA0" for a
// non-breaking space). Thousands separators may only sit in the integer part between groups:
// the first group has 1 to 3 digits and every later group exactly 3 ("1.234.567,89"), or, in
// the Indian style, 2-digit groups before a final 3-digit one ("12,34,567.89"). This strictness
// catches a file read with the wrong locale ("1.5" with '.' as thousands separator fails)
// instead of turning 1.50 into 15. An empty `thousands_separator` means none is allowed.
AmountParseResult ParseLocalizedAmount(std::string_view text, int32_t exponent,
                                       char decimal_separator,
                                       std::string_view thousands_separator);

// Formats minor units as a canonical decimal in major units: exactly `exponent` decimals, a
// '-' only for negative amounts, no '+', no thousands separators. Exact for every int64,
// including INT64_MIN. Examples: (-4250, 2) -> "-42.50", (-5, 2) -> "-0.05", (100, 0) -> "100".
// Requires 0 <= exponent <= kAmountExponentMax; anything else aborts (a programmer error).
std::string FormatDecimalAmount(int64_t amount_minor, int32_t exponent);

// Overflow-checked arithmetic on minor units: nullopt when the exact result does not fit.
std::optional<int64_t> CheckedAddMinor(int64_t left_minor, int64_t right_minor);
std::optional<int64_t> CheckedSubtractMinor(int64_t left_minor, int64_t right_minor);
std::optional<int64_t> CheckedNegateMinor(int64_t amount_minor);

// Why an amount could not be converted between minor units and YNAB milliunits.
enum class MilliunitsError : uint8_t {
  kNone,
  kOverflow,          // The converted amount does not fit in int64.
  kNotRepresentable,  // The target unit is coarser and the amount has digits it cannot hold.
  kInvalidExponent,   // The exponent is outside 0..kAmountExponentMax.
};

struct MilliunitsResult {
  MilliunitsError error = MilliunitsError::kNone;
  int64_t amount = 0;  // Milliunits or minor units, depending on the direction; when ok().

  bool ok() const { return error == MilliunitsError::kNone; }
};

// YNAB stores amounts as milliunits (thousandths of the major unit): -294.23 EUR is -294230.
// For exponents up to 3 the conversion multiplies by 10^(3 - exponent) and is always exact
// unless it overflows. For exponents above 3 (CLF, UYW) it divides, and we refuse with
// kNotRepresentable instead of rounding when the last digits are not zero: which way to round
// money is a business decision the caller must make explicitly.
MilliunitsResult MinorToMilliunits(int64_t amount_minor, int32_t exponent);

// The reverse: milliunits to minor units. Refuses (kNotRepresentable) when the milliunits have
// more precision than the currency, e.g. 1234 milliunits (1.234) for EUR.
MilliunitsResult MilliunitsToMinor(int64_t amount_milliunits, int32_t exponent);

// An amount of one currency. Immutable value type.
class Money {
 public:
  Money(int64_t amount_minor, Currency currency)
      : amount_minor_(amount_minor), currency_(currency) {}

  int64_t amount_minor() const { return amount_minor_; }
  Currency currency() const { return currency_; }

  // Exact sum, difference and negation. nullopt when the result overflows int64, or, for
  // CheckedAdd and CheckedSubtract, when the currencies differ: mixing currencies is never a
  // meaningful sum, and returning nullopt keeps a bad bank record from aborting the process.
  // Callers that must tell the two apart compare currency() first.
  std::optional<Money> CheckedAdd(Money other) const;
  std::optional<Money> CheckedSubtract(Money other) const;
  std::optional<Money> CheckedNegate() const;

  friend bool operator==(Money left, Money right) = default;

 private:
  int64_t amount_minor_;
  Currency currency_;
};

// Parses decimal text in the currency's exponent ("-42.50" EUR -> -4250 cents).
AmountParseResult ParseMoneyAmount(std::string_view text, Currency currency);

// The amount as canonical decimal text in major units, without the currency code.
std::string FormatMoneyAmount(Money money);

}  // namespace finsync::domain
