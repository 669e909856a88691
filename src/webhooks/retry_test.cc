#include "webhooks/retry.h"

#include <gtest/gtest.h>

namespace finsync::webhooks {
namespace {

// The jitter picks permille = random % 301 - 150: random 150 is the undisturbed delay, 0 the
// shortest (x0.85) and 300 the longest (x1.15).
constexpr uint64_t kNoJitter = 150;
constexpr uint64_t kShortest = 0;
constexpr uint64_t kLongest = 300;

TEST(WebhookRetryTest, FollowsTheStandardWebhooksScheduleOverThreeDays) {
  struct Case {
    int32_t failed_attempts;
    int64_t delay_ms;
  };
  const Case cases[] = {{1, 5'000},      {2, 300'000},    {3, 1'800'000},
                        {4, 7'200'000},  {5, 18'000'000}, {6, 36'000'000},
                        {7, 50'400'000}, {8, 72'000'000}, {9, 86'400'000}};
  int64_t total_ms = 0;
  for (const Case& c : cases) {
    EXPECT_EQ(RetryDelayMs(c.failed_attempts, kNoJitter), c.delay_ms) << c.failed_attempts;
    total_ms += c.delay_ms;
  }
  // The tenth attempt comes 75 h 35 min 5 s after the first, then the delivery fails.
  EXPECT_EQ(total_ms, (75 * 3600 + 35 * 60 + 5) * 1000LL);
  EXPECT_EQ(kAttemptsMax, 10);
  EXPECT_FALSE(RetryDelayMs(10, kNoJitter).has_value());
  EXPECT_FALSE(RetryDelayMs(0, kNoJitter).has_value());
  EXPECT_FALSE(RetryDelayMs(1000, kNoJitter).has_value());
}

TEST(WebhookRetryTest, JitterStaysWithinFifteenPercent) {
  EXPECT_EQ(RetryDelayMs(2, kShortest), 255'000);
  EXPECT_EQ(RetryDelayMs(2, kLongest), 345'000);
  EXPECT_EQ(RetryDelayMs(2, kLongest + 301), 345'000);  // Any 64-bit value is fine.
  for (uint64_t random = 0; random < 1000; ++random) {
    int64_t delay = *RetryDelayMs(9, random * 7919);
    EXPECT_GE(delay, 86'400'000LL * 85 / 100);
    EXPECT_LE(delay, 86'400'000LL * 115 / 100);
  }
}

TEST(WebhookRetryTest, RetryAfterLengthensButNeverShortensUpToADay) {
  EXPECT_EQ(RetryDelayMs(1, kNoJitter, 1, 60'000), 60'000);
  EXPECT_EQ(RetryDelayMs(2, kNoJitter, 1, 60'000), 300'000);
  EXPECT_EQ(RetryDelayMs(1, kNoJitter, 1, 10 * 86'400'000LL), 86'400'000);
}

TEST(WebhookRetryTest, SpeedupDividesEveryDelay) {
  EXPECT_EQ(RetryDelayMs(1, kNoJitter, 1000), 5);
  EXPECT_EQ(RetryDelayMs(4, kNoJitter, 1000), 7'200);
  EXPECT_EQ(RetryDelayMs(4, kNoJitter, 0), 7'200'000);  // Below 1 counts as 1.
}

}  // namespace
}  // namespace finsync::webhooks
