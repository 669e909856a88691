// The sync layer's business functions: bank connections and their consent life cycle, bank
// accounts and their configuration, balances, and syncing an account from its source through
// the ingest pipeline. No HTTP here; errors are finsync::Error values the API renders.
// Thread-safe: state lives in the store; sources must be thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "events/publisher.h"
#include "ingest/ingest.h"
#include "sources/catalog.h"
#include "sources/source.h"
#include "store/database.h"
#include "sync/model.h"

namespace finsync::sync {

// Operations only a simulated bank offers: deciding its consent page from the API (for
// scripts and tests), and injecting faults.
class ConsentSimulator {
 public:
  virtual ~ConsentSimulator() = default;
  virtual Status Decide(std::string_view consent_reference, bool approve) = 0;
  virtual Status SetFaults(std::string_view consent_reference, std::string_view spec) = 0;
  // Checks a fault plan's text without applying it (kValidationFailed with the reason).
  virtual Status ValidateFaults(std::string_view spec) = 0;
};

struct SourceEntry {
  sources::Source* source = nullptr;
  ConsentSimulator* simulator = nullptr;  // Null for real banks.
};

// Source by integrator name ("SANDBOX", ...).
using SourceRegistry = std::map<std::string, SourceEntry, std::less<>>;

struct NewConnection {
  std::string bank_id;
  std::optional<int32_t> max_historical_days;    // Default and cap: the bank's.
  std::optional<int32_t> access_valid_for_days;  // Default and cap: the bank's.
  std::string redirect_url;
  bool sync_balances = true;
  std::string sandbox_faults;  // Fault plan for the sandbox bank, e.g. "server_error*3".
};

struct AccountUpdate {
  std::optional<std::optional<std::string>> display_name;
  std::optional<AccountSettings> settings;  // Complete settings after merging the request.
};

struct SyncRequest {
  bool transactions = true;
  bool balances = true;
  bool details = false;
  std::optional<domain::Date> date_from;  // Default: the last sync minus a margin, or start.
  bool manual = false;                    // Manual syncs are limited to one a minute.
};

struct SyncReport {
  ingest::Outcome transactions;
  int64_t balances_stored = 0;
  bool details_updated = false;
};

// Called after each account sync with what changed, for events and deliveries.
using SyncListener = std::function<void(const BankAccount&, const SyncReport&)>;
// Called when an account is created or its sync settings change (user_id, account_id), so
// the scheduler can plan its syncs.
using AccountListener = std::function<void(int64_t, int64_t)>;

class BankDataService {
 public:
  BankDataService(store::Database& database, const Clock& clock, const sources::Catalog& catalog,
                  SourceRegistry sources, ingest::Pipeline& pipeline);

  const sources::Catalog& catalog() const { return catalog_; }

  // Connections. Errors: kValidationFailed (unknown bank, limits), kNotFound, and the
  // source's failures as kUnavailable with the integrator's message.
  Result<BankConnection> CreateConnection(int64_t user_id, const NewConnection& request);
  Result<std::vector<BankConnection>> ListConnections(int64_t user_id);
  Result<BankConnection> GetConnection(int64_t user_id, int64_t connection_id);
  Status DeleteConnection(int64_t user_id, int64_t connection_id);
  Result<BankConnection> DisableConnection(int64_t user_id, int64_t connection_id);
  // Starts a new consent for the same bank: a new auth_url; accounts and data are kept.
  Result<BankConnection> ReconfirmConsent(int64_t user_id, int64_t connection_id,
                                          std::optional<int32_t> access_valid_for_days);
  // Approves or rejects the sandbox consent page, then refreshes the connection.
  Result<BankConnection> DecideSandboxConsent(int64_t user_id, int64_t connection_id, bool approve);
  Result<BankConnection> SetSandboxFaults(int64_t user_id, int64_t connection_id,
                                          std::string_view spec);
  // Reads the consent's status from the source; once linked, creates the accounts.
  Result<BankConnection> RefreshConnection(int64_t user_id, int64_t connection_id);
  // Finds a connection by its consent reference (for the consent page callback).
  Result<BankConnection> FindByConsent(std::string_view integrator,
                                       std::string_view consent_reference);

  // Accounts.
  Result<std::vector<BankAccount>> ListAccounts(int64_t user_id,
                                                std::optional<int64_t> connection_id);
  Result<BankAccount> GetAccount(int64_t user_id, int64_t account_id);
  Result<BankAccount> UpdateAccount(int64_t user_id, int64_t account_id,
                                    const AccountUpdate& update);
  Status DeleteAccount(int64_t user_id, int64_t account_id);
  Result<BankAccount> ResetAccountSettings(int64_t user_id, int64_t account_id);
  // Every account of every user that syncs automatically: (user_id, account_id).
  Result<std::vector<std::pair<int64_t, int64_t>>> AutoSyncAccounts();

  // Syncs one account. Errors: kTooManyRequests (a manual sync within a minute of the last,
  // or the bank's own rate limit; both with retry_after_seconds), kConflict (connection not
  // linked, disabled, or its consent expired: needs the user), kUnavailable (a transient
  // source failure: timeout, 5xx; retry with backoff), kNotFound. Health is updated.
  Result<SyncReport> SyncAccount(int64_t user_id, int64_t account_id, const SyncRequest& request);

  // Balances.
  Result<std::vector<StoredBalance>> ListBalances(int64_t user_id, int64_t account_id);
  Result<StoredBalance> GetBalance(int64_t user_id, int64_t account_id, int64_t balance_id);
  Status DeleteBalance(int64_t user_id, int64_t account_id, int64_t balance_id);

  // Retention: deletes transactions and balances older than each user's retention_days.
  Result<int64_t> PurgeExpiredData();

  // Publishes bank_connection.consent_expiring once per consent for linked connections whose
  // consent ends within kConsentWarningDays (consent_warning_sent_at remembers it; a renewed
  // consent clears it). Returns how many were announced; 0 without a publisher.
  Result<int64_t> WarnExpiringConsents();

  void SetRuleStage(ingest::RuleStage* rules) { rules_ = rules; }
  void SetSyncListener(SyncListener listener) { listener_ = std::move(listener); }
  void SetAccountListener(AccountListener listener) { account_listener_ = std::move(listener); }
  // Webhook events (balance.updated, bank_connection.health_changed and .consent_expiring) are
  // published inside the Write that stores the change. Null (the default): none.
  void SetEventPublisher(events::Publisher* publisher) { publisher_ = publisher; }

 private:
  Result<SourceEntry> SourceFor(std::string_view integrator);
  Status RecordFailure(const BankAccount& account, const sources::SourceError& error);
  Status RecordSuccess(const BankAccount& account, const SyncReport& report,
                       const SyncRequest& request, int64_t now_ms);
  Status ApplyConsent(int64_t connection_id, const sources::Consent& consent);
  // The first date the user's retention keeps, when they set one.
  Result<std::optional<domain::Date>> RetentionStart(int64_t user_id, domain::Date today);
  Status CreateAccounts(const BankConnection& connection, sources::Source& source);
  // With a publisher: the connection's health status now, to compare after an update.
  Result<std::string> HealthBefore(store::Connection& connection, int64_t user_id,
                                   int64_t connection_id);
  // Publishes bank_connection.health_changed when the status differs from `before`.
  Status AnnounceHealth(store::Connection& connection, int64_t user_id, int64_t connection_id,
                        const std::string& before);
  // Publishes balance.updated when `balances` differ from what the account stores.
  Status AnnounceBalances(store::Connection& connection, const BankAccount& account,
                          const std::vector<sources::Balance>& balances, domain::Date today);

  store::Database& database_;
  const Clock& clock_;
  const sources::Catalog& catalog_;
  SourceRegistry sources_;
  ingest::Pipeline& pipeline_;
  ingest::RuleStage* rules_ = nullptr;
  SyncListener listener_;
  AccountListener account_listener_;
  events::Publisher* publisher_ = nullptr;
};

inline constexpr int64_t kConsentWarningDays = 7;

}  // namespace finsync::sync
