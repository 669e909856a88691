#include "sources/sandbox/household.h"

#include <cassert>

#include "domain/date.h"
#include "sources/sandbox/generator.h"
#include "sources/sandbox/hash.h"
#include "sources/sandbox/iban.h"

namespace finsync::sources::sandbox {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Salts that separate the household's draws by purpose.
constexpr uint64_t kSaltOwner = 1;
constexpr uint64_t kSaltAccounts = 2;
constexpr uint64_t kSaltSchedule = 3;
constexpr uint64_t kSaltReferences = 4;

template <typename Item>
const Item& PickFrom(std::span<const Item> items, Draws& draws) {
  return items[draws.Below(items.size())];
}

std::string IbanFor(std::string_view country_code, std::string_view bank_code, uint64_t hash) {
  const std::optional<std::string> bban = MakeBban(country_code, bank_code, hash);
  assert(bban && "every sandbox country has a BBAN format");
  return MakeIban(country_code, *bban);
}

std::string CounterpartyIban(const CountryProfile& country, uint64_t hash) {
  Draws draws(hash);
  const std::string_view bank_code = PickFrom(country.counterparty_bank_codes, draws);
  return IbanFor(country.code, bank_code, draws.Next());
}

// Rounds a positive amount up to a whole multiple, so schedules show tidy figures.
int64_t RoundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

std::string ForeignCurrencyOf(const BankProfile& bank, Draws& draws) {
  if (bank.currency != "EUR") return "EUR";
  return draws.Chance(1, 2) ? "GBP" : "SEK";
}

SandboxAccount MakeAccount(const Household& household, AccountKind kind, uint64_t seed,
                           std::string_view consent_reference, size_t index) {
  const BankProfile& bank = *household.bank;
  const CountryProfile& country = *household.country;
  Draws draws(seed);
  SandboxAccount account;
  account.reference = AccountReferenceOf(consent_reference, index);
  account.kind = kind;
  account.seed = seed;
  account.currency = bank.currency;
  account.merchant_country = &country;
  account.iban = IbanFor(bank.home_country, bank.bank_code, draws.Next());
  account.bban = account.iban.substr(4);
  account.card_last_digits = static_cast<int32_t>(draws.Between(1000, 9999));
  switch (kind) {
    case AccountKind::kChecking:
      account.name = country.checking_name;
      account.product = country.checking_product;
      account.cash_account_type = "CACC";
      account.opening_balance_minor = draws.Between(800, 3000) * 100;
      break;
    case AccountKind::kSavings:
      account.name = country.savings_name;
      account.product = country.savings_product;
      account.cash_account_type = "SVGS";
      account.opening_balance_minor = draws.Between(2000, 20000) * 100;
      break;
    case AccountKind::kForeignCurrency:
      account.currency = ForeignCurrencyOf(bank, draws);
      account.merchant_country = CountryProfileForCurrency(account.currency);
      account.name = account.currency + " account";
      account.product = "Multi-currency account";
      account.cash_account_type = "CACC";
      account.opening_balance_minor = draws.Between(100, 400) * 100;
      break;
  }
  account.opening_balance_minor = FromEuroMinor(account.opening_balance_minor, account.currency);
  if (kind != AccountKind::kSavings) {
    const Volume& volume = household.volume;
    const int64_t mean_count = volume.daily_transactions_min + volume.daily_transactions_max;
    const int64_t spending_days_one_in =
        kind == AccountKind::kForeignCurrency ? kForeignSpendingDayOneIn : 1;
    account.expected_daily_spend_minor = FromEuroMinor(
        MeanCardAmountEuroMinor() * mean_count / 2 / spending_days_one_in, account.currency);
  }
  return account;
}

void ChooseSchedule(Household& household, Draws& draws) {
  const CountryProfile& country = *household.country;
  const std::string_view currency = household.bank->currency;
  household.employer = PickFrom(country.employers, draws);
  household.employer_iban = CounterpartyIban(country, draws.Next());
  household.salary_day = static_cast<int32_t>(draws.Between(25, 28));
  household.landlord = PickFrom(country.landlords, draws);
  household.landlord_iban = CounterpartyIban(country, draws.Next());
  household.apartment =
      "APT " + std::to_string(draws.Between(1, 40)) + static_cast<char>('A' + draws.Below(4));
  household.rent_day = static_cast<int32_t>(draws.Between(1, 3));
  household.rent_minor = RoundUp(FromEuroMinor(draws.Between(850, 1650) * 100, currency), 1000);
  household.netflix_day = draws.Chance(7, 10) ? static_cast<int32_t>(draws.Between(1, 28)) : 0;
  household.spotify_day = draws.Chance(7, 10) ? static_cast<int32_t>(draws.Between(1, 28)) : 0;
  household.gym_day = draws.Chance(6, 10) ? (draws.Chance(1, 2) ? 1 : 15) : 0;
  household.gym_iban = CounterpartyIban(country, draws.Next());
  household.gym_mandate = "M" + std::to_string(draws.Between(100000, 999999));
  household.account_fee_minor = draws.Chance(2, 3) ? RoundUp(FromEuroMinor(490, currency), 10) : 0;
  household.savings_transfer_minor =
      RoundUp(FromEuroMinor(draws.Between(100, 500) * 100, currency), 5000);
}

int64_t TopUpInCheckingCurrency(const Household& household) {
  if (household.accounts.size() < 3) return 0;
  const std::string& foreign = household.accounts[2].currency;
  return household.weekly_top_up_minor * EuroRateMicros(household.bank->currency) /
         EuroRateMicros(foreign);
}

// The salary covers the month's expected spending with a small margin, so balances drift
// gently upwards at any configured volume instead of running into a deep overdraft.
int64_t SalaryFor(const Household& household) {
  const SubscriptionPrices prices = SubscriptionPricesIn(household.bank->currency);
  int64_t monthly = household.rent_minor + household.account_fee_minor;
  if (household.netflix_day != 0) monthly += prices.netflix_minor;
  if (household.spotify_day != 0) monthly += prices.spotify_minor;
  if (household.gym_day != 0) monthly += prices.gym_minor;
  if (household.accounts.size() > 1) monthly += household.savings_transfer_minor;
  monthly += household.accounts[0].expected_daily_spend_minor * 3044 / 100;
  monthly += TopUpInCheckingCurrency(household) * 435 / 100;
  return RoundUp(monthly * 105 / 100, 10000);
}

}  // namespace

bool IsValidVolume(const Volume& volume) {
  return volume.daily_transactions_min >= 0 &&
         volume.daily_transactions_min <= volume.daily_transactions_max &&
         volume.daily_transactions_max <= kDailyTransactionsMax;
}

std::string AccountReferenceOf(std::string_view consent_reference, size_t index) {
  return UuidFromHash(
      HashCombine(HashText(consent_reference), HashCombine(kSaltReferences, index)));
}

std::string UuidFromHash(uint64_t hash) {
  const uint64_t high = Mix64(hash);
  const uint64_t low = Mix64(high ^ hash);
  std::string hex(32, '0');
  for (size_t index = 0; index < 16; ++index) {
    hex[index] = kHexDigits[(high >> (60 - 4 * index)) & 0xF];
    hex[16 + index] = kHexDigits[(low >> (60 - 4 * index)) & 0xF];
  }
  hex[12] = '4';                                // Version 4: random.
  hex[16] = kHexDigits[8 + (low >> 62 & 0x3)];  // Variant 10xx.
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

int64_t FromEuroMinor(int64_t value_minor, std::string_view currency) {
  const int64_t rate_micros = EuroRateMicros(currency);
  assert(rate_micros > 0 && "every sandbox currency has a rate");
  const int64_t product = value_minor * rate_micros;
  return (product >= 0 ? product + 500'000 : product - 500'000) / 1'000'000;
}

Household MakeHousehold(const BankProfile& bank, uint64_t seed, std::string_view consent_reference,
                        int32_t account_count, const Volume& volume) {
  assert(account_count >= 1 && account_count <= kAccountsPerConsentMax);
  assert(IsValidVolume(volume));
  Household household;
  // The bank takes part in the seed, so one seed gives different customers at different banks.
  household.seed = HashCombine(seed, HashText(bank.id));
  household.bank = &bank;
  household.country = FindCountryProfile(bank.home_country);
  assert(household.country != nullptr && "every sandbox bank's country has a profile");
  household.volume = volume;
  Draws owner(HashCombine(household.seed, kSaltOwner));
  household.owner_name = std::string(PickFrom(household.country->first_names, owner)) + " " +
                         std::string(PickFrom(household.country->last_names, owner));
  // Accounts opened on a day in 2018 or 2019, so any history a consent may read exists.
  household.opened_day = domain::Date::FromYearMonthDay(2018, 1, 1)->days_since_epoch() +
                         static_cast<int64_t>(owner.Below(730));
  constexpr AccountKind kKinds[] = {AccountKind::kChecking, AccountKind::kSavings,
                                    AccountKind::kForeignCurrency};
  for (size_t index = 0; index < static_cast<size_t>(account_count); ++index) {
    const uint64_t account_seed = HashCombine(household.seed, HashCombine(kSaltAccounts, index));
    household.accounts.push_back(
        MakeAccount(household, kKinds[index], account_seed, consent_reference, index));
  }
  Draws schedule(HashCombine(household.seed, kSaltSchedule));
  ChooseSchedule(household, schedule);
  if (account_count > 2) {
    const SandboxAccount& foreign = household.accounts[2];
    household.weekly_top_up_minor =
        RoundUp(foreign.expected_daily_spend_minor * 7 * 110 / 100, 1000);
  }
  household.salary_minor = SalaryFor(household);
  return household;
}

}  // namespace finsync::sources::sandbox
