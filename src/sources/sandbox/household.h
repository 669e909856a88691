// The customer behind one sandbox consent: an owner with one to three accounts at one sandbox
// bank, and the fixed facts of their financial life (employer and salary day, landlord and
// rent, subscriptions, standing transfers). Everything is derived from one 64-bit seed, so the
// same seed always describes the same customer, whichever consent or process asks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sources/sandbox/bank_profiles.h"
#include "sources/sandbox/reference_data.h"

namespace finsync::sources::sandbox {

// Bounds on the generated volume: the benchmarks need millions of transactions, and every
// loop in the generator is bounded by these.
inline constexpr int32_t kDailyTransactionsMax = 10'000;
inline constexpr int32_t kAccountsPerConsentMax = 3;

// How many card transactions a spending account gets per day, uniformly in [min, max]: every
// day for checking, on about one day in three for the travel account (generator.h).
struct Volume {
  int32_t daily_transactions_min = 2;
  int32_t daily_transactions_max = 6;

  friend bool operator==(const Volume&, const Volume&) = default;
};

// True when 0 <= min <= max <= kDailyTransactionsMax.
bool IsValidVolume(const Volume& volume);

enum class AccountKind : uint8_t {
  kChecking,         // Salary in, rent, cards, subscriptions, fees and transfers out.
  kSavings,          // A monthly transfer in from checking, and monthly interest.
  kForeignCurrency,  // A travel account: weekly top-ups from checking and card spending.
};

struct SandboxAccount {
  std::string reference;  // UUID-shaped, like GoCardless account ids; unique per consent.
  AccountKind kind = AccountKind::kChecking;
  uint64_t seed = 0;
  std::string currency;  // ISO 4217; every sandbox currency has exponent 2.
  const CountryProfile* merchant_country = nullptr;  // Where its card is used.
  std::string iban;
  std::string bban;
  std::string name;
  std::string product;
  std::string cash_account_type;           // CACC or SVGS.
  int64_t opening_balance_minor = 0;       // Balance at the start of Household::opened_day.
  int64_t expected_daily_spend_minor = 0;  // Mean card spending per day (positive).
  int32_t card_last_digits = 0;            // "CARD 4821 ..." in statements.
};

struct Household {
  uint64_t seed = 0;  // The consent's seed mixed with the bank id; drives everything below.
  const BankProfile* bank = nullptr;
  const CountryProfile* country = nullptr;
  Volume volume;
  std::string owner_name;
  int64_t opened_day = 0;                // Days since 1970-01-01; no transaction exists before it.
  std::vector<SandboxAccount> accounts;  // [0] checking, then savings, then foreign currency.

  // The checking account's month, all amounts positive, in its currency.
  std::string employer;
  std::string employer_iban;
  int32_t salary_day = 25;  // Moved to the Friday before when it falls on a weekend.
  int64_t salary_minor = 0;
  std::string landlord;
  std::string landlord_iban;
  std::string apartment;
  int32_t rent_day = 1;
  int64_t rent_minor = 0;
  int32_t netflix_day = 0;  // 0 when not subscribed.
  int32_t spotify_day = 0;
  int32_t gym_day = 0;
  std::string gym_iban;
  std::string gym_mandate;
  int64_t account_fee_minor = 0;
  int32_t savings_transfer_day = 28;
  int64_t savings_transfer_minor = 0;
  int64_t weekly_top_up_minor = 0;  // In the foreign account's currency.
};

// The customer for `seed` at `bank`. Account references are derived from `consent_reference`
// so that two consents never share one, even with the same seed. Requires 1 <= account_count
// <= kAccountsPerConsentMax and a valid volume.
Household MakeHousehold(const BankProfile& bank, uint64_t seed, std::string_view consent_reference,
                        int32_t account_count, const Volume& volume);

// The reference of the account at `index` (0-based) of a consent: UUID-shaped and unique per
// consent, whatever the household seed.
std::string AccountReferenceOf(std::string_view consent_reference, size_t index);

// A UUID-shaped text (8-4-4-4-12 lower-case hex, version 4 and variant bits set) from a hash.
std::string UuidFromHash(uint64_t hash);

// `value_minor` of EUR expressed in `currency`, rounded to the nearest minor unit.
int64_t FromEuroMinor(int64_t value_minor, std::string_view currency);

}  // namespace finsync::sources::sandbox
