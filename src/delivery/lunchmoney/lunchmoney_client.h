// Lunch Money, one of finsync's destinations: the operations delivery needs, behind a small
// interface (`LunchMoneyApi`) so that a client of Lunch Money's v2 API can replace the v1 one
// without touching its callers, and the v1 client over net::HttpClient.
//
// Facts from the v1 documentation (https://lunchmoney.dev, source in
// github.com/lunch-money/developers, source/includes/_transactions.md, _user.md, _assets.md):
// - Bearer token per request; base URL https://dev.lunchmoney.app.
// - POST /v1/transactions inserts at most 500 transactions and answers {"ids": [...]} with the
//   ids of the transactions it inserted. A transaction whose external_id already exists on the
//   same asset is skipped without an error ("deduping by external_id will occur regardless of
//   this flag"), so the answer can hold fewer ids than were sent; InsertTransactions resolves
//   which ones were skipped (see there).
// - debit_as_negative=false is the default: positive amounts are expenses. finsync always sends
//   and asks for debit_as_negative=true, so here, as everywhere in finsync, a negative amount is
//   money out.
// - Limits: external_id <= 75 characters (unique per asset), payee <= 140, notes <= 350.
// - v1 cannot delete a transaction: the documentation lists DELETE only for transaction groups
//   (DELETE /v1/transactions/group/:id removes the group, not its transactions). Undo therefore
//   neutralises the transaction (RemoveTransaction); v2 has DELETE /transactions/{id}.
// - v1 often answers 200 with an error in the body ({"error": ...}); every answer is checked.
//
// Errors (finsync::Error, every message names Lunch Money and quotes its error text; never the
// token):
//   kUnauthenticated   401/403: Lunch Money rejected the token (revoked, mistyped).
//   kNotFound          404, or an error saying the transaction does not exist.
//   kValidationFailed  400/422, or a 2xx with an error body: Lunch Money refused the content.
//                      field_errors name "transactions.<n>" when Lunch Money numbers the
//                      transaction, else "lunch_money". Also our own checks before sending
//                      (lengths, batch size, currency), with the same field names.
//   kConflict          an error saying an external_id already exists (Lunch Money reports this
//                      when an update would give two transactions of one asset the same id).
//   kTooManyRequests   429; retry_after_seconds from Retry-After, else 60.
//   kUnavailable       5xx, a transport failure (DNS, connect, TLS, timeout), or an answer that
//                      is not what the documentation describes.
//   kBadRequest        the configured base URL is unusable or refused (private address).
// These codes describe Lunch Money, not the finsync request: API handlers must translate them
// (a rejected token is a 422 on access_token or a 409 on a stored connection, never a 401 that
// would look like the caller's own token failed).
//
// Thread-safe when the HttpClient is (it is); the client holds no mutable state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/date.h"
#include "net/http_client.h"

namespace finsync::delivery::lunchmoney {

inline constexpr std::string_view kDefaultBaseUrl = "https://dev.lunchmoney.app";
inline constexpr size_t kInsertBatchMax = 500;
// Lengths are in characters as Lunch Money counts them (UTF-16 code units, JavaScript's
// String.length): a character outside the Basic Multilingual Plane counts twice.
inline constexpr size_t kExternalIdLengthMax = 75;
inline constexpr size_t kPayeeLengthMax = 140;
inline constexpr size_t kNotesLengthMax = 350;
// GET /v1/transactions pages (limit) and the most pages one search reads.
inline constexpr int64_t kFindPageSize = 1000;
inline constexpr int64_t kFindPagesMax = 50;
// When Lunch Money sends no usable Retry-After with a 429.
inline constexpr int64_t kDefaultRetryAfterSeconds = 60;

// Length of UTF-8 `text` in UTF-16 code units (invalid bytes count one each).
size_t LunchMoneyLength(std::string_view text);
// `text` cut to at most `length_max` UTF-16 code units, never inside a UTF-8 sequence.
std::string TruncateForLunchMoney(std::string_view text, size_t length_max);

struct User {
  int64_t user_id = 0;
  std::string user_name;
  std::string user_email;
  int64_t account_id = 0;
  std::string budget_name;
  std::string primary_currency;  // Upper-case ISO code as finsync writes it ("USD").
  std::optional<std::string> api_key_label;
};

struct Asset {
  int64_t id = 0;
  std::string type_name;
  std::optional<std::string> subtype_name;
  std::string name;
  std::optional<std::string> display_name;
  // Exact decimal text: in the currency's minor units when finsync knows the currency and the
  // balance fits it ("1201.01"), else as Lunch Money wrote it (4 decimals).
  std::string balance;
  std::string currency;  // Upper-case ("CAD"); Lunch Money also knows a few non-ISO codes.
  std::optional<std::string> institution_name;
  bool closed = false;  // closed_on set or status "closed".
};

enum class TransactionStatus : uint8_t { kCleared, kUncleared };
std::string_view TransactionStatusName(TransactionStatus status);  // "cleared", "uncleared"

// A transaction as Lunch Money returns it, with amounts signed finsync's way (negative: out).
struct Transaction {
  int64_t id = 0;
  std::string date;    // YYYY-MM-DD.
  std::string amount;  // Exact decimal text as Lunch Money sent it ("-14.1800").
  std::string currency;
  std::string payee;
  std::optional<std::string> notes;
  std::string status;  // "cleared", "uncleared", "pending", ...
  bool is_pending = false;
  std::optional<int64_t> asset_id;
  std::optional<std::string> external_id;
  std::optional<int64_t> category_id;
};

// The amount in minor units of the transaction's currency. kValidationFailed when the currency
// is not one finsync knows or the amount has digits the currency cannot hold.
Result<int64_t> AmountMinor(const Transaction& transaction);

struct NewTransaction {
  int64_t asset_id = 0;
  domain::Date date;
  int64_t amount_minor = 0;          // Negative: money out.
  std::string currency;              // ISO 4217 code, any case; sent lower-case.
  std::string payee;                 // At most kPayeeLengthMax.
  std::optional<std::string> notes;  // At most kNotesLengthMax.
  TransactionStatus status = TransactionStatus::kUncleared;
  std::string external_id;  // Required, 1..kExternalIdLengthMax, unique per asset.
  std::optional<int64_t> category_id;
  std::vector<std::string> tags;  // Tag names; Lunch Money creates unknown ones.
};

struct InsertOptions {
  bool apply_rules = false;
  bool skip_duplicates = false;               // Lunch Money's own date+payee+amount dedup.
  bool skip_balance_update = true;            // Lunch Money's default.
  int64_t duplicate_search_margin_days = 31;  // See InsertTransactions.
};

enum class InsertOutcome : uint8_t {
  kInserted,   // Created by this request.
  kDuplicate,  // Lunch Money already had this external_id on this asset and skipped it.
};

struct InsertedTransaction {
  std::string external_id;
  InsertOutcome outcome = InsertOutcome::kInserted;
  // The Lunch Money id: the new transaction, or the existing one for a duplicate. Empty only
  // for a duplicate whose original lies outside the searched dates.
  std::optional<int64_t> id;
};

// Changes to one transaction; unset fields are left alone.
struct TransactionUpdate {
  std::optional<domain::Date> date;
  std::optional<int64_t> amount_minor;  // Needs currency.
  std::optional<std::string> currency;
  std::optional<std::string> payee;
  std::optional<std::string> notes;
  std::optional<TransactionStatus> status;
  std::optional<std::string> external_id;
  std::optional<int64_t> category_id;
};

enum class RemovalOutcome : uint8_t {
  kDeleted,      // The API deleted the transaction (v2).
  kNeutralised,  // The API cannot delete (v1): amount set to zero and the notes say why.
  kAlreadyGone,  // The transaction no longer exists (deleted in Lunch Money): nothing to do.
};

class LunchMoneyApi {
 public:
  virtual ~LunchMoneyApi() = default;

  virtual Result<User> GetMe(std::string_view token) = 0;
  // Manually-managed accounts ("assets"), the only ones finsync can insert into.
  virtual Result<std::vector<Asset>> ListAssets(std::string_view token) = 0;

  // Inserts 1..kInsertBatchMax transactions and answers one entry per transaction, in order.
  // Checked before sending (kValidationFailed naming "transactions.<n>.<field>"): lengths,
  // currency, a non-empty external_id, and no external_id twice for one asset in the batch.
  // When Lunch Money answers fewer ids than it was sent, it skipped duplicates; the client
  // then reads each asset's transactions between the batch's first date minus
  // duplicate_search_margin_days and its last date plus the margin, and tells inserted and
  // duplicate apart by external_id.
  virtual Result<std::vector<InsertedTransaction>> InsertTransactions(
      std::string_view token, const std::vector<NewTransaction>& transactions,
      const InsertOptions& options) = 0;

  virtual Result<Transaction> GetTransaction(std::string_view token, int64_t transaction_id) = 0;
  virtual Status UpdateTransaction(std::string_view token, int64_t transaction_id,
                                   const TransactionUpdate& update) = 0;

  // Every transaction of `asset_id` dated start..end (inclusive), read page by page (at most
  // kFindPagesMax pages of kFindPageSize; more is kUnavailable), for finding what an earlier
  // attempt inserted, e.g. after a crash between sending and recording.
  virtual Result<std::vector<Transaction>> FindTransactions(std::string_view token,
                                                            int64_t asset_id, domain::Date start,
                                                            domain::Date end) = 0;

  // Takes a delivered transaction back out of the budget: deletes it where the API can, else
  // neutralises it (see RemovalOutcome). `note` says why (e.g. "Undone in finsync") and is
  // put in front of the transaction's notes when neutralising. The external_id is kept, so a
  // later delivery of the same bank transaction must use a new external_id. Removing a
  // transaction that no longer exists succeeds with kAlreadyGone, so undo stays idempotent.
  virtual Result<RemovalOutcome> RemoveTransaction(std::string_view token, int64_t transaction_id,
                                                   std::string_view note) = 0;
};

// Lunch Money's v1 API.
class LunchMoneyV1Client final : public LunchMoneyApi {
 public:
  // `base_url` without the /v1 suffix; a trailing slash is ignored.
  explicit LunchMoneyV1Client(net::HttpClient& http, std::string_view base_url = kDefaultBaseUrl);

  Result<User> GetMe(std::string_view token) override;
  Result<std::vector<Asset>> ListAssets(std::string_view token) override;
  Result<std::vector<InsertedTransaction>> InsertTransactions(
      std::string_view token, const std::vector<NewTransaction>& transactions,
      const InsertOptions& options) override;
  Result<Transaction> GetTransaction(std::string_view token, int64_t transaction_id) override;
  Status UpdateTransaction(std::string_view token, int64_t transaction_id,
                           const TransactionUpdate& update) override;
  Result<std::vector<Transaction>> FindTransactions(std::string_view token, int64_t asset_id,
                                                    domain::Date start, domain::Date end) override;
  Result<RemovalOutcome> RemoveTransaction(std::string_view token, int64_t transaction_id,
                                           std::string_view note) override;

  const std::string& base_url() const { return base_url_; }

 private:
  Result<net::HttpResponse> Send(std::string_view method, std::string_view path_and_query,
                                 std::string_view token, std::string body,
                                 std::optional<int64_t> timeout_ms = std::nullopt);

  net::HttpClient& http_;
  std::string base_url_;
};

// The parsers behind the client, public for tests and the fuzz target
// (tests/fuzz/lunchmoney_fuzz.cc). Each takes a complete HTTP answer and turns any status or
// body into a value or one of the errors listed at the top; none trusts the body's shape.
namespace v1 {

// The finsync Error for a failed answer, or nullopt when it is a success (2xx without an
// error member). `what` names the operation for the message ("inserting transactions").
std::optional<Error> ErrorFor(const net::HttpResponse& response, std::string_view what);
Result<User> ParseUser(const net::HttpResponse& response);
Result<std::vector<Asset>> ParseAssets(const net::HttpResponse& response);
// The ids of an insert; kUnavailable when they are not positive integers.
Result<std::vector<int64_t>> ParseInsertIds(const net::HttpResponse& response);
Result<Transaction> ParseTransaction(const net::HttpResponse& response);
struct TransactionPage {
  std::vector<Transaction> transactions;
  bool has_more = false;
};
Result<TransactionPage> ParseTransactionPage(const net::HttpResponse& response);
Status ParseUpdateAnswer(const net::HttpResponse& response);
// The JSON body of POST /v1/transactions (checked as InsertTransactions describes).
Result<std::string> InsertBody(const std::vector<NewTransaction>& transactions,
                               const InsertOptions& options);

}  // namespace v1

}  // namespace finsync::delivery::lunchmoney
