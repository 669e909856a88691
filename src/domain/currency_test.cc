#include "domain/currency.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace finsync::domain {
namespace {

using namespace std::string_view_literals;

TEST(CurrencyTest, KnownCodesCarryTheirIsoExponent) {
  // Proves that lookups find the currencies banks use and return the ISO 4217 minor unit.
  struct Case {
    std::string_view code;
    int32_t exponent;
  };
  const Case cases[] = {
      {"EUR", 2}, {"USD", 2}, {"GBP", 2}, {"CHF", 2}, {"SEK", 2}, {"HUF", 2},
      {"JPY", 0}, {"KRW", 0}, {"ISK", 0}, {"CLP", 0}, {"XOF", 0}, {"VND", 0},
      {"KWD", 3}, {"BHD", 3}, {"OMR", 3}, {"JOD", 3}, {"TND", 3}, {"IQD", 3},
      {"CLF", 4}, {"UYW", 4}, {"AED", 2}, {"ZWG", 2}, {"XCG", 2}, {"SLE", 2},
  };
  for (const Case& test_case : cases) {
    const std::optional<Currency> currency = Currency::FromCode(test_case.code);
    ASSERT_TRUE(currency.has_value()) << test_case.code;
    EXPECT_EQ(currency->code(), test_case.code);
    EXPECT_EQ(currency->exponent(), test_case.exponent) << test_case.code;
  }
}

TEST(CurrencyTest, FromCodeRefusesAnythingButAnExactActiveCode) {
  // Proves that lowercase, padded, wrong-length, withdrawn and minor-unit-less codes are refused.
  const std::string_view cases[] = {
      ""sv,    "eur"sv,  "Eur"sv,   "EU"sv,  "EURO"sv, " EUR"sv, "EUR "sv,
      "E R"sv, "EU\0"sv, "EUR\0"sv, "123"sv, "AAA"sv,  "ZZZ"sv,  "HRK"sv,
      "ZWL"sv, "XAU"sv,  "XDR"sv,   "XTS"sv, "XXX"sv,  "DEM"sv,  "\xC3\x89UR"sv,
  };
  for (std::string_view code : cases) {
    EXPECT_FALSE(Currency::FromCode(code).has_value()) << "'" << code << "'";
  }
}

TEST(CurrencyTest, TableIsSortedUniqueAndEveryEntryRoundTrips) {
  // Proves that All() lists each currency once, in code order, and each is found by its code.
  const std::span<const Currency> all = Currency::All();
  ASSERT_EQ(all.size(), 168u);
  for (size_t index = 0; index < all.size(); ++index) {
    const Currency currency = all[index];
    EXPECT_EQ(currency.code().size(), 3u);
    EXPECT_GE(currency.exponent(), 0);
    EXPECT_LE(currency.exponent(), 4);
    EXPECT_EQ(Currency::FromCode(currency.code()), currency);
    if (index > 0) {
      EXPECT_LT(all[index - 1].code(), currency.code());
    }
  }
}

TEST(CurrencyTest, EqualityFollowsTheCode) {
  // Proves that two lookups of one code are equal and different codes are not.
  EXPECT_EQ(*Currency::FromCode("EUR"), *Currency::FromCode("EUR"));
  EXPECT_NE(*Currency::FromCode("EUR"), *Currency::FromCode("USD"));
}

TEST(CurrencyTest, CodeViewOutlivesTheCurrency) {
  // Proves that code() points at static storage, so a view taken from a temporary stays valid.
  const std::string_view code = Currency::FromCode(std::string("NOK"))->code();
  EXPECT_EQ(code, "NOK");
}

TEST(CurrencyTest, NormalizeUppercasesAsciiLettersOnly) {
  // Proves that normalisation uppercases ASCII letters and leaves every other byte untouched.
  struct Case {
    std::string_view input;
    std::string_view expected;
  };
  const Case cases[] = {
      {"eur", "EUR"},   {"Eur", "EUR"}, {"EUR", "EUR"},       {"", ""},         {" eur", " EUR"},
      {"usd1", "USD1"}, {"é", "é"},     {"a\0b"sv, "A\0B"sv}, {"xyz{", "XYZ{"},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(NormalizeCurrencyCode(test_case.input), test_case.expected) << test_case.input;
  }
  EXPECT_EQ(Currency::FromCode(NormalizeCurrencyCode("jpy"))->exponent(), 0);
}

}  // namespace
}  // namespace finsync::domain
