// Retry delays: exponential backoff with "full jitter" (a delay drawn uniformly between zero
// and the exponential ceiling), which spreads the retries of many failing jobs instead of
// letting them hit a recovering service in waves. The ceiling is capped, so delays are bounded;
// the number of attempts is bounded per job (Job::max_attempts).
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

namespace finsync::jobs {

struct BackoffPolicy {
  int64_t base_ms = 1'000;     // Ceiling of the first retry's delay.
  int64_t cap_ms = 3'600'000;  // No delay is longer than this.
};

// The ceiling for the retry that follows attempt `attempt` (1-based):
// min(cap_ms, base_ms * 2^(attempt - 1)), without overflow.
int64_t BackoffCeilingMs(const BackoffPolicy& policy, int32_t attempt);

// Draws full-jitter delays. Deterministic for a given seed, so tests can predict them.
// Thread-safe.
class Backoff {
 public:
  Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), random_(seed) {}

  // A delay in [0, BackoffCeilingMs(policy, attempt)].
  int64_t DelayMs(int32_t attempt);
  const BackoffPolicy& policy() const { return policy_; }

 private:
  const BackoffPolicy policy_;
  std::mutex mutex_;
  std::mt19937_64 random_;  // GUARDED_BY(mutex_)
};

}  // namespace finsync::jobs
