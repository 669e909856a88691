#include "sources/sandbox/generator.h"

#include <algorithm>
#include <cassert>

#include "domain/date.h"
#include "sources/sandbox/hash.h"

namespace finsync::sources::sandbox {
namespace {

constexpr int64_t kMillisecondsPerDay = 86'400'000;
constexpr int32_t kSecondsPerHour = 3600;
constexpr int32_t kBookingBatchSecond = 5 * kSecondsPerHour;  // Banks book overnight.

// Distinct stream constants so that different purposes never draw the same numbers.
constexpr uint64_t kStreamIdentity = 0x1D;
constexpr uint64_t kStreamCards = 0xCA;
constexpr uint64_t kStreamSchedule = 0x5C;
constexpr uint64_t kStreamTopUp = 0x70;
constexpr uint64_t kStreamTravel = 0x7A;

struct CategorySpec {
  Category category;
  uint32_t weight_permille;
  int64_t low_euro_minor;
  int64_t high_euro_minor;
};

// Shares of card payments and their amount ranges in EUR cents; other currencies scale by
// the exchange rate. Cash withdrawals use fixed round amounts instead of the range.
constexpr CategorySpec kCategorySpecs[] = {
    {Category::kGroceries, 300, 250, 5000},   {Category::kCafe, 220, 250, 700},
    {Category::kRestaurant, 100, 1000, 4500}, {Category::kFuel, 50, 3000, 7000},
    {Category::kOnlineShop, 100, 800, 6000},  {Category::kTransport, 150, 150, 1500},
    {Category::kPharmacy, 50, 300, 2000},     {Category::kCashWithdrawal, 30, 2000, 10000},
};
constexpr int64_t kCashEuroMinor[] = {2000, 5000, 10000};

struct CivilDay {
  int32_t day_of_month = 1;
  int32_t days_in_month = 31;
  int32_t weekday = 0;  // 0 is Monday.
};

CivilDay CivilOf(int64_t day) {
  const domain::Date date = *domain::Date::FromDaysSinceEpoch(day);
  // 1970-01-01 was a Thursday, weekday 3.
  const int64_t weekday = ((day + 3) % 7 + 7) % 7;
  return CivilDay{date.day(), domain::DaysInMonth(date.year(), date.month()),
                  static_cast<int32_t>(weekday)};
}

int64_t RoundToMultiple(int64_t value, int64_t multiple) {
  return (value + multiple / 2) / multiple * multiple;
}

const CategorySpec& PickCategory(uint64_t hash) {
  uint64_t threshold = Below(hash, 1000);
  for (const CategorySpec& spec : kCategorySpecs) {
    if (threshold < spec.weight_permille) return spec;
    threshold -= spec.weight_permille;
  }
  return kCategorySpecs[0];
}

// The salary moves to the Friday before when its day falls on a weekend, as payroll does.
bool IsSalaryDay(const Household& household, const CivilDay& civil) {
  const int32_t offset = household.salary_day - civil.day_of_month;
  const int32_t weekday = ((civil.weekday + offset) % 7 + 7) % 7;
  const int32_t shift = weekday == 5 ? 1 : weekday == 6 ? 2 : 0;
  return civil.day_of_month == household.salary_day - shift;
}

// Appends one account's events of one value day; owns the ordinal counter that makes ids
// unique within the day.
class DayBuilder {
 public:
  DayBuilder(const Household& household, size_t account_index, int64_t day,
             std::vector<Event>& events)
      : household_(household),
        account_(household.accounts[account_index]),
        day_(day),
        identity_seed_(
            HashCombine(account_.seed, HashCombine(static_cast<uint64_t>(day), kStreamIdentity))),
        events_(events) {}

  const Household& household() const { return household_; }
  const SandboxAccount& account() const { return account_; }
  int64_t day() const { return day_; }

  Event& Add(EventKind kind, int64_t amount_minor, int32_t second) {
    Event& event = events_.emplace_back();
    event.kind = kind;
    event.amount_minor = amount_minor;
    event.pending_amount_minor = amount_minor;
    event.value_day = static_cast<int32_t>(day_);
    event.booking_day = static_cast<int32_t>(day_);
    event.occurred_second = second;
    event.booked_second = second;
    event.ordinal = ordinal_++;
    event.identity = HashCombine(identity_seed_, event.ordinal);
    return event;
  }

  // A genuine second booking identical to `original` in everything but its ids.
  void AddCopyOf(size_t event_index) {
    Event copy = events_[event_index];
    copy.ordinal = ordinal_++;
    copy.identity = HashCombine(identity_seed_, copy.ordinal);
    events_.push_back(copy);
  }

  size_t size() const { return events_.size(); }

 private:
  const Household& household_;
  const SandboxAccount& account_;
  int64_t day_;
  uint64_t identity_seed_;
  std::vector<Event>& events_;
  uint16_t ordinal_ = 0;
};

void SetCardBooking(Event& event, Draws& draws) {
  event.booking_day = event.value_day + static_cast<int32_t>(draws.Between(1, kBookingLagDaysMax));
  event.booked_second = kBookingBatchSecond;
}

void AddCardPayment(DayBuilder& builder, uint64_t seed) {
  Draws draws(seed);
  const SandboxAccount& account = builder.account();
  const CategorySpec& spec = PickCategory(draws.Next());
  const auto merchants = account.merchant_country->merchants[static_cast<size_t>(spec.category)];
  const bool cash = spec.category == Category::kCashWithdrawal;
  const int64_t euro_minor = cash ? kCashEuroMinor[draws.Below(3)]
                                  : draws.Between(spec.low_euro_minor, spec.high_euro_minor);
  const int64_t amount = cash ? RoundToMultiple(FromEuroMinor(euro_minor, account.currency), 1000)
                              : FromEuroMinor(euro_minor, account.currency);
  const int32_t second = static_cast<int32_t>(draws.Between(7 * 3600, 23 * 3600 - 1));
  Event& event =
      builder.Add(cash ? EventKind::kCashWithdrawal : EventKind::kCardPayment, -amount, second);
  event.category = spec.category;
  event.merchant = static_cast<uint16_t>(draws.Below(merchants.size()));
  event.city = static_cast<uint16_t>(draws.Below(account.merchant_country->cities.size()));
  if (merchants[event.merchant].has_store_number) {
    event.store_number = static_cast<uint16_t>(draws.Between(1000, 9999));
  }
  SetCardBooking(event, draws);
  if (spec.category == Category::kFuel) {
    // Fuel pumps pre-authorise a round sum; the final amount replaces it when it books.
    event.pending_amount_minor = -RoundToMultiple(FromEuroMinor(10000, account.currency), 5000);
  }
}

void AddRefund(DayBuilder& builder, uint64_t seed) {
  Draws draws(seed);
  const SandboxAccount& account = builder.account();
  const auto merchants =
      account.merchant_country->merchants[static_cast<size_t>(Category::kOnlineShop)];
  const int64_t amount = FromEuroMinor(draws.Between(1500, 8000), account.currency);
  Event& event = builder.Add(EventKind::kCardRefund, amount,
                             static_cast<int32_t>(draws.Between(8 * 3600, 20 * 3600)));
  event.category = Category::kOnlineShop;
  event.merchant = static_cast<uint16_t>(draws.Below(merchants.size()));
  event.city = static_cast<uint16_t>(draws.Below(account.merchant_country->cities.size()));
  SetCardBooking(event, draws);
}

void AddForeignPayment(DayBuilder& builder, uint64_t seed) {
  Draws draws(seed);
  const SandboxAccount& account = builder.account();
  const auto merchants = ForeignMerchants();
  size_t index = draws.Below(merchants.size());
  while (merchants[index].currency == account.currency) index = (index + 1) % merchants.size();
  const ForeignMerchant& merchant = merchants[index];
  const int64_t foreign_minor = FromEuroMinor(draws.Between(500, 6000), merchant.currency);
  // The day's rate moves up to half a percent around the reference rate.
  const int64_t rate_micros = EuroRateMicros(account.currency) * 1'000'000 /
                              EuroRateMicros(merchant.currency) *
                              (1'000'000 + draws.Between(-5000, 5000)) / 1'000'000;
  const int64_t amount = (foreign_minor * rate_micros + 500'000) / 1'000'000;
  Event& event = builder.Add(EventKind::kForeignCardPayment, -amount,
                             static_cast<int32_t>(draws.Between(6 * 3600, 22 * 3600)));
  event.merchant = static_cast<uint16_t>(index);
  event.foreign_amount_minor = foreign_minor;
  event.exchange_rate_micros = rate_micros;
  // While pending the bank shows its own estimate of the conversion, a few tenths off.
  event.pending_amount_minor = -(amount + amount * draws.Between(1, 4) / 1000 + 1);
  SetCardBooking(event, draws);
}

void AddSubscriptionCard(DayBuilder& builder, uint16_t subscription, int64_t price_minor) {
  Draws draws(HashCombine(builder.account().seed,
                          HashCombine(static_cast<uint64_t>(builder.day()), subscription)));
  Event& event = builder.Add(EventKind::kSubscriptionCard, -price_minor,
                             static_cast<int32_t>(draws.Between(1 * 3600, 5 * 3600)));
  event.category = Category::kOnlineShop;
  event.merchant = subscription;
  SetCardBooking(event, draws);
}

void AppendCardSpending(DayBuilder& builder, bool allow_foreign) {
  const Volume& volume = builder.household().volume;
  const uint64_t seed = HashCombine(
      builder.account().seed, HashCombine(static_cast<uint64_t>(builder.day()), kStreamCards));
  Draws draws(seed);
  const int64_t count = draws.Between(volume.daily_transactions_min, volume.daily_transactions_max);
  const size_t first_card = builder.size();
  for (int64_t position = 0; position < count; ++position) {
    AddCardPayment(builder, HashCombine(seed, static_cast<uint64_t>(position)));
  }
  if (draws.Chance(1, 10)) AddRefund(builder, HashCombine(seed, 0x7EF));
  if (allow_foreign && draws.Chance(1, 12)) AddForeignPayment(builder, HashCombine(seed, 0xF0));
  if (count > 0 && draws.Chance(1, 25)) builder.AddCopyOf(first_card);
}

// Checking pays the other accounts the same amount the same day; both sides compute it from
// the household seed and the day alone, so each account can be generated on its own.
int64_t TopUpDebitMinor(const Household& household, int64_t day) {
  const SandboxAccount& checking = household.accounts[0];
  const SandboxAccount& foreign = household.accounts[2];
  Draws draws(HashCombine(household.seed, HashCombine(static_cast<uint64_t>(day), kStreamTopUp)));
  const int64_t rate_micros = EuroRateMicros(checking.currency) * 1'000'000 /
                              EuroRateMicros(foreign.currency) *
                              (1'000'000 + draws.Between(-5000, 5000)) / 1'000'000;
  return (household.weekly_top_up_minor * rate_micros + 500'000) / 1'000'000;
}

void AddTransfer(DayBuilder& builder, EventKind kind, int64_t amount_minor, size_t other) {
  Event& event = builder.Add(kind, amount_minor, 8 * kSecondsPerHour + static_cast<int32_t>(other));
  event.other_account = static_cast<uint8_t>(other);
}

void AppendCheckingSchedule(DayBuilder& builder, const CivilDay& civil) {
  const Household& household = builder.household();
  const SubscriptionPrices prices = SubscriptionPricesIn(builder.account().currency);
  if (IsSalaryDay(household, civil)) {
    builder.Add(EventKind::kSalary, household.salary_minor, 6 * kSecondsPerHour);
  }
  if (civil.day_of_month == household.rent_day) {
    builder.Add(EventKind::kRent, -household.rent_minor, 6 * kSecondsPerHour + 60);
  }
  if (civil.day_of_month == household.gym_day) {
    builder.Add(EventKind::kDirectDebit, -prices.gym_minor, 7 * kSecondsPerHour);
  }
  if (civil.day_of_month == household.netflix_day) {
    AddSubscriptionCard(builder, 0, prices.netflix_minor);
  }
  if (civil.day_of_month == household.spotify_day) {
    AddSubscriptionCard(builder, 1, prices.spotify_minor);
  }
  const size_t account_count = household.accounts.size();
  if (account_count > 1 && civil.day_of_month == household.savings_transfer_day) {
    AddTransfer(builder, EventKind::kTransferOut, -household.savings_transfer_minor, 1);
  }
  if (account_count > 2 && civil.weekday == 0) {
    AddTransfer(builder, EventKind::kTransferOut, -TopUpDebitMinor(household, builder.day()), 2);
  }
  if (civil.day_of_month == civil.days_in_month && household.account_fee_minor > 0) {
    builder.Add(EventKind::kAccountFee, -household.account_fee_minor, 22 * kSecondsPerHour);
  }
}

void AppendSavingsDay(DayBuilder& builder, const CivilDay& civil) {
  const Household& household = builder.household();
  if (civil.day_of_month == household.savings_transfer_day) {
    AddTransfer(builder, EventKind::kTransferIn, household.savings_transfer_minor, 0);
  }
  if (civil.day_of_month == civil.days_in_month) {
    Draws draws(HashCombine(builder.account().seed,
                            HashCombine(static_cast<uint64_t>(builder.day()), kStreamSchedule)));
    const int64_t interest = FromEuroMinor(draws.Between(50, 900), builder.account().currency);
    builder.Add(EventKind::kInterest, interest, 22 * kSecondsPerHour + 30 * 60);
  }
}

// A travel account: spent from on about one day in three, topped up every Monday.
void AppendForeignDay(DayBuilder& builder, const CivilDay& civil) {
  if (civil.weekday == 0) {
    AddTransfer(builder, EventKind::kTransferIn, builder.household().weekly_top_up_minor, 0);
  }
  const uint64_t travel_hash = HashCombine(
      builder.account().seed, HashCombine(static_cast<uint64_t>(builder.day()), kStreamTravel));
  if (Chance(travel_hash, 1, kForeignSpendingDayOneIn)) {
    AppendCardSpending(builder, /*allow_foreign=*/false);
  }
}

int64_t FloorDivide(int64_t dividend, int64_t divisor) {
  const int64_t quotient = dividend / divisor;
  return (dividend % divisor != 0 && (dividend < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

}  // namespace

void AppendEventsOfDay(const Household& household, size_t account_index, int64_t day,
                       std::vector<Event>& events) {
  assert(account_index < household.accounts.size());
  if (day < household.opened_day) return;
  DayBuilder builder(household, account_index, day, events);
  const CivilDay civil = CivilOf(day);
  switch (household.accounts[account_index].kind) {
    case AccountKind::kChecking:
      AppendCheckingSchedule(builder, civil);
      AppendCardSpending(builder, /*allow_foreign=*/true);
      break;
    case AccountKind::kSavings:
      AppendSavingsDay(builder, civil);
      break;
    case AccountKind::kForeignCurrency:
      AppendForeignDay(builder, civil);
      break;
  }
}

EventState StateAt(const Event& event, int64_t now_ms) {
  const int64_t occurred_ms =
      event.value_day * kMillisecondsPerDay + int64_t{event.occurred_second} * 1000;
  const int64_t booked_ms =
      event.booking_day * kMillisecondsPerDay + int64_t{event.booked_second} * 1000;
  if (now_ms < occurred_ms) return EventState::kNotYet;
  return now_ms < booked_ms ? EventState::kPending : EventState::kBooked;
}

void CollectTransactions(const Household& household, size_t account_index, int64_t from_day,
                         int64_t to_day, int64_t now_ms, bool include_pending,
                         AccountTransactions& out) {
  const int64_t today = FloorDivide(now_ms, kMillisecondsPerDay);
  const int64_t first_day = std::max(from_day - kBookingLagDaysMax, household.opened_day);
  const int64_t last_day = std::min(to_day, today);
  std::vector<Event> events;
  for (int64_t day = first_day; day <= last_day; ++day) {
    AppendEventsOfDay(household, account_index, day, events);
  }
  std::vector<const Event*> booked;
  std::vector<const Event*> pending;
  booked.reserve(events.size());
  for (const Event& event : events) {
    const EventState state = StateAt(event, now_ms);
    if (state == EventState::kBooked && event.booking_day >= from_day &&
        event.booking_day <= to_day) {
      booked.push_back(&event);
    } else if (state == EventState::kPending && include_pending && event.value_day >= from_day) {
      pending.push_back(&event);
    }
  }
  // Events are in (value day, ordinal) order; a stable sort by booking day keeps that order
  // within each booking day.
  std::stable_sort(booked.begin(), booked.end(), [](const Event* left, const Event* right) {
    return left->booking_day < right->booking_day;
  });
  out.booked.reserve(out.booked.size() + booked.size());
  for (const Event* event : booked) {
    MaterialiseTransaction(household, account_index, *event, true, out.booked.emplace_back());
  }
  for (const Event* event : pending) {
    MaterialiseTransaction(household, account_index, *event, false, out.pending.emplace_back());
  }
}

BalanceTotals ComputeBalanceTotals(const Household& household, size_t account_index,
                                   int64_t now_ms) {
  const int64_t today = FloorDivide(now_ms, kMillisecondsPerDay);
  const int64_t opening = household.accounts[account_index].opening_balance_minor;
  BalanceTotals totals{opening, opening, 0};
  std::vector<Event> events;
  for (int64_t day = household.opened_day; day <= today; ++day) {
    events.clear();
    AppendEventsOfDay(household, account_index, day, events);
    for (const Event& event : events) {
      const EventState state = StateAt(event, now_ms);
      if (state == EventState::kPending) totals.pending_minor += event.pending_amount_minor;
      if (state != EventState::kBooked) continue;
      totals.interim_booked_minor += event.amount_minor;
      if (event.booking_day < today) totals.closing_booked_minor += event.amount_minor;
    }
  }
  return totals;
}

int64_t MeanCardAmountEuroMinor() {
  int64_t weighted_sum = 0;
  for (const CategorySpec& spec : kCategorySpecs) {
    weighted_sum += spec.weight_permille * (spec.low_euro_minor + spec.high_euro_minor) / 2;
  }
  return weighted_sum / 1000;
}

}  // namespace finsync::sources::sandbox
