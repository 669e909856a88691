#include "sources/catalog.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <set>
#include <tuple>

#include "sources/sandbox/bank_profiles.h"

namespace finsync::sources {
namespace {

struct CountryEntry {
  std::string_view code;
  std::string_view name;
};

// The EEA, the United Kingdom, Switzerland and North America: the countries served by
// GoCardless, Enable Banking and SimpleFIN. Sorted by code.
constexpr std::array<CountryEntry, 34> kCountryNames = {{
    {"AT", "Austria"},       {"BE", "Belgium"},        {"BG", "Bulgaria"},   {"CA", "Canada"},
    {"CH", "Switzerland"},   {"CY", "Cyprus"},         {"CZ", "Czechia"},    {"DE", "Germany"},
    {"DK", "Denmark"},       {"EE", "Estonia"},        {"ES", "Spain"},      {"FI", "Finland"},
    {"FR", "France"},        {"GB", "United Kingdom"}, {"GR", "Greece"},     {"HR", "Croatia"},
    {"HU", "Hungary"},       {"IE", "Ireland"},        {"IS", "Iceland"},    {"IT", "Italy"},
    {"LI", "Liechtenstein"}, {"LT", "Lithuania"},      {"LU", "Luxembourg"}, {"LV", "Latvia"},
    {"MT", "Malta"},         {"NL", "Netherlands"},    {"NO", "Norway"},     {"PL", "Poland"},
    {"PT", "Portugal"},      {"RO", "Romania"},        {"SE", "Sweden"},     {"SI", "Slovenia"},
    {"SK", "Slovakia"},      {"US", "United States"},
}};

std::string UpperAscii(std::string_view text) {
  std::string upper(text);
  for (char& byte : upper) {
    if (byte >= 'a' && byte <= 'z') byte = static_cast<char>(byte - 'a' + 'A');
  }
  return upper;
}

Error InvalidBank(size_t index, const Bank& bank, std::string_view problem) {
  return Error::Of(ErrorCode::kValidationFailed, "bank " + std::to_string(index) + " ('" + bank.id +
                                                     "'): " + std::string(problem));
}

std::optional<Error> CheckBank(size_t index, const Bank& bank) {
  if (bank.id.empty()) return InvalidBank(index, bank, "id is empty");
  if (bank.name.empty()) return InvalidBank(index, bank, "name is empty");
  if (bank.integrator.empty()) return InvalidBank(index, bank, "integrator is empty");
  if (bank.countries.empty()) return InvalidBank(index, bank, "no country");
  for (const std::string& country : bank.countries) {
    if (country != UpperAscii(country) || !CountryName(country)) {
      return InvalidBank(index, bank, "unknown country '" + country + "'");
    }
  }
  if (bank.max_historical_days < 1) {
    return InvalidBank(index, bank, "max_historical_days must be at least 1");
  }
  if (bank.max_access_valid_for_days < 1 ||
      bank.max_access_valid_for_days > kAccessValidForDaysMax) {
    return InvalidBank(index, bank, "max_access_valid_for_days must be 1 to 180");
  }
  return std::nullopt;
}

std::vector<Country> CountriesOf(const std::vector<Bank>& banks) {
  std::set<std::string> codes;
  for (const Bank& bank : banks) codes.insert(bank.countries.begin(), bank.countries.end());
  std::vector<Country> countries;
  for (const std::string& code : codes) {
    countries.push_back(Country{code, std::string(*CountryName(code))});
  }
  return countries;
}

Bank BankOfProfile(const sandbox::BankProfile& profile) {
  Bank bank;
  bank.id = profile.id;
  bank.name = profile.name;
  bank.bic = profile.bic;
  for (const std::string_view country : profile.countries) {
    if (!country.empty()) bank.countries.emplace_back(country);
  }
  bank.logo_url = profile.logo_url;
  bank.integrator = "SANDBOX";
  bank.supports_pending_transactions = profile.supports_pending_transactions;
  bank.max_historical_days = profile.max_historical_days;
  bank.max_access_valid_for_days = profile.max_access_valid_for_days;
  return bank;
}

}  // namespace

std::optional<std::string_view> CountryName(std::string_view country_code) {
  const std::string code = UpperAscii(country_code);
  for (const CountryEntry& entry : kCountryNames) {
    if (entry.code == code) return entry.name;
  }
  return std::nullopt;
}

Result<Catalog> Catalog::Create(std::vector<Bank> banks) {
  for (size_t index = 0; index < banks.size(); ++index) {
    if (std::optional<Error> error = CheckBank(index, banks[index])) return *std::move(error);
  }
  std::sort(banks.begin(), banks.end(),
            [](const Bank& left, const Bank& right) { return left.id < right.id; });
  for (size_t index = 1; index < banks.size(); ++index) {
    if (banks[index].id == banks[index - 1].id) {
      return Error::Of(ErrorCode::kValidationFailed,
                       "bank id '" + banks[index].id + "' appears more than once");
    }
  }
  std::vector<Country> countries = CountriesOf(banks);
  return Catalog(std::move(banks), std::move(countries));
}

const Catalog& Catalog::BuiltIn() {
  static const Catalog catalog = [] {
    std::vector<Bank> banks;
    for (const sandbox::BankProfile& profile : sandbox::SandboxBankProfiles()) {
      banks.push_back(BankOfProfile(profile));
    }
    Result<Catalog> result = Create(std::move(banks));
    assert(result.ok() && "the built-in sandbox banks must be valid");
    return std::move(result.value());
  }();
  return catalog;
}

std::vector<const Bank*> Catalog::BanksInCountry(std::string_view country_code) const {
  const std::string code = UpperAscii(country_code);
  std::vector<const Bank*> matches;
  for (const Bank& bank : banks_) {
    if (std::find(bank.countries.begin(), bank.countries.end(), code) != bank.countries.end()) {
      matches.push_back(&bank);
    }
  }
  std::sort(matches.begin(), matches.end(), [](const Bank* left, const Bank* right) {
    return std::tie(left->name, left->id) < std::tie(right->name, right->id);
  });
  return matches;
}

const Bank* Catalog::FindBank(std::string_view bank_id) const {
  const auto found = std::lower_bound(
      banks_.begin(), banks_.end(), bank_id,
      [](const Bank& bank, std::string_view id) { return std::string_view(bank.id) < id; });
  if (found == banks_.end() || found->id != bank_id) return nullptr;
  return &*found;
}

}  // namespace finsync::sources
