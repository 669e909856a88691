#include "jobs/backoff.h"

#include <algorithm>
#include <cassert>

namespace finsync::jobs {

int64_t BackoffCeilingMs(const BackoffPolicy& policy, int32_t attempt) {
  assert(policy.base_ms >= 0 && policy.cap_ms >= 0);
  int64_t ceiling = std::min(policy.base_ms, policy.cap_ms);
  // Doubling stops at the cap, so the loop runs at most ~63 times and never overflows.
  for (int32_t step = 1; step < attempt && ceiling > 0 && ceiling < policy.cap_ms; ++step) {
    ceiling = ceiling > policy.cap_ms / 2 ? policy.cap_ms : ceiling * 2;
  }
  return ceiling;
}

int64_t Backoff::DelayMs(int32_t attempt) {
  int64_t ceiling = BackoffCeilingMs(policy_, std::max<int32_t>(attempt, 1));
  std::uniform_int_distribution<int64_t> distribution(0, ceiling);
  std::lock_guard lock(mutex_);
  return distribution(random_);
}

}  // namespace finsync::jobs
