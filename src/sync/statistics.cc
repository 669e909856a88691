#include "sync/statistics.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <string_view>

#include "domain/currency.h"

namespace finsync::sync {

namespace {

// ---------------------------------------------------------------------------------------------
// Query-string parsing

struct StatisticsParseState {
  TransactionStatisticsQuery query;
  std::optional<domain::Date> date_from;
  std::optional<domain::Date> date_to;
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The query parameters are invalid.");

  void Fail(const std::string& field, std::string message) {
    invalid.field_errors.push_back({field, std::move(message)});
  }
};

std::optional<int64_t> ParsePositiveId(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

std::string UpperAscii(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return upper;
}

// "BOOKED", "PENDING" or both separated by a comma, as on the transaction list.
std::optional<StatusFilter> ParseStatusValue(std::string_view text) {
  bool booked = false;
  bool pending = false;
  while (true) {
    size_t comma = text.find(',');
    std::string item = UpperAscii(text.substr(0, comma));
    if (item == "BOOKED") {
      booked = true;
    } else if (item == "PENDING") {
      pending = true;
    } else {
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (booked && pending) return StatusFilter::kAny;
  return booked ? StatusFilter::kBooked : StatusFilter::kPending;
}

void ParseDateParameter(StatisticsParseState& state, const std::string& name,
                        const std::string& value, std::optional<domain::Date>& target) {
  auto parsed = domain::ParseDate(value);
  if (!parsed.ok()) return state.Fail(name, "must be a date (YYYY-MM-DD)");
  target = parsed.date;
}

void ParseParameter(StatisticsParseState& state, const std::string& name,
                    const std::string& value) {
  if (name == "date_from") {
    ParseDateParameter(state, name, value, state.date_from);
  } else if (name == "date_to") {
    ParseDateParameter(state, name, value, state.date_to);
  } else if (name == "group_by") {
    if (value == "day") {
      state.query.group_by = StatisticsPeriod::kDay;
    } else if (value == "month") {
      state.query.group_by = StatisticsPeriod::kMonth;
    } else {
      state.Fail(name, "must be day or month");
    }
  } else if (name == "bank_account_id") {
    state.query.bank_account_id = ParsePositiveId(value);
    if (!state.query.bank_account_id) state.Fail(name, "must be a positive integer id");
  } else if (name == "status") {
    auto status = ParseStatusValue(value);
    if (!status) return state.Fail(name, "must be BOOKED, PENDING or both separated by a comma");
    state.query.status = *status;
  } else {
    state.Fail(name, "is not a known parameter");
  }
}

// The same day `years` later; February 29th becomes February 28th in a common year.
std::optional<domain::Date> AddYears(domain::Date date, int32_t years) {
  int32_t year = date.year() + years;
  int32_t day = std::min(date.day(), domain::DaysInMonth(year, date.month()));
  return domain::Date::FromYearMonthDay(year, date.month(), day);
}

// Fills in the default range and checks the two dates against each other.
void ResolveRange(StatisticsParseState& state, domain::Date today) {
  domain::Date date_to = state.date_to.value_or(today);
  std::optional<domain::Date> date_from = state.date_from;
  if (!date_from) date_from = date_to.AddDays(1 - kStatisticsDefaultDays);
  if (!date_from) return state.Fail("date_to", "is too early to count 30 days back from");
  if (*date_from > date_to) {
    // Without date_to the range ends today, so it is date_from that is out of place.
    if (!state.date_to) return state.Fail("date_from", "must not be after today");
    return state.Fail("date_to", "must not be before date_from");
  }
  auto latest = AddYears(*date_from, kStatisticsRangeYearsMax);
  if (latest && date_to > *latest) {
    return state.Fail("date_to", "must be at most " + std::to_string(kStatisticsRangeYearsMax) +
                                     " years after date_from");
  }
  state.query.date_from = *date_from;
  state.query.date_to = date_to;
}

// ---------------------------------------------------------------------------------------------
// Transaction statistics

// The aggregate columns every section selects after its grouping columns.
constexpr std::string_view kFlowColumns =
    "currency, COUNT(*), "
    "SUM(CASE WHEN amount_minor > 0 THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN amount_minor < 0 THEN 1 ELSE 0 END), "
    "COALESCE(SUM(CASE WHEN amount_minor > 0 THEN amount_minor END), 0), "
    "COALESCE(SUM(CASE WHEN amount_minor < 0 THEN amount_minor END), 0)";

SqlQuery FilterSql(int64_t user_id, const TransactionStatisticsQuery& query) {
  TransactionFilters filters;
  filters.bank_account_id = query.bank_account_id;
  filters.status = query.status;
  filters.date_from = query.date_from;
  filters.date_to = query.date_to;
  return BuildFilterSql(filters, user_id);
}

// SELECT <group columns>, <flow columns> ... GROUP BY <group columns>, currency.
SqlQuery SectionSql(int64_t user_id, const TransactionStatisticsQuery& query,
                    std::string_view group_columns) {
  SqlQuery filter = FilterSql(user_id, query);
  std::string prefix = group_columns.empty() ? "" : std::string(group_columns) + ", ";
  SqlQuery section;
  section.sql = "SELECT " + prefix + std::string(kFlowColumns) + " FROM bank_transactions WHERE " +
                filter.sql + " GROUP BY " + prefix + "currency ORDER BY " + prefix + "currency";
  section.params = std::move(filter.params);
  return section;
}

// Reads the flow columns starting at `first`; kInternal for a currency outside the table,
// which the ingest pipeline never stores.
Result<MoneyFlow> ReadFlow(const store::Row& row, size_t first) {
  MoneyFlow flow;
  flow.currency = row.Text(first);
  auto currency = domain::Currency::FromCode(flow.currency);
  if (!currency) {
    return Error::Of(ErrorCode::kInternal, "stored transaction currency unknown: " + flow.currency);
  }
  flow.exponent = currency->exponent();
  flow.count = row.Int(first + 1);
  flow.in_count = row.Int(first + 2);
  flow.out_count = row.Int(first + 3);
  flow.in_minor = row.Int(first + 4);
  flow.out_minor = row.Int(first + 5);
  // Opposite signs: the sum always fits in int64.
  flow.net_minor = flow.in_minor + flow.out_minor;
  return flow;
}

template <typename Entry, typename ReadKey>
Status RunSection(store::Connection& connection, const SqlQuery& section,
                  std::vector<Entry>& entries, ReadKey read_key) {
  auto rows = connection.Query(section.sql, section.params);
  if (!rows.ok()) return rows.error();
  for (const auto& row : rows.value()) {
    auto flow = ReadFlow(row, 1);
    if (!flow.ok()) return flow.error();
    entries.push_back(Entry{read_key(row), std::move(flow.value())});
  }
  return Status::Ok();
}

Status ReadTotals(store::Connection& connection, const SqlQuery& section,
                  std::vector<MoneyFlow>& totals) {
  auto rows = connection.Query(section.sql, section.params);
  if (!rows.ok()) return rows.error();
  for (const auto& row : rows.value()) {
    auto flow = ReadFlow(row, 0);
    if (!flow.ok()) return flow.error();
    totals.push_back(std::move(flow.value()));
  }
  return Status::Ok();
}

Status CheckAccountOwned(store::Connection& connection, int64_t user_id, int64_t account_id) {
  auto rows = connection.Query("SELECT 1 FROM bank_accounts WHERE id = ? AND user_id = ?",
                               {account_id, user_id});
  if (!rows.ok()) return rows.error();
  if (!rows.value().empty()) return Status::Ok();
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The query parameters are invalid.");
  invalid.field_errors.push_back({"bank_account_id", "is not one of your bank accounts"});
  return invalid;
}

Status ReadTransactionStatistics(store::Connection& connection, int64_t user_id,
                                 const TransactionStatisticsQuery& query,
                                 TransactionStatistics& statistics) {
  if (query.bank_account_id) {
    Status owned = CheckAccountOwned(connection, user_id, *query.bank_account_id);
    if (!owned.ok()) return owned;
  }
  Status status = ReadTotals(connection, SectionSql(user_id, query, ""), statistics.totals);
  if (!status.ok()) return status;
  // Dates are 'YYYY-MM-DD' text, so the month is its first seven characters.
  std::string_view period = query.group_by == StatisticsPeriod::kMonth
                                ? "substr(generated_date, 1, 7)"
                                : "generated_date";
  status = RunSection(connection, SectionSql(user_id, query, period), statistics.periods,
                      [](const store::Row& row) { return row.Text(0); });
  if (!status.ok()) return status;
  return RunSection(connection, SectionSql(user_id, query, "bank_account_id"), statistics.accounts,
                    [](const store::Row& row) { return row.Int(0); });
}

// ---------------------------------------------------------------------------------------------
// User statistics

// Runs "SELECT <column>, COUNT(*) ... GROUP BY <column>" and returns the counts and their sum.
Result<std::vector<StatusCount>> CountBy(store::Connection& connection, std::string_view table,
                                         std::string_view column, int64_t user_id) {
  std::string sql = "SELECT " + std::string(column) + ", COUNT(*) FROM " + std::string(table) +
                    " WHERE user_id = ? GROUP BY " + std::string(column) + " ORDER BY " +
                    std::string(column);
  auto rows = connection.Query(sql, {user_id});
  if (!rows.ok()) return rows.error();
  std::vector<StatusCount> counts;
  for (const auto& row : rows.value()) counts.push_back({row.Text(0), row.Int(1)});
  return counts;
}

int64_t Total(const std::vector<StatusCount>& counts) {
  int64_t total = 0;
  for (const auto& entry : counts) total += entry.count;
  return total;
}

Status ReadConnectionsAndAccounts(store::Connection& connection, int64_t user_id,
                                  UserStatistics& statistics) {
  auto by_status = CountBy(connection, "bank_connections", "status", user_id);
  if (!by_status.ok()) return by_status.error();
  auto by_health = CountBy(connection, "bank_connections", "health_status", user_id);
  if (!by_health.ok()) return by_health.error();
  auto accounts = CountBy(connection, "bank_accounts", "health_status", user_id);
  if (!accounts.ok()) return accounts.error();
  statistics.bank_connections_by_status = std::move(by_status.value());
  statistics.bank_connection_count = Total(statistics.bank_connections_by_status);
  statistics.bank_connections_by_health = std::move(by_health.value());
  statistics.bank_accounts_by_health = std::move(accounts.value());
  statistics.bank_account_count = Total(statistics.bank_accounts_by_health);
  auto synced = connection.Query(
      "SELECT MAX(transactions_last_synced_at) FROM bank_accounts WHERE user_id = ?", {user_id});
  if (!synced.ok()) return synced.error();
  statistics.last_transactions_sync_at_ms = synced.value().at(0).OptionalInt(0);
  return Status::Ok();
}

Status ReadTransactionCounts(store::Connection& connection, int64_t user_id,
                             UserStatistics& statistics) {
  auto rows = connection.Query(
      "SELECT COUNT(*), SUM(CASE WHEN status = 'BOOKED' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN status = 'PENDING' THEN 1 ELSE 0 END), MIN(generated_date), "
      "MAX(generated_date) FROM bank_transactions WHERE user_id = ?",
      {user_id});
  if (!rows.ok()) return rows.error();
  const store::Row& row = rows.value().at(0);
  statistics.transaction_count = row.Int(0);
  statistics.booked_transaction_count = row.Int(1);
  statistics.pending_transaction_count = row.Int(2);
  statistics.oldest_transaction_date = row.OptionalText(3);
  statistics.newest_transaction_date = row.OptionalText(4);
  return Status::Ok();
}

Status ReadRuleCounts(store::Connection& connection, int64_t user_id, int64_t now_ms,
                      UserStatistics& statistics) {
  auto rules = connection.Query(
      "SELECT COUNT(*), SUM(CASE WHEN enabled <> 0 THEN 1 ELSE 0 END) FROM rules "
      "WHERE user_id = ?",
      {user_id});
  if (!rules.ok()) return rules.error();
  statistics.rule_count = rules.value().at(0).Int(0);
  statistics.enabled_rule_count = rules.value().at(0).Int(1);
  constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;
  auto logs = connection.Query(
      "SELECT COUNT(*), SUM(CASE WHEN success = 0 THEN 1 ELSE 0 END) FROM rule_logs "
      "WHERE user_id = ? AND executed_at >= ?",
      {user_id, now_ms - kRecentRuleLogDays * kDayMs});
  if (!logs.ok()) return logs.error();
  statistics.recent_rule_log_count = logs.value().at(0).Int(0);
  statistics.recent_failed_rule_log_count = logs.value().at(0).Int(1);
  return Status::Ok();
}

}  // namespace

Result<TransactionStatisticsQuery> ParseTransactionStatisticsQuery(
    std::span<const std::pair<std::string, std::string>> params, domain::Date today) {
  StatisticsParseState state;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (!seen.insert(name).second) {
      state.Fail(name, "must be given at most once");
    } else if (value.empty()) {
      state.Fail(name, "must not be empty");
    } else {
      ParseParameter(state, name, value);
    }
  }
  // Range checks only make sense once both dates are known to be dates.
  if (state.invalid.field_errors.empty()) ResolveRange(state, today);
  if (!state.invalid.field_errors.empty()) return state.invalid;
  return state.query;
}

Result<TransactionStatistics> StatisticsService::Transactions(
    int64_t user_id, const TransactionStatisticsQuery& query) {
  TransactionStatistics statistics;
  // One snapshot: the three sections always add up to the same totals.
  Status status = database_.Read([&](store::Connection& connection) {
    return ReadTransactionStatistics(connection, user_id, query, statistics);
  });
  if (!status.ok()) return status.error();
  return statistics;
}

Result<UserStatistics> StatisticsService::User(int64_t user_id, int64_t now_ms) {
  UserStatistics statistics;
  Status status = database_.Read([&](store::Connection& connection) {
    Status read = ReadConnectionsAndAccounts(connection, user_id, statistics);
    if (read.ok()) read = ReadTransactionCounts(connection, user_id, statistics);
    if (read.ok()) read = ReadRuleCounts(connection, user_id, now_ms, statistics);
    return read;
  });
  if (!status.ok()) return status.error();
  return statistics;
}

}  // namespace finsync::sync
