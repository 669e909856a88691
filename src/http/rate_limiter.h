// Token-bucket rate limiting per client key and route class. Each bucket holds up to `limit`
// requests and refills continuously at limit per window, so a client may burst up to its limit
// and then proceeds at the steady rate. State is in memory, per process: with several server
// processes each enforces its own share (documented in docs/OPERATIONS.md).
// Thread-safe; memory is bounded by sweeping buckets that have been full for a whole window.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace finsync::http {

struct RateLimitPolicy {
  std::string name;   // "read", "write", "sync": shown in the RateLimit headers.
  int64_t limit = 0;  // Requests per window; 0 disables the class.
  int64_t window_seconds = 60;
};

struct RateLimitDecision {
  bool allowed = true;
  int64_t remaining = 0;            // Requests left now.
  int64_t reset_seconds = 0;        // Until the bucket is full again.
  int64_t retry_after_seconds = 0;  // When refused: until one request is available.
};

class RateLimiter {
 public:
  // Takes one request from the bucket of (client, policy) at `now_ms`.
  RateLimitDecision Take(const std::string& client_key, const RateLimitPolicy& policy,
                         int64_t now_ms);
  size_t bucket_count();

 private:
  struct Bucket {
    // Tokens are kept in thousandths so refills below one token per millisecond stay exact.
    int64_t tokens_milli = 0;
    int64_t updated_ms = 0;
  };
  void SweepLocked(int64_t now_ms);

  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mutex_)
  int64_t last_sweep_ms_ = 0;                        // GUARDED_BY(mutex_)
};

// The header values of the IETF httpapi RateLimit headers draft.
std::string RateLimitPolicyHeader(const RateLimitPolicy& policy);
std::string RateLimitHeader(const RateLimitPolicy& policy, const RateLimitDecision& decision);

}  // namespace finsync::http
