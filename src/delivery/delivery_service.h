// Transfer links and the delivery engine: what the TransferLinks and TransferLogs API calls,
// and the durable job that sends a link's transactions to its destination.
//
// How a transaction travels (one job per link, kind "deliver_transfer_link"):
//   1. Discover: bank transactions of the link's account newer than the link's cursor, dated
//      on or after transfer_start_date, get a transfer item (SCHEDULED, with a stable import
//      id) and a SCHEDULED transfer log, in one Write.
//   2. Send: due items are loaded with their bank transactions, the link's rules and then the
//      destination's rules shape the outgoing copies (SKIP_TRANSFER -> SKIPPED), and the copies
//      go to the destination in batches (Destination::batch_max per call).
//   3. Record: one Write per batch moves each item and its log to TRANSFERRED (with the
//      destination's id) or FAILED (with the destination's words), writes rule logs, and
//      publishes transfer.succeeded / transfer.failed.
//   Pending transactions that book are sent again as updates (on_booked_change) and logged
//   UPDATED. A crash between 2 and 3 leaves items SCHEDULED: the next run sends them again
//   under the same import ids and the destination answers the transaction it already holds, so
//   nothing is created twice. Failed sends are retried automatically with backoff
//   (kAutomaticAttemptsMax attempts), then only by "retry". A destination's rate limit
//   reschedules the job for when the destination allows more requests.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "delivery/destination.h"
#include "delivery/model.h"
#include "events/publisher.h"
#include "jobs/job_queue.h"
#include "jobs/worker.h"
#include "rules/rule_service.h"
#include "store/database.h"

namespace finsync::delivery {

struct RetryRequest {
  bool include_undone = false;  // Also send again transactions whose transfer was undone.
  std::optional<std::vector<int64_t>> bank_transaction_ids;  // Only these; default all.
};

struct UndoResult {
  int64_t transfer_log_id = 0;
  std::optional<TransferLog> undo_log;  // The UNDONE entry, when it worked.
  std::optional<Error> error;           // Why not, otherwise.
};

struct StatusCounts {
  std::map<TransferStatus, int64_t> counts;  // Only statuses that occur.
};

struct TransferStatistics {
  StatusCounts totals;
  std::map<int64_t, StatusCounts> by_link;                   // By transfer link id.
  std::vector<std::pair<std::string, StatusCounts>> series;  // Period ("2026-11-01" or
                                                             // "2026-11"), oldest first.
  int64_t transferred_amount_count = 0;
  // Amounts of TRANSFERRED logs not undone since (an UPDATED log is the same transaction).
  std::map<std::string, int64_t> transferred_minor_by_currency;
};

class DeliveryService {
 public:
  static constexpr std::string_view kJobKind = "deliver_transfer_link";
  static constexpr int64_t kAutomaticAttemptsMax = 8;
  static constexpr int64_t kSweepIntervalMs = 10 * 60'000;  // Idle links look again this often.
  static constexpr int64_t kRunBudgetMs = 20'000;           // One job run, then it yields.
  static constexpr int64_t kUndoBulkMax = 100;

  DeliveryService(store::Database& database, const Clock& clock, rules::RuleService& rules,
                  jobs::JobQueue& queue, DestinationOpeners openers);
  DeliveryService(const DeliveryService&) = delete;
  DeliveryService& operator=(const DeliveryService&) = delete;

  void SetPublisher(events::Publisher* publisher) { publisher_ = publisher; }
  void RegisterHandlers(jobs::Workers& workers);
  // Makes sure every active link has its (recurring) delivery job; called at start.
  Status EnsureScheduled();

  // Transfer links. Creating or activating a link schedules its first delivery at once.
  Result<TransferLink> CreateLink(int64_t user_id, const NewTransferLink& request);
  Result<TransferLink> GetLink(int64_t user_id, int64_t link_id);
  Result<std::vector<TransferLink>> ListLinks(int64_t user_id,
                                              std::optional<int64_t> bank_account_id,
                                              std::optional<DestinationType> destination_type,
                                              int64_t page_number, int64_t page_size,
                                              int64_t& total);
  Result<TransferLink> UpdateLink(int64_t user_id, int64_t link_id, const TransferLinkPatch& patch);
  // Deletes the link and its items; its logs stay (they are history). Transactions already at
  // the destination stay there.
  Status DeleteLink(int64_t user_id, int64_t link_id);
  Result<std::optional<DestinationSummary>> LinkDestination(int64_t user_id,
                                                            const TransferLink& link);
  Result<std::vector<int64_t>> LinkRuleIds(int64_t user_id, int64_t link_id);

  // Makes failed (and, when asked, undone) transfers due now and runs the link's delivery.
  // Returns how many transfers were rescheduled. Errors: kNotFound for a missing link.
  Result<int64_t> Retry(int64_t user_id, int64_t link_id, const RetryRequest& request);
  Result<int64_t> RetryAll(int64_t user_id, const RetryRequest& request);

  // Transfer logs, newest first.
  Result<std::vector<TransferLog>> ListLogs(int64_t user_id, const TransferLogFilter& filter);
  Result<TransferLog> GetLog(int64_t user_id, int64_t log_id);
  // Deletes the transaction at the destination, marks the transfer's logs undone and writes an
  // UNDONE entry (returned). The bank transaction may then be sent again (Retry with
  // include_undone). kConflict when the log is not a live TRANSFERRED/UPDATED entry.
  Result<TransferLog> Undo(int64_t user_id, int64_t log_id);
  std::vector<UndoResult> UndoMany(int64_t user_id, const std::vector<int64_t>& log_ids);

  Result<TransferStatistics> Statistics(int64_t user_id, const TransferStatisticsRequest& request);

  // Schedules delivery of every active link of the account (after a sync stored changes).
  Status ScheduleAccount(int64_t user_id, int64_t bank_account_id);
  Status ScheduleLink(int64_t user_id, int64_t link_id);
  // One job run for a link (public for tests and benchmarks).
  jobs::JobOutcome RunLink(int64_t user_id, int64_t link_id);

 private:
  enum class PassResult : uint8_t { kMore, kIdle, kGone };
  PassResult RunPass(int64_t user_id, int64_t link_id, int64_t& wait_until_ms,
                     std::optional<int64_t>& next_retry_at_ms);
  Result<int64_t> Discover(const TransferLink& link);
  Result<std::unique_ptr<Destination>> OpenDestination(int64_t user_id, DestinationType type,
                                                       int64_t destination_id);

  store::Database& database_;
  const Clock& clock_;
  rules::RuleService& rules_;
  jobs::JobQueue& queue_;
  DestinationOpeners openers_;
  events::Publisher* publisher_ = nullptr;
  // Links asked to run again (a retry, a sync, a reactivation) while their job may be running:
  // the queue cannot move a running job, so the run itself looks here before it goes idle.
  // In-process only; other processes' requests are seen by the next sweep.
  bool TakeWakeRequest(int64_t link_id);
  std::mutex wake_mutex_;
  std::set<int64_t> wake_requests_;  // Guarded by wake_mutex_.
};

// Translates a destination's error (which describes the destination's answer: a 401 from YNAB
// is kUnauthenticated) into one for our API's caller: a rejected stored token is a conflict
// to resolve by reconnecting, not a 401 of the caller's own token.
Error DestinationErrorForCaller(const Error& error);

}  // namespace finsync::delivery
