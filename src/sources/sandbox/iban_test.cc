#include "sources/sandbox/iban.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace finsync::sources::sandbox {
namespace {

TEST(IbanTest, AcceptsPublishedExamplesAndRefusesCorruptions) {
  // Proves the mod-97 validation on IBANs published as examples by the registry and banks,
  // and that a changed digit, swapped digits, a wrong length or lower case are refused.
  struct Case {
    std::string_view iban;
    bool valid;
  };
  const Case cases[] = {
      {"DE89370400440532013000", true},
      {"GB82WEST12345698765432", true},
      {"NL91ABNA0417164300", true},
      {"FR1420041010050500013M02606", true},
      {"SE4550000000058398257466", true},
      {"BE68539007547034", true},
      {"DE89370400440532013001", false},       // A changed digit.
      {"DE89370400440532031000", false},       // Two swapped digits.
      {"DE8937040044053201300", false},        // Too short for DE.
      {"de89370400440532013000", false},       // Lower case.
      {"DE89 3704 0044 0532 0130 00", false},  // Print form, not electronic.
      {"", false},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(IsValidIban(test_case.iban), test_case.valid) << test_case.iban;
  }
}

TEST(IbanTest, ComputesTheCheckDigitsOfKnownIbans) {
  // Proves the check digits are computed, not guessed: they reproduce published IBANs.
  EXPECT_EQ(IbanCheckDigits("DE", "370400440532013000"), "89");
  EXPECT_EQ(IbanCheckDigits("GB", "WEST12345698765432"), "82");
  EXPECT_EQ(MakeIban("NL", "ABNA0417164300"), "NL91ABNA0417164300");
}

TEST(IbanTest, ComputesTheFrenchRibKey) {
  // Proves the RIB key, letters included, on the French example IBAN above.
  EXPECT_EQ(FrenchRibKey("20041", "01005", "0500013M026"), 6);
}

TEST(IbanTest, GeneratedBbansMakeValidIbansInEveryCountry) {
  // Proves every country the sandbox writes IBANs for gets the registered length and a valid
  // checksum, over many account numbers.
  struct Case {
    std::string_view country_code;
    std::string_view bank_code;
    size_t length;
  };
  const Case cases[] = {{"DE", "10090999", 22}, {"NL", "SBXF", 18}, {"FR", "30099", 27},
                        {"GB", "SBXF", 22},     {"SE", "990", 24},  {"LT", "70440", 20}};
  for (const Case& test_case : cases) {
    for (uint64_t hash = 0; hash < 200; ++hash) {
      const std::optional<std::string> bban =
          MakeBban(test_case.country_code, test_case.bank_code, hash * 7919);
      ASSERT_TRUE(bban.has_value());
      const std::string iban = MakeIban(test_case.country_code, *bban);
      EXPECT_EQ(iban.size(), test_case.length) << iban;
      EXPECT_TRUE(IsValidIban(iban)) << iban;
    }
  }
  EXPECT_FALSE(MakeBban("US", "1234", 1).has_value());
}

}  // namespace
}  // namespace finsync::sources::sandbox
