// The vocabulary of the durable job queue: a job as stored, a job to enqueue, and what a
// handler says happened. Plain data; no behaviour beyond naming.
//
// Delivery guarantee: at-least-once. A job runs again when its worker dies (kill -9, power
// loss) or loses its lease before the outcome is recorded, so every handler must be
// idempotent: doing the work twice must leave the same result as doing it once (use stable
// ids such as import_id / external_id, upserts, or "already done?" checks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace finsync::jobs {

// queued -> running -> (succeeded | failed | cancelled), and running -> queued for retries,
// recurring runs and expired leases. A live job is queued or running; the others are final.
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
std::string_view JobStateName(JobState state);
std::optional<JobState> ParseJobState(std::string_view text);
inline bool IsFinished(JobState state) {
  return state != JobState::kQueued && state != JobState::kRunning;
}

struct Job {
  int64_t id = 0;
  int64_t user_id = 0;  // 0 for system jobs.
  std::string kind{};
  std::string payload{};  // JSON text, chosen by the enqueuer and read by the handler.
  std::optional<std::string> dedupe_key{};
  JobState state = JobState::kQueued;
  int64_t run_at_ms = 0;  // When the job is (or was) due; unchanged while it runs.
  int32_t attempts = 0;   // Claims since the job was created or last rescheduled.
  int32_t max_attempts = 0;
  std::optional<std::string> last_error{};
  std::optional<std::string> lease_owner{};
  std::optional<int64_t> lease_expires_at_ms{};
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::optional<int64_t> finished_at_ms{};
};

inline constexpr size_t kKindMax = 100;
inline constexpr size_t kDedupeKeyMax = 200;
inline constexpr size_t kPayloadMax = 1 << 20;
inline constexpr size_t kLastErrorMax = 2000;  // Longer messages are cut, not rejected.
inline constexpr int32_t kMaxAttemptsLimit = 1000;

struct NewJob {
  std::string kind{};
  std::string payload = "{}";
  int64_t user_id = 0;
  std::optional<int64_t> run_at_ms{};  // Unset: due now.
  // While a live (queued or running) job of the same user holds this key, enqueueing
  // another one returns the live job's id instead of creating a second job.
  std::optional<std::string> dedupe_key{};
  int32_t max_attempts = 10;
};

// What a handler reports. Build one with the named constructors.
struct JobOutcome {
  enum class Kind {
    kSucceeded,         // Done; the job is finished.
    kRetryAfter,        // Failed this time; run again after delay_ms (e.g. a Retry-After).
    kRetryWithBackoff,  // Failed this time; run again after the worker's backoff delay.
    kFailed,            // Failed for good (bad input, revoked consent); do not retry.
    kRescheduleAt,      // Not a failure: the same job runs again at run_at_ms (recurring
                        // work, or "not yet" such as a destination's rate limit).
  };

  Kind kind = Kind::kSucceeded;
  int64_t delay_ms = 0;   // kRetryAfter only; clamped to [0, 7 days].
  int64_t run_at_ms = 0;  // kRescheduleAt only.
  std::string message{};  // kRetryAfter, kRetryWithBackoff, kFailed: becomes last_error.

  static JobOutcome Succeeded() { return {}; }
  static JobOutcome RetryAfter(int64_t delay_ms, std::string message) {
    return {Kind::kRetryAfter, delay_ms, 0, std::move(message)};
  }
  static JobOutcome RetryWithBackoff(std::string message) {
    return {Kind::kRetryWithBackoff, 0, 0, std::move(message)};
  }
  static JobOutcome Failed(std::string message) {
    return {Kind::kFailed, 0, 0, std::move(message)};
  }
  static JobOutcome RescheduleAt(int64_t run_at_ms) {
    return {Kind::kRescheduleAt, 0, run_at_ms, ""};
  }
};

}  // namespace finsync::jobs
