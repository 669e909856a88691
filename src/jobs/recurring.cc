#include "jobs/recurring.h"

#include <cassert>

namespace finsync::jobs {

std::string DedupeKey(std::string_view prefix, int64_t id) {
  return std::string(prefix) + ":" + std::to_string(id);
}

Result<int64_t> EnsureRecurring(JobQueue& queue, const RecurringJob& job) {
  if (job.dedupe_key.empty()) {
    return Error{ErrorCode::kValidationFailed,
                 "a recurring job needs a dedupe key",
                 {{"dedupe_key", "is required"}}};
  }
  return queue.Enqueue(NewJob{.kind = job.kind,
                              .payload = job.payload,
                              .user_id = job.user_id,
                              .run_at_ms = job.first_run_at_ms,
                              .dedupe_key = job.dedupe_key,
                              .max_attempts = job.max_attempts});
}

int64_t NextRunOnGridMs(int64_t previous_run_at_ms, int64_t interval_ms, int64_t now_ms) {
  assert(interval_ms > 0);
  if (previous_run_at_ms > now_ms) return previous_run_at_ms;
  int64_t slots_passed = (now_ms - previous_run_at_ms) / interval_ms;
  return previous_run_at_ms + (slots_passed + 1) * interval_ms;
}

JobOutcome RunAgainEvery(const Job& job, int64_t interval_ms, int64_t now_ms) {
  return JobOutcome::RescheduleAt(NextRunOnGridMs(job.run_at_ms, interval_ms, now_ms));
}

}  // namespace finsync::jobs
