#include "jobs/worker.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "jobs/job_test_fixture.h"

namespace finsync::jobs {
namespace {

constexpr BackoffPolicy kPolicy{1000, 60'000};
constexpr uint64_t kSeed = 7;

WorkerOptions TestOptions() {
  return WorkerOptions{.thread_count = 2,
                       .lease_ms = 30'000,
                       .backoff = kPolicy,
                       .backoff_seed = kSeed,
                       .idle_wait_max_ms = 20,
                       .stop_timeout_ms = 5'000};
}

// Proves each handler outcome maps to exactly one next state (table: one line per case).
TEST(JobOutcomeTest, OutcomesResolveToTransitions) {
  using S = JobState;
  struct Case {
    const char* name;
    JobOutcome outcome;
    int32_t attempts;
    int32_t max_attempts;
    S state;
    int64_t run_at_ms;  // -1: the backoff draw for this attempt.
    int32_t attempts_after;
    std::optional<std::string> last_error;
  };
  constexpr int64_t kNow = 5000, kRunAt = 4000;
  const Case cases[] = {
      {"succeeded", JobOutcome::Succeeded(), 1, 3, S::kSucceeded, kRunAt, 1, {}},
      {"failed", JobOutcome::Failed("bad"), 1, 3, S::kFailed, kRunAt, 1, "bad"},
      {"retry after", JobOutcome::RetryAfter(250, "429"), 1, 3, S::kQueued, kNow + 250, 1, "429"},
      {"retry after < 0", JobOutcome::RetryAfter(-5, "x"), 1, 3, S::kQueued, kNow, 1, "x"},
      {"retry after, last", JobOutcome::RetryAfter(250, "429"), 3, 3, S::kFailed, kRunAt, 3, "429"},
      {"backoff", JobOutcome::RetryWithBackoff("5xx"), 2, 3, S::kQueued, -1, 2, "5xx"},
      {"backoff, last", JobOutcome::RetryWithBackoff("5xx"), 3, 3, S::kFailed, kRunAt, 3, "5xx"},
      {"reschedule", JobOutcome::RescheduleAt(9000), 3, 3, S::kQueued, 9000, 0, {}},
  };
  for (const Case& c : cases) {
    Job job{.id = 1, .run_at_ms = kRunAt, .attempts = c.attempts, .max_attempts = c.max_attempts};
    Backoff backoff(kPolicy, kSeed);
    Backoff expected_backoff(kPolicy, kSeed);
    JobTransition transition = ResolveOutcome(job, c.outcome, kNow, backoff);
    int64_t run_at_ms =
        c.run_at_ms == -1 ? kNow + expected_backoff.DelayMs(c.attempts) : c.run_at_ms;
    EXPECT_EQ(transition.state, c.state) << c.name;
    EXPECT_EQ(transition.run_at_ms, run_at_ms) << c.name;
    EXPECT_EQ(transition.attempts, c.attempts_after) << c.name;
    EXPECT_EQ(transition.last_error, c.last_error) << c.name;
  }
}

class JobWorkersTest : public JobTestFixture {};

// Proves a failing job is retried after seeded full-jitter backoff delays, not before, and
// fails with its last error once max_attempts are used.
TEST_F(JobWorkersTest, RetriesWithBackoffThenFailsAfterMaxAttempts) {
  int64_t id = EnqueueOrDie({.kind = "flaky", .max_attempts = 3});
  Workers workers(*queue_, clock_, TestOptions());
  int32_t calls = 0;
  workers.Register("flaky", [&](const Job& job) {
    ++calls;
    EXPECT_EQ(job.attempts, calls);
    return JobOutcome::RetryWithBackoff("bank said 503 on attempt " + std::to_string(calls));
  });
  Backoff expected(kPolicy, kSeed);
  for (int32_t attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_EQ(workers.RunDue(10).value(), 1);
    Job job = GetJob(id);
    int64_t delay_ms = expected.DelayMs(attempt);
    ASSERT_EQ(job.state, JobState::kQueued);
    EXPECT_EQ(job.run_at_ms, clock_.NowMilliseconds() + delay_ms);
    EXPECT_EQ(job.last_error, "bank said 503 on attempt " + std::to_string(attempt));
    if (delay_ms > 0) {
      clock_.Advance(delay_ms - 1);
      EXPECT_EQ(workers.RunDue(10).value(), 0) << "retried before its backoff ended";
    }
    clock_.Advance(1);
  }
  ASSERT_EQ(workers.RunDue(10).value(), 1);
  Job failed = GetJob(id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.attempts, 3);
  EXPECT_EQ(failed.last_error, "bank said 503 on attempt 3");
  clock_.Advance(kPolicy.cap_ms);
  EXPECT_EQ(workers.RunDue(10).value(), 0);
  EXPECT_EQ(workers.Stats().retried, 2);
  EXPECT_EQ(workers.Stats().failed, 1);
}

// Proves RetryAfter waits exactly the delay the handler asked for (a server's Retry-After).
TEST_F(JobWorkersTest, RetryAfterIsHonoured) {
  int64_t id = EnqueueOrDie({.kind = "deliver"});
  Workers workers(*queue_, clock_, TestOptions());
  int32_t calls = 0;
  workers.Register("deliver", [&](const Job&) {
    return ++calls == 1 ? JobOutcome::RetryAfter(5000, "429 Retry-After: 5")
                        : JobOutcome::Succeeded();
  });
  ASSERT_EQ(workers.RunDue(10).value(), 1);
  EXPECT_EQ(GetJob(id).run_at_ms, kTestStartMs + 5000);
  clock_.Advance(4999);
  EXPECT_EQ(workers.RunDue(10).value(), 0);
  clock_.Advance(1);
  EXPECT_EQ(workers.RunDue(10).value(), 1);
  Job done = GetJob(id);
  EXPECT_EQ(done.state, JobState::kSucceeded);
  EXPECT_EQ(done.attempts, 2);
}

// Proves a throwing handler (a bug) does not kill the worker: the attempt counts as a retry.
TEST_F(JobWorkersTest, ThrowingHandlerIsRetried) {
  int64_t id = EnqueueOrDie({.kind = "buggy", .max_attempts = 2});
  Workers workers(*queue_, clock_, TestOptions());
  workers.Register("buggy", [](const Job&) -> JobOutcome { throw std::runtime_error("boom"); });
  ASSERT_EQ(workers.RunDue(10).value(), 1);
  Job job = GetJob(id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.last_error, "handler threw: boom");
}

// Proves the threaded pool starts a new job as soon as it is enqueued in the same process,
// although its idle wait is long: Enqueue wakes it, no polling needed.
TEST_F(JobWorkersTest, EnqueueWakesAnIdlePool) {
  WorkerOptions options = TestOptions();
  options.idle_wait_max_ms = 60'000;
  Workers workers(*queue_, clock_, options);
  std::atomic<int32_t> runs{0};
  workers.Register("ping", [&](const Job&) {
    ++runs;
    return JobOutcome::Succeeded();
  });
  ASSERT_TRUE(workers.Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // Let the pool go idle.
  int64_t id = EnqueueOrDie({.kind = "ping"});
  EXPECT_TRUE(WaitFor([&] { return GetJob(id).state == JobState::kSucceeded; }, 5'000));
  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(workers.Stop().ok());
}

// Proves an idle pool sleeps until the next due time it computed, and runs the job then
// (real clock; the long idle_wait_max_ms rules out polling).
TEST_F(JobWorkersTest, SleepsUntilTheNextDueTime) {
  const Clock& system = SystemClock::Instance();
  JobQueue queue(*database_, system);
  WorkerOptions options = TestOptions();
  options.idle_wait_max_ms = 60'000;
  Workers workers(queue, system, options);
  std::atomic<int64_t> ran_at_ms{0};
  workers.Register("later", [&](const Job&) {
    ran_at_ms = system.NowMilliseconds();
    return JobOutcome::Succeeded();
  });
  int64_t due_ms = system.NowMilliseconds() + 150;
  ASSERT_TRUE(queue.Enqueue({.kind = "later", .run_at_ms = due_ms}).ok());
  ASSERT_TRUE(workers.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return ran_at_ms.load() != 0; }, 10'000));
  EXPECT_GE(ran_at_ms.load(), due_ms);
  EXPECT_TRUE(workers.Stop().ok());
}

// Proves two pools on one database file through two Database objects (as two server
// processes would) never run one job at the same time and, with no failures, run each of
// 500 short jobs exactly once.
TEST_F(JobWorkersTest, TwoPoolsOnOneFileRunEachJobExactlyOnce) {
  constexpr int32_t kJobs = 500;
  std::map<int64_t, int32_t> index_of;  // Filled before the pools start; read-only after.
  ASSERT_TRUE(database_
                  ->Write([&](store::Connection& connection) -> Status {
                    for (int32_t i = 0; i < kJobs; ++i) {
                      auto id = queue_->Enqueue(connection, {.kind = "short"});
                      if (!id.ok()) return id.status();
                      index_of[id.value()] = i;
                    }
                    return Status::Ok();
                  })
                  .ok());
  std::vector<std::atomic<int32_t>> in_flight(kJobs), runs(kJobs);
  std::atomic<int32_t> overlaps{0}, total{0};
  Handler handler = [&](const Job& job) {
    int32_t index = index_of.at(job.id);
    if (in_flight[index].fetch_add(1) != 0) ++overlaps;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    in_flight[index].fetch_sub(1);
    ++runs[index];
    ++total;
    return JobOutcome::Succeeded();
  };
  std::unique_ptr<store::Database> second_database = OpenDatabase();
  JobQueue second_queue(*second_database, clock_);
  WorkerOptions options = TestOptions();
  options.thread_count = 4;
  Workers first(*queue_, clock_, options);
  Workers second(second_queue, clock_, options);
  first.Register("short", handler);
  second.Register("short", handler);
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(second.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return CountJobs("state = 'succeeded'") == kJobs; }, 60'000));
  EXPECT_TRUE(first.Stop().ok());
  EXPECT_TRUE(second.Stop().ok());

  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(total.load(), kJobs);
  for (int32_t i = 0; i < kJobs; ++i) ASSERT_EQ(runs[i].load(), 1) << "job index " << i;
  EXPECT_EQ(CountJobs("attempts = 1 AND state = 'succeeded'"), kJobs);
  EXPECT_EQ(first.Stats().succeeded + second.Stats().succeeded, kJobs);
  std::cout << "[ jobs     ] pool one ran " << first.Stats().succeeded << ", pool two ran "
            << second.Stats().succeeded << "\n";
}

// Proves Stop lets the running handler finish and record its outcome, and hands claimed jobs
// that had not started back to the queue with their attempt un-counted.
TEST_F(JobWorkersTest, StopFinishesRunningHandlersAndReturnsUnstartedClaims) {
  for (int i = 0; i < 3; ++i) EnqueueOrDie({.kind = "slow"});
  WorkerOptions options = TestOptions();
  options.thread_count = 1;  // One runs, one is prefetched, one stays in the queue.
  Workers workers(*queue_, clock_, options);
  std::atomic<bool> started{false}, release{false};
  workers.Register("slow", [&](const Job&) {
    started = true;
    // Bounded: the test releases it well within this limit.
    for (int i = 0; i < 5'000 && !release; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return JobOutcome::Succeeded();
  });
  ASSERT_TRUE(workers.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return started.load() && CountJobs("state = 'running'") == 2; }));
  auto stopped = std::async(std::launch::async, [&] { return workers.Stop(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "Stop must wait for the running handler";
  release = true;
  ASSERT_TRUE(stopped.get().ok());

  EXPECT_EQ(CountJobs("state = 'succeeded'"), 1);
  EXPECT_EQ(CountJobs("state = 'queued' AND attempts = 0 AND lease_owner IS NULL"), 2);
  EXPECT_EQ(workers.Stats().released, 1);
}

// Proves Stop gives up waiting after stop_timeout_ms and says so, while the late handler
// keeps its lease and still records its outcome.
TEST_F(JobWorkersTest, StopIsBoundedAndLateHandlersStillRecord) {
  int64_t id = EnqueueOrDie({.kind = "stuck"});
  WorkerOptions options = TestOptions();
  options.thread_count = 1;
  options.stop_timeout_ms = 30;
  auto workers = std::make_unique<Workers>(*queue_, clock_, options);
  std::atomic<bool> started{false}, release{false};
  workers->Register("stuck", [&](const Job&) {
    started = true;
    for (int i = 0; i < 5'000 && !release; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return JobOutcome::Succeeded();
  });
  ASSERT_TRUE(workers->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return started.load(); }));
  Status stopped = workers->Stop();
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(GetJob(id).state, JobState::kRunning);
  release = true;
  workers.reset();  // Waits for the handler.
  EXPECT_EQ(GetJob(id).state, JobState::kSucceeded);
}

// Proves jobs survive a restart: close the database with jobs queued, reopen, and they run.
TEST_F(JobWorkersTest, QueuedJobsSurviveARestart) {
  int64_t now_id = EnqueueOrDie({.kind = "sync", .payload = R"({"a":1})"});
  int64_t later_id = EnqueueOrDie({.kind = "sync", .run_at_ms = kTestStartMs + 1000});
  queue_.reset();
  database_.reset();

  database_ = OpenDatabase();
  queue_ = std::make_unique<JobQueue>(*database_, clock_);
  Workers workers(*queue_, clock_, TestOptions());
  std::vector<int64_t> ran;
  workers.Register("sync", [&](const Job& job) {
    ran.push_back(job.id);
    return JobOutcome::Succeeded();
  });
  EXPECT_EQ(workers.RunDue(10).value(), 1);
  clock_.Advance(1000);
  EXPECT_EQ(workers.RunDue(10).value(), 1);
  EXPECT_EQ(ran, (std::vector<int64_t>{now_id, later_id}));
}

// Proves recovery from kill -9: a child process dies holding a job's lease; once the lease
// has expired, a fresh pool runs the job again (at-least-once) and it succeeds.
TEST_F(JobWorkersTest, JobOfAKilledProcessRunsAgainAfterItsLeaseExpires) {
  constexpr int64_t kLeaseMs = 60'000;
  EnqueueOrDie({.kind = "sync", .run_at_ms = 0});
  queue_.reset();
  database_.reset();  // The child opens its own; nothing is shared across fork.

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto database = store::Open(path_, store::DatabaseOptions{});
    if (!database.ok()) ::_exit(2);
    JobQueue queue(*database.value(), SystemClock::Instance());
    WorkerOptions options = TestOptions();
    options.lease_ms = kLeaseMs;
    Workers workers(queue, SystemClock::Instance(), options);
    workers.Register("sync", [](const Job&) -> JobOutcome {
      while (true) ::pause();  // Holds the job until killed.
    });
    if (!workers.Start().ok()) ::_exit(3);
    while (true) ::pause();
  }
  database_ = OpenDatabase();
  queue_ = std::make_unique<JobQueue>(*database_, clock_);
  bool running = WaitFor([&] { return CountJobs("state = 'running'") == 1; }, 10'000);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(running) << "the child never claimed the job";
  ASSERT_TRUE(WIFSIGNALED(status));

  ManualClock after_lease(SystemClock::Instance().NowMilliseconds() + kLeaseMs + 1);
  JobQueue queue(*database_, after_lease);
  Workers workers(queue, after_lease, TestOptions());
  workers.Register("sync", [](const Job& job) {
    EXPECT_EQ(job.attempts, 2);
    return JobOutcome::Succeeded();
  });
  EXPECT_EQ(workers.RunDue(10).value(), 1);
  EXPECT_EQ(CountJobs("state = 'succeeded' AND attempts = 2"), 1);
}

}  // namespace
}  // namespace finsync::jobs
