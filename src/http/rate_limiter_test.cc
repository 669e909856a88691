#include "http/rate_limiter.h"

#include <gtest/gtest.h>

namespace finsync::http {
namespace {

// Proves a client may burst up to its limit, is then refused with a Retry-After, and regains
// requests at the steady rate; other clients and classes are not affected.
TEST(RateLimiterTest, BurstThenSteadyRate) {
  RateLimiter limiter;
  RateLimitPolicy policy{"write", 60, 60};  // One a second at steady state.
  int64_t now = 1'000'000;
  for (int i = 0; i < 60; ++i) {
    auto decision = limiter.Take("token:1", policy, now);
    ASSERT_TRUE(decision.allowed) << i;
    EXPECT_EQ(decision.remaining, 59 - i);
  }
  auto refused = limiter.Take("token:1", policy, now);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  EXPECT_TRUE(limiter.Take("token:2", policy, now).allowed);
  EXPECT_TRUE(limiter.Take("token:1", RateLimitPolicy{"read", 10, 60}, now).allowed);
  EXPECT_FALSE(limiter.Take("token:1", policy, now + 999).allowed);
  EXPECT_TRUE(limiter.Take("token:1", policy, now + 1000).allowed);
  EXPECT_FALSE(limiter.Take("token:1", policy, now + 1000).allowed);
  auto full = limiter.Take("token:1", policy, now + 61'000);
  EXPECT_TRUE(full.allowed);
  EXPECT_EQ(full.remaining, 59);
}

// Proves the header values follow the draft's structured-field shape.
TEST(RateLimiterTest, HeaderValues) {
  RateLimitPolicy policy{"read", 600, 60};
  RateLimitDecision decision{true, 599, 1, 0};
  EXPECT_EQ(RateLimitPolicyHeader(policy), "\"read\";q=600;w=60");
  EXPECT_EQ(RateLimitHeader(policy, decision), "\"read\";r=599;t=1");
}

// Proves a disabled class (limit 0) never refuses, and idle buckets are forgotten.
TEST(RateLimiterTest, DisabledClassAndSweep) {
  RateLimiter limiter;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.Take("t", RateLimitPolicy{"off", 0, 60}, 0).allowed);
  }
  limiter.Take("a", RateLimitPolicy{"read", 5, 60}, 100'000);
  EXPECT_EQ(limiter.bucket_count(), 1u);
  limiter.Take("b", RateLimitPolicy{"read", 5, 60}, 100'000 + 700'000);
  EXPECT_EQ(limiter.bucket_count(), 1u);
}

}  // namespace
}  // namespace finsync::http
