#include "sources/sandbox/generator.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "domain/date.h"
#include "domain/money.h"
#include "sources/sandbox/bank_profiles.h"
#include "sources/sandbox/hash.h"
#include "sources/sandbox/iban.h"

namespace finsync::sources::sandbox {
namespace {

constexpr int64_t kMillisecondsPerDay = 86'400'000;
constexpr std::string_view kGermanBank = "SANDBOX_FINSYNC_SBXFDEB1";
constexpr std::string_view kDutchBank = "SANDBOX_FINSYNC_SBXFNL2A";

int64_t DayOf(int32_t year, int32_t month, int32_t day) {
  return domain::Date::FromYearMonthDay(year, month, day)->days_since_epoch();
}

// Mid-morning, after the overnight booking batch.
int64_t MorningOf(int64_t day) { return day * kMillisecondsPerDay + 10 * 3'600'000; }

Household MakeTestHousehold(std::string_view bank_id, uint64_t seed, int32_t account_count = 3,
                            Volume volume = Volume{}) {
  return MakeHousehold(*FindSandboxBankProfile(bank_id), seed, "consent-" + std::to_string(seed),
                       account_count, volume);
}

AccountTransactions Collect(const Household& household, size_t account, int64_t from_day,
                            int64_t to_day, int64_t now_ms) {
  AccountTransactions transactions;
  CollectTransactions(household, account, from_day, to_day, now_ms, true, transactions);
  return transactions;
}

std::vector<std::string> Payloads(const std::vector<domain::BankTransaction>& transactions) {
  std::vector<std::string> payloads;
  for (const domain::BankTransaction& transaction : transactions) {
    payloads.push_back(transaction.raw_payload);
  }
  return payloads;
}

// The month "YYYY-MM" of a date.
std::string MonthOf(const domain::Date& date) { return domain::FormatDate(date).substr(0, 7); }

std::vector<domain::BankTransaction> WithCode(const AccountTransactions& transactions,
                                              std::string_view code) {
  std::vector<domain::BankTransaction> matches;
  for (const domain::BankTransaction& transaction : transactions.booked) {
    if (transaction.bank_transaction_code == code) matches.push_back(transaction);
  }
  return matches;
}

TEST(GeneratorTest, SameSeedGivesByteIdenticalTransactions) {
  // Proves determinism: two households built from one seed, and repeated calls on one of them,
  // give the same bytes, ids included.
  const Household first = MakeTestHousehold(kGermanBank, 42);
  const Household second = MakeTestHousehold(kGermanBank, 42);
  const int64_t from_day = DayOf(2024, 12, 1);
  const int64_t to_day = DayOf(2025, 3, 10);
  const int64_t now_ms = MorningOf(to_day);
  for (size_t account = 0; account < first.accounts.size(); ++account) {
    const AccountTransactions reference = Collect(first, account, from_day, to_day, now_ms);
    const AccountTransactions again = Collect(first, account, from_day, to_day, now_ms);
    const AccountTransactions other = Collect(second, account, from_day, to_day, now_ms);
    ASSERT_FALSE(reference.booked.empty());
    EXPECT_EQ(Payloads(reference.booked), Payloads(again.booked));
    EXPECT_EQ(Payloads(reference.booked), Payloads(other.booked));
    EXPECT_EQ(Payloads(reference.pending), Payloads(other.pending));
  }
}

TEST(GeneratorTest, DifferentSeedsOrBanksGiveDifferentCustomers) {
  // Proves the seed and the bank both matter, so two users of one bank do not share a history.
  const Household base = MakeTestHousehold(kGermanBank, 1);
  const Household other_seed = MakeTestHousehold(kGermanBank, 2);
  const Household other_bank = MakeTestHousehold(kDutchBank, 1);
  EXPECT_NE(base.accounts[0].iban, other_seed.accounts[0].iban);
  EXPECT_NE(base.seed, other_bank.seed);
  const int64_t day = DayOf(2025, 1, 31);
  EXPECT_NE(Payloads(Collect(base, 0, day - 30, day, MorningOf(day)).booked),
            Payloads(Collect(other_seed, 0, day - 30, day, MorningOf(day)).booked));
}

TEST(GeneratorTest, SplitRangesConcatenateToTheWholeRange) {
  // Proves generation per day from hashes: [a, b] followed by [b + 1, c] is byte for byte the
  // same as [a, c], for booked and pending transactions, wherever the split falls.
  const Household household = MakeTestHousehold(kDutchBank, 7);
  const int64_t first_day = DayOf(2025, 1, 1);
  const int64_t last_day = DayOf(2025, 3, 10);
  const int64_t now_ms = MorningOf(last_day);
  const int64_t split_days[] = {first_day, first_day + 1, DayOf(2025, 1, 31), DayOf(2025, 3, 7),
                                last_day - 1};
  for (size_t account = 0; account < household.accounts.size(); ++account) {
    const AccountTransactions whole = Collect(household, account, first_day, last_day, now_ms);
    for (const int64_t split_day : split_days) {
      const AccountTransactions left = Collect(household, account, first_day, split_day, now_ms);
      const AccountTransactions right =
          Collect(household, account, split_day + 1, last_day, now_ms);
      std::vector<std::string> booked = Payloads(left.booked);
      std::vector<std::string> pending = Payloads(left.pending);
      for (const std::string& payload : Payloads(right.booked)) booked.push_back(payload);
      for (const std::string& payload : Payloads(right.pending)) pending.push_back(payload);
      EXPECT_EQ(booked, Payloads(whole.booked)) << "account " << account << " split " << split_day;
      EXPECT_EQ(pending, Payloads(whole.pending)) << "account " << account;
    }
  }
}

TEST(GeneratorTest, OverlappingRangesAgreeOnTheSharedDay) {
  // Proves that fetching [a, b] then [b, c] returns the transactions of day b identically twice,
  // which is what a sync that re-reads its last day relies on.
  const Household household = MakeTestHousehold(kGermanBank, 9);
  const int64_t shared_day = DayOf(2025, 2, 14);
  const int64_t now_ms = MorningOf(DayOf(2025, 3, 1));
  const AccountTransactions left = Collect(household, 0, shared_day - 10, shared_day, now_ms);
  const AccountTransactions right = Collect(household, 0, shared_day, shared_day + 10, now_ms);
  const AccountTransactions day = Collect(household, 0, shared_day, shared_day, now_ms);
  ASSERT_FALSE(day.booked.empty());
  const std::vector<std::string> day_payloads = Payloads(day.booked);
  const std::vector<std::string> left_payloads = Payloads(left.booked);
  const std::vector<std::string> right_payloads = Payloads(right.booked);
  EXPECT_TRUE(std::equal(day_payloads.rbegin(), day_payloads.rend(), left_payloads.rbegin()));
  EXPECT_TRUE(std::equal(day_payloads.begin(), day_payloads.end(), right_payloads.begin()));
}

TEST(GeneratorTest, SalaryArrivesOncePerMonthFromTheEmployer) {
  // Proves the salary is monthly, credited by the employer with a valid IBAN, and labelled
  // "SALARY YYYY-MM" for the month it is paid in.
  const Household household = MakeTestHousehold(kGermanBank, 11);
  const int64_t to_day = DayOf(2024, 12, 31);
  const AccountTransactions year =
      Collect(household, 0, DayOf(2024, 1, 1), to_day, MorningOf(to_day + 1));
  const std::vector<domain::BankTransaction> salaries = WithCode(year, "PMNT-RCDT-SALA");
  ASSERT_EQ(salaries.size(), 12u);
  std::set<std::string> months;
  for (const domain::BankTransaction& salary : salaries) {
    const std::string month = MonthOf(*salary.booking_date);
    months.insert(month);
    EXPECT_EQ(salary.amount_minor, household.salary_minor);
    EXPECT_EQ(salary.debtor.name, household.employer);
    EXPECT_TRUE(IsValidIban(salary.debtor.account_iban)) << salary.debtor.account_iban;
    EXPECT_EQ(salary.remittance_information_unstructured, "SALARY " + month);
    EXPECT_GE(salary.booking_date->day(), household.salary_day - 2);
    EXPECT_LE(salary.booking_date->day(), household.salary_day);
  }
  EXPECT_EQ(months.size(), 12u);
}

TEST(GeneratorTest, RentLeavesOncePerMonthOnItsDay) {
  // Proves the rent is a monthly standing order to the landlord's IBAN on the fixed day.
  const Household household = MakeTestHousehold(kDutchBank, 12);
  const int64_t to_day = DayOf(2024, 6, 30);
  const AccountTransactions half_year =
      Collect(household, 0, DayOf(2024, 1, 1), to_day, MorningOf(to_day + 1));
  const std::vector<domain::BankTransaction> rents = WithCode(half_year, "PMNT-ICDT-STDO");
  ASSERT_EQ(rents.size(), 6u);
  for (const domain::BankTransaction& rent : rents) {
    EXPECT_EQ(rent.value_date->day(), household.rent_day);
    EXPECT_EQ(rent.amount_minor, -household.rent_minor);
    EXPECT_EQ(rent.creditor.name, household.landlord);
    EXPECT_TRUE(IsValidIban(rent.creditor.account_iban));
  }
}

TEST(GeneratorTest, SubscriptionsChargeOnTheirFixedDays) {
  // Proves each subscription charges exactly once a month with value date on its own day:
  // Netflix and Spotify by card, the gym by SEPA direct debit.
  Household household = MakeTestHousehold(kGermanBank, 13);
  household.netflix_day = 7;
  household.spotify_day = 19;
  household.gym_day = 15;
  const int64_t to_day = DayOf(2024, 12, 31);
  const AccountTransactions year =
      Collect(household, 0, DayOf(2024, 1, 1), to_day + kBookingLagDaysMax, MorningOf(to_day + 5));
  struct Case {
    std::string_view text;  // Found in the remittance or creditor name.
    int32_t day;
  };
  const Case cases[] = {{"NETFLIX.COM", 7}, {"SPOTIFY", 19}, {"MEMBERSHIP", 15}};
  for (const Case& test_case : cases) {
    std::set<std::string> months;
    for (const domain::BankTransaction& transaction : year.booked) {
      if (transaction.remittance_information_unstructured.find(test_case.text) ==
          std::string::npos) {
        continue;
      }
      EXPECT_EQ(transaction.value_date->day(), test_case.day) << test_case.text;
      months.insert(MonthOf(*transaction.value_date));
    }
    EXPECT_EQ(months.size(), 12u) << test_case.text;
  }
}

TEST(GeneratorTest, AccountsHoldTheirBanksCurrencies) {
  // Proves every bank's checking and savings accounts are in its currency, the third account
  // is in another of EUR, GBP and SEK, and every transaction is in its account's currency.
  struct Case {
    std::string_view bank_id;
    std::string_view home_currency;
    std::set<std::string_view> foreign_currencies;
  };
  const Case cases[] = {
      {kGermanBank, "EUR", {"GBP", "SEK"}},
      {"SANDBOX_FINSYNC_SBXFGB2L", "GBP", {"EUR"}},
      {"SANDBOX_FINSYNC_SBXFSESS", "SEK", {"EUR"}},
  };
  for (const Case& test_case : cases) {
    const Household household = MakeTestHousehold(test_case.bank_id, 21);
    EXPECT_EQ(household.accounts[0].currency, test_case.home_currency);
    EXPECT_EQ(household.accounts[1].currency, test_case.home_currency);
    EXPECT_TRUE(test_case.foreign_currencies.contains(household.accounts[2].currency));
    const int64_t day = DayOf(2025, 2, 28);
    for (size_t account = 0; account < 3; ++account) {
      const AccountTransactions month = Collect(household, account, day - 60, day, MorningOf(day));
      for (const domain::BankTransaction& transaction : month.booked) {
        EXPECT_EQ(transaction.currency, household.accounts[account].currency);
      }
    }
  }
}

TEST(GeneratorTest, EveryAccountIbanHasAValidChecksum) {
  // Proves the mod-97 check digits are computed for every bank's country, over many seeds.
  for (const BankProfile& bank : SandboxBankProfiles()) {
    for (uint64_t seed = 1; seed <= 25; ++seed) {
      const Household household = MakeHousehold(bank, seed, "consent", 3, Volume{});
      for (const SandboxAccount& account : household.accounts) {
        EXPECT_TRUE(IsValidIban(account.iban)) << bank.id << " " << account.iban;
        EXPECT_EQ(account.iban.substr(0, 2), bank.home_country);
        EXPECT_EQ(account.bban, account.iban.substr(4));
      }
      EXPECT_TRUE(IsValidIban(household.landlord_iban)) << household.landlord_iban;
      EXPECT_TRUE(IsValidIban(household.employer_iban)) << household.employer_iban;
    }
  }
}

TEST(GeneratorTest, DailyCardVolumeFollowsTheConfiguredRange) {
  // Proves the number of card payments per day stays in the configured range, plus at most a
  // refund, a payment abroad and a genuine duplicate.
  const Volume volumes[] = {{2, 6}, {0, 0}, {40, 50}};
  for (const Volume& volume : volumes) {
    const Household household = MakeTestHousehold(kGermanBank, 31, 1, volume);
    for (int64_t day = DayOf(2024, 5, 1); day < DayOf(2024, 6, 1); ++day) {
      std::vector<Event> events;
      AppendEventsOfDay(household, 0, day, events);
      const auto cards = std::count_if(events.begin(), events.end(), [](const Event& event) {
        return event.kind == EventKind::kCardPayment || event.kind == EventKind::kCashWithdrawal;
      });
      EXPECT_GE(cards, volume.daily_transactions_min);
      EXPECT_LE(cards, volume.daily_transactions_max + 1);  // + a genuine duplicate.
    }
  }
}

TEST(GeneratorTest, GenuineDuplicatesOccurWithDistinctIds) {
  // Proves the generator produces two identical bookings on one day now and then (same amount,
  // text and time), each with its own transaction id: both are real and must both be kept.
  const Household household = MakeTestHousehold(kGermanBank, 41, 1);
  const int64_t to_day = DayOf(2024, 12, 31);
  const AccountTransactions year =
      Collect(household, 0, DayOf(2024, 1, 1), to_day, MorningOf(to_day + 1));
  std::map<std::string, std::vector<std::string>> ids_by_content;
  std::set<std::string> ids;
  for (const domain::BankTransaction& transaction : year.booked) {
    ids.insert(transaction.transaction_id);
    const std::string content = domain::FormatDate(*transaction.booking_date) + "|" +
                                std::to_string(transaction.amount_minor) + "|" +
                                transaction.remittance_information_unstructured + "|" +
                                domain::FormatTimestamp(*transaction.value_datetime);
    ids_by_content[content].push_back(transaction.transaction_id);
  }
  int32_t duplicate_groups = 0;
  for (const auto& [content, ids] : ids_by_content) {
    if (ids.size() < 2) continue;
    ++duplicate_groups;
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << content;
  }
  EXPECT_GE(duplicate_groups, 5);             // About one day in 25.
  EXPECT_EQ(ids.size(), year.booked.size());  // Every booked id is unique.
}

TEST(GeneratorTest, MerchantGoesWhereEachBankPutsIt) {
  // Proves the banks disagree about where the merchant of a booked card payment goes, as real
  // banks do, so the generated-field configuration has something to choose between.
  struct Case {
    std::string_view bank_id;
    std::string_view remittance_prefix;
    bool creditor_named;
    bool additional_information;
  };
  const Case cases[] = {
      {kGermanBank, "CARD ", false, false},
      {kDutchBank, "Card payment ", true, false},
      {"SANDBOX_FINSYNC_SBXFSESS", "CARD PURCHASE", false, true},
      {"SANDBOX_FINSYNC_SBXFNL2N", "CARD ", false, false},
  };
  for (const Case& test_case : cases) {
    const Household household = MakeTestHousehold(test_case.bank_id, 51, 1);
    const int64_t day = DayOf(2025, 2, 1);
    const AccountTransactions days = Collect(household, 0, day, day + 5, MorningOf(day + 10));
    int32_t card_payments = 0;
    for (const domain::BankTransaction& transaction : days.booked) {
      if (transaction.bank_transaction_code != "PMNT-CCRD-POSD") continue;
      ++card_payments;
      EXPECT_TRUE(
          transaction.remittance_information_unstructured.starts_with(test_case.remittance_prefix))
          << test_case.bank_id << ": " << transaction.remittance_information_unstructured;
      EXPECT_EQ(!transaction.creditor.name.empty(), test_case.creditor_named) << test_case.bank_id;
      if (transaction.currency == household.accounts[0].currency &&
          transaction.raw_payload.find("currencyExchange") == std::string::npos) {
        EXPECT_EQ(!transaction.additional_information.empty(), test_case.additional_information)
            << test_case.bank_id;
      }
    }
    EXPECT_GT(card_payments, 5) << test_case.bank_id;
  }
}

std::string JsonString(const rapidjson::Value& object, const char* key) {
  if (!object.HasMember(key)) return "";
  return object[key].GetString();
}

TEST(GeneratorTest, RawPayloadIsGoCardlessJsonMatchingTheFields) {
  // Proves the raw payload parses as JSON with GoCardless field names, and says exactly what
  // the normalised fields say: ids, dates, signed amount text, parties and texts.
  const Household household = MakeTestHousehold("SANDBOX_FINSYNC_SBXFNL2N", 61);
  const int64_t day = DayOf(2025, 3, 10);
  for (size_t account = 0; account < household.accounts.size(); ++account) {
    AccountTransactions days = Collect(household, account, day - 40, day, MorningOf(day));
    std::vector<domain::BankTransaction> all = days.booked;
    all.insert(all.end(), days.pending.begin(), days.pending.end());
    for (const domain::BankTransaction& transaction : all) {
      rapidjson::Document document;
      document.Parse(transaction.raw_payload.c_str());
      ASSERT_FALSE(document.HasParseError()) << transaction.raw_payload;
      EXPECT_EQ(JsonString(document, "transactionId"), transaction.transaction_id);
      EXPECT_EQ(JsonString(document, "internalTransactionId"), transaction.internal_transaction_id);
      EXPECT_EQ(JsonString(document, "valueDate"), domain::FormatDate(*transaction.value_date));
      EXPECT_EQ(JsonString(document, "bookingDate"),
                transaction.booked() ? domain::FormatDate(*transaction.booking_date) : "");
      const rapidjson::Value& amount = document["transactionAmount"];
      EXPECT_EQ(JsonString(amount, "amount"),
                domain::FormatDecimalAmount(transaction.amount_minor, 2));
      EXPECT_EQ(JsonString(amount, "currency"), transaction.currency);
      EXPECT_EQ(JsonString(document, "creditorName"), transaction.creditor.name);
      EXPECT_EQ(JsonString(document, "debtorName"), transaction.debtor.name);
      EXPECT_EQ(JsonString(document, "remittanceInformationUnstructured"),
                transaction.remittance_information_unstructured);
      EXPECT_EQ(JsonString(document, "bankTransactionCode"), transaction.bank_transaction_code);
      EXPECT_EQ(transaction.source, "sandbox");
    }
  }
}

// The first event of `account` after `from_day` that books later than it happens.
Event FirstLaggedEvent(const Household& household, size_t account, int64_t from_day,
                       EventKind kind = EventKind::kCardPayment,
                       Category category = Category::kGroceries) {
  for (int64_t day = from_day; day < from_day + 400; ++day) {
    std::vector<Event> events;
    AppendEventsOfDay(household, account, day, events);
    for (const Event& event : events) {
      const bool category_matches = kind != EventKind::kCardPayment || event.category == category;
      if (event.kind == kind && category_matches && event.booking_day > event.value_day) {
        return event;
      }
    }
  }
  ADD_FAILURE() << "no lagged event found";
  return Event{};
}

TEST(GeneratorTest, PendingBooksAtTheBatchTimeUnderANewId) {
  // Proves the life of a card payment at exact clock times: invisible before it happens,
  // pending from that millisecond, booked from 05:00 UTC of its booking day, one to three days
  // later, with a new transaction id and a booking date it did not have while pending.
  const Household household = MakeTestHousehold(kDutchBank, 71, 1);
  const Event event = FirstLaggedEvent(household, 0, DayOf(2025, 1, 1));
  const int64_t occurred_ms =
      event.value_day * kMillisecondsPerDay + event.occurred_second * 1000LL;
  const int64_t booked_ms = event.booking_day * kMillisecondsPerDay + 5 * 3'600'000LL;
  EXPECT_GE(event.booking_day - event.value_day, 1);
  EXPECT_LE(event.booking_day - event.value_day, kBookingLagDaysMax);
  struct Case {
    int64_t now_ms;
    EventState state;
  };
  const Case cases[] = {{occurred_ms - 1, EventState::kNotYet},
                        {occurred_ms, EventState::kPending},
                        {booked_ms - 1, EventState::kPending},
                        {booked_ms, EventState::kBooked}};
  for (const Case& test_case : cases) {
    EXPECT_EQ(StateAt(event, test_case.now_ms), test_case.state) << test_case.now_ms;
  }
  domain::BankTransaction pending;
  domain::BankTransaction booked;
  MaterialiseTransaction(household, 0, event, false, pending);
  MaterialiseTransaction(household, 0, event, true, booked);
  EXPECT_TRUE(pending.transaction_id.starts_with("PDNG-"));
  EXPECT_FALSE(booked.transaction_id.starts_with("PDNG-"));
  EXPECT_NE(pending.transaction_id, booked.transaction_id);
  EXPECT_EQ(pending.internal_transaction_id,
            booked.internal_transaction_id);  // This bank keeps it.
  EXPECT_FALSE(pending.booking_date.has_value());
  EXPECT_EQ(booked.booking_date->days_since_epoch(), event.booking_day);
  EXPECT_EQ(pending.value_date, booked.value_date);
  EXPECT_NE(pending.creditor.name, booked.creditor.name);  // Terminal text vs merchant name.
}

TEST(GeneratorTest, PendingIdsFollowEachBanksHabit) {
  // Proves the three pending-id habits: no id at all, a temporary "PDNG-" id with a new
  // internal id, and a temporary id with the internal id kept through booking.
  struct Case {
    std::string_view bank_id;
    bool temporary_id;
    bool internal_id_kept;
  };
  const Case cases[] = {{kGermanBank, false, false},
                        {"SANDBOX_FINSYNC_SBXFNL2N", true, false},
                        {kDutchBank, true, true}};
  for (const Case& test_case : cases) {
    const Household household = MakeTestHousehold(test_case.bank_id, 72, 1);
    const Event event = FirstLaggedEvent(household, 0, DayOf(2025, 1, 1));
    domain::BankTransaction pending;
    domain::BankTransaction booked;
    MaterialiseTransaction(household, 0, event, false, pending);
    MaterialiseTransaction(household, 0, event, true, booked);
    EXPECT_EQ(pending.transaction_id.starts_with("PDNG-"), test_case.temporary_id);
    EXPECT_EQ(pending.transaction_id.empty(), !test_case.temporary_id);
    EXPECT_FALSE(booked.transaction_id.empty());
    EXPECT_EQ(pending.internal_transaction_id == booked.internal_transaction_id,
              test_case.internal_id_kept)
        << test_case.bank_id;
  }
}

TEST(GeneratorTest, FuelPendingShowsThePreAuthorisation) {
  // Proves a fuel payment is pending for a round pre-authorised sum and books for the smaller
  // final amount, so pending-to-booked matching cannot rely on equal amounts.
  const Household household = MakeTestHousehold(kGermanBank, 81, 1);
  const Event event =
      FirstLaggedEvent(household, 0, DayOf(2025, 1, 1), EventKind::kCardPayment, Category::kFuel);
  EXPECT_EQ(event.pending_amount_minor, -10000);
  EXPECT_GT(event.amount_minor, event.pending_amount_minor);
  EXPECT_LT(event.amount_minor, 0);
}

TEST(GeneratorTest, ForeignCardPaymentsCarryExchangeDetails) {
  // Proves payments abroad state the original amount and rate, both in additionalInformation
  // and as currencyExchange in the payload, and that the converted amount follows from them.
  const Household household = MakeTestHousehold(kGermanBank, 91, 1);
  const Event event =
      FirstLaggedEvent(household, 0, DayOf(2025, 1, 1), EventKind::kForeignCardPayment);
  const int64_t expected =
      -(event.foreign_amount_minor * event.exchange_rate_micros + 500'000) / 1'000'000;
  EXPECT_EQ(event.amount_minor, expected);
  EXPECT_NE(event.pending_amount_minor, event.amount_minor);
  domain::BankTransaction booked;
  MaterialiseTransaction(household, 0, event, true, booked);
  EXPECT_TRUE(booked.additional_information.starts_with("Original amount "))
      << booked.additional_information;
  EXPECT_NE(booked.raw_payload.find("\"currencyExchange\":[{\"sourceCurrency\""),
            std::string::npos);
}

TEST(GeneratorTest, RefundsArePositiveCardTransactions) {
  // Proves refunds exist, credit the account, and name the merchant as the debtor or in text.
  const Household household = MakeTestHousehold(kDutchBank, 93, 1);
  const int64_t to_day = DayOf(2024, 6, 30);
  const AccountTransactions half_year =
      Collect(household, 0, DayOf(2024, 1, 1), to_day, MorningOf(to_day + 1));
  const std::vector<domain::BankTransaction> refunds = WithCode(half_year, "PMNT-CCRD-RIMB");
  ASSERT_GE(refunds.size(), 5u);
  for (const domain::BankTransaction& refund : refunds) {
    EXPECT_GT(refund.amount_minor, 0);
    EXPECT_FALSE(refund.debtor.name.empty());
  }
}

TEST(GeneratorTest, BookingAndValueDatesSometimesDiffer) {
  // Proves card payments book after their value date while transfers book on it, so the choice
  // of date field matters.
  const Household household = MakeTestHousehold(kGermanBank, 95, 2);
  const int64_t day = DayOf(2025, 2, 28);
  const AccountTransactions month = Collect(household, 0, day - 30, day, MorningOf(day + 1));
  int32_t differing = 0;
  int32_t equal = 0;
  for (const domain::BankTransaction& transaction : month.booked) {
    (transaction.booking_date == transaction.value_date ? equal : differing) += 1;
  }
  EXPECT_GT(differing, 20);
  EXPECT_GT(equal, 1);
}

TEST(GeneratorTest, TransfersBetweenOwnAccountsMirrorEachOther) {
  // Proves a transfer from checking to savings appears on both accounts on the same day, with
  // opposite amounts, the other account's IBAN, and the same text.
  const Household household = MakeTestHousehold(kGermanBank, 97, 2);
  const int64_t day = DayOf(2025, 1, household.savings_transfer_day);
  const AccountTransactions checking = Collect(household, 0, day, day, MorningOf(day + 1));
  const AccountTransactions savings = Collect(household, 1, day, day, MorningOf(day + 1));
  const std::vector<domain::BankTransaction> out = WithCode(checking, "PMNT-ICDT-BOOK");
  const std::vector<domain::BankTransaction> in = WithCode(savings, "PMNT-RCDT-BOOK");
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(out[0].amount_minor, -in[0].amount_minor);
  EXPECT_EQ(out[0].creditor.account_iban, household.accounts[1].iban);
  EXPECT_EQ(in[0].debtor.account_iban, household.accounts[0].iban);
  EXPECT_EQ(out[0].remittance_information_unstructured, in[0].remittance_information_unstructured);
}

TEST(GeneratorTest, BalancesAreOpeningPlusBookings) {
  // Proves the balance identities: closing booked = opening + every booking before today,
  // interim booked adds today's bookings, and pending is the sum of the pending amounts.
  const Household household = MakeTestHousehold(kDutchBank, 101);
  const int64_t today = DayOf(2025, 3, 10);
  const int64_t now_ms = MorningOf(today);
  for (size_t account = 0; account < household.accounts.size(); ++account) {
    const AccountTransactions history =
        Collect(household, account, household.opened_day, today, now_ms);
    int64_t closing = household.accounts[account].opening_balance_minor;
    int64_t interim = closing;
    int64_t pending = 0;
    for (const domain::BankTransaction& transaction : history.booked) {
      interim += transaction.amount_minor;
      if (transaction.booking_date->days_since_epoch() < today) {
        closing += transaction.amount_minor;
      }
    }
    for (const domain::BankTransaction& transaction : history.pending) {
      pending += transaction.amount_minor;
    }
    const BalanceTotals totals = ComputeBalanceTotals(household, account, now_ms);
    EXPECT_EQ(totals.closing_booked_minor, closing) << "account " << account;
    EXPECT_EQ(totals.interim_booked_minor, interim) << "account " << account;
    EXPECT_EQ(totals.pending_minor, pending) << "account " << account;
  }
}

TEST(GeneratorTest, BalancesStayPlausibleAtTheDefaultVolume) {
  // Proves the salary is sized to the spending, so years of history neither sink into a deep
  // overdraft nor grow absurdly.
  for (const BankProfile& bank : SandboxBankProfiles()) {
    const Household household = MakeHousehold(bank, 103, "consent", 3, Volume{});
    const int64_t now_ms = MorningOf(DayOf(2025, 6, 1));
    const BalanceTotals totals = ComputeBalanceTotals(household, 0, now_ms);
    const int64_t salary = household.salary_minor;
    EXPECT_GT(totals.closing_booked_minor, -salary) << bank.id;
    EXPECT_LT(totals.closing_booked_minor, 30 * salary) << bank.id;
  }
}

TEST(GeneratorTest, GeneratesAMillionTransactions) {
  // Proves the generator can feed the ingest benchmark: a million booked transactions for one
  // account, fetched in monthly chunks so memory stays bounded. Not timed: see
  // bench/sandbox_bench.cc for the speed.
  const Household household = MakeTestHousehold(kGermanBank, 111, 1, Volume{450, 550});
  const int64_t first_day = household.opened_day;
  const int64_t now_ms = MorningOf(first_day + 3000);
  int64_t total = 0;
  for (int64_t day = first_day; total < 1'000'000; day += 30) {
    ASSERT_LT(day, first_day + 2990);
    const AccountTransactions chunk = Collect(household, 0, day, day + 29, now_ms);
    total += static_cast<int64_t>(chunk.booked.size());
  }
  EXPECT_GE(total, 1'000'000);
}

TEST(GeneratorTest, HistoryIsStableAcrossVersions) {
  // Proves nothing changed the generated bytes by accident: tests and the ingest's ground truth
  // depend on one seed meaning one history in every process and every build. If a change to
  // the generator is deliberate, update the fingerprint and say so in the commit.
  const Household household = MakeTestHousehold(kGermanBank, 2025);
  uint64_t fingerprint = 0;
  const int64_t day = DayOf(2025, 3, 10);
  for (size_t account = 0; account < household.accounts.size(); ++account) {
    const AccountTransactions month = Collect(household, account, day - 30, day, MorningOf(day));
    for (const std::string& payload : Payloads(month.booked)) {
      fingerprint = HashCombine(fingerprint, HashText(payload));
    }
    for (const std::string& payload : Payloads(month.pending)) {
      fingerprint = HashCombine(fingerprint, HashText(payload));
    }
  }
  EXPECT_EQ(fingerprint, 3565520063909198677u)
      << "generator output changed: fingerprint " << fingerprint;
}

}  // namespace
}  // namespace finsync::sources::sandbox
