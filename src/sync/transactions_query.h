// Listing and change-feed queries over stored bank transactions, as pure functions:
// query parameters -> validated filters -> portable SQL with bound values, plus the opaque page
// tokens and change-feed cursors. Nothing here runs SQL or knows HTTP, so every rule can be
// unit-tested and fuzzed on its own.
//
// Paging. Two styles:
//  - cursor (`limit` + `page_token` -> `next_page_token`): keyset paging over
//    (generated_date, id) using the indexes bank_transactions_by_date and
//    bank_transactions_by_account_date. Each page costs the same however deep it is.
//  - page (`page[number]` + `page[size]`): needs OFFSET, whose cost grows with the depth, so
//    it is bounded: page[number] * page[size] may not exceed kPageWindowMax (10,000). Deeper
//    lists must use page tokens.
//
// Amount filters are exact in every currency. A bound such as amount_gte=0.005 is converted
// into each currency exponent's minor units, rounded towards the side the comparison keeps
// (ceil for >=, floor for <=), so it means the same thing for EUR (2 decimals), JPY (0) and
// KWD (3) rows listed together. With `currency` given only that exponent's bound is used.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "domain/date.h"
#include "store/database.h"

namespace finsync::sync {

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

inline constexpr int64_t kListLimitDefault = 50;
inline constexpr int64_t kListLimitMax = 500;
// Page paging reaches at most the first 10,000 rows: OFFSET reads and skips every row before.
inline constexpr int64_t kPageWindowMax = 10'000;
inline constexpr int64_t kChangeLimitDefault = 100;
inline constexpr int64_t kChangeLimitMax = 500;
inline constexpr size_t kSearchLengthMax = 200;
// ISO 4217 exponents run from 0 (JPY) to 4 (CLF); amount bounds are kept for each.
inline constexpr int32_t kCurrencyExponentCount = 5;

enum class SortOrder : uint8_t { kDateDescending, kDateAscending };
enum class StatusFilter : uint8_t { kAny, kBooked, kPending };
enum class PagingStyle : uint8_t { kCursor, kPage };

// A decimal bound converted into minor units of every exponent, rounded both ways. For
// "1.005": floor_minor[2] = 100 and ceil_minor[2] = 101; for exponent 3 both are 1005.
struct AmountBound {
  std::array<int64_t, kCurrencyExponentCount> floor_minor{};
  std::array<int64_t, kCurrencyExponentCount> ceil_minor{};
};

struct TransactionFilters {
  std::optional<int64_t> bank_account_id;
  StatusFilter status = StatusFilter::kAny;
  // Inclusive ranges on the generated date and on the bank's booking date.
  std::optional<domain::Date> date_from;
  std::optional<domain::Date> date_to;
  std::optional<domain::Date> booking_date_from;
  std::optional<domain::Date> booking_date_to;
  std::optional<std::string> currency;  // Validated ISO 4217 code, upper case.
  std::optional<AmountBound> amount_gte;
  std::optional<AmountBound> amount_gt;
  std::optional<AmountBound> amount_lte;
  std::optional<AmountBound> amount_lt;
  std::optional<std::string> search;  // ASCII lower-cased; matched as a substring.
};

// Where a cursor page starts: after (or, ascending, before) this row in the sort order.
struct PagePosition {
  std::string generated_date;  // "YYYY-MM-DD".
  int64_t id = 0;
};

struct ListQuery {
  TransactionFilters filters;
  SortOrder sort = SortOrder::kDateDescending;
  PagingStyle paging = PagingStyle::kCursor;
  int64_t page_size = kListLimitDefault;  // `limit` or `page[size]`.
  int64_t page_number = 1;                // Page style only; 1-based.
  std::optional<PagePosition> after;      // Cursor style: decoded from page_token.
};

// Parses the query of GET /banks/transactions. Every filter also accepts the
// `filter[name]` spelling, and posted_date_from/to are the seed's names for date_from/to.
// Errors: kValidationFailed with one field error per bad parameter (named as sent), including
// unknown parameters and repeated ones; kBadRequest when a well-formed page_token was issued
// for other filters or another sort.
Result<ListQuery> ParseListQuery(std::span<const std::pair<std::string, std::string>> params);

struct SqlQuery {
  std::string sql;
  std::vector<store::Value> params;
};

// The WHERE conditions of `filters` for `user_id` ("user_id = ? AND ..."), no keyword.
SqlQuery BuildFilterSql(const TransactionFilters& filters, int64_t user_id);
// One page: `columns` of the matching rows in sort order. Cursor style asks for one row more
// than the page size so the caller knows whether another page follows.
SqlQuery BuildListSql(const ListQuery& query, int64_t user_id, std::string_view columns);
// Counts matching rows, but reads at most `count_max` of them: the count is exact below the
// cap and "at least count_max" at it, so it stays cheap over millions of rows.
SqlQuery BuildCappedCountSql(const TransactionFilters& filters, int64_t user_id, int64_t count_max);

// A fingerprint of the filters and the sort, carried in page tokens so a token cannot be
// replayed with different filters (which would silently skip or repeat rows).
std::string FilterHash(const TransactionFilters& filters, SortOrder sort);

struct PageToken {
  SortOrder sort = SortOrder::kDateDescending;
  PagePosition position;
  std::string filter_hash;
};
// Opaque base64url text with a checksum, so a truncated or edited token is refused.
std::string EncodePageToken(const PageToken& token);
std::optional<PageToken> DecodePageToken(std::string_view text);

// The change feed: GET /banks/transactions/sync?cursor=&limit=.
struct ChangeFeedQuery {
  int64_t after_seq = 0;  // 0 is the beginning of the feed.
  int64_t limit = kChangeLimitDefault;
};
// Errors: kValidationFailed naming `cursor`, `limit` or an unknown parameter.
Result<ChangeFeedQuery> ParseChangeFeedQuery(
    std::span<const std::pair<std::string, std::string>> params);
std::string EncodeChangeCursor(int64_t seq);
std::optional<int64_t> DecodeChangeCursor(std::string_view text);

enum class ChangeKind : uint8_t { kAdded, kModified, kRemoved };
std::optional<ChangeKind> ParseChangeKind(std::string_view text);

struct Change {
  int64_t seq = 0;
  int64_t transaction_id = 0;
  int64_t bank_account_id = 0;
  ChangeKind kind = ChangeKind::kAdded;
};

struct RemovedTransaction {
  int64_t id = 0;
  int64_t bank_account_id = 0;
};

// Several changes to one transaction within a page collapse into what a client needs to
// reach the current state: added then modified is "added" (the current object is sent);
// modified then removed is "removed"; added then removed is nothing at all, since the client
// never saw it. Removed then added (a reused id) is "added", which a client applies as an
// upsert. Output is ordered by each transaction's last change.
struct CollapsedChanges {
  std::vector<int64_t> added;
  std::vector<int64_t> modified;
  std::vector<RemovedTransaction> removed;
};
CollapsedChanges CollapseChanges(std::span<const Change> changes);

// base64url without padding (RFC 4648 section 5); exposed for tests.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace finsync::sync
