// Scheduled sync: each automatically syncing account has one recurring durable job
// ("sync:account:<id>"). A healthy account syncs every sync_frequency_in_minutes; after a
// failure it is retried a few times with backoff and jitter, then at most daily until it
// succeeds again; a consent that needs the user (expired, disabled) stops the job until the
// connection is linked again. The next run is computed, never polled for. Also the daily
// retention clean-up. Handlers are idempotent: a sync re-run ingests nothing twice.
#pragma once

#include <cstdint>

#include "common/clock.h"
#include "common/status.h"
#include "jobs/job_queue.h"
#include "jobs/worker.h"
#include "sync/bank_data.h"

namespace finsync::sync {

inline constexpr std::string_view kSyncAccountJob = "sync_account";
inline constexpr std::string_view kRetentionJob = "retention";
inline constexpr std::string_view kConsentWarningJob = "consent_expiry_warnings";
// Quick retries of a failed sync before falling back to the daily rhythm.
inline constexpr int32_t kQuickRetries = 3;

class SyncScheduler {
 public:
  SyncScheduler(BankDataService& bank_data, jobs::JobQueue& queue, const Clock& clock)
      : bank_data_(bank_data), queue_(queue), clock_(clock) {}

  // Registers the job kinds on `workers` (before it starts).
  void RegisterHandlers(jobs::Workers& workers);
  // Makes sure every automatically syncing account and the retention job are scheduled;
  // idempotent (dedupe keys), called at start-up and whenever accounts change.
  Status EnsureScheduled();
  // Schedules one account's next sync now (or advances an existing later one).
  Status ScheduleAccount(int64_t user_id, int64_t account_id);

  // The job handler, public for tests.
  jobs::JobOutcome RunAccountSync(const jobs::Job& job);

 private:
  BankDataService& bank_data_;
  jobs::JobQueue& queue_;
  const Clock& clock_;
};

}  // namespace finsync::sync
