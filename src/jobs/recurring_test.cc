#include "jobs/recurring.h"

#include <gtest/gtest.h>

#include "jobs/job_test_fixture.h"
#include "jobs/worker.h"

namespace finsync::jobs {
namespace {

// Proves the next run stays on the interval grid, skips missed slots, and keeps a future run.
TEST(JobRecurringGridTest, NextRunStaysOnTheGrid) {
  struct Case {
    int64_t previous_ms;
    int64_t interval_ms;
    int64_t now_ms;
    int64_t expected_ms;
  };
  const Case cases[] = {
      {1000, 100, 1000, 1100},  // Finished instantly.
      {1000, 100, 1042, 1100},  // Ran 42 ms: no drift.
      {1000, 100, 1100, 1200},  // Exactly on the next slot: strictly after now.
      {1000, 100, 1999, 2000},  // Down for nine slots: one run, not nine.
      {5000, 100, 1000, 5000},  // Still in the future.
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NextRunOnGridMs(c.previous_ms, c.interval_ms, c.now_ms), c.expected_ms)
        << c.previous_ms << " " << c.now_ms;
  }
}

class JobRecurringTest : public JobTestFixture {};

// Proves a recurring job is one logical job: ensuring it twice keeps one, each run
// reschedules the same id with attempts reset, and cancelling by key ends the schedule.
TEST_F(JobRecurringTest, RecurringJobReschedulesItselfUntilCancelled) {
  constexpr int64_t kIntervalMs = 30 * 60'000;
  RecurringJob schedule{.kind = "sync_account",
                        .payload = R"({"bank_account_id":17})",
                        .user_id = 4,
                        .dedupe_key = DedupeKey("sync:account", 17)};
  int64_t id = EnsureRecurring(*queue_, schedule).value();
  EXPECT_EQ(EnsureRecurring(*queue_, schedule).value(), id);
  EXPECT_EQ(schedule.dedupe_key, "sync:account:17");

  Workers workers(*queue_, clock_, {.backoff_seed = 1});
  int32_t runs = 0;
  workers.Register("sync_account", [&](const Job& job) {
    ++runs;
    EXPECT_EQ(job.id, id);
    EXPECT_EQ(job.attempts, 1);
    return RunAgainEvery(job, kIntervalMs, clock_.NowMilliseconds());
  });
  for (int32_t round = 0; round < 3; ++round) {
    EXPECT_EQ(workers.RunDue(10).value(), 1);
    EXPECT_EQ(workers.RunDue(10).value(), 0) << "not due again before the interval";
    Job job = GetJob(id, 4);
    EXPECT_EQ(job.state, JobState::kQueued);
    EXPECT_EQ(job.run_at_ms, kTestStartMs + (round + 1) * kIntervalMs);
    EXPECT_EQ(job.attempts, 0);
    clock_.Advance(kIntervalMs);
  }
  EXPECT_EQ(runs, 3);
  EXPECT_TRUE(queue_->CancelByDedupeKey(4, "sync:account:17").value());
  EXPECT_EQ(workers.RunDue(10).value(), 0);
  EXPECT_FALSE(EnsureRecurring(*queue_, {.kind = "sync_account", .dedupe_key = ""}).ok());
}

}  // namespace
}  // namespace finsync::jobs
