// The delivery retry schedule: the Standard Webhooks example schedule, which spans a little
// over three days. Attempt 1 is immediate; after each failed attempt the next one waits
//   5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h
// (attempt 10 is the last, about 75.5 hours after the first), each delay scaled by a random
// factor between 0.85 and 1.15 so the retries of many failed deliveries spread out. A
// receiver's Retry-After (on 429 or 503) lengthens a delay, never shortens it, up to 24 h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace finsync::webhooks {

inline constexpr std::array<int64_t, 9> kRetryDelaysMs = {5'000,      300'000,    1'800'000,
                                                          7'200'000,  18'000'000, 36'000'000,
                                                          50'400'000, 72'000'000, 86'400'000};
inline constexpr int32_t kAttemptsMax = static_cast<int32_t>(kRetryDelaysMs.size()) + 1;
inline constexpr int64_t kJitterPermilleMax = 150;
inline constexpr int64_t kRetryAfterMaxMs = 86'400'000;

// The delay before the next attempt after `failed_attempts` failed attempts in a row (1-based:
// 1 after the first failure), or nullopt when the schedule is used up. `random` picks the
// jitter (any value; tests pass fixed ones). `speedup` (>= 1) divides every delay, for tests.
// `retry_after_ms`, when the receiver sent one, is the least delay.
std::optional<int64_t> RetryDelayMs(int32_t failed_attempts, uint64_t random, int64_t speedup = 1,
                                    std::optional<int64_t> retry_after_ms = std::nullopt);

}  // namespace finsync::webhooks
