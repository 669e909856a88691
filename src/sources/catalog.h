// The supported banks: which institutions a user can connect, in which countries, through
// which integrator, and with which limits. The built-in catalog holds the sandbox banks;
// integrators that publish their institution lists (GoCardless, Enable Banking) build a
// Catalog from them the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace finsync::sources {

// Consents never last longer than this (PSD2 allowed 90 days, and 180 since 2023); some banks
// cap them at 90.
inline constexpr int32_t kAccessValidForDaysMax = 180;

struct Country {
  std::string code;  // ISO 3166-1 alpha-2, upper case.
  std::string name;  // English short name.
};

struct Bank {
  std::string id;  // Unique across integrators: "SANDBOX_FINSYNC_SBXFDEB1".
  std::string name;
  std::string bic;
  std::vector<std::string> countries;  // ISO 3166-1 alpha-2, upper case; at least one.
  std::string logo_url;
  std::string integrator;  // "SANDBOX", later "GOCARDLESS", "ENABLEBANKING", ...
  bool supports_pending_transactions = true;
  int32_t max_historical_days = 90;
  int32_t max_access_valid_for_days = 90;  // 1..kAccessValidForDaysMax.
};

// The English name of an ISO 3166-1 alpha-2 code (upper or lower case) among the countries
// finsync's integrators serve (Europe and North America); nullopt for any other.
std::optional<std::string_view> CountryName(std::string_view country_code);

// An immutable list of banks. Safe to share between threads. Lookups return pointers into the
// catalog, valid as long as it lives.
class Catalog {
 public:
  // Checks every bank: a non-empty unique id, a name, known countries, positive limits and
  // access of at most kAccessValidForDaysMax days. kValidationFailed names the first bank that
  // breaks a rule, since integrators' lists are outside data.
  static Result<Catalog> Create(std::vector<Bank> banks);

  // The sandbox banks. Built once, on first use.
  static const Catalog& BuiltIn();

  // Every bank, sorted by id.
  std::span<const Bank> banks() const { return banks_; }

  // The countries that have at least one bank, sorted by code.
  std::span<const Country> countries() const { return countries_; }

  // The banks serving a country (code in either case), sorted by name and then id. Empty for
  // an unknown country.
  std::vector<const Bank*> BanksInCountry(std::string_view country_code) const;

  // The bank with exactly this id; nullptr when there is none.
  const Bank* FindBank(std::string_view bank_id) const;

 private:
  Catalog(std::vector<Bank> banks, std::vector<Country> countries)
      : banks_(std::move(banks)), countries_(std::move(countries)) {}

  std::vector<Bank> banks_;
  std::vector<Country> countries_;
};

}  // namespace finsync::sources
