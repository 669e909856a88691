#include "jobs/job_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "jobs/job_test_fixture.h"

namespace finsync::jobs {
namespace {

const std::vector<std::string> kSyncKind = {"sync"};
constexpr int64_t kLeaseMs = 30'000;

class JobQueueTest : public JobTestFixture {
 protected:
  std::vector<Job> ClaimOrDie(std::string_view owner, int32_t limit = 10,
                              const std::vector<std::string>& kinds = kSyncKind) {
    auto claimed = queue_->Claim(kinds, owner, limit, kLeaseMs);
    EXPECT_TRUE(claimed.ok()) << (claimed.ok() ? "" : claimed.error().detail);
    return claimed.ok() ? claimed.value() : std::vector<Job>{};
  }
};

// Proves the basic life cycle: an enqueued job is claimed once under a lease, and recording
// success finishes it.
TEST_F(JobQueueTest, EnqueueClaimSucceed) {
  int64_t id = EnqueueOrDie({.kind = "sync", .payload = R"({"account":1})", .user_id = 7});
  Job queued = GetJob(id, 7);
  EXPECT_EQ(queued.state, JobState::kQueued);
  EXPECT_EQ(queued.run_at_ms, kTestStartMs);
  EXPECT_EQ(queued.attempts, 0);

  std::vector<Job> claimed = ClaimOrDie("a");
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
  EXPECT_EQ(claimed[0].state, JobState::kRunning);
  EXPECT_EQ(claimed[0].attempts, 1);
  EXPECT_EQ(claimed[0].payload, R"({"account":1})");
  EXPECT_EQ(claimed[0].lease_expires_at_ms, kTestStartMs + kLeaseMs);
  EXPECT_TRUE(ClaimOrDie("b").empty()) << "a running job must not be claimed twice";

  auto recorded = queue_->Complete(claimed[0], {JobState::kSucceeded, 0, 1, std::nullopt});
  ASSERT_TRUE(recorded.ok() && recorded.value());
  Job done = GetJob(id, 7);
  EXPECT_EQ(done.state, JobState::kSucceeded);
  EXPECT_EQ(done.finished_at_ms, kTestStartMs);
  EXPECT_FALSE(done.lease_owner.has_value());
}

// Proves claims honour run_at (future jobs wait), order (earliest first), kinds and limit.
TEST_F(JobQueueTest, ClaimTakesDueJobsOfItsKindsEarliestFirst) {
  int64_t later = EnqueueOrDie({.kind = "sync", .run_at_ms = kTestStartMs - 10});
  int64_t earlier = EnqueueOrDie({.kind = "sync", .run_at_ms = kTestStartMs - 20});
  EnqueueOrDie({.kind = "sync", .run_at_ms = kTestStartMs + 1});
  EnqueueOrDie({.kind = "other", .run_at_ms = kTestStartMs - 30});

  std::vector<Job> first = ClaimOrDie("a", 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, earlier);
  std::vector<Job> rest = ClaimOrDie("a", 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, later);
  clock_.Advance(1);
  EXPECT_EQ(ClaimOrDie("a", 10).size(), 1u);
}

// Proves a dedupe key admits one live job per user, is per user, and is free again once the
// job finishes.
TEST_F(JobQueueTest, DedupeKeyHoldsOneLiveJobPerUser) {
  NewJob job{.kind = "sync", .user_id = 1, .dedupe_key = "sync:account:17"};
  int64_t first = EnqueueOrDie(job);
  EXPECT_EQ(EnqueueOrDie(job), first);
  NewJob other_user = job;
  other_user.user_id = 2;
  EXPECT_NE(EnqueueOrDie(other_user), first);
  EXPECT_NE(EnqueueOrDie({.kind = "sync", .user_id = 1}), first) << "no key, no dedupe";

  std::vector<Job> claimed = ClaimOrDie("a", 1);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(EnqueueOrDie(job), first) << "a running job still holds its key";
  ASSERT_TRUE(queue_->Complete(claimed[0], {JobState::kSucceeded, 0, 1, std::nullopt}).ok());
  int64_t second = EnqueueOrDie(job);
  EXPECT_NE(second, first);
  EXPECT_EQ(CountJobs("dedupe_key = 'sync:account:17' AND user_id = 1"), 2);
}

// Proves the key is claimed atomically: many threads enqueueing the same key at once create
// exactly one job and all get its id.
TEST_F(JobQueueTest, ConcurrentEnqueuesOfOneKeyCreateOneJob) {
  constexpr int kThreads = 16;
  std::vector<int64_t> ids(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto id = queue_->Enqueue({.kind = "sync", .user_id = 3, .dedupe_key = "k"});
      ids[i] = id.ok() ? id.value() : -1;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_GT(ids[0], 0);
  EXPECT_EQ(CountJobs("user_id = 3"), 1);
}

// Proves EnqueueOrAdvance moves a queued job earlier, never later, and leaves a running job.
TEST_F(JobQueueTest, EnqueueOrAdvanceOnlyMovesQueuedJobsEarlier) {
  NewJob job{.kind = "sync", .run_at_ms = kTestStartMs + 60'000, .dedupe_key = "k"};
  int64_t id = EnqueueOrDie(job);
  job.run_at_ms = kTestStartMs + 120'000;
  ASSERT_EQ(queue_->EnqueueOrAdvance(job).value(), id);
  EXPECT_EQ(GetJob(id).run_at_ms, kTestStartMs + 60'000) << "never later";
  job.run_at_ms = kTestStartMs;
  ASSERT_EQ(queue_->EnqueueOrAdvance(job).value(), id);
  EXPECT_EQ(GetJob(id).run_at_ms, kTestStartMs);
  EXPECT_EQ(queue_->Enqueue(NewJob{job}).value(), id);

  ASSERT_EQ(ClaimOrDie("a").size(), 1u);
  job.run_at_ms = kTestStartMs - 1000;
  ASSERT_EQ(queue_->EnqueueOrAdvance(job).value(), id);
  Job running = GetJob(id);
  EXPECT_EQ(running.state, JobState::kRunning);
  EXPECT_EQ(running.run_at_ms, kTestStartMs);
}

// Proves a dead worker's lease expires: the job is claimed again (attempt 2) and the dead
// claim can no longer record an outcome.
TEST_F(JobQueueTest, ExpiredLeaseIsClaimedAgain) {
  int64_t id = EnqueueOrDie({.kind = "sync", .max_attempts = 3});
  std::vector<Job> dead = ClaimOrDie("dead");
  ASSERT_EQ(dead.size(), 1u);
  clock_.Advance(kLeaseMs - 1);
  EXPECT_TRUE(ClaimOrDie("b").empty()) << "the lease still holds";
  clock_.Advance(1);
  std::vector<Job> again = ClaimOrDie("b");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, id);
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_NE(again[0].lease_owner, dead[0].lease_owner);

  auto late = queue_->Complete(dead[0], {JobState::kSucceeded, 0, 1, std::nullopt});
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late.value()) << "the dead claim must not overwrite the live one";
  EXPECT_EQ(GetJob(id).state, JobState::kRunning);
}

// Proves a job whose last attempt lost its lease fails instead of running forever (a job that
// kills its worker every time is bounded by max_attempts).
TEST_F(JobQueueTest, ExpiredLeaseOnLastAttemptFailsTheJob) {
  int64_t id = EnqueueOrDie({.kind = "sync", .max_attempts = 1});
  ASSERT_EQ(ClaimOrDie("dead").size(), 1u);
  clock_.Advance(kLeaseMs);
  EXPECT_TRUE(ClaimOrDie("b").empty());
  Job failed = GetJob(id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  ASSERT_TRUE(failed.last_error.has_value());
  EXPECT_NE(failed.last_error->find("lease expired"), std::string::npos);
}

// Proves renewing keeps a lease alive and releasing returns the job un-counted.
TEST_F(JobQueueTest, RenewAndReleaseLeases) {
  int64_t id = EnqueueOrDie({.kind = "sync"});
  std::vector<Job> claimed = ClaimOrDie("a");
  ASSERT_EQ(claimed.size(), 1u);
  clock_.Advance(kLeaseMs - 1);
  EXPECT_EQ(queue_->RenewLeases(claimed, kLeaseMs).value(), 1);
  clock_.Advance(kLeaseMs - 1);
  EXPECT_TRUE(ClaimOrDie("b").empty()) << "the renewed lease still holds";
  EXPECT_EQ(queue_->ReleaseLeases(claimed).value(), 1);
  Job released = GetJob(id);
  EXPECT_EQ(released.state, JobState::kQueued);
  EXPECT_EQ(released.attempts, 0);
  EXPECT_FALSE(released.lease_expires_at_ms.has_value());
  EXPECT_EQ(queue_->RenewLeases(claimed, kLeaseMs).value(), 0) << "no longer held";
}

// Proves cancelling by id and by key finishes only the user's own live job, and that a
// running handler's outcome is then discarded.
TEST_F(JobQueueTest, CancelByIdAndByKey) {
  int64_t by_id = EnqueueOrDie({.kind = "sync", .user_id = 1});
  int64_t by_key = EnqueueOrDie({.kind = "sync", .user_id = 1, .dedupe_key = "k"});
  EXPECT_FALSE(queue_->Cancel(2, by_id).value()) << "another user's job is invisible";
  EXPECT_TRUE(queue_->Cancel(1, by_id).value());
  EXPECT_FALSE(queue_->Cancel(1, by_id).value()) << "already finished";
  EXPECT_EQ(GetJob(by_id, 1).state, JobState::kCancelled);

  std::vector<Job> claimed = ClaimOrDie("a");
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_FALSE(queue_->CancelByDedupeKey(2, "k").value());
  EXPECT_TRUE(queue_->CancelByDedupeKey(1, "k").value());
  auto recorded = queue_->Complete(claimed[0], {JobState::kQueued, kTestStartMs, 0, {}});
  ASSERT_TRUE(recorded.ok());
  EXPECT_FALSE(recorded.value());
  EXPECT_EQ(GetJob(by_key, 1).state, JobState::kCancelled);
  EXPECT_NE(EnqueueOrDie({.kind = "sync", .user_id = 1, .dedupe_key = "k"}), by_key);
}

// Proves NextDueAtMs reports the earliest queued run_at of the given kinds or the earliest
// lease expiry, and nothing for an empty queue.
TEST_F(JobQueueTest, NextDueAtMs) {
  EXPECT_FALSE(queue_->NextDueAtMs().value().has_value());
  EnqueueOrDie({.kind = "sync", .run_at_ms = kTestStartMs + 500});
  EnqueueOrDie({.kind = "other", .run_at_ms = kTestStartMs + 100});
  EXPECT_EQ(queue_->NextDueAtMs().value(), kTestStartMs + 100);
  EXPECT_EQ(queue_->NextDueAtMs(kSyncKind).value(), kTestStartMs + 500);
  EnqueueOrDie({.kind = "sync"});
  ASSERT_EQ(ClaimOrDie("a", 1).size(), 1u);
  EXPECT_EQ(queue_->NextDueAtMs(kSyncKind).value(), kTestStartMs + 500);
  clock_.Advance(kLeaseMs);
  std::vector<std::string> none_due = {"quiet"};
  EXPECT_EQ(queue_->NextDueAtMs(none_due).value(), kTestStartMs + kLeaseMs)
      << "a lease expiry is due work for any kind's pool: someone must requeue it";
}

// Proves listing is per user, filters by kind and state, and pages by keyset.
TEST_F(JobQueueTest, ListPagesAUsersJobsNewestFirst) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(EnqueueOrDie({.kind = "sync", .user_id = 9}));
  EnqueueOrDie({.kind = "deliver", .user_id = 9});
  EnqueueOrDie({.kind = "sync", .user_id = 10});

  auto page = queue_->List(9, {.kind = "sync", .limit = 3});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page.value().size(), 3u);
  EXPECT_EQ(page.value()[0].id, ids[4]);
  auto next = queue_->List(9, {.kind = "sync", .before_id = page.value().back().id, .limit = 3});
  ASSERT_EQ(next.value().size(), 2u);
  EXPECT_EQ(next.value()[1].id, ids[0]);
  EXPECT_EQ(queue_->List(9, {}).value().size(), 6u);
  EXPECT_EQ(queue_->List(9, {.state = JobState::kRunning}).value().size(), 0u);
}

// Proves purging deletes only jobs finished before the cutoff, never live ones.
TEST_F(JobQueueTest, PurgeFinishedKeepsLiveAndRecentJobs) {
  int64_t old_done = EnqueueOrDie({.kind = "sync"});
  int64_t live = EnqueueOrDie({.kind = "sync", .run_at_ms = kTestStartMs + 10 * kLeaseMs});
  ASSERT_TRUE(queue_->Cancel(0, old_done).value());
  clock_.Advance(1000);
  int64_t recent_done = EnqueueOrDie({.kind = "sync"});
  ASSERT_TRUE(queue_->Cancel(0, recent_done).value());
  clock_.Advance(500);

  EXPECT_EQ(queue_->PurgeFinished(1000).value(), 1);
  EXPECT_FALSE(queue_->Get(0, old_done).value().has_value());
  EXPECT_TRUE(queue_->Get(0, recent_done).value().has_value());
  EXPECT_TRUE(queue_->Get(0, live).value().has_value());
}

// Proves a job enqueued inside a caller's Write commits with that write and vanishes with
// its rollback.
TEST_F(JobQueueTest, EnqueueInsideCallersWriteCommitsOrRollsBackWithIt) {
  Status rolled_back = database_->Write([&](store::Connection& connection) -> Status {
    auto id = queue_->Enqueue(connection, {.kind = "sync", .dedupe_key = "k"});
    if (!id.ok()) return id.status();
    return Error::Of(ErrorCode::kConflict, "the caller's own work failed");
  });
  EXPECT_FALSE(rolled_back.ok());
  EXPECT_EQ(CountJobs("1 = 1"), 0);

  Status committed = database_->Write([&](store::Connection& connection) -> Status {
    return queue_->Enqueue(connection, {.kind = "sync", .dedupe_key = "k"}).status();
  });
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(CountJobs("dedupe_key = 'k' AND state = 'queued'"), 1);
}

// Proves bad jobs are refused with one field error per broken rule.
TEST_F(JobQueueTest, InvalidJobsAreRefused) {
  struct Case {
    NewJob job;
    std::string field;
  };
  const Case cases[] = {
      {{.kind = ""}, "kind"},
      {{.kind = std::string(kKindMax + 1, 'k')}, "kind"},
      {{.kind = "sync", .payload = "{not json"}, "payload"},
      {{.kind = "sync", .dedupe_key = ""}, "dedupe_key"},
      {{.kind = "sync", .max_attempts = 0}, "max_attempts"},
      {{.kind = "sync", .max_attempts = kMaxAttemptsLimit + 1}, "max_attempts"},
  };
  for (const Case& test_case : cases) {
    auto id = queue_->Enqueue(test_case.job);
    ASSERT_FALSE(id.ok()) << test_case.field;
    EXPECT_EQ(id.error().code, ErrorCode::kValidationFailed);
    ASSERT_EQ(id.error().field_errors.size(), 1u) << test_case.field;
    EXPECT_EQ(id.error().field_errors[0].field, test_case.field);
  }
  EXPECT_EQ(CountJobs("1 = 1"), 0);
}

}  // namespace
}  // namespace finsync::jobs
