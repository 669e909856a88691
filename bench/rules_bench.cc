// Rule evaluation throughput: 1,000,000 realistic bank transactions through 10 BANK rules of 5
// conditions each (a mix of CONTAINS, MATCHES_REGEX, IN, equality and numeric comparisons) on
// one core, next to a baseline with no rules. The target is 2,000,000 transactions/s.
//
// Run: build/release/rules_bench --benchmark_counters_tabular=true --benchmark_repetitions=5
// items_per_second is transactions per CPU-second; on a shared machine compare the best
// repetitions. Counters: fired_per_tx (rules fired per transaction), allocs_per_tx.
//
// The transactions are generated deterministically (fixed seed) from a catalogue of merchants
// with their remittance texts, merchant category codes and amount ranges, in EUR, NOK, SEK and
// JPY, with reference numbers and dates varying per transaction. Rule conditions read only the
// bank's fields and actions write only generated fields, as functions of the bank's fields, so
// every iteration sees the same data and fires the same rules. Of the six regexes, five run
// through RE2 (alternations, one with non-ASCII text, and a character class) and one ("TAXI",
// in the OR rule) is a plain literal that the compiler turns into a substring search.
//
// Allocation: this file replaces global operator new with a counting one. BM_NonMatchingRules
// runs the same kind of rules tuned never to fire and reports allocations per transaction,
// which must be 0: a rule that does not fire reads fields in place, compares against values
// parsed at compile time and lets RE2 match a string_view. (RE2 may grow its DFA state cache
// the first time it meets new input; the benchmark runs a warm-up pass before counting, and
// that cache is bounded by the regex memory limit.)

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "domain/transaction.h"
#include "rules/compiler.h"
#include "rules/evaluator.h"

namespace {

std::atomic<uint64_t> allocation_count{0};

}  // namespace

[[gnu::noinline]] void* operator new(size_t size) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
// Not inlined: once inlined, GCC pairs malloc() with operator delete and warns wrongly.
[[gnu::noinline]] void operator delete(void* memory) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete(void* memory, size_t) noexcept { std::free(memory); }

namespace {

using finsync::domain::BankTransaction;
using namespace finsync::rules;

constexpr size_t kTransactionCount = 1'000'000;

// SplitMix64: tiny, fast and fully deterministic across platforms.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t value = (state_ += 0x9E3779B97F4A7C15ULL);
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
    value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
    return value ^ (value >> 31);
  }
  int64_t Between(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(Next() % static_cast<uint64_t>(high - low + 1));
  }

 private:
  uint64_t state_;
};

struct Merchant {
  const char* name;
  const char* remittance;  // A '#' is replaced by a reference number.
  const char* category_code;
  int64_t amount_low_minor;
  int64_t amount_high_minor;
  bool incoming;
};

constexpr std::array<Merchant, 24> kMerchants = {{
    {"Spotify AB", "CARD PAYMENT SPOTIFY P# STOCKHOLM", "5815", -1699, -999, false},
    {"Netflix International B.V.", "NETFLIX.COM # AMSTERDAM", "4899", -1999, -799, false},
    {"REMA 1000 Grünerløkka", "VISA # REMA 1000 GRUNERLOKKA", "5411", -150000, -2000, false},
    {"Lidl Dienstleistung GmbH", "LIDL SAGT DANKE # BERLIN", "5411", -12000, -300, false},
    {"Coop Extra Majorstuen", "VISA # COOP EXTRA MAJORSTUEN", "5411", -90000, -1500, false},
    {"Shell Station 2231", "SHELL 2231 OSLO REF #", "5541", -120000, -2500, false},
    {"Circle K Norge AS", "CIRCLE K # SANDVIKA", "5542", -90000, -3000, false},
    {"Amazon EU S.a.r.l.", "AMAZON.DE MKTPLACE PMTS 302-#", "5942", -25000, -599, false},
    {"Uber BV", "UBER *TRIP HELP.UBER.COM #", "4121", -6000, -800, false},
    {"Ruter AS", "RUTER BILLETT #", "4111", -4000, -3900, false},
    {"Bolt Operations OU", "BOLT.EU/O/# TALLINN", "4121", -5000, -700, false},
    {"IKEA Furuset", "IKEA FURUSET #", "5712", -400000, -5000, false},
    {"Apple Services", "APPLE.COM/BILL # CORK", "5818", -12900, -1900, false},
    {"Google Cloud EMEA", "GOOGLE*CLOUD # DUBLIN", "7372", -30000, -100, false},
    {"Vinmonopolet Aker Brygge", "VINMONOPOLET # OSLO", "5921", -60000, -15000, false},
    {"Employer AS", "LØNN # MARS", "", 3500000, 6500000, true},
    {"Utleier Eiendom AS", "HUSLEIE APRIL KID #", "", -1800000, -900000, false},
    {"Telenor Norge AS", "TELENOR FAKTURA KID #", "4814", -79900, -39900, false},
    {"Zalando SE", "ZALANDO RETOURE ERSTATTUNG #", "5691", 2000, 30000, true},
    {"Kari Nordmann", "VIPPS *OVERFØRING #", "", -50000, 50000, false},
    {"Fjordkraft AS", "STRØM FEBRUAR KID #", "4900", -250000, -40000, false},
    {"Narvesen Oslo S", "NARVESEN 7011 OSLO S #", "5994", -9000, -2500, false},
    {"Wolt Enterprises Oy", "WOLT #", "5814", -60000, -15000, false},
    {"Deutsche Bahn AG", "DB VERTRIEB GMBH # FRANKFURT", "4112", -19990, -1990, false},
}};

constexpr std::array<const char*, 4> kCurrencies = {"EUR", "NOK", "SEK", "JPY"};

BankTransaction MakeTransaction(Random& random, size_t index) {
  const Merchant& merchant = kMerchants[random.Next() % kMerchants.size()];
  BankTransaction transaction;
  transaction.id = static_cast<int64_t>(index + 1);
  transaction.transaction_id = "TX" + std::to_string(random.Next() % 1'000'000'000);
  transaction.status = random.Next() % 10 == 0 ? finsync::domain::BookingStatus::kPending
                                               : finsync::domain::BookingStatus::kBooked;
  const int64_t day = 19'700 + static_cast<int64_t>(random.Next() % 700);  // 2023-2025.
  transaction.booking_date = finsync::domain::Date::FromDaysSinceEpoch(day);
  transaction.value_date = finsync::domain::Date::FromDaysSinceEpoch(day + random.Between(0, 2));
  transaction.currency = kCurrencies[random.Next() % 10 < 7 ? 0 : 1 + random.Next() % 3];
  transaction.amount_minor = random.Between(merchant.amount_low_minor, merchant.amount_high_minor);
  if (transaction.currency == "JPY") transaction.amount_minor /= 100;
  std::string remittance = merchant.remittance;
  const size_t hole = remittance.find('#');
  if (hole != std::string::npos) {
    remittance.replace(hole, 1, std::to_string(1'000'000 + random.Next() % 9'000'000));
  }
  transaction.remittance_information_unstructured = std::move(remittance);
  (merchant.incoming ? transaction.debtor : transaction.creditor).name = merchant.name;
  transaction.creditor.account_iban = merchant.incoming ? "" : "NO9386011117947";
  transaction.merchant_category_code = merchant.category_code;
  transaction.bank_transaction_code = merchant.category_code[0] ? "PMNT-CCRD-POSD" : "PMNT-RCDT";
  transaction.generated.payee = merchant.name;
  transaction.generated.description = transaction.remittance_information_unstructured;
  transaction.source = "sandbox";
  return transaction;
}

const std::vector<BankTransaction>& Transactions() {
  static const std::vector<BankTransaction> transactions = [] {
    std::vector<BankTransaction> generated;
    generated.reserve(kTransactionCount);
    Random random(20250314);
    for (size_t index = 0; index < kTransactionCount; ++index) {
      generated.push_back(MakeTransaction(random, index));
    }
    return generated;
  }();
  return transactions;
}

Condition When(const char* field, Operator operation, const char* value) {
  Condition condition;
  condition.field_name = field;
  condition.operation = operation;
  condition.value = value;
  return condition;
}

Rule RuleOf(int64_t id, std::vector<Condition> conditions, const char* field, const char* value) {
  Rule rule;
  rule.id = id;
  rule.name = "rule " + std::to_string(id);
  rule.type = RuleType::kBank;
  rule.conditions = std::move(conditions);
  Action action;
  action.id = id * 10;
  action.type = ActionType::kSetField;
  action.field_name = field;
  action.value = value;
  rule.actions = {action};
  return rule;
}

using enum Operator;

// Ten rules a user would write: streaming, groceries, fuel, salary, rent, online shopping,
// transport (an OR rule), big purchases, refunds and a payee clean-up.
std::vector<Rule> RealisticRules() {
  return {
      RuleOf(1,
             {When("creditor.name", kMatchesRegex, "spotify|netflix|hbo|disney"),
              When("amount", kLessThan, "0"), When("amount", kGreaterThan, "-50"),
              When("currency", kIn, "EUR, NOK, SEK"),
              When("remittance_information.unstructured", kNotContains, "refund")},
             "generated.payee", "{{ creditor.name | split: ' ' | first | capitalize }}"),
      RuleOf(2,
             {When("merchant_category_code", kEquals, "5411"), When("amount", kLessThan, "0"),
              When("amount", kGreaterThanOrEqual, "-2000"), When("booked", kEquals, "true"),
              When("remittance_information.unstructured", kMatchesRegex, "REMA|KIWI|LIDL|COOP")},
             "generated.description", "Groceries: {{ creditor.name }}"),
      RuleOf(3,
             {When("merchant_category_code", kIn, "5541, 5542"), When("amount", kLessThan, "-20"),
              When("creditor.name", kContains, "shell"),
              When("remittance_information.unstructured", kContains, "oslo"),
              When("currency", kEquals, "NOK")},
             "generated.payee", "Shell"),
      RuleOf(4,
             {When("amount", kGreaterThan, "1000"), When("debtor.name", kContains, "employer"),
              When("remittance_information.unstructured", kMatchesRegex, "LØNN|SALARY|GEHALT"),
              When("booked", kEquals, "true"), When("currency", kIn, "EUR, NOK")},
             "generated.description", "Salary {{ booking_date | date: '%B %Y' }}"),
      RuleOf(5,
             {When("amount", kLessThanOrEqual, "-800"),
              When("remittance_information.unstructured", kContains, "husleie"),
              When("booking_date", kGreaterThanOrEqual, "2023-01-01"),
              When("creditor.account", kStartsWith, "NO"), When("creditor.name", kIsNotEmpty, "")},
             "generated.payee", "Rent"),
      RuleOf(6,
             {When("creditor.name", kStartsWith, "amazon"),
              When("remittance_information.unstructured", kMatchesRegex, "302-[0-9]{7}"),
              When("amount", kLessThan, "0"), When("amount", kGreaterThanOrEqual, "-1000"),
              When("merchant_category_code", kEquals, "5942")},
             "generated.description",
             "Amazon order {{ remittance_information.unstructured | "
             "split: ' ' | last }}"),
      [] {
        Rule rule = RuleOf(7,
                           {When("merchant_category_code", kIn, "4111, 4112, 4121"),
                            When("remittance_information.unstructured", kContains, "uber"),
                            When("remittance_information.unstructured", kContains, "ruter"),
                            When("creditor.name", kContains, "bolt"),
                            When("remittance_information.unstructured", kMatchesRegex, "TAXI")},
                           "generated.description", "Transport");
        rule.trigger_on_any_condition = true;
        return rule;
      }(),
      RuleOf(8,
             {When("amount", kLessThan, "-2000"), When("booking_date", kGreaterThan, "2023-06-01"),
              When("remittance_information.unstructured", kNotContains, "husleie"),
              When("creditor.name", kIsNotEmpty, ""), When("currency", kEquals, "EUR")},
             "generated.description", "Big purchase: {{ amount | abs }} EUR"),
      RuleOf(9,
             {When("amount", kGreaterThan, "0"),
              When("remittance_information.unstructured", kMatchesRegex, "refund|retoure|retur"),
              When("debtor.name", kNotEquals, "Employer AS"), When("booked", kEquals, "true"),
              When("merchant_category_code", kIsNotEmpty, "")},
             "generated.payee", "Refund from {{ debtor.name }}"),
      RuleOf(10,
             {When("remittance_information.unstructured", kStartsWith, "vipps"),
              When("amount", kLessThan, "0"), When("creditor.name", kIsNotEmpty, ""),
              When("currency", kIn, "EUR, NOK"),
              When("remittance_information.unstructured", kEndsWith, "0")},
             "generated.payee", "{{ creditor.name | upcase }}"),
  };
}

// The same rules, with every text condition that must find something (EQUALS, IN, CONTAINS,
// STARTS_WITH, ENDS_WITH, MATCHES_REGEX) given a value no transaction has. Numeric and
// negated conditions stay as they are, so each rule does the same cheap work first and then
// fails on a text comparison, and the OR rule tests all five conditions.
std::vector<Rule> NonMatchingRules() {
  std::vector<Rule> rules = RealisticRules();
  for (Rule& rule : rules) {
    for (Condition& condition : rule.conditions) {
      const bool text_search =
          condition.operation == kEquals || condition.operation == kIn ||
          condition.operation == kContains || condition.operation == kStartsWith ||
          condition.operation == kEndsWith || condition.operation == kMatchesRegex;
      if (text_search && condition.field_name != "amount" && condition.field_name != "booked") {
        condition.value = condition.operation == kMatchesRegex ? "ZZQX[0-9]+NEVER" : "zzqx-never";
      }
    }
  }
  return rules;
}

CompiledRuleSet CompileOrAbort(const std::vector<Rule>& rules) {
  finsync::Result<CompiledRuleSet> set = Compile(rules);
  if (!set.ok()) {
    std::fprintf(stderr, "rules do not compile: %s\n", set.error().detail.c_str());
    std::abort();
  }
  return std::move(set.value());
}

const AccountContext kAccount{"Everyday", "NO9386011117947", "EUR"};

void RunRules(benchmark::State& state, const std::vector<Rule>& rules) {
  const CompiledRuleSet set = CompileOrAbort(rules);
  std::vector<BankTransaction> transactions = Transactions();
  std::vector<RuleLogEntry> log;
  EvaluationSummary summary;
  // Warm-up: fills RE2's lazy DFA caches and the log's capacity before anything is counted.
  summary = ApplyBankRules(set, kAccount, transactions, log);
  uint64_t allocations = 0;
  for (auto _ : state) {
    log.clear();
    const uint64_t allocations_before = allocation_count.load(std::memory_order_relaxed);
    summary = ApplyBankRules(set, kAccount, transactions, log);
    allocations += allocation_count.load(std::memory_order_relaxed) - allocations_before;
    benchmark::DoNotOptimize(log.data());
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(transactions.size()));
  state.counters["fired_per_tx"] =
      static_cast<double>(summary.rules_fired) / static_cast<double>(transactions.size());
  state.counters["allocs_per_tx"] =
      static_cast<double>(allocations) / iterations / static_cast<double>(transactions.size());
}

void BM_TenRulesFiveConditions(benchmark::State& state) { RunRules(state, RealisticRules()); }

void BM_NonMatchingRules(benchmark::State& state) { RunRules(state, NonMatchingRules()); }

// The same call with no rules attached: what ingest pays for the rules step when an account
// has none (the evaluator returns at once, so this is near zero by design).
void BM_BaselineNoRules(benchmark::State& state) { RunRules(state, {}); }

// Reads each field the rules read once per transaction, without comparing anything: the cost
// of touching a million transactions in memory, which no rule engine can go below.
void BM_BaselineTouchFields(benchmark::State& state) {
  const std::vector<BankTransaction>& transactions = Transactions();
  for (auto _ : state) {
    uint64_t checksum = 0;
    for (const BankTransaction& transaction : transactions) {
      checksum += static_cast<uint64_t>(transaction.amount_minor) + transaction.currency.size() +
                  transaction.creditor.name.size() + transaction.debtor.name.size() +
                  transaction.remittance_information_unstructured.size() +
                  transaction.merchant_category_code.size();
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(transactions.size()));
}

BENCHMARK(BM_BaselineNoRules)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_BaselineTouchFields)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_TenRulesFiveConditions)->Unit(benchmark::kMillisecond)->MinTime(3.0);
BENCHMARK(BM_NonMatchingRules)->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
