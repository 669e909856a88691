// The sandbox bank's statement generator. A household's history is a pure function of its
// seed: the events of one account on one value day come from hashes of (account seed, day,
// position), never from a random generator carried across days. So any date range gives the
// same bytes on every call and in every process, and [a, b] followed by [b + 1, c] is [a, c].
//
// Generation has two stages. Events are small fixed-size records (amounts, days, indexes);
// balances are summed from them without building any text. Transactions are materialised from
// events only for the requested range, with the texts and the raw GoCardless-style payload.
#pragma once

#include <cstdint>
#include <vector>

#include "domain/transaction.h"
#include "sources/sandbox/household.h"
#include "sources/source.h"

namespace finsync::sources::sandbox {

// Card payments book one to three days after they happen.
inline constexpr int32_t kBookingLagDaysMax = 3;

// A foreign-currency account has card spending on about one day in this many.
inline constexpr int32_t kForeignSpendingDayOneIn = 3;

enum class EventKind : uint8_t {
  kSalary,              // Credit transfer from the employer.
  kRent,                // Standing order to the landlord.
  kDirectDebit,         // The gym's SEPA direct debit.
  kCardPayment,         // Point-of-sale or online card payment.
  kCashWithdrawal,      // Cash machine.
  kCardRefund,          // A merchant refunds a card payment: a positive card transaction.
  kForeignCardPayment,  // A card payment in another currency, converted by the bank.
  kSubscriptionCard,    // Netflix or Spotify charging the card.
  kTransferOut,         // To another account of the same owner.
  kTransferIn,          // From another account of the same owner.
  kAccountFee,          // The bank's monthly fee.
  kInterest,            // Interest on savings.
};

struct Event {
  uint64_t identity = 0;             // Hash of (account, value day, ordinal); ids derive from it.
  int64_t amount_minor = 0;          // Booked amount, signed, in the account's currency.
  int64_t pending_amount_minor = 0;  // While pending: a fuel pre-authorisation, an FX estimate.
  int64_t foreign_amount_minor = 0;  // FX: the amount in the merchant's currency, positive.
  int64_t exchange_rate_micros = 0;  // FX: account currency units per foreign unit.
  int32_t value_day = 0;             // Days since 1970-01-01: when it happened.
  int32_t booking_day = 0;           // When the bank booked it; value_day + 0..3.
  int32_t occurred_second = 0;       // Seconds after midnight UTC of value_day.
  int32_t booked_second = 0;         // Seconds after midnight UTC of booking_day.
  EventKind kind = EventKind::kCardPayment;
  Category category = Category::kGroceries;  // Card events only.
  uint16_t ordinal = 0;                      // Position within the account's value day.
  uint16_t merchant = 0;  // Index into the category's merchants (or foreign ones).
  uint16_t city = 0;
  uint16_t store_number = 0;  // 0 when the merchant prints none.
  uint8_t other_account = 0;  // Transfers: index of the owner's other account.
};

// Appends the events of account `account_index` whose value day is `day`, in a fixed order.
// Nothing before the household's opened_day exists.
void AppendEventsOfDay(const Household& household, size_t account_index, int64_t day,
                       std::vector<Event>& events);

enum class EventState : uint8_t { kNotYet, kPending, kBooked };

// Where an event stands at `now_ms`: it exists from the moment it occurred, is pending until
// the bank books it (the early-morning batch of its booking day), and booked from then on.
// Events without a booking lag are booked the moment they occur.
EventState StateAt(const Event& event, int64_t now_ms);

// Fills `transaction` with the event as the household's bank reports it, booked or pending.
void MaterialiseTransaction(const Household& household, size_t account_index, const Event& event,
                            bool booked, domain::BankTransaction& transaction);

// Appends the transactions visible at `now_ms`: booked ones with booking day in
// [from_day, to_day] in (booking day, value day, ordinal) order, and, when `include_pending`,
// pending ones with value day in [from_day, to_day] in (value day, ordinal) order.
void CollectTransactions(const Household& household, size_t account_index, int64_t from_day,
                         int64_t to_day, int64_t now_ms, bool include_pending,
                         AccountTransactions& out);

struct BalanceTotals {
  int64_t closing_booked_minor = 0;  // Opening + every booking up to the end of yesterday.
  int64_t interim_booked_minor = 0;  // Opening + every booking so far.
  int64_t pending_minor = 0;         // Sum of pending amounts (negative for card holds).
};

// Balances at `now_ms`, summed from events only: cost grows with the days since opened_day.
BalanceTotals ComputeBalanceTotals(const Household& household, size_t account_index,
                                   int64_t now_ms);

// The mean amount of one card payment in EUR minor units, from the category table.
int64_t MeanCardAmountEuroMinor();

}  // namespace finsync::sources::sandbox
