// ISO 4217 currencies and their minor-unit exponents. Every amount in finsync is stored as
// int64 minor units, so the exponent of its currency is what gives those units a meaning.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace finsync::domain {

// One active ISO 4217 currency. A Currency can only be obtained from the built-in table, so
// holding one proves the code is known and the exponent is right. It is a small value type:
// copy it freely. It is immutable and therefore safe to share between threads.
class Currency {
 public:
  // Looks up an exact, uppercase, three-letter code such as "EUR". Lowercase or padded input
  // is not a currency code; callers that accept loose input run NormalizeCurrencyCode first.
  // Returns nullopt for unknown codes, withdrawn codes and the fund/metal codes without a
  // minor unit (XAU, XDR, XTS, XXX, ...), none of which a bank account can hold.
  static std::optional<Currency> FromCode(std::string_view code);

  // Every currency in the table, sorted by code. The span refers to static storage.
  static std::span<const Currency> All();

  // The three-letter code. The view refers to static storage and never dangles.
  std::string_view code() const;

  // Number of decimal digits of the minor unit: EUR 2, JPY 0, KWD 3, CLF 4.
  int32_t exponent() const;

  friend bool operator==(Currency left, Currency right) { return left.index_ == right.index_; }

 private:
  explicit constexpr Currency(uint16_t index) : index_(index) {}

  uint16_t index_;  // Position in the static table in currency.cc.
};

// Uppercases the ASCII letters of a code ("eur" -> "EUR") and leaves every other byte as it is,
// so the result still goes through Currency::FromCode for validation.
std::string NormalizeCurrencyCode(std::string_view code);

}  // namespace finsync::domain
