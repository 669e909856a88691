// Shared by the jobs tests only: a real SQLite file in a fresh temporary directory, a
// ManualClock, and small helpers to read jobs back and to wait (boundedly) for threads.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "jobs/job_queue.h"
#include "store/database.h"

namespace finsync::jobs {

inline constexpr int64_t kTestStartMs = 1'700'000'000'000;

class JobTestFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_jobs_test_" + std::to_string(::getpid()) + "_" +
                  test->test_suite_name() + "_" + test->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    path_ = (directory_ / "jobs.db").string();
    database_ = OpenDatabase();
    queue_ = std::make_unique<JobQueue>(*database_, clock_);
  }

  void TearDown() override {
    queue_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  std::unique_ptr<store::Database> OpenDatabase() {
    auto database = store::Open(path_, store::DatabaseOptions{});
    EXPECT_TRUE(database.ok()) << (database.ok() ? "" : database.error().detail);
    return database.ok() ? std::move(database.value()) : nullptr;
  }

  int64_t EnqueueOrDie(const NewJob& job) {
    auto id = queue_->Enqueue(job);
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().detail);
    return id.ok() ? id.value() : 0;
  }

  Job GetJob(int64_t id, int64_t user_id = 0) {
    auto job = queue_->Get(user_id, id);
    EXPECT_TRUE(job.ok() && job.value().has_value()) << "job " << id << " not found";
    return job.ok() && job.value() ? *job.value() : Job{};
  }

  int64_t CountJobs(std::string_view where) {
    int64_t count = -1;
    std::string sql = "SELECT COUNT(*) FROM jobs WHERE " + std::string(where);
    Status status = database_->Read([&](store::Connection& connection) -> Status {
      auto rows = connection.Query(sql, {});
      if (!rows.ok()) return rows.status();
      count = rows.value()[0].Int(0);
      return Status::Ok();
    });
    EXPECT_TRUE(status.ok());
    return count;
  }

  // Polls `condition` every 2 ms of real time for at most timeout_ms.
  static bool WaitFor(const std::function<bool()>& condition, int64_t timeout_ms = 10'000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return condition();
  }

  std::filesystem::path directory_;
  std::string path_;
  ManualClock clock_{kTestStartMs};
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<JobQueue> queue_;
};

}  // namespace finsync::jobs
