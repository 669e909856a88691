// Ingest throughput: sandbox transactions through the whole pipeline (normalise, generated
// fields, content keys, dedup against the store, pending matching, INSERT + change feed rows)
// into a durable SQLite file, against a baseline in the same run: the same rows written with
// plain INSERTs in equally sized transactions, which is the floor SQLite itself sets.
//
//   build/release/ingest_bench --benchmark_counters_tabular=true
//
// Transactions come from the sandbox bank's generator (several households so 1,000,000 fit in
// its history window) and are generated before timing starts.
#include <benchmark/benchmark.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>

#include "common/clock.h"
#include "ingest/ingest.h"
#include "rules/rule_service.h"
#include "sources/sandbox/consent_store.h"
#include "sources/sandbox/sandbox_source.h"
#include "store/database.h"

namespace {

using finsync::domain::BankTransaction;

constexpr int64_t kTargetTransactions = 1'000'000;
constexpr size_t kBatchSize = 5'000;

struct Dataset {
  std::vector<std::vector<BankTransaction>> batches;  // One account's slice per batch.
  int64_t total = 0;
};

const Dataset& Transactions() {
  static const Dataset dataset = [] {
    Dataset data;
    finsync::ManualClock clock(1'767'225'600'000);  // 2026-01-01.
    finsync::sources::sandbox::InMemorySandboxConsentStore consents;
    finsync::sources::sandbox::SandboxOptions options;
    options.default_volume = {60, 80};
    finsync::sources::sandbox::SandboxSource sandbox(options, consents);
    finsync::sources::SourceContext context{clock};
    for (int household = 0; data.total < kTargetTransactions; ++household) {
      finsync::sources::ConsentRequest request{"SANDBOX_FINSYNC_SBXFDEB1", 730, 90, "",
                                               "bench:" + std::to_string(household)};
      auto consent = sandbox.StartConsent(context, request);
      if (!consent.ok()) std::abort();
      std::string reference = consent.value().consent_reference;
      (void)sandbox.OpenConsentLink(context, reference);
      (void)sandbox.ApproveConsent(context, reference);
      auto accounts = sandbox.ListAccounts(context, reference);
      auto from = finsync::domain::ParseDate("2024-01-05").date;
      for (const auto& account : accounts.value()) {
        auto fetched = sandbox.GetTransactions(context, {reference, account}, {from, {}});
        if (!fetched.ok()) std::abort();
        auto& booked = fetched.value().booked;
        for (size_t start = 0; start < booked.size(); start += kBatchSize) {
          size_t end = std::min(booked.size(), start + kBatchSize);
          data.batches.emplace_back(booked.begin() + static_cast<std::ptrdiff_t>(start),
                                    booked.begin() + static_cast<std::ptrdiff_t>(end));
          data.total += static_cast<int64_t>(end - start);
          if (data.total >= kTargetTransactions) return data;
        }
      }
    }
    return data;
  }();
  return dataset;
}

// A fresh database with one user and one bank account per batch slot reused round-robin.
struct Fixture {
  std::filesystem::path path;
  std::unique_ptr<finsync::store::Database> database;
  std::vector<int64_t> account_ids;
  int64_t user_id = 0;

  explicit Fixture(const std::string& name) {
    path = std::filesystem::temp_directory_path() /
           ("finsync_ingest_bench_" + name + "_" + std::to_string(::getpid()) + ".db");
    Remove();
    auto opened = finsync::store::Open(path.string(), {});
    if (!opened.ok()) std::abort();
    database = std::move(opened.value());
    auto status = database->Write([&](finsync::store::Connection& c) -> finsync::Status {
      auto user =
          c.Query("INSERT INTO users (email, created_at) VALUES ('b@x.y', 0) RETURNING id", {});
      user_id = user.value()[0].Int(0);
      auto connection = c.Query(
          "INSERT INTO bank_connections (user_id, institution_id, integrator, status, "
          "max_historical_days, access_valid_for_days, created_at, updated_at) VALUES (?, 'B', "
          "'SANDBOX', 'LN', 730, 90, 0, 0) RETURNING id",
          {user_id});
      for (int i = 0; i < 64; ++i) {
        auto account = c.Query(
            "INSERT INTO bank_accounts (user_id, bank_connection_id, integrator_id, currency, "
            "fields_for_duplicate_filtering, created_at, updated_at) VALUES (?, ?, ?, 'EUR', "
            "'[]', 0, 0) RETURNING id",
            {user_id, connection.value()[0].Int(0), "acc" + std::to_string(i)});
        account_ids.push_back(account.value()[0].Int(0));
      }
      return finsync::Status::Ok();
    });
    if (!status.ok()) std::abort();
  }
  ~Fixture() {
    database.reset();
    Remove();
  }
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  }
};

void BM_IngestPipeline(benchmark::State& state) {
  const Dataset& data = Transactions();
  for (auto _ : state) {
    state.PauseTiming();
    Fixture fixture("pipeline");
    finsync::ManualClock clock(1'767'225'600'000);
    finsync::ingest::Pipeline pipeline(*fixture.database, clock);
    std::vector<std::vector<BankTransaction>> batches = data.batches;
    state.ResumeTiming();
    for (size_t i = 0; i < batches.size(); ++i) {
      finsync::ingest::AccountConfig config;
      config.user_id = fixture.user_id;
      config.bank_account_id = fixture.account_ids[i % fixture.account_ids.size()];
      finsync::ingest::Batch batch;
      batch.booked = std::move(batches[i]);
      batch.pending_list_is_complete = false;
      auto outcome = pipeline.Ingest(config, std::move(batch));
      if (!outcome.ok()) state.SkipWithError(outcome.error().detail.c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * data.total);
}

// Ten BANK rules of five conditions each (CONTAINS, MATCHES_REGEX, money comparisons), each
// with one templated action, attached to every account: the "ingest with rules".
void AttachTenRules(finsync::rules::RuleService& service, const Fixture& fixture) {
  using finsync::rules::ActionType;
  using finsync::rules::Operator;
  const char* merchants[] = {"REWE",    "EDEKA",   "ALDI",   "LIDL",     "SHELL",
                             "NETFLIX", "SPOTIFY", "TCHIBO", "KAUFLAND", "DM"};
  for (int index = 0; index < 10; ++index) {
    finsync::rules::NewRule request;
    finsync::rules::Rule& rule = request.rule;
    rule.name = std::string("bench rule ") + merchants[index];
    rule.trigger_on_any_condition = false;  // Realistic rules fire on few transactions.
    rule.conditions = {
        {0, "remittance_information.unstructured", Operator::kContains, merchants[index], false},
        {0, "generated.payee", Operator::kMatchesRegex,
         std::string("(?i)") + merchants[index] + "|CARD [0-9]{4}", false},
        {0, "amount", Operator::kLessThan, "0", false},
        {0, "amount", Operator::kGreaterThan, "-500.00", false},
        {0, "creditor.name", Operator::kNotContains, "REFUND", false},
    };
    rule.actions = {{
        0,
        ActionType::kSetField,
        "generated.payee",
        std::string("{{ generated.payee | capitalize }}"),
    }};
    request.action_orders = {0};
    std::vector<finsync::rules::TargetRequest> targets;
    for (int64_t account_id : fixture.account_ids) {
      targets.push_back({finsync::rules::TargetKind::kBankAccount, account_id, std::nullopt});
    }
    request.attachments.bank_accounts = targets;
    auto created = service.CreateRule(fixture.user_id, request);
    if (!created.ok()) {
      std::fprintf(stderr, "rule: %s\n", created.error().detail.c_str());
      for (const auto& e : created.error().field_errors) {
        std::fprintf(stderr, "  %s: %s\n", e.field.c_str(), e.message.c_str());
      }
      std::abort();
    }
  }
}

void BM_IngestPipelineWithRules(benchmark::State& state) {
  const Dataset& data = Transactions();
  for (auto _ : state) {
    state.PauseTiming();
    Fixture fixture("rules");
    finsync::ManualClock clock(1'767'225'600'000);
    finsync::ingest::Pipeline pipeline(*fixture.database, clock);
    finsync::rules::RuleService service(*fixture.database, clock, {});
    AttachTenRules(service, fixture);
    finsync::rules::BankRuleStage stage(service, clock);
    std::vector<std::vector<BankTransaction>> batches = data.batches;
    state.ResumeTiming();
    for (size_t i = 0; i < batches.size(); ++i) {
      finsync::ingest::AccountConfig config;
      config.user_id = fixture.user_id;
      config.bank_account_id = fixture.account_ids[i % fixture.account_ids.size()];
      finsync::ingest::Batch batch;
      batch.booked = std::move(batches[i]);
      batch.pending_list_is_complete = false;
      auto outcome = pipeline.Ingest(config, std::move(batch), &stage);
      if (!outcome.ok()) state.SkipWithError(outcome.error().detail.c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * data.total);
}

// The floor: the same rows, the same indexes, one plain INSERT each, same transaction sizes.
void BM_PlainInsertBaseline(benchmark::State& state) {
  const Dataset& data = Transactions();
  for (auto _ : state) {
    state.PauseTiming();
    Fixture fixture("baseline");
    state.ResumeTiming();
    int64_t sequence = 0;
    for (size_t i = 0; i < data.batches.size(); ++i) {
      int64_t account_id = fixture.account_ids[i % fixture.account_ids.size()];
      auto status = fixture.database->Write([&](finsync::store::Connection& c) {
        for (const BankTransaction& t : data.batches[i]) {
          auto inserted = c.Execute(
              "INSERT INTO bank_transactions (user_id, bank_account_id, status, transaction_id, "
              "booking_date, amount_minor, currency, creditor_name, debtor_name, "
              "remittance_unstructured, generated_payee, generated_description, generated_date, "
              "source, raw_payload, content_key, fingerprint, created_at, updated_at) VALUES (?, "
              "?, "
              "'BOOKED', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sandbox', ?, ?, '', 0, 0)",
              {fixture.user_id, account_id, t.transaction_id,
               finsync::domain::FormatDate(*t.booking_date), t.amount_minor, t.currency,
               t.creditor.name, t.debtor.name, t.remittance_information_unstructured,
               t.creditor.name, t.remittance_information_unstructured,
               finsync::domain::FormatDate(*t.booking_date), t.raw_payload,
               std::to_string(++sequence)});
          if (!inserted.ok()) return inserted.status();
        }
        return finsync::Status::Ok();
      });
      if (!status.ok()) state.SkipWithError(status.error().detail.c_str());
    }
  }
  state.SetItemsProcessed(state.iterations() * data.total);
}

BENCHMARK(BM_PlainInsertBaseline)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK(BM_IngestPipeline)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK(BM_IngestPipelineWithRules)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
