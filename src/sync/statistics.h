// Statistics over one user's bank data (Synci's Statistics group): money in and out of bank
// transactions per currency, per period and per account, and key counts of the user's
// connections, accounts, transactions, rules and rule logs. Pure query parsing, SQL and
// aggregation; nothing here knows HTTP. Every statement filters by user_id.
//
// Sums are computed by the store (one GROUP BY per section), never by walking rows here, so a
// request costs one index range scan per section however many transactions match.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "domain/date.h"
#include "store/database.h"
#include "sync/transactions_query.h"

namespace finsync::sync {

// Without dates the statistics cover the last 30 days, today included.
inline constexpr int64_t kStatisticsDefaultDays = 30;
// A wider range would scan years of rows per request; clients page through longer periods.
inline constexpr int32_t kStatisticsRangeYearsMax = 3;
// Rule logs are counted over this many days before now.
inline constexpr int64_t kRecentRuleLogDays = 30;

enum class StatisticsPeriod : uint8_t { kDay, kMonth };

struct TransactionStatisticsQuery {
  domain::Date date_from;  // Inclusive, on generated_date.
  domain::Date date_to;    // Inclusive.
  StatisticsPeriod group_by = StatisticsPeriod::kDay;
  std::optional<int64_t> bank_account_id;
  StatusFilter status = StatusFilter::kAny;
};

// Parses the query of GET /stats/bank/transactions. `today` (the server's UTC date) anchors
// the default range. Errors: kValidationFailed with one field error per bad parameter, named
// as sent, including unknown, repeated and empty ones, a reversed range and one longer than
// kStatisticsRangeYearsMax years.
Result<TransactionStatisticsQuery> ParseTransactionStatisticsQuery(
    std::span<const std::pair<std::string, std::string>> params, domain::Date today);

// Money that moved in one currency. Outgoing amounts keep their sign, so out_minor <= 0 and
// net_minor = in_minor + out_minor. Zero amounts count in `count` only.
struct MoneyFlow {
  std::string currency;
  int32_t exponent = 2;  // Of the currency: what one minor unit means.
  int64_t count = 0;
  int64_t in_count = 0;
  int64_t out_count = 0;
  int64_t in_minor = 0;
  int64_t out_minor = 0;
  int64_t net_minor = 0;
};

struct PeriodFlow {
  std::string period;  // "YYYY-MM-DD" by day, "YYYY-MM" by month.
  MoneyFlow flow;
};

struct AccountFlow {
  int64_t bank_account_id = 0;
  MoneyFlow flow;
};

struct TransactionStatistics {
  std::vector<MoneyFlow> totals;      // By currency.
  std::vector<PeriodFlow> periods;    // By period, then currency.
  std::vector<AccountFlow> accounts;  // By account id, then currency.
};

// One status or health value and how many objects have it.
struct StatusCount {
  std::string status;
  int64_t count = 0;
};

struct UserStatistics {
  int64_t bank_connection_count = 0;
  std::vector<StatusCount> bank_connections_by_status;
  std::vector<StatusCount> bank_connections_by_health;
  int64_t bank_account_count = 0;
  std::vector<StatusCount> bank_accounts_by_health;
  int64_t transaction_count = 0;
  int64_t booked_transaction_count = 0;
  int64_t pending_transaction_count = 0;
  std::optional<std::string> oldest_transaction_date;  // generated_date.
  std::optional<std::string> newest_transaction_date;
  int64_t rule_count = 0;
  int64_t enabled_rule_count = 0;
  int64_t recent_rule_log_count = 0;  // Executed in the last kRecentRuleLogDays days.
  int64_t recent_failed_rule_log_count = 0;
  std::optional<int64_t> last_transactions_sync_at_ms;  // Latest over all accounts.
};

class StatisticsService {
 public:
  explicit StatisticsService(store::Database& database) : database_(database) {}

  // Errors: kValidationFailed naming bank_account_id when the account is not the user's.
  Result<TransactionStatistics> Transactions(int64_t user_id,
                                             const TransactionStatisticsQuery& query);
  // `now_ms` anchors the recent rule-log window.
  Result<UserStatistics> User(int64_t user_id, int64_t now_ms);

 private:
  store::Database& database_;
};

}  // namespace finsync::sync
