// The world the sandbox bank lives in: merchants, cities, employers, landlords and names per
// country, foreign merchants for card payments abroad, subscription prices and exchange
// rates. Names are made up or are well-known chains, so generated statements look like real
// ones and exercise payee extraction, non-ASCII text and long fields.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace finsync::sources::sandbox {

// Kinds of card spending; each has its own amount range and merchant list.
enum class Category : uint8_t {
  kGroceries,
  kCafe,
  kRestaurant,
  kFuel,
  kOnlineShop,
  kTransport,
  kPharmacy,
  kCashWithdrawal,
};
inline constexpr size_t kCategoryCount = 8;

// The ISO 18245 merchant category code that card networks attach to each category.
std::string_view MerchantCategoryCode(Category category);

struct Merchant {
  std::string_view name;            // As the merchant calls itself: "Albert Heijn".
  std::string_view statement_name;  // As card terminals print it: "ALBERT HEIJN".
  bool has_store_number = false;    // Chains print a branch number after the name.
};

struct City {
  std::string_view name;            // "München"
  std::string_view statement_name;  // "MUENCHEN": terminals print upper-case ASCII.
};

struct CountryProfile {
  std::string_view code;                                            // ISO 3166 alpha-2.
  std::string_view currency;                                        // The local currency.
  std::array<std::span<const Merchant>, kCategoryCount> merchants;  // Indexed by Category.
  std::span<const City> cities;
  std::span<const std::string_view> first_names;
  std::span<const std::string_view> last_names;
  std::span<const std::string_view> employers;
  std::span<const std::string_view> landlords;
  std::span<const std::string_view> counterparty_bank_codes;  // For employers' and landlords'
                                                              // IBANs.
  Merchant gym;
  std::string_view checking_name;
  std::string_view checking_product;
  std::string_view savings_name;
  std::string_view savings_product;
};

// The countries the sandbox generates for: DE, NL, FR, GB, SE. nullptr for any other.
const CountryProfile* FindCountryProfile(std::string_view country_code);

// The country whose merchants a foreign-currency account spends at: GBP -> GB, SEK -> SE,
// EUR -> DE.
const CountryProfile* CountryProfileForCurrency(std::string_view currency);

// A merchant abroad, paid in its own currency and converted by the bank.
struct ForeignMerchant {
  std::string_view name;
  std::string_view statement_name;
  std::string_view city_statement_name;
  std::string_view country_code;
  std::string_view currency;
};

std::span<const ForeignMerchant> ForeignMerchants();

// Units of `currency` per 1 EUR, in millionths (GBP 0.86 -> 860'000). 0 when unknown.
int64_t EuroRateMicros(std::string_view currency);

// Monthly prices in minor units of `currency` (EUR, GBP or SEK; anything else uses EUR's).
struct SubscriptionPrices {
  int64_t netflix_minor;
  int64_t spotify_minor;
  int64_t gym_minor;
};
SubscriptionPrices SubscriptionPricesIn(std::string_view currency);

}  // namespace finsync::sources::sandbox
