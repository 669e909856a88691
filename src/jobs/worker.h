// The worker pool: runs registered handlers for due jobs of a JobQueue.
//
// One dispatcher thread claims due jobs (one atomic UPDATE per claim, at most poll_limit jobs,
// never more than the pool can start soon), hands them to thread_count worker threads, renews
// the leases of the jobs it holds every lease_ms / 3, and records outcomes. When nothing is
// due it sleeps until the next due time (JobQueue::NextDueAtMs), at most idle_wait_max_ms so
// jobs added by other processes are seen, or until an Enqueue in this process wakes it; it
// never polls in a tight loop.
//
// Several Workers, in one process or in many sharing the database, never run one job at the
// same time: a job runs only under its claim's lease, and leases are kept alive while the
// handler runs. A process that dies leaves leases that expire after lease_ms; the job is then
// claimed again (at-least-once: handlers must be idempotent, see job.h).
//
// Thread-safe. Register every kind before Start.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "jobs/backoff.h"
#include "jobs/job.h"
#include "jobs/job_queue.h"

namespace finsync::jobs {

// Runs one job and reports what happened. Called on a worker thread; must be idempotent.
// Throwing is a programmer error: it is logged and treated as RetryWithBackoff.
using Handler = std::function<JobOutcome(const Job&)>;

struct WorkerOptions {
  int32_t thread_count = 4;
  int64_t lease_ms = 60'000;               // How long a dead worker's jobs stay blocked.
  int32_t poll_limit = 16;                 // Most jobs claimed by one claim.
  BackoffPolicy backoff{};                 // For kinds registered without their own policy.
  std::optional<uint64_t> backoff_seed{};  // Fixed in tests; unset draws one from the OS.
  int64_t idle_wait_max_ms = 1'000;        // Longest sleep between looks at the queue.
  int64_t stop_timeout_ms = 30'000;        // How long Stop waits for running handlers.
  std::string owner_prefix = "worker";     // lease_owner is prefix:pid:random.
};

struct WorkerStats {
  int64_t claimed = 0;
  int64_t succeeded = 0;
  int64_t retried = 0;      // Queued again after a failed attempt.
  int64_t failed = 0;       // Finished as failed (Failed, or out of attempts).
  int64_t rescheduled = 0;  // RescheduleAt.
  int64_t lease_lost = 0;   // Outcome discarded: cancelled, or the lease was taken over.
  int64_t released = 0;     // Claimed but never started, returned by Stop.
};

// The claimed job's next state for a handler's outcome (pure, apart from drawing a backoff
// delay). Retries past max_attempts become failed; RescheduleAt resets attempts.
JobTransition ResolveOutcome(const Job& claimed, const JobOutcome& outcome, int64_t now_ms,
                             Backoff& backoff);

class Workers {
 public:
  // `queue` and `clock` must outlive the Workers.
  Workers(JobQueue& queue, const Clock& clock, WorkerOptions options);
  // Stops (see Stop), then waits for every thread without bound.
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  // Before Start only. A kind registered twice keeps the last handler.
  void Register(std::string kind, Handler handler);
  void Register(std::string kind, Handler handler, BackoffPolicy backoff);

  // Starts the dispatcher and the worker threads. Errors: kConflict when already started.
  Status Start();
  // Stops claiming, returns the leases of claimed jobs that have not started, and waits up to
  // stop_timeout_ms for running handlers; on success every thread has ended. kUnavailable
  // when some handlers are still running after that: their leases stay renewed until they
  // return, and the destructor waits for them. Must not be called from a handler.
  Status Stop();
  // True once Stop was called: long handlers may check it and return RescheduleAt early.
  bool stopping() const;

  // Claims and runs due jobs one at a time on the calling thread, up to max_jobs, and returns
  // how many ran. For tests and one-shot command-line runs; needs no Start.
  Result<int32_t> RunDue(int32_t max_jobs);

  const std::string& owner() const { return owner_; }
  WorkerStats Stats() const;

 private:
  struct Registration {
    Handler handler;
    std::unique_ptr<Backoff> backoff;  // Null: the pool's default.
  };
  struct Counters {
    std::atomic<int64_t> claimed{0}, succeeded{0}, retried{0}, failed{0}, rescheduled{0},
        lease_lost{0}, released{0};
  };

  void DispatchLoop();
  // Claims up to `capacity` jobs and queues them for the workers; returns how many.
  int32_t ClaimInto(int32_t capacity);
  // Milliseconds until the next job is due (0: due now), at most idle_wait_max_ms.
  int64_t WaitBeforeClaimMs();
  void RenewHeldLeases();
  void WorkerLoop();
  void RunOne(const Job& job);
  JobOutcome Invoke(const Registration& registration, const Job& job);
  void Record(const Job& job, const JobTransition& transition);
  void CountTransition(const JobTransition& transition);
  void ReturnUnstarted(const std::vector<Job>& jobs);
  void WaitForThreads();

  JobQueue& queue_;
  const Clock& clock_;
  const WorkerOptions options_;
  const std::string owner_;
  Backoff default_backoff_;
  // Written only before Start, read-only afterwards: no lock needed.
  std::map<std::string, Registration, std::less<>> registrations_;
  std::vector<std::string> kinds_;
  Counters counters_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;       // Signals ready_ or stopping_ changed.
  std::condition_variable dispatcher_wake_;  // Signals wake_requested_ or stopping_.
  std::condition_variable idle_;             // Signals running_ shrank.
  std::deque<Job> ready_;                    // GUARDED_BY(mutex_) Claimed, not started.
  std::map<int64_t, Job> running_;           // GUARDED_BY(mutex_) Started, not recorded.
  bool wake_requested_ = false;              // GUARDED_BY(mutex_)
  bool started_ = false;                     // GUARDED_BY(mutex_)
  bool stopping_ = false;                    // GUARDED_BY(mutex_)

  int64_t listener_id_ = 0;  // GUARDED_BY(mutex_)

  std::mutex join_mutex_;  // Serialises joining, as Stop and the destructor both join.
  std::thread dispatcher_;
  std::vector<std::thread> threads_;
};

}  // namespace finsync::jobs
