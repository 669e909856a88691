// Speed of the sandbox bank, which feeds the ingest benchmarks: events alone (what balances
// cost), materialised transactions with texts and raw payloads (what a sync costs), and the
// same through the Source interface with its consent checks.
//
// Run: ./build/sandbox_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "domain/date.h"
#include "sources/sandbox/bank_profiles.h"
#include "sources/sandbox/generator.h"
#include "sources/sandbox/sandbox_source.h"

namespace finsync::sources::sandbox {
namespace {

constexpr int64_t kMillisecondsPerDay = 86'400'000;
constexpr int64_t kChunkDays = 30;

int64_t DayOf(int32_t year, int32_t month, int32_t day) {
  return domain::Date::FromYearMonthDay(year, month, day)->days_since_epoch();
}

Household BenchHousehold(int32_t daily_transactions) {
  return MakeHousehold(*FindSandboxBankProfile("SANDBOX_FINSYNC_SBXFNL2N"), 1, "bench", 1,
                       Volume{daily_transactions, daily_transactions});
}

void BM_EventsOnly(benchmark::State& state) {
  const Household household = BenchHousehold(static_cast<int32_t>(state.range(0)));
  std::vector<Event> events;
  int64_t day = DayOf(2024, 1, 1);
  int64_t count = 0;
  for (auto _ : state) {
    events.clear();
    AppendEventsOfDay(household, 0, day++, events);
    count += static_cast<int64_t>(events.size());
    benchmark::DoNotOptimize(events.data());
  }
  state.SetItemsProcessed(count);
}
BENCHMARK(BM_EventsOnly)->Arg(5)->Arg(500);

void BM_CollectTransactions(benchmark::State& state) {
  const Household household = BenchHousehold(static_cast<int32_t>(state.range(0)));
  const int64_t first_day = DayOf(2024, 1, 1);
  const int64_t now_ms = (first_day + 400) * kMillisecondsPerDay;
  int64_t count = 0;
  for (auto _ : state) {
    AccountTransactions transactions;
    CollectTransactions(household, 0, first_day, first_day + kChunkDays - 1, now_ms, true,
                        transactions);
    count += static_cast<int64_t>(transactions.booked.size() + transactions.pending.size());
    benchmark::DoNotOptimize(transactions.booked.data());
  }
  state.SetItemsProcessed(count);
}
BENCHMARK(BM_CollectTransactions)->Arg(5)->Arg(500)->Unit(benchmark::kMillisecond);

void BM_SourceGetTransactions(benchmark::State& state) {
  ManualClock clock(DayOf(2025, 3, 10) * kMillisecondsPerDay + 10 * 3'600'000);
  const SourceContext context{clock};
  InMemorySandboxConsentStore store;
  SandboxSource source(SandboxOptions{}, store);
  const ConsentRequest request{"SANDBOX_FINSYNC_SBXFNL2N", 540, 90, "", "bench"};
  const int32_t volume = static_cast<int32_t>(state.range(0));
  const Consent started =
      source
          .StartConsentWithOptions(
              context, request,
              SandboxConsentOptions{
                  .seed = 1, .account_count = 1, .volume = Volume{volume, volume}})
          .value();
  const Consent linked = source.ApproveConsent(context, started.consent_reference).value();
  const AccountKey key{linked.consent_reference, linked.account_references[0]};
  const TransactionQuery query{*domain::Date::FromYearMonthDay(2025, 2, 8), std::nullopt};
  int64_t count = 0;
  for (auto _ : state) {
    SourceResult<AccountTransactions> transactions = source.GetTransactions(context, key, query);
    count += static_cast<int64_t>(transactions.value().booked.size());
  }
  state.SetItemsProcessed(count);
}
BENCHMARK(BM_SourceGetTransactions)->Arg(5)->Arg(500)->Unit(benchmark::kMillisecond);

void BM_Balances(benchmark::State& state) {
  const Household household = BenchHousehold(5);
  const int64_t now_ms = DayOf(2025, 3, 10) * kMillisecondsPerDay;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ComputeBalanceTotals(household, 0, now_ms));
  }
}
BENCHMARK(BM_Balances)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace finsync::sources::sandbox

BENCHMARK_MAIN();
