// YNAB connections and the local mirror of their budgets (Synci's YnabConnections and
// YnabBudgets groups).
//
// A connection is one YNAB personal access token, checked with GET /user when created and
// stored only sealed (SecretBox purpose "ynab_token", the sealed bytes in token_ciphertext, as
// delivery/ynab_destination.cc reads them). Each refresh
// lists the budgets and then, for every enabled budget the user has not deleted, asks YNAB for
// what changed since the stored server_knowledge (accounts always; payees, categories and
// transactions when the connection's sync_* flags say so) and applies it in one Database::Write
// per budget. The first transaction mirror reaches back `transactions_history_days`.
//
// Health follows bank connections (sync/model.h): a failed refresh makes the connection
// FAILING, kDeadAfterFailures failures in a row or a token YNAB rejects make it DEAD, and a
// successful refresh makes it HEALTHY again. A durable recurring job ("ynab_refresh_connection",
// one per connection) refreshes every enabled connection every `refresh_interval_ms`.
//
// Deleting a budget or an account stops mirroring it: the row stays with ignored = 1 (hidden
// from every list and from ResolveAccount, never re-created by a refresh) and its mirrored
// payees, categories and transactions are removed. Deleting a connection deletes everything
// under it and ends its job.
//
// Errors are finsync's, not YNAB's: YNAB's answers are translated (YnabErrorForCaller) so a
// token YNAB rejects on create is kValidationFailed naming access_token, a stored token YNAB
// rejects later is kConflict, YNAB's rate limit is kTooManyRequests with its wait, and every
// other YNAB failure is kUnavailable. Thread-safe; refreshes of one connection are serialised.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/secret_box.h"
#include "common/status.h"
#include "delivery/ynab/ynab_client.h"
#include "jobs/job_queue.h"
#include "jobs/worker.h"
#include "store/database.h"
#include "sync/model.h"

namespace finsync::delivery::ynab {

inline constexpr std::string_view kTokenPurpose = "ynab_token";
inline constexpr std::string_view kRefreshJob = "ynab_refresh_connection";
inline constexpr size_t kAccessTokenMaxLength = 1000;

struct YnabConnection {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string ynab_user_id;
  bool enabled = true;
  bool sync_balances = true;
  bool sync_payees = true;
  bool sync_categories = true;
  bool sync_transactions = true;
  sync::Health health;
  std::optional<int64_t> last_synced_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct YnabBudget {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t connection_id = 0;
  std::string ynab_id;
  bool enabled = true;
  std::string name;
  std::string currency;
  std::string first_month;
  std::string last_month;
  std::optional<int64_t> last_synced_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct YnabBudgetAccount {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t budget_id = 0;
  std::string ynab_id;
  std::string currency;  // The budget's.
  std::string name;
  std::string type;
  bool on_budget = true;
  bool closed = false;
  bool deleted = false;
  std::optional<std::string> note;
  int64_t balance_milliunits = 0;
  int64_t cleared_balance_milliunits = 0;
  int64_t uncleared_balance_milliunits = 0;
  std::optional<std::string> transfer_payee_id;
  bool direct_import_linked = false;
  std::optional<std::string> last_reconciled_at;
  sync::Health health;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct YnabPayee {
  int64_t id = 0;
  int64_t budget_id = 0;
  std::string ynab_id;
  std::string name;
  std::optional<std::string> transfer_account_id;
  bool deleted = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct YnabCategory {
  int64_t id = 0;
  int64_t budget_id = 0;
  std::string ynab_id;
  std::string category_group_id;
  std::string category_group_name;
  std::string name;
  bool hidden = false;
  bool deleted = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct YnabBudgetTransaction {
  int64_t id = 0;
  int64_t budget_id = 0;
  std::string ynab_id;
  std::optional<int64_t> account_id;  // The ynab_budget_accounts row, when mirrored.
  std::string account_ynab_id;
  std::string currency;
  std::string date;
  int64_t amount_milliunits = 0;
  std::optional<std::string> memo;
  std::string cleared;
  bool approved = false;
  std::optional<std::string> flag_color;
  std::optional<std::string> payee_id;
  std::optional<std::string> payee_name;
  std::optional<std::string> category_id;
  std::optional<std::string> category_name;
  std::optional<std::string> import_id;
  bool deleted = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct NewYnabConnection {
  std::string access_token;
  bool sync_balances = true;
  bool sync_payees = true;
  bool sync_categories = true;
  bool sync_transactions = true;
};

struct BudgetUpdate {
  std::optional<bool> enabled;
};

// Keyset paging: `limit` items after `after` (an opaque position from a previous page).
struct PageRequest {
  int64_t limit = 50;
  std::optional<std::string> after;
};
inline constexpr int64_t kPageLimitMax = 500;

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next;  // Position of the last item when more follow.
};

struct TransactionFilter {
  std::optional<int64_t> account_id;  // A ynab_budget_accounts row.
  std::optional<std::string> since_date;
  std::optional<std::string> until_date;
  bool include_deleted = false;
};

// What delivery code needs to send to one YNAB account.
struct ResolvedAccount {
  int64_t connection_id = 0;
  int64_t budget_row_id = 0;
  std::string budget_ynab_id;
  std::string account_ynab_id;
  std::string currency;  // The budget's ISO 4217 code ("" when YNAB gives none).
};

struct MirrorOptions {
  int64_t refresh_interval_ms = 3'600'000;
  int64_t transactions_history_days = 90;  // How far back the first transaction mirror reads.
};

// Translates an error from YnabClient into what finsync's caller should see (see above).
// `token_field` names the request field for a rejected token on create ("" otherwise).
Error YnabErrorForCaller(const Error& ynab_error, const std::string& token_field);

class YnabMirror {
 public:
  YnabMirror(store::Database& database, const Clock& clock, YnabClient& client,
             const SecretBox& secret_box, MirrorOptions options);

  // Checks the token with YNAB, stores the connection and mirrors it once. A YNAB outage
  // after the token check leaves the connection FAILING (the job retries); it is still created.
  Result<YnabConnection> CreateConnection(int64_t user_id, const NewYnabConnection& request);
  Result<std::vector<YnabConnection>> ListConnections(int64_t user_id);
  Result<YnabConnection> GetConnection(int64_t user_id, int64_t connection_id);
  Status DeleteConnection(int64_t user_id, int64_t connection_id);
  // Refreshes now; the answer is the connection after the refresh, or the refresh's error.
  Result<YnabConnection> RefreshConnection(int64_t user_id, int64_t connection_id);

  Result<std::vector<YnabBudget>> ListBudgets(int64_t user_id,
                                              std::optional<int64_t> connection_id);
  Result<YnabBudget> GetBudget(int64_t user_id, int64_t budget_id);
  Result<YnabBudget> UpdateBudget(int64_t user_id, int64_t budget_id, const BudgetUpdate& update);
  Status DeleteBudget(int64_t user_id, int64_t budget_id);

  Result<std::vector<YnabBudgetAccount>> ListAccounts(int64_t user_id, int64_t budget_id);
  Result<YnabBudgetAccount> GetAccount(int64_t user_id, int64_t budget_id, int64_t account_id);
  Status DeleteAccount(int64_t user_id, int64_t budget_id, int64_t account_id);

  Result<Page<YnabPayee>> ListPayees(int64_t user_id, int64_t budget_id, const PageRequest& page);
  Result<Page<YnabCategory>> ListCategories(int64_t user_id, int64_t budget_id,
                                            const PageRequest& page);
  Result<Page<YnabBudgetTransaction>> ListTransactions(int64_t user_id, int64_t budget_id,
                                                       const TransactionFilter& filter,
                                                       const PageRequest& page);

  // For delivery: the connection's token (decrypted), and where a mirrored account lives
  // (kNotFound for an account the user deleted here or that was deleted in YNAB).
  Result<std::string> AccessToken(int64_t user_id, int64_t connection_id);
  Result<ResolvedAccount> ResolveAccount(int64_t user_id, int64_t budget_account_id);

  // Jobs: registers the refresh handler (before the workers start) and makes sure every
  // enabled connection has its recurring job (idempotent; at start-up).
  void RegisterJobs(jobs::Workers& workers);
  Status EnsureScheduled(jobs::JobQueue& queue);
  void SetJobQueue(jobs::JobQueue* queue) { queue_ = queue; }

  // The job handler, public for tests.
  jobs::JobOutcome RunRefreshJob(const jobs::Job& job);

 private:
  struct Loaded {
    YnabConnection connection;
    std::string token;
  };
  Result<Loaded> Load(int64_t user_id, int64_t connection_id);
  // The refresh itself (network, then one write per budget); records health either way.
  Status Refresh(const Loaded& loaded);
  Status RefreshBudget(const Loaded& loaded, const YnabBudget& budget);
  void RecordFailure(const YnabConnection& connection, const Error& error);
  std::shared_ptr<std::mutex> RefreshLock(int64_t connection_id);
  Status Schedule(int64_t user_id, int64_t connection_id);

  store::Database& database_;
  const Clock& clock_;
  YnabClient& client_;
  const SecretBox& secret_box_;
  MirrorOptions options_;
  jobs::JobQueue* queue_ = nullptr;
  std::mutex locks_mutex_;
  std::map<int64_t, std::shared_ptr<std::mutex>> refresh_locks_;  // Guarded by locks_mutex_.
};

}  // namespace finsync::delivery::ynab
