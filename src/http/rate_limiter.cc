#include "http/rate_limiter.h"

#include <algorithm>

namespace finsync::http {

namespace {

constexpr int64_t kMilli = 1000;
constexpr int64_t kSweepIntervalMs = 60'000;
constexpr int64_t kIdleBeforeEvictionMs = 600'000;

}  // namespace

RateLimitDecision RateLimiter::Take(const std::string& client_key, const RateLimitPolicy& policy,
                                    int64_t now_ms) {
  RateLimitDecision decision;
  if (policy.limit <= 0) {
    decision.remaining = 0;
    return decision;
  }
  int64_t capacity_milli = policy.limit * kMilli;
  int64_t window_ms = std::max<int64_t>(1, policy.window_seconds) * 1000;
  std::lock_guard lock(mutex_);
  SweepLocked(now_ms);
  auto [it, inserted] = buckets_.try_emplace(client_key + "\x1f" + policy.name);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens_milli = capacity_milli;
    bucket.updated_ms = now_ms;
  }
  int64_t elapsed_ms = std::max<int64_t>(0, now_ms - bucket.updated_ms);
  // Refill: limit tokens per window, i.e. limit * 1000 milli-tokens per window_ms.
  int64_t refill_milli =
      elapsed_ms >= window_ms ? capacity_milli : elapsed_ms * capacity_milli / window_ms;
  bucket.tokens_milli = std::min(capacity_milli, bucket.tokens_milli + refill_milli);
  bucket.updated_ms = now_ms;
  auto ms_to_gain = [&](int64_t milli) {
    return (milli * window_ms + capacity_milli - 1) / capacity_milli;
  };
  if (bucket.tokens_milli >= kMilli) {
    bucket.tokens_milli -= kMilli;
    decision.allowed = true;
  } else {
    decision.allowed = false;
    decision.retry_after_seconds =
        std::max<int64_t>(1, (ms_to_gain(kMilli - bucket.tokens_milli) + 999) / 1000);
  }
  decision.remaining = bucket.tokens_milli / kMilli;
  decision.reset_seconds = (ms_to_gain(capacity_milli - bucket.tokens_milli) + 999) / 1000;
  return decision;
}

size_t RateLimiter::bucket_count() {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

void RateLimiter::SweepLocked(int64_t now_ms) {
  if (now_ms - last_sweep_ms_ < kSweepIntervalMs) return;
  last_sweep_ms_ = now_ms;
  // A bucket untouched this long has refilled completely; forgetting it changes nothing.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now_ms - it->second.updated_ms >= kIdleBeforeEvictionMs) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string RateLimitPolicyHeader(const RateLimitPolicy& policy) {
  return "\"" + policy.name + "\";q=" + std::to_string(policy.limit) +
         ";w=" + std::to_string(policy.window_seconds);
}

std::string RateLimitHeader(const RateLimitPolicy& policy, const RateLimitDecision& decision) {
  return "\"" + policy.name + "\";r=" + std::to_string(decision.remaining) +
         ";t=" + std::to_string(decision.reset_seconds);
}

}  // namespace finsync::http
