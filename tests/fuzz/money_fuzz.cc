// Fuzzes amount parsing and formatting. Input layout: byte 0 picks the exponent, byte 1 picks
// the separator convention, the rest is the amount text; the first 16 bytes of the text also
// serve as two int64 values for the formatting and arithmetic checks.
//
// Invariants checked, with checks that stay on in release builds:
// - Parse then format then parse gives the same amount, and formatting is canonical.
// - A localized parse agrees with the plain parse of the same text once separators are removed.
// - Every int64 formats to text that parses back to itself, plainly and localized.
// - Checked arithmetic and milliunit conversion agree with 128-bit arithmetic.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "domain/money.h"

namespace {

using finsync::domain::AmountError;
using finsync::domain::AmountParseResult;

void Check(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "money_fuzz invariant violated: %s\n", invariant);
  std::abort();
}

struct SeparatorConvention {
  char decimal_separator;
  std::string_view thousands_separator;
};

constexpr SeparatorConvention kConventions[] = {
    {'.', ""}, {',', ""}, {',', "."}, {'.', ","}, {',', " "}, {',', "\xC2\xA0"}, {'.', "'"},
};

// Writes canonical plain text in a convention: the decimal separator swapped in and thousands
// separators between every group of three integer digits.
std::string Localize(std::string_view plain, SeparatorConvention convention) {
  const size_t sign_length = (!plain.empty() && plain.front() == '-') ? 1 : 0;
  const size_t point = plain.find('.');
  const size_t integer_end = point == std::string_view::npos ? plain.size() : point;
  std::string text(plain.substr(0, sign_length));
  for (size_t index = sign_length; index < integer_end; ++index) {
    const size_t digits_left = integer_end - index;
    if (index > sign_length && digits_left % 3 == 0) text.append(convention.thousands_separator);
    text.push_back(plain[index]);
  }
  if (point != std::string_view::npos) {
    text.push_back(convention.decimal_separator);
    text.append(plain.substr(point + 1));
  }
  return text;
}

// Undoes a convention on text that parsed: drops thousands separators, restores '.'.
std::string Delocalize(std::string_view text, SeparatorConvention convention) {
  std::string plain;
  for (size_t index = 0; index < text.size();) {
    const std::string_view rest = text.substr(index);
    if (!convention.thousands_separator.empty() &&
        rest.starts_with(convention.thousands_separator)) {
      index += convention.thousands_separator.size();
      continue;
    }
    plain.push_back(text[index] == convention.decimal_separator ? '.' : text[index]);
    ++index;
  }
  return plain;
}

void CheckTextRoundTrip(std::string_view text, int32_t exponent) {
  const AmountParseResult parsed = finsync::domain::ParseDecimalAmount(text, exponent);
  Check(parsed.ok() == parsed.message.empty(), "a message exactly when parsing fails");
  Check(parsed.error != AmountError::kInvalidFormat, "valid exponent never kInvalidFormat");
  if (!parsed.ok()) return;
  const std::string formatted = finsync::domain::FormatDecimalAmount(parsed.amount_minor, exponent);
  const AmountParseResult reparsed = finsync::domain::ParseDecimalAmount(formatted, exponent);
  Check(reparsed.ok(), "formatted amount parses");
  Check(reparsed.amount_minor == parsed.amount_minor, "parse(format(parse(text))) is stable");
  Check(finsync::domain::FormatDecimalAmount(reparsed.amount_minor, exponent) == formatted,
        "formatting is canonical");
}

void CheckLocalizedAgreesWithPlain(std::string_view text, int32_t exponent,
                                   SeparatorConvention convention) {
  const AmountParseResult localized = finsync::domain::ParseLocalizedAmount(
      text, exponent, convention.decimal_separator, convention.thousands_separator);
  if (!localized.ok()) return;
  const AmountParseResult plain =
      finsync::domain::ParseDecimalAmount(Delocalize(text, convention), exponent);
  Check(plain.ok(), "delocalized text parses plainly");
  Check(plain.amount_minor == localized.amount_minor, "localized and plain parses agree");
}

void CheckIntegerRoundTrip(int64_t amount_minor, int32_t exponent, SeparatorConvention convention) {
  const std::string plain = finsync::domain::FormatDecimalAmount(amount_minor, exponent);
  const AmountParseResult parsed = finsync::domain::ParseDecimalAmount(plain, exponent);
  Check(parsed.ok() && parsed.amount_minor == amount_minor, "parse(format(value)) == value");
  const AmountParseResult localized = finsync::domain::ParseLocalizedAmount(
      Localize(plain, convention), exponent, convention.decimal_separator,
      convention.thousands_separator);
  Check(localized.ok() && localized.amount_minor == amount_minor,
        "localized parse of localized format gives the value");
}

bool FitsInt64(__int128 value) { return value >= INT64_MIN && value <= INT64_MAX; }

void CheckArithmetic(int64_t left, int64_t right) {
  const __int128 sum = static_cast<__int128>(left) + right;
  const __int128 difference = static_cast<__int128>(left) - right;
  const std::optional<int64_t> checked_sum = finsync::domain::CheckedAddMinor(left, right);
  const std::optional<int64_t> checked_difference =
      finsync::domain::CheckedSubtractMinor(left, right);
  Check(checked_sum.has_value() == FitsInt64(sum), "add refuses exactly on overflow");
  Check(!checked_sum || *checked_sum == sum, "add is exact");
  Check(checked_difference.has_value() == FitsInt64(difference), "subtract refuses on overflow");
  Check(!checked_difference || *checked_difference == difference, "subtract is exact");
}

__int128 PowerOfTen(int32_t exponent) {
  __int128 power = 1;
  for (int32_t step = 0; step < exponent; ++step) power *= 10;
  return power;
}

void CheckMilliunits(int64_t amount_minor, int32_t exponent) {
  const finsync::domain::MilliunitsResult milliunits =
      finsync::domain::MinorToMilliunits(amount_minor, exponent);
  // The exact answer in 128 bits says whether the conversion had to be refused.
  const bool exact = exponent <= 3 ? FitsInt64(amount_minor * PowerOfTen(3 - exponent))
                                   : amount_minor % PowerOfTen(exponent - 3) == 0;
  Check(milliunits.ok() == exact, "milliunits refused exactly when not representable");
  if (!milliunits.ok()) return;
  const finsync::domain::MilliunitsResult minor =
      finsync::domain::MilliunitsToMinor(milliunits.amount, exponent);
  Check(minor.ok() && minor.amount == amount_minor, "milliunits convert back exactly");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto exponent = static_cast<int32_t>(data[0] % (finsync::domain::kAmountExponentMax + 1));
  const SeparatorConvention convention = kConventions[data[1] % std::size(kConventions)];
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  CheckTextRoundTrip(text, exponent);
  CheckLocalizedAgreesWithPlain(text, exponent, convention);
  if (text.size() >= 16) {
    int64_t left = 0;
    int64_t right = 0;
    std::memcpy(&left, text.data(), sizeof(left));
    std::memcpy(&right, text.data() + 8, sizeof(right));
    CheckIntegerRoundTrip(left, exponent, convention);
    CheckArithmetic(left, right);
    CheckMilliunits(left, exponent);
  }
  return 0;
}
