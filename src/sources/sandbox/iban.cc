#include "sources/sandbox/iban.h"

#include <array>
#include <cassert>

#include "sources/sandbox/hash.h"

namespace finsync::sources::sandbox {
namespace {

bool IsUpper(char byte) { return byte >= 'A' && byte <= 'Z'; }
bool IsDigit(char byte) { return byte >= '0' && byte <= '9'; }

// Folds one IBAN character into a running remainder: digits count as themselves and letters
// as 10..35, two decimal digits, as ISO 13616 requires.
uint32_t FoldMod97(uint32_t remainder, char byte) {
  if (IsDigit(byte)) return (remainder * 10 + static_cast<uint32_t>(byte - '0')) % 97;
  return (remainder * 100 + static_cast<uint32_t>(byte - 'A' + 10)) % 97;
}

// The remainder modulo 97 of BBAN + country + check digits read as one number.
uint32_t RearrangedMod97(std::string_view country_code, std::string_view check_digits,
                         std::string_view bban) {
  uint32_t remainder = 0;
  for (const char byte : bban) remainder = FoldMod97(remainder, byte);
  for (const char byte : country_code) remainder = FoldMod97(remainder, byte);
  for (const char byte : check_digits) remainder = FoldMod97(remainder, byte);
  return remainder;
}

struct CountryLength {
  std::string_view country_code;
  size_t length;
};

// Registered IBAN lengths (SWIFT IBAN registry) for the countries the sandbox and its
// counterparties use, plus a few neighbours so tests can check well-known examples.
constexpr std::array<CountryLength, 12> kIbanLengths = {{
    {"AT", 20},
    {"BE", 16},
    {"CH", 21},
    {"DE", 22},
    {"ES", 24},
    {"FR", 27},
    {"GB", 22},
    {"IT", 27},
    {"LT", 20},
    {"NL", 18},
    {"NO", 15},
    {"SE", 24},
}};

std::optional<size_t> RegisteredLength(std::string_view country_code) {
  for (const CountryLength& entry : kIbanLengths) {
    if (entry.country_code == country_code) return entry.length;
  }
  return std::nullopt;
}

// `count` decimal digits drawn from `hash`, leading zeros included.
std::string Digits(uint64_t hash, size_t count) {
  std::string digits(count, '0');
  Draws draws(hash);
  for (char& digit : digits) digit = static_cast<char>('0' + draws.Below(10));
  return digits;
}

// The Banque de France letter table: A and J are 1, B, K and S are 2, and so on.
int32_t RibDigitValue(char byte) {
  if (IsDigit(byte)) return byte - '0';
  constexpr std::string_view kGroups[9] = {"AJ",  "BKS", "CLT", "DMU", "ENV",
                                           "FOW", "GPX", "HQY", "IRZ"};
  for (int32_t value = 1; value <= 9; ++value) {
    if (kGroups[value - 1].find(byte) != std::string_view::npos) return value;
  }
  return 0;
}

int64_t RibNumber(std::string_view text) {
  int64_t number = 0;
  for (const char byte : text) number = number * 10 + RibDigitValue(byte);
  return number;
}

std::string FrenchBban(std::string_view bank_code, uint64_t hash) {
  const std::string branch = Digits(HashCombine(hash, 1), 5);
  const std::string account = Digits(HashCombine(hash, 2), 11);
  const int32_t key = FrenchRibKey(bank_code, branch, account);
  std::string bban;
  bban.append(bank_code).append(branch).append(account);
  bban.push_back(static_cast<char>('0' + key / 10));
  bban.push_back(static_cast<char>('0' + key % 10));
  return bban;
}

}  // namespace

std::string IbanCheckDigits(std::string_view country_code, std::string_view bban) {
  const uint32_t remainder = RearrangedMod97(country_code, "00", bban);
  const uint32_t check = 98 - remainder;
  return std::string{static_cast<char>('0' + check / 10), static_cast<char>('0' + check % 10)};
}

std::string MakeIban(std::string_view country_code, std::string_view bban) {
  std::string iban;
  iban.reserve(4 + bban.size());
  iban.append(country_code).append(IbanCheckDigits(country_code, bban)).append(bban);
  return iban;
}

bool IsValidIban(std::string_view iban) {
  if (iban.size() < 5 || iban.size() > 34) return false;
  if (!IsUpper(iban[0]) || !IsUpper(iban[1]) || !IsDigit(iban[2]) || !IsDigit(iban[3])) {
    return false;
  }
  for (const char byte : iban.substr(4)) {
    if (!IsUpper(byte) && !IsDigit(byte)) return false;
  }
  const std::optional<size_t> length = RegisteredLength(iban.substr(0, 2));
  if (length && *length != iban.size()) return false;
  return RearrangedMod97(iban.substr(0, 2), iban.substr(2, 2), iban.substr(4)) == 1;
}

int32_t FrenchRibKey(std::string_view bank_code, std::string_view branch_code,
                     std::string_view account_number) {
  // Reduce each part first: 89 * bank + ... with an 11-digit account fits int64 anyway, but
  // reducing keeps the arithmetic obviously safe.
  const int64_t sum = 89 * (RibNumber(bank_code) % 97) + 15 * (RibNumber(branch_code) % 97) +
                      3 * (RibNumber(account_number) % 97);
  return static_cast<int32_t>(97 - sum % 97);
}

std::optional<std::string> MakeBban(std::string_view country_code, std::string_view bank_code,
                                    uint64_t hash) {
  if (country_code == "DE") return std::string(bank_code) + Digits(hash, 10);
  if (country_code == "NL") return std::string(bank_code) + Digits(hash, 10);
  if (country_code == "GB") return std::string(bank_code) + Digits(hash, 14);
  if (country_code == "SE") return std::string(bank_code) + Digits(hash, 17);
  if (country_code == "LT") return std::string(bank_code) + Digits(hash, 11);
  if (country_code == "FR") return FrenchBban(bank_code, hash);
  return std::nullopt;
}

}  // namespace finsync::sources::sandbox
