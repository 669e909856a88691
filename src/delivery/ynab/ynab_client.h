// A typed client for YNAB's API (https://api.ynab.com/v1, described by
// ../shared/specs/ynab-openapi.yaml) over the outbound HTTP seam, so tests use a fake
// net::HttpClient or the fake YNAB server (tests/fakes/fake_ynab.py).
//
// Amounts are YNAB milliunits (int64; -294.23 is -294230), read from JSON integers exactly and
// never through a double. The access token is passed per call and only ever appears in the
// Authorization header; the client never logs requests or answers.
//
// Errors describe YNAB's answer, not what finsync's own caller should see:
//   401 -> kUnauthenticated ("YNAB rejected the access token: <detail>")
//   403 -> kInsufficientScope, 404 -> kNotFound, 409 -> kConflict, 400 -> kValidationFailed
//   429 -> kTooManyRequests with retry_after_seconds (Retry-After, else 300)
//   5xx, transport failures, unreadable answers -> kUnavailable
// API handlers must translate these: a token YNAB rejects while creating a connection is a 422
// naming access_token for finsync's caller, not a 401 (which would mean finsync's own token is
// wrong). Every message names YNAB and carries YNAB's `detail`.
//
// Client-side rate limit: YNAB allows 200 requests per rolling hour per token. The client
// counts its own requests per token (keyed by SHA-256 of the token, never the token) in a
// sliding window and, once `requests_per_hour` are used, answers kTooManyRequests with
// retry_after_seconds = when the oldest request leaves the window, without sending anything.
//
// Thread-safe: one client may be used from many threads at once.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "net/http_client.h"

namespace finsync::delivery::ynab {

// Field limits from YNAB's spec (SaveTransactionWithOptionalFields, NewTransaction). Lengths
// are in characters (Unicode code points), as JSON Schema's maxLength counts them.
inline constexpr size_t kImportIdMaxLength = 36;
inline constexpr size_t kPayeeNameMaxLength = 200;
inline constexpr size_t kMemoMaxLength = 500;
// Flag colours YNAB accepts; "" clears the flag.
inline constexpr std::string_view kFlagColors[] = {"red",   "orange", "yellow",
                                                   "green", "blue",   "purple"};
inline constexpr std::string_view kClearedStatuses[] = {"cleared", "uncleared", "reconciled"};
// YNAB's documented rate limit and the wait used when a 429 carries no Retry-After.
inline constexpr int kDefaultRequestsPerHour = 200;
inline constexpr int64_t kDefaultRetryAfterSeconds = 300;

struct YnabUser {
  std::string id;
};

struct Budget {
  std::string id;
  std::string name;
  std::string last_modified_on;  // RFC 3339 as YNAB sent it; "" when absent.
  std::string first_month;       // "YYYY-MM-DD"; "" when absent.
  std::string last_month;
  std::string currency;  // ISO 4217 code from currency_format; "" when YNAB gives none.
  int32_t currency_decimal_digits = 2;
};

struct Account {
  std::string id;
  std::string name;
  std::string type;  // checking, savings, creditCard, ... (YNAB's AccountType).
  bool on_budget = true;
  bool closed = false;
  std::optional<std::string> note;
  int64_t balance = 0;  // Milliunits.
  int64_t cleared_balance = 0;
  int64_t uncleared_balance = 0;
  std::optional<std::string> transfer_payee_id;
  bool direct_import_linked = false;
  std::optional<std::string> last_reconciled_at;
  bool deleted = false;
};

struct Payee {
  std::string id;
  std::string name;
  std::optional<std::string> transfer_account_id;
  bool deleted = false;
};

// One category with its group, flattened from YNAB's category_groups answer. A category in a
// deleted group counts as deleted.
struct Category {
  std::string id;
  std::string category_group_id;
  std::string category_group_name;
  std::string name;
  bool hidden = false;
  bool deleted = false;
};

struct Transaction {
  std::string id;
  std::string account_id;
  std::string date;    // "YYYY-MM-DD".
  int64_t amount = 0;  // Milliunits.
  std::optional<std::string> memo;
  std::string cleared;  // cleared, uncleared or reconciled.
  bool approved = false;
  std::optional<std::string> flag_color;
  std::optional<std::string> payee_id;
  std::optional<std::string> payee_name;
  std::optional<std::string> category_id;
  std::optional<std::string> category_name;
  std::optional<std::string> import_id;
  std::optional<std::string> transfer_account_id;
  std::optional<std::string> matched_transaction_id;
  bool deleted = false;
};

// A list answer with the server_knowledge to send as last_knowledge_of_server next time.
template <typename T>
struct Delta {
  std::vector<T> items;
  int64_t server_knowledge = 0;
};

// One transaction to create (import_id set, id unset) or update (id set). Unset fields are
// left out of the request (YNAB keeps its value on update); "" clears memo and flag_color.
struct SaveTransaction {
  std::optional<std::string> id;
  std::optional<std::string> import_id;
  std::optional<std::string> account_id;
  std::optional<std::string> date;  // "YYYY-MM-DD", not in the future.
  std::optional<int64_t> amount;    // Milliunits.
  std::optional<std::string> payee_id;
  std::optional<std::string> payee_name;
  std::optional<std::string> category_id;
  std::optional<std::string> memo;
  std::optional<std::string> cleared;
  std::optional<bool> approved;
  std::optional<std::string> flag_color;
};

struct SaveTransactionsResult {
  std::vector<Transaction> transactions;          // Created or updated, with ids and import_ids.
  std::vector<std::string> duplicate_import_ids;  // Not created: already on the account.
  int64_t server_knowledge = 0;
};

struct DeletedTransaction {
  Transaction transaction;
  int64_t server_knowledge = 0;
};

// Validation helpers: callers cut or drop fields before sending.

// Length in Unicode code points (invalid UTF-8 bytes count one each).
size_t CodePointLength(std::string_view text);
// The longest prefix of `text` with at most `max_code_points` code points; never splits a
// UTF-8 sequence.
std::string TruncateCodePoints(std::string_view text, size_t max_code_points);
bool IsFlagColor(std::string_view color);  // One of kFlagColors, or "".
bool IsClearedStatus(std::string_view status);
// Field errors named `<path>.<field>` (e.g. "transactions.2.memo") for every value YNAB would
// refuse: lengths, enums, dates, a create without account_id/date/amount, an update without id.
void ValidateSaveTransaction(const SaveTransaction& transaction, bool is_create,
                             const std::string& path, std::vector<FieldError>& errors);

struct YnabClientOptions {
  std::string base_url = "https://api.ynab.com/v1";  // No trailing slash needed.
  int requests_per_hour = kDefaultRequestsPerHour;
  const Clock* clock = &SystemClock::Instance();
};

class YnabClient {
 public:
  YnabClient(net::HttpClient& http, YnabClientOptions options);

  Result<YnabUser> GetUser(const std::string& token);
  Result<std::vector<Budget>> ListBudgets(const std::string& token);
  Result<Delta<Account>> ListAccounts(const std::string& token, const std::string& budget_id,
                                      std::optional<int64_t> last_knowledge_of_server);
  Result<Delta<Payee>> ListPayees(const std::string& token, const std::string& budget_id,
                                  std::optional<int64_t> last_knowledge_of_server);
  Result<Delta<Category>> ListCategories(const std::string& token, const std::string& budget_id,
                                         std::optional<int64_t> last_knowledge_of_server);
  // All transactions of the budget, or of one account when `account_id` is set; `since_date`
  // is "YYYY-MM-DD" (YNAB defaults to one year back when it is unset).
  Result<Delta<Transaction>> ListTransactions(const std::string& token,
                                              const std::string& budget_id,
                                              const std::optional<std::string>& account_id,
                                              const std::optional<std::string>& since_date,
                                              std::optional<int64_t> last_knowledge_of_server);
  // One POST with a `transactions` list. Every entry must pass ValidateSaveTransaction (else
  // kValidationFailed without sending). Duplicates come back in duplicate_import_ids.
  Result<SaveTransactionsResult> CreateTransactions(
      const std::string& token, const std::string& budget_id,
      const std::vector<SaveTransaction>& transactions);
  // One PATCH /budgets/{id}/transactions; every entry needs `id`.
  Result<SaveTransactionsResult> UpdateTransactions(
      const std::string& token, const std::string& budget_id,
      const std::vector<SaveTransaction>& transactions);
  Result<DeletedTransaction> DeleteTransaction(const std::string& token,
                                               const std::string& budget_id,
                                               const std::string& transaction_id);

 private:
  // Sends one request (counting it against the token's window) and returns a 2xx answer, or
  // the mapped error.
  Result<net::HttpResponse> Call(const std::string& token, const std::string& method,
                                 const std::string& path_and_query, std::string body);
  // Takes one slot of the token's window, or answers kTooManyRequests.
  Status TakeRateLimitSlot(const std::string& token);

  net::HttpClient& http_;
  YnabClientOptions options_;
  std::mutex mutex_;
  // SHA-256 hex of the token -> send times (ms) inside the last hour, oldest first.
  std::unordered_map<std::string, std::deque<int64_t>> sent_by_token_;  // Guarded by mutex_.
};

// Parsers of YNAB's answers, exposed for unit tests and tests/fuzz/ynab_response_fuzz.cc.
// `body` is a whole 2xx answer; errors are kUnavailable naming the field that is missing or
// of the wrong type.
namespace parse {
Result<YnabUser> User(std::string_view body);
Result<std::vector<Budget>> Budgets(std::string_view body);
Result<Delta<Account>> Accounts(std::string_view body);
Result<Delta<Payee>> Payees(std::string_view body);
Result<Delta<Category>> Categories(std::string_view body);
Result<Delta<Transaction>> Transactions(std::string_view body);
Result<SaveTransactionsResult> SaveTransactions(std::string_view body);
Result<DeletedTransaction> OneTransaction(std::string_view body);
// The finsync Error for a non-2xx answer (see the table at the top of this file).
Error ErrorFromAnswer(const net::HttpResponse& response);
}  // namespace parse

}  // namespace finsync::delivery::ynab
