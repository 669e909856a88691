#include "jobs/job_queue.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <utility>

namespace finsync::jobs {

namespace {

using store::Connection;
using store::Row;
using store::Value;

constexpr std::string_view kColumns =
    "id, user_id, kind, payload, dedupe_key, state, run_at_ms, attempts, max_attempts, "
    "last_error, lease_owner, lease_expires_at_ms, created_at_ms, updated_at_ms, finished_at_ms";

constexpr std::array<std::string_view, 5> kStateNames = {"queued", "running", "succeeded", "failed",
                                                         "cancelled"};

// The conflict target names the partial unique index jobs_live_dedupe exactly, so the
// database (SQLite or PostgreSQL) resolves a duplicate key atomically inside the INSERT.
constexpr std::string_view kInsert =
    "INSERT INTO jobs (user_id, kind, payload, dedupe_key, state, run_at_ms, attempts, "
    "max_attempts, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, 'queued', ?, 0, ?, ?, ?) "
    "ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND finished_at_ms IS NULL ";
constexpr std::string_view kOnConflictKeep = "DO NOTHING RETURNING id";
constexpr std::string_view kOnConflictAdvance =
    "DO UPDATE SET run_at_ms = excluded.run_at_ms, updated_at_ms = excluded.updated_at_ms "
    "WHERE jobs.state = 'queued' AND excluded.run_at_ms < jobs.run_at_ms RETURNING id";

constexpr std::string_view kSelectLiveByKey =
    "SELECT id FROM jobs WHERE user_id = ? AND dedupe_key = ? AND finished_at_ms IS NULL";

// A lease that ran out means its worker died or stalled: the job goes back to the queue, or
// fails when the lost run was its last attempt (so a job that kills its worker every time
// cannot loop forever).
constexpr std::string_view kExpireLeases =
    "UPDATE jobs SET "
    "state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, "
    "finished_at_ms = CASE WHEN attempts >= max_attempts THEN ? ELSE NULL END, "
    "last_error = ? || lease_owner, lease_owner = NULL, lease_expires_at_ms = NULL, "
    "updated_at_ms = ? WHERE state = 'running' AND lease_expires_at_ms <= ?";

// The outer `state = 'queued'` repeats the subquery's condition on purpose: under
// PostgreSQL's READ COMMITTED two claimers can pick the same id, and the row re-check after
// the first one commits is what makes the second one skip it.
constexpr std::string_view kClaimHead =
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, "
    "lease_expires_at_ms = ?, updated_at_ms = ? WHERE state = 'queued' AND id IN ("
    "SELECT id FROM jobs WHERE state = 'queued' AND run_at_ms <= ? AND ";
constexpr std::string_view kClaimTail = " ORDER BY run_at_ms, id LIMIT ?) RETURNING ";

constexpr std::string_view kComplete =
    "UPDATE jobs SET state = ?, run_at_ms = ?, attempts = ?, last_error = ?, "
    "lease_owner = NULL, lease_expires_at_ms = NULL, updated_at_ms = ?, finished_at_ms = ? "
    "WHERE id = ? AND state = 'running' AND lease_owner = ?";

constexpr std::string_view kRenew =
    "UPDATE jobs SET lease_expires_at_ms = ? "
    "WHERE id = ? AND state = 'running' AND lease_owner = ?";

constexpr std::string_view kRelease =
    "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, "
    "lease_expires_at_ms = NULL, updated_at_ms = ? "
    "WHERE id = ? AND state = 'running' AND lease_owner = ?";

constexpr std::string_view kCancelHead =
    "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at_ms = NULL, "
    "finished_at_ms = ?, updated_at_ms = ? WHERE finished_at_ms IS NULL AND user_id = ? AND ";

constexpr int64_t kPurgeBatch = 1000;
constexpr std::string_view kPurge =
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs "
    "WHERE finished_at_ms IS NOT NULL AND finished_at_ms < ? LIMIT ?)";

// Each claim gets a lease token unique to it (the worker's random owner id plus a sequence
// number), so an outcome can only be recorded by the claim that produced it, even when the
// same worker claims the same job again later.
std::atomic<int64_t> claim_sequence{0};

const std::string& InsertSql(bool advance) {
  static const std::string keep = std::string(kInsert) + std::string(kOnConflictKeep);
  static const std::string move_earlier = std::string(kInsert) + std::string(kOnConflictAdvance);
  return advance ? move_earlier : keep;
}

std::string KindFilter(size_t kind_count) {
  std::string filter = "kind IN (";
  for (size_t i = 0; i < kind_count; ++i) filter += i == 0 ? "?" : ", ?";
  return filter + ")";
}

std::string CutError(std::string_view message) {
  return std::string(message.substr(0, kLastErrorMax));
}

Job JobFromRow(const Row& row) {
  Job job;
  job.id = row.Int(0);
  job.user_id = row.Int(1);
  job.kind = row.Text(2);
  job.payload = row.Text(3);
  job.dedupe_key = row.OptionalText(4);
  // The CHECK constraint on jobs.state makes an unknown name impossible.
  job.state = ParseJobState(row.Text(5)).value_or(JobState::kFailed);
  job.run_at_ms = row.Int(6);
  job.attempts = static_cast<int32_t>(row.Int(7));
  job.max_attempts = static_cast<int32_t>(row.Int(8));
  job.last_error = row.OptionalText(9);
  job.lease_owner = row.OptionalText(10);
  job.lease_expires_at_ms = row.OptionalInt(11);
  job.created_at_ms = row.Int(12);
  job.updated_at_ms = row.Int(13);
  job.finished_at_ms = row.OptionalInt(14);
  return job;
}

std::vector<Job> JobsFromRows(const std::vector<Row>& rows) {
  std::vector<Job> jobs;
  jobs.reserve(rows.size());
  for (const Row& row : rows) jobs.push_back(JobFromRow(row));
  return jobs;
}

bool IsJson(std::string_view text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  return !document.HasParseError();
}

}  // namespace

std::string_view JobStateName(JobState state) { return kStateNames[static_cast<size_t>(state)]; }

std::optional<JobState> ParseJobState(std::string_view text) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == text) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

std::vector<FieldError> ValidateNewJob(const NewJob& job) {
  std::vector<FieldError> errors;
  if (job.kind.empty() || job.kind.size() > kKindMax) {
    errors.push_back({"kind", "must be 1 to " + std::to_string(kKindMax) + " characters"});
  }
  if (job.payload.size() > kPayloadMax) {
    errors.push_back({"payload", "must be at most " + std::to_string(kPayloadMax) + " bytes"});
  } else if (!IsJson(job.payload)) {
    errors.push_back({"payload", "must be valid JSON"});
  }
  if (job.dedupe_key && (job.dedupe_key->empty() || job.dedupe_key->size() > kDedupeKeyMax)) {
    errors.push_back(
        {"dedupe_key", "must be 1 to " + std::to_string(kDedupeKeyMax) + " characters"});
  }
  if (job.max_attempts < 1 || job.max_attempts > kMaxAttemptsLimit) {
    errors.push_back(
        {"max_attempts", "must be between 1 and " + std::to_string(kMaxAttemptsLimit)});
  }
  return errors;
}

Result<int64_t> JobQueue::Enqueue(const NewJob& job) { return EnqueueAndWake(job, false); }

Result<int64_t> JobQueue::EnqueueOrAdvance(const NewJob& job) { return EnqueueAndWake(job, true); }

Result<int64_t> JobQueue::Enqueue(Connection& connection, const NewJob& job) {
  return Insert(connection, job, false);
}

Result<int64_t> JobQueue::EnqueueOrAdvance(Connection& connection, const NewJob& job) {
  return Insert(connection, job, true);
}

Result<int64_t> JobQueue::EnqueueAndWake(const NewJob& job, bool advance) {
  int64_t id = 0;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto inserted = Insert(connection, job, advance);
    if (!inserted.ok()) return inserted.status();
    id = inserted.value();
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  Wake();
  return id;
}

Result<int64_t> JobQueue::Insert(Connection& connection, const NewJob& job, bool advance) {
  std::vector<FieldError> errors = ValidateNewJob(job);
  if (!errors.empty()) {
    return Error{ErrorCode::kValidationFailed, "the job is invalid", std::move(errors)};
  }
  int64_t now_ms = clock_.NowMilliseconds();
  auto inserted =
      connection.Query(InsertSql(advance),
                       {job.user_id, job.kind, job.payload, store::OptionalText(job.dedupe_key),
                        job.run_at_ms.value_or(now_ms), int64_t{job.max_attempts}, now_ms, now_ms});
  if (!inserted.ok()) return inserted.error();
  if (!inserted.value().empty()) return inserted.value()[0].Int(0);
  // No row: the key is held by a live job (and was not advanced). Same transaction, so the
  // holder is still there.
  if (!job.dedupe_key) return Error::Of(ErrorCode::kInternal, "job insert returned no id");
  auto live = connection.Query(kSelectLiveByKey, {job.user_id, *job.dedupe_key});
  if (!live.ok()) return live.error();
  if (live.value().empty()) return Error::Of(ErrorCode::kInternal, "dedupe holder vanished");
  return live.value()[0].Int(0);
}

Result<bool> JobQueue::Cancel(int64_t user_id, int64_t job_id) {
  int64_t changed = 0;
  int64_t now_ms = clock_.NowMilliseconds();
  std::string sql = std::string(kCancelHead) + "id = ?";
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto result = connection.Execute(sql, {now_ms, now_ms, user_id, job_id});
    if (!result.ok()) return result.status();
    changed = result.value();
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return changed > 0;
}

Result<bool> JobQueue::CancelByDedupeKey(int64_t user_id, std::string_view dedupe_key) {
  int64_t changed = 0;
  int64_t now_ms = clock_.NowMilliseconds();
  std::string sql = std::string(kCancelHead) + "dedupe_key = ?";
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto result = connection.Execute(sql, {now_ms, now_ms, user_id, std::string(dedupe_key)});
    if (!result.ok()) return result.status();
    changed = result.value();
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return changed > 0;
}

Result<std::optional<Job>> JobQueue::Get(int64_t user_id, int64_t job_id) {
  std::optional<Job> job;
  std::string sql = "SELECT " + std::string(kColumns) + " FROM jobs WHERE user_id = ? AND id = ?";
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto rows = connection.Query(sql, {user_id, job_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) job = JobFromRow(rows.value()[0]);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return job;
}

Result<std::vector<Job>> JobQueue::List(int64_t user_id, const JobListOptions& options) {
  std::string sql = "SELECT " + std::string(kColumns) + " FROM jobs WHERE user_id = ?";
  std::vector<Value> params = {user_id};
  if (options.kind) {
    sql += " AND kind = ?";
    params.emplace_back(*options.kind);
  }
  if (options.state) {
    sql += " AND state = ?";
    params.emplace_back(std::string(JobStateName(*options.state)));
  }
  if (options.before_id) {
    sql += " AND id < ?";
    params.emplace_back(*options.before_id);
  }
  sql += " ORDER BY id DESC LIMIT ?";
  params.emplace_back(int64_t{std::clamp(options.limit, 1, 1000)});
  std::vector<Job> jobs;
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto rows = connection.Query(sql, params);
    if (!rows.ok()) return rows.status();
    jobs = JobsFromRows(rows.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return jobs;
}

Result<std::optional<int64_t>> JobQueue::NextDueAtMs(std::span<const std::string> kinds) {
  std::string sql = "SELECT (SELECT run_at_ms FROM jobs WHERE state = 'queued'";
  if (!kinds.empty()) sql += " AND " + KindFilter(kinds.size());
  sql +=
      " ORDER BY run_at_ms LIMIT 1), "
      "(SELECT MIN(lease_expires_at_ms) FROM jobs WHERE state = 'running')";
  std::vector<Value> params(kinds.begin(), kinds.end());
  std::optional<int64_t> next;
  Status status = database_.Read([&](Connection& connection) -> Status {
    auto rows = connection.Query(sql, params);
    if (!rows.ok()) return rows.status();
    const Row& row = rows.value()[0];
    for (size_t column = 0; column < 2; ++column) {
      if (row.IsNull(column)) continue;
      next = next ? std::min(*next, row.Int(column)) : row.Int(column);
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return next;
}

Result<std::vector<Job>> JobQueue::Claim(std::span<const std::string> kinds, std::string_view owner,
                                         int32_t limit, int64_t lease_ms) {
  assert(lease_ms > 0);
  if (kinds.empty() || limit <= 0) return std::vector<Job>{};
  int64_t now_ms = clock_.NowMilliseconds();
  std::string token = std::string(owner) + "#" + std::to_string(++claim_sequence);
  std::string sql = std::string(kClaimHead) + KindFilter(kinds.size()) + std::string(kClaimTail) +
                    std::string(kColumns);
  std::vector<Value> params = {token, now_ms + lease_ms, now_ms, now_ms};
  params.insert(params.end(), kinds.begin(), kinds.end());
  params.emplace_back(int64_t{limit});
  std::vector<Job> jobs;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto expired = connection.Execute(
        kExpireLeases,
        {now_ms, std::string("lease expired before the job finished; it was held by "), now_ms,
         now_ms});
    if (!expired.ok()) return expired.status();
    auto rows = connection.Query(sql, params);
    if (!rows.ok()) return rows.status();
    jobs = JobsFromRows(rows.value());
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  // RETURNING does not promise an order; hand jobs out earliest first.
  std::sort(jobs.begin(), jobs.end(), [](const Job& left, const Job& right) {
    return std::pair(left.run_at_ms, left.id) < std::pair(right.run_at_ms, right.id);
  });
  return jobs;
}

Result<bool> JobQueue::Complete(const Job& claimed, const JobTransition& transition) {
  assert(claimed.state == JobState::kRunning && claimed.lease_owner.has_value());
  assert(transition.state != JobState::kRunning);
  int64_t now_ms = clock_.NowMilliseconds();
  bool queued = transition.state == JobState::kQueued;
  std::optional<std::string> last_error;
  if (transition.last_error) last_error = CutError(*transition.last_error);
  std::vector<Value> params = {std::string(JobStateName(transition.state)),
                               queued ? transition.run_at_ms : claimed.run_at_ms,
                               int64_t{transition.attempts},
                               store::OptionalText(last_error),
                               now_ms,
                               queued ? store::Null() : Value(now_ms),
                               claimed.id,
                               *claimed.lease_owner};
  int64_t changed = 0;
  Status status = database_.Write([&](Connection& connection) -> Status {
    auto result = connection.Execute(kComplete, params);
    if (!result.ok()) return result.status();
    changed = result.value();
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return changed > 0;
}

Result<int64_t> JobQueue::RenewLeases(std::span<const Job> claimed, int64_t lease_ms) {
  if (claimed.empty()) return int64_t{0};
  int64_t expires_at_ms = clock_.NowMilliseconds() + lease_ms;
  int64_t held = 0;
  Status status = database_.Write([&](Connection& connection) -> Status {
    for (const Job& job : claimed) {
      auto result = connection.Execute(kRenew, {expires_at_ms, job.id, job.lease_owner.value()});
      if (!result.ok()) return result.status();
      held += result.value();
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return held;
}

Result<int64_t> JobQueue::ReleaseLeases(std::span<const Job> claimed) {
  if (claimed.empty()) return int64_t{0};
  int64_t now_ms = clock_.NowMilliseconds();
  int64_t released = 0;
  Status status = database_.Write([&](Connection& connection) -> Status {
    for (const Job& job : claimed) {
      auto result = connection.Execute(kRelease, {now_ms, job.id, job.lease_owner.value()});
      if (!result.ok()) return result.status();
      released += result.value();
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (released > 0) Wake();
  return released;
}

Result<int64_t> JobQueue::PurgeFinished(int64_t older_than_ms) {
  int64_t cutoff_ms = clock_.NowMilliseconds() - older_than_ms;
  int64_t total = 0;
  // Small batches keep each write short, so purging never stalls the group-committed writer.
  while (true) {
    int64_t deleted = 0;
    Status status = database_.Write([&](Connection& connection) -> Status {
      auto result = connection.Execute(kPurge, {cutoff_ms, kPurgeBatch});
      if (!result.ok()) return result.status();
      deleted = result.value();
      return Status::Ok();
    });
    if (!status.ok()) return status.error();
    total += deleted;
    if (deleted < kPurgeBatch) return total;
  }
}

int64_t JobQueue::AddWakeListener(std::function<void()> listener) {
  std::lock_guard lock(listeners_mutex_);
  int64_t id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void JobQueue::RemoveWakeListener(int64_t listener_id) {
  std::lock_guard lock(listeners_mutex_);
  listeners_.erase(listener_id);
}

void JobQueue::Wake() {
  // Called under the lock so RemoveWakeListener returns only once no call is in progress.
  std::lock_guard lock(listeners_mutex_);
  for (auto& [id, listener] : listeners_) listener();
}

}  // namespace finsync::jobs
