// The contract every bank integration fulfils: the built-in sandbox bank today, GoCardless,
// Enable Banking, SimpleFIN and statement files later. The pipeline (ingest, scheduler, API)
// talks only to this interface, so adding an integrator never touches it.
//
// The shape follows what aggregators offer: a consent (a GoCardless requisition, an Enable
// Banking session, a SimpleFIN access URL) grants access to the accounts of one institution
// for a limited time; through it we read account details, balances and transactions.
//
// Every call returns a SourceResult: the value, or a SourceError whose kind tells the caller
// exactly what to do next (retry now, retry later, ask the user to renew consent, give up).
// Nothing is thrown. Implementations are safe to call from several threads at once.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "domain/date.h"
#include "domain/transaction.h"

namespace finsync::sources {

// Why a call to an integrator failed. Each kind asks for a different reaction, which is why
// they are not folded into one "failed" with a message.
enum class SourceErrorKind : uint8_t {
  kTimeout,          // No answer in time. Retry with backoff.
  kRateLimited,      // The integrator refused for now: retry after retry_after_seconds.
  kServerError,      // The integrator failed (5xx, an unreadable answer). Retry with backoff.
  kConsentExpired,   // The consent no longer grants access (expired, revoked, rejected or
                     // suspended). Retrying cannot help; the user must renew the consent.
  kConsentNotFound,  // The integrator does not know this consent (deleted or never existed).
  kAccountNotFound,  // The consent exists but holds no such account.
  kInvalidRequest,   // The request is wrong (unknown institution, bad dates, a consent that is
                     // not linked yet). Retrying the same request cannot help.
};

// Stable snake_case names for logs, the API and fault specs: "timeout", "rate_limited", ...
std::string_view SourceErrorKindName(SourceErrorKind kind);

// True for the kinds a scheduler should retry on its own (timeout, rate limit, server error).
bool IsRetryable(SourceErrorKind kind);

struct SourceError {
  SourceErrorKind kind = SourceErrorKind::kServerError;
  std::string message;              // The integrator's own words, for humans; never parsed.
  int64_t retry_after_seconds = 0;  // How long to wait; meaningful for kRateLimited only.
};

// A value or one SourceError.
template <typename T>
class [[nodiscard]] SourceResult {
 public:
  SourceResult(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  SourceResult(SourceError error)                                              // NOLINT
      : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  T& value() {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const {
    assert(ok());
    return std::get<0>(state_);
  }
  const SourceError& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, SourceError> state_;
};

// What every call receives from its caller. The clock is the only source of "now", so tests
// and simulations decide when consents expire and when pending transactions book.
struct SourceContext {
  const Clock& clock;
  int64_t timeout_ms = 30'000;  // Upper bound for the whole call, for networked integrators.
};

// The requisition life cycle of GoCardless, which other integrators map onto.
enum class ConsentStatus : uint8_t {
  kCreated,                   // CR: created, the user has not opened the link yet.
  kGivingConsent,             // GC: the user is accepting the end-user agreement.
  kUndergoingAuthentication,  // UA: the user is signing in at the bank.
  kRejected,                  // RJ: the user or the bank refused. Final.
  kSelectingAccounts,         // SA: the user is choosing accounts.
  kGrantingAccess,            // GA: the bank is granting access.
  kLinked,                    // LN: access granted; accounts can be read.
  kSuspended,                 // SU: suspended by the integrator. Final.
  kExpired,                   // EX: access_valid_for_days have passed since linking. Final.
};

// The two-letter code: "CR", "GC", "UA", "RJ", "SA", "GA", "LN", "SU", "EX".
std::string_view ConsentStatusCode(ConsentStatus status);

// The reverse of ConsentStatusCode; exact upper-case codes only.
std::optional<ConsentStatus> ParseConsentStatusCode(std::string_view code);

// Whether a consent in this status can never grant access again (RJ, SU, EX).
bool IsFinal(ConsentStatus status);

struct ConsentRequest {
  std::string institution_id;        // A bank id from the catalog.
  int32_t max_historical_days = 90;  // How far back transactions may be read.
  int32_t access_valid_for_days = 90;
  std::string redirect_url;      // Where the integrator sends the user when done.
  std::string caller_reference;  // The caller's own reference, echoed back unchanged.
};

struct Consent {
  std::string consent_reference;  // The integrator's id; the key for every later call.
  std::string institution_id;
  std::string caller_reference;
  ConsentStatus status = ConsentStatus::kCreated;
  std::string auth_url;  // The link the user opens to authorise access.
  int32_t max_historical_days = 0;
  int32_t access_valid_for_days = 0;
  domain::Timestamp created_at;
  std::optional<domain::Timestamp> linked_at;   // Set once the consent reached LN.
  std::optional<domain::Timestamp> expires_at;  // linked_at + access_valid_for_days.
  std::vector<std::string> account_references;  // Filled once linked.
};

// Identifies one account: integrators such as Enable Banking and SimpleFIN can only read an
// account through the consent (session, access URL) that granted it.
struct AccountKey {
  std::string consent_reference;
  std::string account_reference;
};

struct AccountDetails {
  std::string account_reference;
  std::string iban;  // Empty when the bank gives none.
  std::string bban;  // The national account number; empty when unknown.
  std::string name;  // The bank's name for the account ("Girokonto").
  std::string owner_name;
  std::string currency;           // ISO 4217, upper case.
  std::string product;            // The bank's product name ("Girokonto Plus").
  std::string cash_account_type;  // ISO 20022 code: CACC current, SVGS savings, CARD, ...
};

// Berlin Group balance types, as GoCardless reports them.
enum class BalanceType : uint8_t {
  kClosingBooked,     // Booked balance at the end of reference_date.
  kExpected,          // Booked plus pending entries.
  kInterimAvailable,  // Available now: booked minus card holds (and plus any credit line).
  kInterimBooked,     // Booked so far today.
  kOpeningBooked,     // Booked balance at the start of reference_date.
  kForwardAvailable,  // Available at a future date.
  kNonInvoiced,       // Card spending not yet invoiced (credit cards).
};

// The Berlin Group name: "closingBooked", "interimAvailable", ...
std::string_view BalanceTypeName(BalanceType type);
std::optional<BalanceType> ParseBalanceTypeName(std::string_view name);

struct Balance {
  BalanceType type = BalanceType::kClosingBooked;
  int64_t amount_minor = 0;  // Signed, in the currency's ISO 4217 exponent.
  std::string currency;
  std::optional<domain::Date> reference_date;
};

// The dates of a transactions request. Both ends are inclusive, as in GoCardless. Booked
// transactions are selected by booking date, pending ones by value date.
struct TransactionQuery {
  domain::Date date_from;
  std::optional<domain::Date> date_to;  // Today by the context's clock when absent.
};

// Transactions as banks report them: booked ones with ids, pending ones that may lack ids
// and that come back later as booked with different ids. Each carries the integrator's record
// in raw_payload (JSON, GoCardless field names) and source set to the integrator's name.
struct AccountTransactions {
  std::vector<domain::BankTransaction> booked;
  std::vector<domain::BankTransaction> pending;
};

class Source {
 public:
  virtual ~Source() = default;

  // The integrator's name as the catalog spells it: "SANDBOX", "GOCARDLESS", ...
  virtual std::string_view integrator() const = 0;

  // Starts a consent at an institution. The answer is in status CR with the auth_url the user
  // must open. kInvalidRequest for an unknown institution or limits beyond the bank's.
  virtual SourceResult<Consent> StartConsent(const SourceContext& context,
                                             const ConsentRequest& request) = 0;

  // The consent's current status and, once linked, its accounts. An expired consent is
  // reported as status EX (not as an error), so callers can show it.
  virtual SourceResult<Consent> GetConsent(const SourceContext& context,
                                           std::string_view consent_reference) = 0;

  // Revokes the consent at the integrator; later calls answer kConsentNotFound.
  virtual SourceResult<std::monostate> DeleteConsent(const SourceContext& context,
                                                     std::string_view consent_reference) = 0;

  // The account references of a linked consent. kConsentExpired once it no longer grants
  // access; kInvalidRequest while it is not linked yet.
  virtual SourceResult<std::vector<std::string>> ListAccounts(
      const SourceContext& context, std::string_view consent_reference) = 0;

  virtual SourceResult<AccountDetails> GetAccountDetails(const SourceContext& context,
                                                         const AccountKey& account) = 0;

  virtual SourceResult<std::vector<Balance>> GetBalances(const SourceContext& context,
                                                         const AccountKey& account) = 0;

  // Booked and pending transactions in the query's dates. A date_from older than the
  // consent's max_historical_days is moved forward to the oldest allowed day, and a date_to
  // after today back to today, because that is all any bank would return; date_from after
  // date_to is kInvalidRequest.
  virtual SourceResult<AccountTransactions> GetTransactions(const SourceContext& context,
                                                            const AccountKey& account,
                                                            const TransactionQuery& query) = 0;
};

}  // namespace finsync::sources
