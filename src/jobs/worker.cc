#include "jobs/worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <exception>
#include <random>

#include "common/crypto.h"

namespace finsync::jobs {

namespace {

// When the queue says something is due but the claim found nothing (another process took
// it, or the clocks disagree by a hair), this floor keeps the dispatcher from spinning.
constexpr int64_t kIdleWaitMinMs = 5;
// Recording an outcome is retried briefly; after that the lease expires and the job runs
// again, which idempotent handlers tolerate.
constexpr int32_t kRecordAttempts = 3;
constexpr int64_t kRecordRetryMs = 50;
// A server asking for a longer wait than this is treated as asking for this: bounded delays.
constexpr int64_t kRetryAfterMaxMs = 7 * 24 * 3'600'000LL;

std::string MakeOwner(const std::string& prefix) {
  return prefix + ":" + std::to_string(::getpid()) + ":" + crypto::RandomBase62(12);
}

uint64_t SeedFrom(const std::optional<uint64_t>& seed) {
  if (seed) return *seed;
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

std::chrono::milliseconds Milliseconds(int64_t value) {
  return std::chrono::milliseconds(std::max<int64_t>(value, 0));
}

}  // namespace

JobTransition ResolveOutcome(const Job& claimed, const JobOutcome& outcome, int64_t now_ms,
                             Backoff& backoff) {
  using Kind = JobOutcome::Kind;
  switch (outcome.kind) {
    case Kind::kSucceeded:
      return {JobState::kSucceeded, claimed.run_at_ms, claimed.attempts, std::nullopt};
    case Kind::kFailed:
      return {JobState::kFailed, claimed.run_at_ms, claimed.attempts, outcome.message};
    case Kind::kRescheduleAt:
      return {JobState::kQueued, outcome.run_at_ms, 0, std::nullopt};
    case Kind::kRetryAfter:
    case Kind::kRetryWithBackoff:
      break;
  }
  if (claimed.attempts >= claimed.max_attempts) {
    return {JobState::kFailed, claimed.run_at_ms, claimed.attempts, outcome.message};
  }
  int64_t delay_ms = outcome.kind == Kind::kRetryAfter
                         ? std::clamp<int64_t>(outcome.delay_ms, 0, kRetryAfterMaxMs)
                         : backoff.DelayMs(claimed.attempts);
  return {JobState::kQueued, now_ms + delay_ms, claimed.attempts, outcome.message};
}

Workers::Workers(JobQueue& queue, const Clock& clock, WorkerOptions options)
    : queue_(queue),
      clock_(clock),
      options_(std::move(options)),
      owner_(MakeOwner(options_.owner_prefix)),
      default_backoff_(options_.backoff, SeedFrom(options_.backoff_seed)) {
  assert(options_.thread_count >= 1 && options_.lease_ms >= 3 && options_.poll_limit >= 1);
  assert(options_.idle_wait_max_ms >= kIdleWaitMinMs);
}

Workers::~Workers() {
  (void)Stop();
  WaitForThreads();
}

void Workers::Register(std::string kind, Handler handler) {
  std::lock_guard lock(mutex_);
  assert(!started_);
  registrations_[std::move(kind)] = Registration{std::move(handler), nullptr};
}

void Workers::Register(std::string kind, Handler handler, BackoffPolicy backoff) {
  std::lock_guard lock(mutex_);
  assert(!started_);
  auto own = std::make_unique<Backoff>(backoff, SeedFrom(options_.backoff_seed));
  registrations_[std::move(kind)] = Registration{std::move(handler), std::move(own)};
}

Status Workers::Start() {
  {
    std::lock_guard lock(mutex_);
    if (started_) return Error::Of(ErrorCode::kConflict, "workers already started");
    started_ = true;
    kinds_.clear();
    for (const auto& [kind, registration] : registrations_) kinds_.push_back(kind);
  }
  int64_t listener_id = queue_.AddWakeListener([this] {
    {
      std::lock_guard lock(mutex_);
      wake_requested_ = true;
    }
    dispatcher_wake_.notify_one();
  });
  {
    std::lock_guard lock(mutex_);
    listener_id_ = listener_id;
  }
  for (int32_t i = 0; i < options_.thread_count; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  dispatcher_ = std::thread([this] { DispatchLoop(); });
  return Status::Ok();
}

Status Workers::Stop() {
  std::vector<Job> unstarted;
  int64_t listener_id = 0;
  {
    std::lock_guard lock(mutex_);
    if (!started_) return Status::Ok();
    if (!stopping_) {
      stopping_ = true;
      unstarted.assign(ready_.begin(), ready_.end());
      ready_.clear();
    }
    std::swap(listener_id, listener_id_);
  }
  // Outside mutex_: a wake listener runs under the queue's lock and then takes mutex_.
  if (listener_id != 0) queue_.RemoveWakeListener(listener_id);
  work_ready_.notify_all();
  dispatcher_wake_.notify_all();
  ReturnUnstarted(unstarted);
  {
    std::unique_lock lock(mutex_);
    bool idle = idle_.wait_for(lock, Milliseconds(options_.stop_timeout_ms),
                               [this] { return running_.empty(); });
    if (!idle) {
      return Error::Of(ErrorCode::kUnavailable,
                       std::to_string(running_.size()) + " job handlers still running after " +
                           std::to_string(options_.stop_timeout_ms) + " ms");
    }
  }
  // Every thread now exits promptly; joining means nothing of this pool (a claim in flight
  // that the dispatcher hands back, say) happens after Stop returns.
  WaitForThreads();
  return Status::Ok();
}

void Workers::ReturnUnstarted(const std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  auto released = queue_.ReleaseLeases(jobs);
  if (released.ok()) {
    counters_.released += released.value();
    return;
  }
  spdlog::warn(R"({{"msg":"jobs: returning leases failed; they will expire","detail":"{}"}})",
               released.error().detail);
}

bool Workers::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void Workers::WaitForThreads() {
  std::lock_guard lock(join_mutex_);
  if (dispatcher_.joinable()) dispatcher_.join();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

Result<int32_t> Workers::RunDue(int32_t max_jobs) {
  std::vector<std::string> kinds;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [kind, registration] : registrations_) kinds.push_back(kind);
  }
  int32_t ran = 0;
  while (ran < max_jobs) {
    auto claimed = queue_.Claim(kinds, owner_, 1, options_.lease_ms);
    if (!claimed.ok()) return claimed.error();
    if (claimed.value().empty()) break;
    counters_.claimed += 1;
    RunOne(claimed.value().front());
    ++ran;
  }
  return ran;
}

WorkerStats Workers::Stats() const {
  return WorkerStats{counters_.claimed.load(),     counters_.succeeded.load(),
                     counters_.retried.load(),     counters_.failed.load(),
                     counters_.rescheduled.load(), counters_.lease_lost.load(),
                     counters_.released.load()};
}

void Workers::DispatchLoop() {
  using SteadyClock = std::chrono::steady_clock;
  const auto renew_interval = Milliseconds(options_.lease_ms / 3);
  auto next_renewal = SteadyClock::now() + renew_interval;
  while (true) {
    int32_t capacity = 0;
    bool holding = false;
    {
      std::lock_guard lock(mutex_);
      // After Stop the loop keeps renewing the leases of handlers still running, so no other
      // worker can start their jobs while they finish.
      if (stopping_ && running_.empty()) return;
      wake_requested_ = false;
      // Claim no more than the threads can start now plus one prefetched job per thread, so
      // workers never wait for a claim round trip and other processes still get a share.
      int32_t held = static_cast<int32_t>(ready_.size() + running_.size());
      capacity = stopping_ ? 0 : std::min(options_.poll_limit, 2 * options_.thread_count - held);
      holding = held > 0;
    }
    if (SteadyClock::now() >= next_renewal) {
      if (holding) RenewHeldLeases();
      next_renewal = SteadyClock::now() + renew_interval;
    }
    int64_t wait_ms = options_.idle_wait_max_ms;
    if (capacity > 0) {
      // Reading the next due time first keeps an idle pool to one cheap read per wake-up;
      // only due work costs a write.
      wait_ms = WaitBeforeClaimMs();
      if (wait_ms == 0) {
        if (ClaimInto(capacity) > 0) continue;  // More may be due: look again at once.
        wait_ms = kIdleWaitMinMs;               // Due, but another process took it first.
      }
    }
    if (holding) {
      auto until_renewal =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_renewal - SteadyClock::now());
      wait_ms = std::min<int64_t>(wait_ms, until_renewal.count());
    }
    std::unique_lock lock(mutex_);
    dispatcher_wake_.wait_for(lock, Milliseconds(wait_ms),
                              [this] { return wake_requested_ || stopping_; });
  }
}

int32_t Workers::ClaimInto(int32_t capacity) {
  auto claimed = queue_.Claim(kinds_, owner_, capacity, options_.lease_ms);
  if (!claimed.ok()) {
    spdlog::warn(R"({{"msg":"jobs: claim failed","detail":"{}"}})", claimed.error().detail);
    return 0;
  }
  std::vector<Job>& jobs = claimed.value();
  if (jobs.empty()) return 0;
  int32_t count = static_cast<int32_t>(jobs.size());
  counters_.claimed += count;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      for (Job& job : jobs) ready_.push_back(std::move(job));
      jobs.clear();
    }
  }
  if (!jobs.empty()) {
    ReturnUnstarted(jobs);  // Stop began while claiming: hand these straight back.
    return 0;
  }
  work_ready_.notify_all();
  return count;
}

int64_t Workers::WaitBeforeClaimMs() {
  auto next_due = queue_.NextDueAtMs(kinds_);
  if (!next_due.ok()) {
    spdlog::warn(R"({{"msg":"jobs: reading next due time failed","detail":"{}"}})",
                 next_due.error().detail);
    return options_.idle_wait_max_ms;
  }
  if (!next_due.value()) return options_.idle_wait_max_ms;
  int64_t until_due_ms = *next_due.value() - clock_.NowMilliseconds();
  return std::clamp<int64_t>(until_due_ms, 0, options_.idle_wait_max_ms);
}

void Workers::RenewHeldLeases() {
  std::vector<Job> held;
  {
    std::lock_guard lock(mutex_);
    held.assign(ready_.begin(), ready_.end());
    for (const auto& [id, job] : running_) held.push_back(job);
  }
  auto renewed = queue_.RenewLeases(held, options_.lease_ms);
  if (!renewed.ok()) {
    spdlog::warn(R"({{"msg":"jobs: lease renewal failed","detail":"{}"}})", renewed.error().detail);
  }
}

void Workers::WorkerLoop() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
      // Jobs still in ready_ at Stop are returned to the queue by Stop, not started here.
      if (stopping_) return;
      job = std::move(ready_.front());
      ready_.pop_front();
      running_.emplace(job.id, job);
    }
    RunOne(job);
    {
      std::lock_guard lock(mutex_);
      running_.erase(job.id);
      wake_requested_ = true;
    }
    dispatcher_wake_.notify_one();
    idle_.notify_all();
  }
}

void Workers::RunOne(const Job& job) {
  auto found = registrations_.find(job.kind);
  assert(found != registrations_.end());  // Claims are filtered by registered kinds.
  const Registration& registration = found->second;
  JobOutcome outcome = Invoke(registration, job);
  Backoff& backoff = registration.backoff ? *registration.backoff : default_backoff_;
  Record(job, ResolveOutcome(job, outcome, clock_.NowMilliseconds(), backoff));
}

JobOutcome Workers::Invoke(const Registration& registration, const Job& job) {
  try {
    return registration.handler(job);
  } catch (const std::exception& exception) {
    spdlog::error(R"({{"msg":"jobs: handler threw","kind":"{}","job_id":{},"detail":"{}"}})",
                  job.kind, job.id, exception.what());
    return JobOutcome::RetryWithBackoff(std::string("handler threw: ") + exception.what());
  } catch (...) {
    spdlog::error(R"({{"msg":"jobs: handler threw","kind":"{}","job_id":{}}})", job.kind, job.id);
    return JobOutcome::RetryWithBackoff("handler threw a non-standard exception");
  }
}

void Workers::Record(const Job& job, const JobTransition& transition) {
  for (int32_t attempt = 1; attempt <= kRecordAttempts; ++attempt) {
    auto recorded = queue_.Complete(job, transition);
    if (recorded.ok()) {
      if (recorded.value()) {
        CountTransition(transition);
      } else {
        counters_.lease_lost += 1;
      }
      return;
    }
    spdlog::warn(R"({{"msg":"jobs: recording an outcome failed","job_id":{},"detail":"{}"}})",
                 job.id, recorded.error().detail);
    std::this_thread::sleep_for(Milliseconds(kRecordRetryMs * attempt));
  }
  // The claim stays in the database until its lease expires; then the job runs again.
  spdlog::error(R"({{"msg":"jobs: outcome lost; the job will run again","job_id":{}}})", job.id);
}

void Workers::CountTransition(const JobTransition& transition) {
  switch (transition.state) {
    case JobState::kSucceeded:
      counters_.succeeded += 1;
      return;
    case JobState::kFailed:
      counters_.failed += 1;
      return;
    case JobState::kQueued:
      (transition.attempts == 0 ? counters_.rescheduled : counters_.retried) += 1;
      return;
    case JobState::kRunning:
    case JobState::kCancelled:
      return;
  }
}

}  // namespace finsync::jobs
