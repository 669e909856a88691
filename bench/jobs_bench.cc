// Throughput of the durable job queue on SQLite (WAL, synchronous=FULL) in a temporary file:
// enqueueing one job per durable write (one thread and many, to show group commit),
// enqueueing a batch inside one write, and a worker pool draining no-op jobs (each job costs
// a claim and an outcome write). Reproduce: build/release/jobs_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "jobs/job_queue.h"
#include "jobs/worker.h"
#include "store/database.h"

namespace {

using finsync::Status;
using finsync::SystemClock;
using finsync::jobs::Job;
using finsync::jobs::JobOutcome;
using finsync::jobs::JobQueue;
using finsync::jobs::NewJob;
using finsync::jobs::WorkerOptions;
using finsync::jobs::Workers;

// A fresh database file per benchmark run, removed afterwards.
class TemporaryStore {
 public:
  explicit TemporaryStore(const std::string& name) {
    directory_ = std::filesystem::temp_directory_path() /
                 ("finsync_jobs_bench_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    auto database = finsync::store::Open((directory_ / "jobs.db").string(), {});
    if (!database.ok()) std::abort();
    database_ = std::move(database.value());
    queue_ = std::make_unique<JobQueue>(*database_, SystemClock::Instance());
  }
  ~TemporaryStore() {
    queue_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }
  finsync::store::Database& database() { return *database_; }
  JobQueue& queue() { return *queue_; }

 private:
  std::filesystem::path directory_;
  std::unique_ptr<finsync::store::Database> database_;
  std::unique_ptr<JobQueue> queue_;
};

std::unique_ptr<TemporaryStore> shared_store;  // For the multi-threaded enqueue benchmark.

void BM_EnqueueDurable(benchmark::State& state) {
  if (state.thread_index() == 0) shared_store = std::make_unique<TemporaryStore>("enqueue");
  // Google Benchmark starts the timed loop of all threads together, after thread 0's setup.
  for (auto _ : state) {
    if (!shared_store->queue().Enqueue({.kind = "deliver", .payload = R"({"link":1})"}).ok()) {
      state.SkipWithError("enqueue failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) shared_store.reset();
}
BENCHMARK(BM_EnqueueDurable)->Threads(1)->Threads(16)->UseRealTime()->MinTime(1.0);

void BM_EnqueueBatchInOneWrite(benchmark::State& state) {
  TemporaryStore store("batch");
  const int64_t batch_size = state.range(0);
  for (auto _ : state) {
    Status status = store.database().Write([&](finsync::store::Connection& connection) {
      for (int64_t i = 0; i < batch_size; ++i) {
        auto id = store.queue().Enqueue(connection, {.kind = "deliver", .payload = "{}"});
        if (!id.ok()) return id.status();
      }
      return Status::Ok();
    });
    if (!status.ok()) state.SkipWithError("batch enqueue failed");
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
}
BENCHMARK(BM_EnqueueBatchInOneWrite)->Arg(1000)->UseRealTime();

void BM_WorkersDrainNoOpJobs(benchmark::State& state) {
  const int64_t job_count = 2000;
  for (auto _ : state) {
    state.PauseTiming();
    TemporaryStore store("drain");
    Status filled = store.database().Write([&](finsync::store::Connection& connection) {
      for (int64_t i = 0; i < job_count; ++i) {
        auto id = store.queue().Enqueue(connection, {.kind = "noop"});
        if (!id.ok()) return id.status();
      }
      return Status::Ok();
    });
    if (!filled.ok()) state.SkipWithError("fill failed");
    std::atomic<int64_t> done{0};
    Workers workers(store.queue(), SystemClock::Instance(),
                    WorkerOptions{.thread_count = static_cast<int32_t>(state.range(0))});
    workers.Register("noop", [&](const Job&) {
      ++done;
      return JobOutcome::Succeeded();
    });
    state.ResumeTiming();
    if (!workers.Start().ok()) state.SkipWithError("start failed");
    while (workers.Stats().succeeded < job_count) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    state.PauseTiming();
    (void)workers.Stop();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * job_count);
}
BENCHMARK(BM_WorkersDrainNoOpJobs)->Arg(1)->Arg(4)->Arg(16)->UseRealTime()->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
