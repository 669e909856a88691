#include "webhooks/retry.h"

#include <algorithm>

namespace finsync::webhooks {

std::optional<int64_t> RetryDelayMs(int32_t failed_attempts, uint64_t random, int64_t speedup,
                                    std::optional<int64_t> retry_after_ms) {
  if (failed_attempts < 1 || failed_attempts >= kAttemptsMax) return std::nullopt;
  int64_t base = kRetryDelaysMs[static_cast<size_t>(failed_attempts - 1)];
  int64_t permille =
      static_cast<int64_t>(random % static_cast<uint64_t>(2 * kJitterPermilleMax + 1)) -
      kJitterPermilleMax;
  // The largest base (24 h) times 1150 is far below INT64_MAX: no overflow.
  int64_t delay = base * (1000 + permille) / 1000;
  if (retry_after_ms) delay = std::max(delay, std::min(*retry_after_ms, kRetryAfterMaxMs));
  return delay / std::max<int64_t>(1, speedup);
}

}  // namespace finsync::webhooks
