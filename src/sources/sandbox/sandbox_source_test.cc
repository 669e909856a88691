#include "sources/sandbox/sandbox_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/date.h"
#include "sources/sandbox/iban.h"

namespace finsync::sources::sandbox {
namespace {

constexpr int64_t kMillisecondsPerHour = 3'600'000;
constexpr int64_t kMillisecondsPerDay = 24 * kMillisecondsPerHour;
constexpr std::string_view kGermanBank = "SANDBOX_FINSYNC_SBXFDEB1";
constexpr std::string_view kDutchBank = "SANDBOX_FINSYNC_SBXFNL2A";

domain::Date DateOf(int32_t year, int32_t month, int32_t day) {
  return *domain::Date::FromYearMonthDay(year, month, day);
}

// 2025-03-10T10:00:00Z, a Monday morning after the overnight booking batch.
int64_t StartMs() {
  return DateOf(2025, 3, 10).days_since_epoch() * kMillisecondsPerDay + 10 * kMillisecondsPerHour;
}

class SandboxSourceTest : public ::testing::Test {
 protected:
  SandboxSourceTest()
      : clock_(StartMs()),
        context_{clock_},
        source_(SandboxOptions{.seed = 99, .consent_page_url = "https://finsync.test/c/"}, store_) {
  }

  // A consent in status CR.
  Consent Start(std::string_view bank_id = kGermanBank, int32_t access_days = 90,
                SandboxConsentOptions options = {}) {
    ConsentRequest request{std::string(bank_id), 365, access_days, "", "connection-1"};
    SourceResult<Consent> consent = source_.StartConsentWithOptions(context_, request, options);
    EXPECT_TRUE(consent.ok()) << (consent.ok() ? "" : consent.error().message);
    return consent.value();
  }

  // A linked consent with three accounts, fixed seed.
  Consent StartLinked(std::string_view bank_id = kGermanBank, int32_t access_days = 90) {
    const Consent started =
        Start(bank_id, access_days,
              SandboxConsentOptions{.seed = 5, .account_count = 3, .volume = std::nullopt});
    SourceResult<Consent> linked = source_.ApproveConsent(context_, started.consent_reference);
    EXPECT_TRUE(linked.ok());
    return linked.value();
  }

  AccountKey KeyOf(const Consent& consent, size_t index = 0) {
    return AccountKey{consent.consent_reference, consent.account_references.at(index)};
  }

  AccountTransactions Transactions(const AccountKey& key, domain::Date from,
                                   std::optional<domain::Date> to = std::nullopt) {
    SourceResult<AccountTransactions> result =
        source_.GetTransactions(context_, key, TransactionQuery{from, to});
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.value();
  }

  void SetTime(int64_t unix_time_ms) { clock_.Advance(unix_time_ms - clock_.NowMilliseconds()); }

  ManualClock clock_;
  SourceContext context_;
  InMemorySandboxConsentStore store_;
  SandboxSource source_;
};

TEST_F(SandboxSourceTest, ConsentStartsCreatedWithAnAuthLink) {
  // Proves a new consent is CR, links to finsync's consent page, echoes the caller's
  // reference, and has no accounts until linked.
  const Consent consent = Start();
  EXPECT_EQ(consent.status, ConsentStatus::kCreated);
  EXPECT_EQ(consent.auth_url, "https://finsync.test/c/" + consent.consent_reference);
  EXPECT_EQ(consent.caller_reference, "connection-1");
  EXPECT_EQ(consent.institution_id, kGermanBank);
  EXPECT_EQ(consent.created_at.unix_time_ms(), StartMs());
  EXPECT_TRUE(consent.account_references.empty());
  EXPECT_FALSE(consent.expires_at.has_value());
  EXPECT_NE(Start().consent_reference, consent.consent_reference);
}

TEST_F(SandboxSourceTest, ConsentLifecycleFollowsTheRequisitionStatuses) {
  // Proves the user's steps move the consent through the requisition statuses, repeating a
  // step changes nothing, and a step the status does not allow is refused.
  enum class Step { kOpen, kApprove, kReject, kSuspend };
  struct Case {
    std::vector<Step> steps;
    std::vector<std::optional<ConsentStatus>> statuses;  // nullopt: refused.
  };
  using enum ConsentStatus;
  const Case cases[] = {
      {{Step::kOpen, Step::kApprove}, {kUndergoingAuthentication, kLinked}},
      {{Step::kApprove, Step::kApprove}, {kLinked, kLinked}},
      {{Step::kOpen, Step::kOpen, Step::kReject},
       {kUndergoingAuthentication, kUndergoingAuthentication, kRejected}},
      {{Step::kReject, Step::kApprove, Step::kOpen}, {kRejected, std::nullopt, std::nullopt}},
      {{Step::kApprove, Step::kReject, Step::kOpen}, {kLinked, std::nullopt, std::nullopt}},
      {{Step::kApprove, Step::kSuspend, Step::kApprove}, {kLinked, kSuspended, std::nullopt}},
      {{Step::kSuspend, Step::kSuspend}, {kSuspended, kSuspended}},
  };
  for (const Case& test_case : cases) {
    const std::string reference = Start().consent_reference;
    for (size_t index = 0; index < test_case.steps.size(); ++index) {
      SourceResult<Consent> result = [&] {
        switch (test_case.steps[index]) {
          case Step::kOpen:
            return source_.OpenConsentLink(context_, reference);
          case Step::kApprove:
            return source_.ApproveConsent(context_, reference);
          case Step::kReject:
            return source_.RejectConsent(context_, reference);
          case Step::kSuspend:
            return source_.SuspendConsent(context_, reference);
        }
        return source_.GetConsent(context_, reference);
      }();
      const std::optional<ConsentStatus> expected = test_case.statuses[index];
      ASSERT_EQ(result.ok(), expected.has_value()) << "case step " << index;
      if (expected) {
        EXPECT_EQ(result.value().status, *expected) << "step " << index;
        EXPECT_EQ(source_.GetConsent(context_, reference).value().status, *expected);
      } else {
        EXPECT_EQ(result.error().kind, SourceErrorKind::kInvalidRequest);
      }
    }
  }
}

TEST_F(SandboxSourceTest, LinkedConsentListsOneToThreeAccounts) {
  // Proves approval links the consent now, sets its expiry from access_valid_for_days, and
  // lists the accounts, whose details carry valid IBANs in their currencies.
  const Consent consent = StartLinked(kGermanBank, 30);
  EXPECT_EQ(consent.linked_at->unix_time_ms(), StartMs());
  EXPECT_EQ(consent.expires_at->unix_time_ms(), StartMs() + 30 * kMillisecondsPerDay);
  ASSERT_EQ(consent.account_references.size(), 3u);
  SourceResult<std::vector<std::string>> listed =
      source_.ListAccounts(context_, consent.consent_reference);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed.value(), consent.account_references);
  const char* types[] = {"CACC", "SVGS", "CACC"};
  for (size_t index = 0; index < 3; ++index) {
    SourceResult<AccountDetails> details =
        source_.GetAccountDetails(context_, KeyOf(consent, index));
    ASSERT_TRUE(details.ok());
    EXPECT_EQ(details.value().account_reference, consent.account_references[index]);
    EXPECT_TRUE(IsValidIban(details.value().iban)) << details.value().iban;
    EXPECT_EQ(details.value().bban, details.value().iban.substr(4));
    EXPECT_FALSE(details.value().owner_name.empty());
    EXPECT_FALSE(details.value().name.empty());
    EXPECT_EQ(details.value().cash_account_type, types[index]);
  }
  EXPECT_EQ(source_.GetAccountDetails(context_, KeyOf(consent, 0)).value().currency, "EUR");
}

TEST_F(SandboxSourceTest, AccountCountIsDeterministicFromTheSeed) {
  // Proves consents without an explicit account count get one to three accounts, the same
  // number every time for the same seed.
  std::vector<size_t> counts;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const SandboxConsentOptions options{
        .seed = seed, .account_count = std::nullopt, .volume = std::nullopt};
    const size_t first =
        source_.ApproveConsent(context_, Start(kGermanBank, 90, options).consent_reference)
            .value()
            .account_references.size();
    const size_t second =
        source_.ApproveConsent(context_, Start(kGermanBank, 90, options).consent_reference)
            .value()
            .account_references.size();
    EXPECT_EQ(first, second);
    EXPECT_GE(first, 1u);
    EXPECT_LE(first, 3u);
    counts.push_back(first);
  }
  EXPECT_NE(*std::min_element(counts.begin(), counts.end()),
            *std::max_element(counts.begin(), counts.end()));
}

TEST_F(SandboxSourceTest, ConsentExpiresAfterItsAccessPeriod) {
  // Proves expiry by the clock: linked until the last millisecond of the access period, EX
  // from then on, and account calls answer consent_expired with a message that says so.
  const Consent consent = StartLinked(kGermanBank, 90);
  const int64_t expires_ms = consent.expires_at->unix_time_ms();
  SetTime(expires_ms - 1);
  EXPECT_EQ(source_.GetConsent(context_, consent.consent_reference).value().status,
            ConsentStatus::kLinked);
  EXPECT_TRUE(source_.GetBalances(context_, KeyOf(consent)).ok());
  SetTime(expires_ms);
  const Consent expired = source_.GetConsent(context_, consent.consent_reference).value();
  EXPECT_EQ(expired.status, ConsentStatus::kExpired);
  EXPECT_EQ(expired.account_references, consent.account_references);
  SourceResult<AccountTransactions> transactions = source_.GetTransactions(
      context_, KeyOf(consent), TransactionQuery{DateOf(2025, 5, 1), std::nullopt});
  ASSERT_FALSE(transactions.ok());
  EXPECT_EQ(transactions.error().kind, SourceErrorKind::kConsentExpired);
  EXPECT_NE(transactions.error().message.find("expired on 2025-06-08"), std::string::npos)
      << transactions.error().message;
  EXPECT_FALSE(source_.ApproveConsent(context_, consent.consent_reference).ok());
}

TEST_F(SandboxSourceTest, UnusableConsentsRefuseAccountCallsPrecisely) {
  // Proves which error an account call gets in each status: not linked yet is an invalid
  // request, rejected and suspended need a new consent like an expired one.
  struct Case {
    std::string_view name;
    SourceResult<Consent> (SandboxSource::*step)(const SourceContext&, std::string_view);
    SourceErrorKind kind;
  };
  const Case cases[] = {
      {"created", nullptr, SourceErrorKind::kInvalidRequest},
      {"authorising", &SandboxSource::OpenConsentLink, SourceErrorKind::kInvalidRequest},
      {"rejected", &SandboxSource::RejectConsent, SourceErrorKind::kConsentExpired},
      {"suspended", &SandboxSource::SuspendConsent, SourceErrorKind::kConsentExpired},
  };
  for (const Case& test_case : cases) {
    const std::string reference = Start().consent_reference;
    if (test_case.step != nullptr) {
      ASSERT_TRUE((source_.*test_case.step)(context_, reference).ok());
    }
    SourceResult<std::vector<std::string>> accounts = source_.ListAccounts(context_, reference);
    ASSERT_FALSE(accounts.ok()) << test_case.name;
    EXPECT_EQ(accounts.error().kind, test_case.kind) << test_case.name;
    EXPECT_FALSE(accounts.error().message.empty());
  }
}

TEST_F(SandboxSourceTest, StartConsentChecksTheBanksLimits) {
  // Proves consent requests are checked against the catalog: unknown banks, history and access
  // beyond the bank's limits (90 days for the British bank), and sandbox options.
  struct Case {
    std::string_view bank_id;
    int32_t historical_days;
    int32_t access_days;
    SandboxConsentOptions options;
    bool valid;
  };
  const Case cases[] = {
      {kGermanBank, 730, 180, {}, true},
      {kGermanBank, 731, 180, {}, false},
      {kGermanBank, 0, 90, {}, false},
      {kGermanBank, 90, 181, {}, false},
      {kGermanBank, 90, 0, {}, false},
      {"SANDBOX_FINSYNC_SBXFGB2L", 90, 90, {}, true},
      {"SANDBOX_FINSYNC_SBXFGB2L", 90, 91, {}, false},
      {"SANDBOX_FINSYNC_SBXFFRPP", 366, 90, {}, false},
      {"UNKNOWN_BANK", 90, 90, {}, false},
      {kGermanBank, 90, 90, {.seed = 1, .account_count = 4, .volume = std::nullopt}, false},
      {kGermanBank, 90, 90, {.seed = 1, .account_count = 0, .volume = std::nullopt}, false},
      {kGermanBank, 90, 90, {.seed = 1, .account_count = 1, .volume = Volume{5, 4}}, false},
      {kGermanBank, 90, 90, {.seed = 1, .account_count = 1, .volume = Volume{0, 10'001}}, false},
      {kGermanBank, 90, 90, {.seed = 1, .account_count = 1, .volume = Volume{0, 10'000}}, true},
  };
  for (const Case& test_case : cases) {
    ConsentRequest request{std::string(test_case.bank_id), test_case.historical_days,
                           test_case.access_days, "", ""};
    SourceResult<Consent> consent =
        source_.StartConsentWithOptions(context_, request, test_case.options);
    ASSERT_EQ(consent.ok(), test_case.valid)
        << test_case.bank_id << " " << test_case.historical_days << " " << test_case.access_days;
    if (!test_case.valid) {
      EXPECT_EQ(consent.error().kind, SourceErrorKind::kInvalidRequest);
    }
  }
}

TEST_F(SandboxSourceTest, UnknownConsentsAndAccountsAreNotFound) {
  // Proves a wrong consent reference and a wrong account reference get their own errors.
  const Consent consent = StartLinked();
  EXPECT_EQ(source_.GetConsent(context_, "no-such-consent").error().kind,
            SourceErrorKind::kConsentNotFound);
  EXPECT_EQ(source_.GetBalances(context_, AccountKey{"no-such-consent", "x"}).error().kind,
            SourceErrorKind::kConsentNotFound);
  EXPECT_EQ(source_.GetBalances(context_, AccountKey{consent.consent_reference, "x"}).error().kind,
            SourceErrorKind::kAccountNotFound);
  const Consent other = StartLinked();
  EXPECT_EQ(source_
                .GetAccountDetails(
                    context_, AccountKey{consent.consent_reference, other.account_references[0]})
                .error()
                .kind,
            SourceErrorKind::kAccountNotFound);
}

TEST_F(SandboxSourceTest, DeletedConsentIsGoneWithItsFaultPlans) {
  // Proves deleting a consent makes every later call answer consent_not_found and drops the
  // consent's fault plans.
  const Consent consent = StartLinked();
  source_.SetFaultPlan(consent.consent_reference, "", FaultPlan::Parse("ok*5").value());
  ASSERT_TRUE(source_.DeleteConsent(context_, consent.consent_reference).ok());
  EXPECT_EQ(source_.FaultPlanSpec(consent.consent_reference, ""), "");
  EXPECT_EQ(source_.GetConsent(context_, consent.consent_reference).error().kind,
            SourceErrorKind::kConsentNotFound);
  EXPECT_EQ(source_.ListAccounts(context_, consent.consent_reference).error().kind,
            SourceErrorKind::kConsentNotFound);
  EXPECT_EQ(source_.DeleteConsent(context_, consent.consent_reference).error().kind,
            SourceErrorKind::kConsentNotFound);
}

TEST_F(SandboxSourceTest, EveryFaultKindReachesTheCaller) {
  // Proves each fault kind from the text form comes back from a real call as that kind, with
  // the wait for rate limits, and that the call after it succeeds again.
  struct Case {
    std::string_view spec;
    SourceErrorKind kind;
    int64_t retry_after_seconds;
  };
  const Case cases[] = {
      {"timeout", SourceErrorKind::kTimeout, 0},
      {"rate_limit:120", SourceErrorKind::kRateLimited, 120},
      {"rate_limit", SourceErrorKind::kRateLimited, 60},
      {"server_error", SourceErrorKind::kServerError, 0},
      {"consent_expired", SourceErrorKind::kConsentExpired, 0},
      {"consent_not_found", SourceErrorKind::kConsentNotFound, 0},
      {"account_not_found", SourceErrorKind::kAccountNotFound, 0},
      {"invalid_request", SourceErrorKind::kInvalidRequest, 0},
  };
  const Consent consent = StartLinked();
  const AccountKey key = KeyOf(consent);
  for (const Case& test_case : cases) {
    ASSERT_TRUE(
        source_.SetFaultPlanFromSpec(key.consent_reference, key.account_reference, test_case.spec)
            .ok());
    SourceResult<std::vector<Balance>> failed = source_.GetBalances(context_, key);
    ASSERT_FALSE(failed.ok()) << test_case.spec;
    EXPECT_EQ(failed.error().kind, test_case.kind) << test_case.spec;
    EXPECT_EQ(failed.error().retry_after_seconds, test_case.retry_after_seconds);
    EXPECT_FALSE(failed.error().message.empty());
    EXPECT_TRUE(source_.GetBalances(context_, key).ok()) << test_case.spec;
  }
}

TEST_F(SandboxSourceTest, CountedFaultsFailExactlyThatManyCalls) {
  // Proves "server_error*3" fails the next three calls of any kind on the account and no more,
  // and that the remaining plan is visible while it runs.
  const Consent consent = StartLinked();
  const AccountKey key = KeyOf(consent);
  ASSERT_TRUE(
      source_.SetFaultPlanFromSpec(key.consent_reference, key.account_reference, "server_error*3")
          .ok());
  EXPECT_FALSE(source_.GetAccountDetails(context_, key).ok());
  EXPECT_EQ(source_.FaultPlanSpec(key.consent_reference, key.account_reference), "server_error*2");
  EXPECT_FALSE(source_.GetBalances(context_, key).ok());
  EXPECT_FALSE(source_.GetTransactions(context_, key, {DateOf(2025, 3, 1), std::nullopt}).ok());
  EXPECT_EQ(source_.FaultPlanSpec(key.consent_reference, key.account_reference), "");
  EXPECT_TRUE(source_.GetAccountDetails(context_, key).ok());
  EXPECT_TRUE(source_.GetBalances(context_, key).ok());
}

TEST_F(SandboxSourceTest, FaultPlansTargetAnAccountAConsentOrTheBank) {
  // Proves the most specific plan answers a call: an account plan leaves the other accounts
  // alone, a consent plan covers the consent's calls, a bank plan covers consent creation.
  const Consent consent = StartLinked();
  const AccountKey first = KeyOf(consent, 0);
  const AccountKey second = KeyOf(consent, 1);
  ASSERT_TRUE(
      source_
          .SetFaultPlanFromSpec(first.consent_reference, first.account_reference, "timeout*always")
          .ok());
  EXPECT_EQ(source_.GetBalances(context_, first).error().kind, SourceErrorKind::kTimeout);
  EXPECT_TRUE(source_.GetBalances(context_, second).ok());
  EXPECT_TRUE(source_.ListAccounts(context_, consent.consent_reference).ok());

  ASSERT_TRUE(source_.SetFaultPlanFromSpec(consent.consent_reference, "", "rate_limit:9*2").ok());
  EXPECT_EQ(source_.ListAccounts(context_, consent.consent_reference).error().kind,
            SourceErrorKind::kRateLimited);
  EXPECT_EQ(source_.GetBalances(context_, second).error().retry_after_seconds, 9);
  EXPECT_EQ(source_.GetBalances(context_, first).error().kind, SourceErrorKind::kTimeout);
  EXPECT_TRUE(source_.GetBalances(context_, second).ok());

  ASSERT_TRUE(source_.SetFaultPlanFromSpec("", "", "server_error").ok());
  ConsentRequest request{std::string(kGermanBank), 90, 90, "", ""};
  EXPECT_EQ(source_.StartConsent(context_, request).error().kind, SourceErrorKind::kServerError);
  EXPECT_TRUE(source_.StartConsent(context_, request).ok());

  source_.ClearFaultPlans();
  EXPECT_TRUE(source_.GetBalances(context_, first).ok());
  EXPECT_FALSE(source_.SetFaultPlanFromSpec("", "", "explode").ok());
}

// The pending transaction with this value time, if any.
const domain::BankTransaction* FindByValueTime(const std::vector<domain::BankTransaction>& list,
                                               const domain::Timestamp& value_time) {
  for (const domain::BankTransaction& transaction : list) {
    if (transaction.value_datetime == value_time) return &transaction;
  }
  return nullptr;
}

TEST_F(SandboxSourceTest, PendingTransactionBooksUnderANewIdOnItsBookingDay) {
  // Proves, through the Source and the clock only, that a pending card payment stays pending
  // until 05:00 UTC of its booking day, then disappears from pending and appears once among the
  // booked transactions with a new id, a booking date and the same internal id (this bank).
  const Consent consent = StartLinked(kDutchBank);
  const AccountKey key = KeyOf(consent);
  const AccountTransactions before = Transactions(key, DateOf(2025, 3, 1));
  ASSERT_FALSE(before.pending.empty());
  const domain::BankTransaction pending = before.pending.front();
  EXPECT_TRUE(pending.transaction_id.starts_with("PDNG-"));
  EXPECT_FALSE(pending.booking_date.has_value());
  const int64_t start_day = StartMs() / kMillisecondsPerDay;
  std::optional<domain::BankTransaction> booked;
  for (int64_t day = start_day + 1; day <= start_day + 4 && !booked; ++day) {
    SetTime(day * kMillisecondsPerDay + 5 * kMillisecondsPerHour - 1);
    const AccountTransactions just_before = Transactions(key, DateOf(2025, 3, 1));
    const bool was_pending = FindByValueTime(just_before.pending, *pending.value_datetime);
    SetTime(day * kMillisecondsPerDay + 5 * kMillisecondsPerHour);
    const AccountTransactions after = Transactions(key, DateOf(2025, 3, 1));
    if (FindByValueTime(after.pending, *pending.value_datetime) != nullptr) continue;
    EXPECT_TRUE(was_pending) << "it must have been pending until the batch";
    const domain::BankTransaction* found = FindByValueTime(after.booked, *pending.value_datetime);
    ASSERT_NE(found, nullptr);
    booked = *found;
    EXPECT_EQ(booked->booking_date->days_since_epoch(), day);
  }
  ASSERT_TRUE(booked.has_value()) << "not booked within three days";
  EXPECT_NE(booked->transaction_id, pending.transaction_id);
  EXPECT_EQ(booked->internal_transaction_id, pending.internal_transaction_id);
  EXPECT_EQ(booked->value_date, pending.value_date);
}

TEST_F(SandboxSourceTest, BankWithoutPendingSupportReturnsNone) {
  // Proves the bank marked without pending support never returns pending transactions.
  const Consent consent = StartLinked("SANDBOX_FINSYNC_SBXFFRPP");
  for (size_t index = 0; index < consent.account_references.size(); ++index) {
    const AccountTransactions transactions =
        Transactions(KeyOf(consent, index), DateOf(2025, 2, 1));
    EXPECT_TRUE(transactions.pending.empty());
    if (index == 0) {
      EXPECT_FALSE(transactions.booked.empty());
    }
  }
}

int64_t Sum(const std::vector<domain::BankTransaction>& transactions) {
  int64_t sum = 0;
  for (const domain::BankTransaction& transaction : transactions) sum += transaction.amount_minor;
  return sum;
}

std::optional<Balance> BalanceOf(const std::vector<Balance>& balances, BalanceType type) {
  for (const Balance& balance : balances) {
    if (balance.type == type) return balance;
  }
  return std::nullopt;
}

TEST_F(SandboxSourceTest, BalancesAgreeWithTheTransactions) {
  // Proves the balances a sync stores can be reconciled with the transactions it stores:
  // available minus booked is the pending sum, today's bookings separate interim from closing,
  // and closing balances a week apart differ by exactly the week's bookings.
  const Consent consent = StartLinked(kDutchBank);
  for (size_t index = 0; index < consent.account_references.size(); ++index) {
    const AccountKey key = KeyOf(consent, index);
    SetTime(StartMs());
    const std::vector<Balance> first = source_.GetBalances(context_, key).value();
    const AccountTransactions today = Transactions(key, DateOf(2025, 3, 10));
    const Balance closing = *BalanceOf(first, BalanceType::kClosingBooked);
    const Balance interim = *BalanceOf(first, BalanceType::kInterimBooked);
    const Balance available = *BalanceOf(first, BalanceType::kInterimAvailable);
    EXPECT_EQ(closing.reference_date, DateOf(2025, 3, 9));
    EXPECT_EQ(interim.amount_minor - closing.amount_minor, Sum(today.booked));
    const AccountTransactions recent = Transactions(key, DateOf(2025, 3, 1));
    EXPECT_EQ(available.amount_minor - interim.amount_minor, Sum(recent.pending));
    EXPECT_EQ(closing.currency, source_.GetAccountDetails(context_, key).value().currency);

    SetTime(StartMs() + 7 * kMillisecondsPerDay);
    const std::vector<Balance> later = source_.GetBalances(context_, key).value();
    const AccountTransactions week = Transactions(key, DateOf(2025, 3, 10), DateOf(2025, 3, 16));
    EXPECT_EQ(BalanceOf(later, BalanceType::kClosingBooked)->amount_minor - closing.amount_minor,
              Sum(week.booked))
        << "account " << index;
  }
}

TEST_F(SandboxSourceTest, SwedishBankReportsTheExpectedBalance) {
  // Proves a bank can report closingBooked and expected only, as some banks do.
  const Consent consent = StartLinked("SANDBOX_FINSYNC_SBXFSESS");
  const std::vector<Balance> balances = source_.GetBalances(context_, KeyOf(consent)).value();
  ASSERT_EQ(balances.size(), 2u);
  EXPECT_EQ(balances[0].type, BalanceType::kClosingBooked);
  EXPECT_EQ(balances[1].type, BalanceType::kExpected);
  EXPECT_EQ(balances[1].currency, "SEK");
}

TEST_F(SandboxSourceTest, TransactionDatesAreClampedToWhatTheBankAllows) {
  // Proves a date_from older than max_historical_days (365 here) is moved to the oldest allowed
  // day, a date_to in the future to today, and date_from after date_to is refused.
  const Consent consent = StartLinked();
  const AccountKey key = KeyOf(consent);
  const AccountTransactions all = Transactions(key, DateOf(2020, 1, 1), DateOf(2030, 1, 1));
  const AccountTransactions allowed = Transactions(key, DateOf(2024, 3, 10));
  EXPECT_EQ(all.booked.size(), allowed.booked.size());
  EXPECT_GE(all.booked.front().booking_date, DateOf(2024, 3, 10));
  EXPECT_LE(all.booked.back().booking_date, DateOf(2025, 3, 10));
  EXPECT_TRUE(Transactions(key, DateOf(2020, 1, 1), DateOf(2021, 1, 1)).booked.empty());
  SourceResult<AccountTransactions> reversed = source_.GetTransactions(
      context_, key, TransactionQuery{DateOf(2025, 3, 2), DateOf(2025, 3, 1)});
  ASSERT_FALSE(reversed.ok());
  EXPECT_EQ(reversed.error().kind, SourceErrorKind::kInvalidRequest);
}

TEST_F(SandboxSourceTest, ConsentsSurviveARestartThroughTheStore) {
  // Proves a new source over the same store (finsync restarted) knows the consent and returns
  // byte-identical transactions: the ground truth a resumed sync is compared with.
  const Consent consent = StartLinked();
  const AccountTransactions before = Transactions(KeyOf(consent), DateOf(2025, 1, 1));
  SandboxSource restarted(SandboxOptions{.seed = 99}, store_);
  SourceResult<AccountTransactions> after = restarted.GetTransactions(
      context_, KeyOf(consent), TransactionQuery{DateOf(2025, 1, 1), std::nullopt});
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after.value().booked.size(), before.booked.size());
  for (size_t index = 0; index < before.booked.size(); ++index) {
    EXPECT_EQ(after.value().booked[index].raw_payload, before.booked[index].raw_payload);
  }
}

TEST_F(SandboxSourceTest, TheSameUserSeedGivesTheSameAccountsUnderNewReferences) {
  // Proves a seed chosen by the user reproduces the customer (IBANs, transactions) in a second
  // consent, while account references stay unique per consent.
  const Consent first = StartLinked();
  const Consent second = StartLinked();
  EXPECT_NE(first.account_references[0], second.account_references[0]);
  EXPECT_EQ(source_.GetAccountDetails(context_, KeyOf(first)).value().iban,
            source_.GetAccountDetails(context_, KeyOf(second)).value().iban);
  EXPECT_EQ(Transactions(KeyOf(first), DateOf(2025, 3, 1)).booked.front().raw_payload,
            Transactions(KeyOf(second), DateOf(2025, 3, 1)).booked.front().raw_payload);
}

TEST_F(SandboxSourceTest, RenewedConsentForTheSameConnectionShowsTheSameCustomer) {
  // Proves that without a chosen seed the caller's reference decides the customer: renewing a
  // connection's consent finds the same IBAN and transactions, another connection does not.
  auto linked_iban = [&](std::string caller_reference) {
    ConsentRequest request{std::string(kGermanBank), 90, 90, "", std::move(caller_reference)};
    const Consent started = source_.StartConsent(context_, request).value();
    const Consent linked = source_.ApproveConsent(context_, started.consent_reference).value();
    return source_.GetAccountDetails(context_, KeyOf(linked)).value().iban;
  };
  EXPECT_EQ(linked_iban("connection-7"), linked_iban("connection-7"));
  EXPECT_NE(linked_iban("connection-7"), linked_iban("connection-8"));
  EXPECT_NE(linked_iban(""), linked_iban(""));
}

// A store whose every call fails, like a database that went away.
class BrokenStore final : public SandboxConsentStore {
 public:
  Result<std::optional<SandboxConsentRecord>> Load(std::string_view) override {
    return Error::Of(ErrorCode::kUnavailable, "database is locked");
  }
  Status Save(const SandboxConsentRecord&) override {
    return Error::Of(ErrorCode::kUnavailable, "database is locked");
  }
  Status Erase(std::string_view) override {
    return Error::Of(ErrorCode::kUnavailable, "database is locked");
  }
};

TEST_F(SandboxSourceTest, StoreFailuresAreServerErrors) {
  // Proves a failing consent store surfaces as the bank's server error, which is retried,
  // with the store's reason in the message.
  BrokenStore broken;
  SandboxSource source(SandboxOptions{}, broken);
  ConsentRequest request{std::string(kGermanBank), 90, 90, "", ""};
  SourceResult<Consent> started = source.StartConsent(context_, request);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().kind, SourceErrorKind::kServerError);
  EXPECT_NE(started.error().message.find("database is locked"), std::string::npos);
  EXPECT_EQ(source.GetConsent(context_, "any").error().kind, SourceErrorKind::kServerError);
}

}  // namespace
}  // namespace finsync::sources::sandbox
