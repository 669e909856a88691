// The SimpleFIN protocol as pure functions: parsing what clients send (the query of
// GET /accounts, the Basic credentials), the date window a request covers, the mapping of a
// stored bank transaction to a SimpleFIN transaction, and rendering an Account Set in either
// protocol version. Nothing here touches the store or HTTP, so every rule is unit-tested and
// fuzzed on its own (tests/fuzz/simplefin_fuzz.cc).
//
// Protocol facts this file follows (https://www.simplefin.org/protocol.html):
//  - A setup token is the base64 of a claim URL; POST to it once returns the access URL
//    `scheme://user:password@host/path`; clients then GET <access URL>/accounts with HTTP
//    Basic authentication.
//  - /accounts takes start-date (inclusive) and end-date (exclusive) as Unix epoch seconds,
//    pending=1, account=<id> (repeatable), balances-only=1 and version (1 or 2).
//  - Version 1 answers {"errors": [strings], "accounts": [...]} with an "org" per account;
//    version 2 answers {"errlist": [{code, msg, conn_id?, account_id?}], "connections": [...],
//    "accounts": [...]} with a "conn_id" per account. Amounts are numeric strings, times are
//    epoch seconds, and a pending transaction's "posted" is 0.
//  - The SimpleFIN Bridge caps a request's date range at 90 days and says so in the errors
//    ("Requested date range exceeds limit of 90 days and was capped."); we do the same.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "domain/date.h"

namespace finsync::delivery::simplefin {

inline constexpr int64_t kSecondsPerDay = 86'400;
// The longest date range one request covers; longer ones are capped with an error entry.
inline constexpr int64_t kDateRangeDaysMax = 90;
// At most this many account= parameters; more is a client bug, refused with 400.
inline constexpr size_t kAccountFilterMax = 100;
// The largest epoch second a date parameter may name: 9999-12-31T23:59:59Z.
inline constexpr int64_t kEpochSecondsMax = 253'402'300'799;

enum class ProtocolVersion : uint8_t { kV1, kV2 };

// One entry of the errors list. `code` is the version 2 code ("gen.api", "con.auth",
// "act.failed", ...); version 1 shows only `message`.
struct ProtocolError {
  std::string code;
  std::string message;
  std::string connection_id;  // Version 2 "conn_id"; empty when not about a connection.
  std::string account_id;     // Version 2 "account_id"; empty when not about an account.
};

struct AccountsQuery {
  std::optional<int64_t> start_date;  // Epoch seconds, inclusive.
  std::optional<int64_t> end_date;    // Epoch seconds, exclusive.
  bool pending = false;
  bool balances_only = false;
  std::vector<std::string> account_ids;  // As sent, in order, without repeats.
  ProtocolVersion version = ProtocolVersion::kV1;
  // Parameters the protocol does not define: ignored, and reported as "gen.api" entries so a
  // misspelt filter is not silently unfiltered data.
  std::vector<std::string> unknown_parameters;
};

// Parses the query of GET /accounts. Dates are decimal epoch seconds; a fractional part is
// accepted (some clients divide milliseconds by 1000) and rounded up, which keeps both bounds
// exact for whole-second times. Booleans take 1/0/true/false. Errors are kBadRequest with one
// field error naming the parameter: a malformed or repeated value, a date beyond year 9999,
// more than kAccountFilterMax accounts.
Result<AccountsQuery> ParseAccountsQuery(
    std::span<const std::pair<std::string, std::string>> params);

// The transactions a request covers: [start, end) in epoch seconds (no end: unbounded), plus
// the error entries explaining any capping.
struct Window {
  int64_t start_seconds = 0;
  std::optional<int64_t> end_seconds;
  bool empty = false;  // end <= start: nothing matches.
  std::vector<ProtocolError> errors;
};

// Resolves a query's dates at `now_seconds`: without start-date the window starts 90 days
// before end-date (or now); a longer range keeps its end and is capped to 90 days with a
// "gen.api" entry; nothing before `retention_start` (the user's retention) is ever shown.
Window ResolveWindow(const AccountsQuery& query, int64_t now_seconds,
                     std::optional<domain::Date> retention_start);

struct BasicCredentials {
  std::string username;
  std::string password;
};

// Reads an `Authorization: Basic <base64(user:password)>` header value (scheme in any case,
// padding optional). nullopt for any other scheme, bad base64 or a missing ':'.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header_value);

// Standard base64 (RFC 4648 section 4) with padding, and its decoder (padding optional;
// nullopt on any byte outside the alphabet or a misplaced '=').
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

// Client text echoed in an error entry (an unknown parameter, an unknown account id) with
// every byte outside printable ASCII replaced by '?', so answers stay valid UTF-8 JSON.
std::string PrintableText(std::string_view text);

// `root_url` with "username:password@" inserted after the scheme: the access URL.
std::string AccessUrl(std::string_view root_url, std::string_view username,
                      std::string_view password);

// The stored fields a SimpleFIN transaction is made of.
struct StoredTransaction {
  int64_t id = 0;
  bool pending = false;
  std::optional<domain::Date> booking_date;
  std::optional<domain::Date> value_date;
  std::optional<int64_t> booking_datetime_ms;
  std::optional<int64_t> value_datetime_ms;
  domain::Date generated_date;
  int64_t amount_minor = 0;
  int32_t exponent = 2;
  std::string generated_payee;
  std::string generated_description;
  std::string remittance_unstructured;
  std::string remittance_structured;
};

struct Transaction {
  std::string id;
  int64_t posted = 0;  // 0 for pending transactions.
  std::string amount;
  std::string description;
  std::string payee;
  std::string memo;
  int64_t transacted_at = 0;
  bool pending = false;
};

// id: finsync's id; posted: the booking date (else the generated date) at 00:00 UTC, or 0
// when pending; transacted_at: the value time, else the booking time, else the value,
// booking or generated date at 00:00 UTC; description: the generated description, else the
// payee; memo: the bank's remittance text.
Transaction ToProtocolTransaction(const StoredTransaction& stored);

// The instant a window filters on: `posted`, or for a pending transaction `transacted_at`.
int64_t FilterInstant(const Transaction& transaction);
bool InWindow(const Window& window, const Transaction& transaction);
// Spec order: by posted (pending ones, posted 0, first), then transacted_at, then id.
void SortTransactions(std::vector<Transaction>& transactions);

struct Connection {
  std::string id;
  std::string name;
  std::string organization_id;
};

struct Account {
  std::string id;
  std::string name;
  std::string currency;
  std::string balance;
  std::optional<std::string> available_balance;
  int64_t balance_date = 0;
  std::string connection_id;  // The id of one of the set's connections.
  std::vector<Transaction> transactions;
};

struct AccountSet {
  std::vector<ProtocolError> errors;
  std::vector<Connection> connections;
  std::vector<Account> accounts;
};

// Renders an Account Set. `root_url` is this server's SimpleFIN root ("sfin-url").
std::string RenderAccountSet(const AccountSet& set, ProtocolVersion version,
                             std::string_view root_url);
// An Account Set holding only errors, readable by clients of either version (it carries
// "errors", "errlist", "connections" and "accounts"): the body of a refused request.
std::string RenderErrorsOnly(const std::vector<ProtocolError>& errors);
// GET /info.
std::string RenderInfo();

}  // namespace finsync::delivery::simplefin
