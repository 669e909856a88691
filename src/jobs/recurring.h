// Recurring work on top of the queue: one job per schedule, kept unique by its dedupe key,
// that reschedules itself (JobOutcome::RescheduleAt) instead of finishing. The job keeps its
// id across runs, so cancelling it (CancelByDedupeKey) ends the schedule, and a restart or a
// second server never creates a second copy.
//
// Typical use, "sync account 17 every 30 minutes":
//   EnsureRecurring(queue, {.kind = "sync_account", .payload = R"({"bank_account_id":17})",
//                           .user_id = 4, .dedupe_key = DedupeKey("sync:account", 17)});
//   workers.Register("sync_account", [&](const Job& job) {
//     ... sync ...;
//     return RunAgainEvery(job, 30 * 60'000, clock.NowMilliseconds());
//   });
// A handler that wants a different cadence (daily while a connection is failing) returns
// JobOutcome::RescheduleAt with the time it computed; RetryWithBackoff or Failed end the
// schedule once attempts run out, so recurring handlers normally always reschedule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "jobs/job.h"
#include "jobs/job_queue.h"

namespace finsync::jobs {

// "sync:account" and 17 give "sync:account:17".
std::string DedupeKey(std::string_view prefix, int64_t id);

struct RecurringJob {
  std::string kind{};
  std::string payload = "{}";
  int64_t user_id = 0;
  std::string dedupe_key{};                  // Required: it is what makes the schedule unique.
  std::optional<int64_t> first_run_at_ms{};  // Unset: now.
  int32_t max_attempts = 10;                 // Per run: RescheduleAt resets the count.
};

// Creates the schedule's job unless a live one holds the key; either way returns its id.
// Safe to call at every start-up.
Result<int64_t> EnsureRecurring(JobQueue& queue, const RecurringJob& job);

// The first slot strictly after now_ms on the grid previous_run_at_ms + k * interval_ms.
// Keeping the grid stops runs drifting later by their own duration; skipping the slots that
// passed (a long outage, a stopped server) runs the work once instead of catching up.
int64_t NextRunOnGridMs(int64_t previous_run_at_ms, int64_t interval_ms, int64_t now_ms);

// RescheduleAt the next slot of the job's interval grid.
JobOutcome RunAgainEvery(const Job& job, int64_t interval_ms, int64_t now_ms);

}  // namespace finsync::jobs
