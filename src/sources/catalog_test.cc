#include "sources/catalog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace finsync::sources {
namespace {

std::vector<std::string> IdsOf(const std::vector<const Bank*>& banks) {
  std::vector<std::string> ids;
  for (const Bank* bank : banks) ids.push_back(bank->id);
  return ids;
}

TEST(CatalogTest, BuiltInListsTheSandboxBanksByCountry) {
  // Proves the built-in catalog: its countries, a lookup by country in either case (which
  // includes banks serving several countries), and lookups by id.
  const Catalog& catalog = Catalog::BuiltIn();
  std::vector<std::string> codes;
  for (const Country& country : catalog.countries()) codes.push_back(country.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"DE", "FR", "GB", "NL", "SE"}));
  EXPECT_EQ(catalog.countries()[0].name, "Germany");

  struct Case {
    std::string_view country_code;
    std::vector<std::string> bank_ids;
  };
  const Case cases[] = {
      {"DE", {"SANDBOX_FINSYNC_SBXFDEB1", "SANDBOX_FINSYNC_SBXFNL2N"}},
      {"de", {"SANDBOX_FINSYNC_SBXFDEB1", "SANDBOX_FINSYNC_SBXFNL2N"}},
      {"GB", {"SANDBOX_FINSYNC_SBXFGB2L"}},
      {"NL", {"SANDBOX_FINSYNC_SBXFNL2A", "SANDBOX_FINSYNC_SBXFNL2N"}},
      {"SE", {"SANDBOX_FINSYNC_SBXFSESS"}},
      {"FR", {"SANDBOX_FINSYNC_SBXFFRPP", "SANDBOX_FINSYNC_SBXFNL2N"}},
      {"US", {}},
      {"XX", {}},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(IdsOf(catalog.BanksInCountry(test_case.country_code)), test_case.bank_ids)
        << test_case.country_code;
  }
  const Bank* bank = catalog.FindBank("SANDBOX_FINSYNC_SBXFDEB1");
  ASSERT_NE(bank, nullptr);
  EXPECT_EQ(bank->bic, "SBXFDEB1");
  EXPECT_EQ(bank->integrator, "SANDBOX");
  EXPECT_TRUE(bank->logo_url.starts_with("data:image/svg+xml,"));
  EXPECT_EQ(catalog.FindBank("sandbox_finsync_sbxfdeb1"), nullptr);
  EXPECT_EQ(catalog.FindBank(""), nullptr);
}

TEST(CatalogTest, SandboxBanksCoverTheVariantsSyncMustHandle) {
  // Proves the sandbox offers a bank without pending transactions, one with a 90-day consent
  // cap, and that every bank stays within the 180-day limit.
  const Catalog& catalog = Catalog::BuiltIn();
  EXPECT_GE(catalog.banks().size(), 5u);
  const auto no_pending =
      std::count_if(catalog.banks().begin(), catalog.banks().end(),
                    [](const Bank& bank) { return !bank.supports_pending_transactions; });
  const auto capped =
      std::count_if(catalog.banks().begin(), catalog.banks().end(),
                    [](const Bank& bank) { return bank.max_access_valid_for_days == 90; });
  EXPECT_GE(no_pending, 1);
  EXPECT_GE(capped, 1);
  for (const Bank& bank : catalog.banks()) {
    EXPECT_LE(bank.max_access_valid_for_days, kAccessValidForDaysMax) << bank.id;
    EXPECT_GE(bank.max_historical_days, 90) << bank.id;
    EXPECT_TRUE(bank.id.starts_with("SANDBOX_FINSYNC_")) << bank.id;
  }
}

Bank ValidBank(std::string id) {
  Bank bank;
  bank.id = std::move(id);
  bank.name = "Example Bank";
  bank.bic = "EXAMDEFF";
  bank.countries = {"DE"};
  bank.integrator = "GOCARDLESS";
  bank.max_historical_days = 730;
  bank.max_access_valid_for_days = 180;
  return bank;
}

TEST(CatalogTest, CreateRefusesBanksThatBreakTheRules) {
  // Proves an integrator's list is checked as outside data: each broken rule is refused with
  // a message naming the bank, and a valid list is sorted by id.
  struct Case {
    std::string_view name;
    void (*breakage)(Bank&);
  };
  const Case cases[] = {
      {"empty id", [](Bank& bank) { bank.id.clear(); }},
      {"empty name", [](Bank& bank) { bank.name.clear(); }},
      {"no integrator", [](Bank& bank) { bank.integrator.clear(); }},
      {"no country", [](Bank& bank) { bank.countries.clear(); }},
      {"unknown country", [](Bank& bank) { bank.countries = {"ZZ"}; }},
      {"lower-case country", [](Bank& bank) { bank.countries = {"de"}; }},
      {"no history", [](Bank& bank) { bank.max_historical_days = 0; }},
      {"access 181 days", [](Bank& bank) { bank.max_access_valid_for_days = 181; }},
      {"access 0 days", [](Bank& bank) { bank.max_access_valid_for_days = 0; }},
  };
  for (const Case& test_case : cases) {
    Bank bank = ValidBank("EXAMPLE_1");
    test_case.breakage(bank);
    const Result<Catalog> catalog = Catalog::Create({ValidBank("EXAMPLE_0"), bank});
    ASSERT_FALSE(catalog.ok()) << test_case.name;
    EXPECT_EQ(catalog.error().code, ErrorCode::kValidationFailed);
    EXPECT_NE(catalog.error().detail.find("bank 1"), std::string::npos) << test_case.name;
  }
  const Result<Catalog> duplicate = Catalog::Create({ValidBank("A"), ValidBank("A")});
  EXPECT_FALSE(duplicate.ok());
  const Result<Catalog> valid = Catalog::Create({ValidBank("B"), ValidBank("A")});
  ASSERT_TRUE(valid.ok());
  EXPECT_EQ(valid.value().banks()[0].id, "A");
  EXPECT_NE(valid.value().FindBank("B"), nullptr);
}

TEST(CatalogTest, CountryNamesCoverTheIntegratorsCountries) {
  // Proves country names are looked up in either case and unknown codes are refused.
  EXPECT_EQ(CountryName("SE"), "Sweden");
  EXPECT_EQ(CountryName("gb"), "United Kingdom");
  EXPECT_EQ(CountryName("US"), "United States");
  EXPECT_FALSE(CountryName("ZZ").has_value());
  EXPECT_FALSE(CountryName("").has_value());
}

}  // namespace
}  // namespace finsync::sources
