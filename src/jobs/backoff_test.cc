#include "jobs/backoff.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace finsync::jobs {
namespace {

// Proves the ceiling doubles from base per attempt and never passes the cap or overflows.
TEST(JobBackoffTest, CeilingDoublesUpToTheCap) {
  struct Case {
    int64_t base_ms;
    int64_t cap_ms;
    int32_t attempt;
    int64_t expected_ms;
  };
  const Case cases[] = {
      {1000, 60'000, 1, 1000},
      {1000, 60'000, 2, 2000},
      {1000, 60'000, 6, 32'000},
      {1000, 60'000, 7, 60'000},
      {1000, 60'000, 1000, 60'000},
      {5000, 1000, 1, 1000},
      {0, 60'000, 50, 0},
      {1, INT64_MAX, 63, int64_t{1} << 62},
      {1, INT64_MAX, 64, INT64_MAX},
      {1, INT64_MAX, 2'000'000'000, INT64_MAX},
  };
  for (const Case& test_case : cases) {
    EXPECT_EQ(BackoffCeilingMs({test_case.base_ms, test_case.cap_ms}, test_case.attempt),
              test_case.expected_ms)
        << test_case.base_ms << " " << test_case.cap_ms << " " << test_case.attempt;
  }
}

// Proves delays are full jitter (spread over [0, ceiling]) and repeat exactly for one seed.
TEST(JobBackoffTest, SeededDelaysAreReproducibleAndBounded) {
  BackoffPolicy policy{1000, 30'000};
  Backoff first(policy, 42);
  Backoff second(policy, 42);
  Backoff other(policy, 43);
  std::vector<int64_t> first_delays, other_delays;
  std::set<int64_t> distinct;
  for (int32_t attempt = 1; attempt <= 200; ++attempt) {
    int64_t delay = first.DelayMs(attempt % 8 + 1);
    EXPECT_EQ(delay, second.DelayMs(attempt % 8 + 1));
    EXPECT_GE(delay, 0);
    EXPECT_LE(delay, BackoffCeilingMs(policy, attempt % 8 + 1));
    first_delays.push_back(delay);
    other_delays.push_back(other.DelayMs(attempt % 8 + 1));
    distinct.insert(delay);
  }
  EXPECT_NE(first_delays, other_delays);
  EXPECT_GT(distinct.size(), 100u) << "jitter must spread delays";
}

}  // namespace
}  // namespace finsync::jobs
