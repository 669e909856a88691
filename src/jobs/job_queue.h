// The durable job queue: jobs live in the `jobs` table, so a restart loses none and several
// server processes sharing one database share the work. This class is the storage side
// (enqueue, claim under a lease, record outcomes, list, purge); jobs::Workers runs handlers.
//
// Claiming is one atomic UPDATE that moves due queued jobs to running under a lease
// (lease_owner, lease_expires_at_ms). A lease that expires (its worker died) returns the job
// to the queue, so execution is at-least-once and handlers must be idempotent (see job.h).
// Every outcome is recorded only if the recording worker still holds the claim, so a worker
// that lost its lease cannot overwrite the result of the worker that took over.
//
// Scheduler queries (claim, next due, lease expiry, purge) span all users by design; every
// query made on behalf of a user (get, list, cancel) filters by user_id.
//
// Thread-safe: all state is in the store, except the wake listeners (guarded by a mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "jobs/job.h"
#include "store/database.h"

namespace finsync::jobs {

// Checks a NewJob; one entry per broken rule (fields: kind, payload, dedupe_key,
// max_attempts).
std::vector<FieldError> ValidateNewJob(const NewJob& job);

// The state a claimed job moves to when its handler returns; built by the worker from a
// JobOutcome (see ResolveOutcome in worker.h).
struct JobTransition {
  JobState state = JobState::kSucceeded;  // Never kRunning.
  int64_t run_at_ms = 0;                  // Next run when state is kQueued; else unchanged.
  int32_t attempts = 0;
  std::optional<std::string> last_error{};
};

struct JobListOptions {
  std::optional<std::string> kind{};
  std::optional<JobState> state{};
  std::optional<int64_t> before_id{};  // Keyset cursor: only jobs with a smaller id.
  int32_t limit = 100;                 // Clamped to [1, 1000].
};

class JobQueue {
 public:
  // Both must outlive the queue.
  JobQueue(store::Database& database, const Clock& clock) : database_(database), clock_(clock) {}
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Adds a job, or returns the id of the live job of the same user holding the same dedupe
  // key (claimed through the unique index, never by select-then-insert). Durable on return,
  // and wakes this process's workers. Errors: kValidationFailed, store errors.
  Result<int64_t> Enqueue(const NewJob& job);
  // Like Enqueue, but when the live job with that key is queued later than job.run_at_ms it
  // is moved earlier ("sync now" on a recurring sync). A running job is left as it is.
  Result<int64_t> EnqueueOrAdvance(const NewJob& job);

  // The same, inside the caller's own Database::Write, so the job commits (or rolls back)
  // together with the work that caused it. Workers in this process are not woken because
  // the job is not committed yet: call Wake() after the Write returns, or the job starts
  // within the workers' idle_wait_max_ms.
  Result<int64_t> Enqueue(store::Connection& connection, const NewJob& job);
  Result<int64_t> EnqueueOrAdvance(store::Connection& connection, const NewJob& job);

  // Moves a live job to cancelled. A handler already running is not interrupted, but its
  // outcome is discarded (a cancelled recurring job does not reschedule itself). Returns
  // false when there is no such live job for this user.
  Result<bool> Cancel(int64_t user_id, int64_t job_id);
  Result<bool> CancelByDedupeKey(int64_t user_id, std::string_view dedupe_key);

  Result<std::optional<Job>> Get(int64_t user_id, int64_t job_id);
  // The user's jobs, newest first.
  Result<std::vector<Job>> List(int64_t user_id, const JobListOptions& options);

  // The earliest time something becomes claimable: a queued job's run_at_ms (only among
  // `kinds`, all kinds when empty) or any running job's lease expiry. nullopt when the queue
  // holds no live job. May be in the past.
  Result<std::optional<int64_t>> NextDueAtMs(std::span<const std::string> kinds = {});

  // Atomically claims up to `limit` due queued jobs of `kinds` for `owner`, earliest run_at
  // first, with a lease ending lease_ms from now; each claim counts one attempt. Before
  // claiming it returns jobs whose lease expired to the queue (or fails them when that was
  // their last attempt).
  Result<std::vector<Job>> Claim(std::span<const std::string> kinds, std::string_view owner,
                                 int32_t limit, int64_t lease_ms);
  // Records the outcome of a claim. Returns false (and changes nothing) when the claim is no
  // longer held: the job was cancelled, or its lease expired and it was claimed again.
  Result<bool> Complete(const Job& claimed, const JobTransition& transition);
  // Extends the leases of these claims to lease_ms from now; returns how many are still held.
  Result<int64_t> RenewLeases(std::span<const Job> claimed, int64_t lease_ms);
  // Puts claimed jobs that never started back in the queue, un-counting their attempt.
  Result<int64_t> ReleaseLeases(std::span<const Job> claimed);

  // Deletes jobs that finished more than older_than_ms ago, in bounded batches. Returns how
  // many were deleted.
  Result<int64_t> PurgeFinished(int64_t older_than_ms);

  // Wake listeners are called after every committed Enqueue in this process (workers use
  // this to start new jobs at once instead of at their next poll). A listener must be quick
  // and must not add or remove listeners.
  int64_t AddWakeListener(std::function<void()> listener);
  void RemoveWakeListener(int64_t listener_id);
  void Wake();

  const Clock& clock() const { return clock_; }

 private:
  Result<int64_t> Insert(store::Connection& connection, const NewJob& job, bool advance);
  Result<int64_t> EnqueueAndWake(const NewJob& job, bool advance);

  store::Database& database_;
  const Clock& clock_;

  std::mutex listeners_mutex_;
  int64_t next_listener_id_ = 1;                        // GUARDED_BY(listeners_mutex_)
  std::map<int64_t, std::function<void()>> listeners_;  // GUARDED_BY(listeners_mutex_)
};

}  // namespace finsync::jobs
