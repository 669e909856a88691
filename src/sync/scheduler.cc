#include "sync/scheduler.h"

#include <rapidjson/document.h>

#include <string>

namespace finsync::sync {

namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDayMs = 86'400'000;
// The handler bounds its own quick retries (kQuickRetries) and then reschedules, which resets
// attempts; this cap only stops a job that keeps being rate-limited without end.
constexpr int32_t kMaxAttempts = 100;

std::string AccountDedupeKey(int64_t account_id) {
  return "sync:account:" + std::to_string(account_id);
}

}  // namespace

void SyncScheduler::RegisterHandlers(jobs::Workers& workers) {
  workers.Register(std::string(kSyncAccountJob),
                   [this](const jobs::Job& job) { return RunAccountSync(job); });
  workers.Register(std::string(kRetentionJob), [this](const jobs::Job&) {
    auto purged = bank_data_.PurgeExpiredData();
    if (!purged.ok()) return jobs::JobOutcome::RetryWithBackoff(purged.error().detail);
    return jobs::JobOutcome::RescheduleAt(clock_.NowMilliseconds() + kDayMs);
  });
  // Hourly, so a consent is announced within an hour of entering its last week.
  workers.Register(std::string(kConsentWarningJob), [this](const jobs::Job&) {
    auto warned = bank_data_.WarnExpiringConsents();
    if (!warned.ok()) return jobs::JobOutcome::RetryWithBackoff(warned.error().detail);
    return jobs::JobOutcome::RescheduleAt(clock_.NowMilliseconds() + 60 * kMinuteMs);
  });
}

Status SyncScheduler::ScheduleAccount(int64_t user_id, int64_t account_id) {
  jobs::NewJob job;
  job.kind = std::string(kSyncAccountJob);
  job.user_id = user_id;
  job.payload = "{\"account_id\":" + std::to_string(account_id) + "}";
  job.dedupe_key = AccountDedupeKey(account_id);
  job.run_at_ms = clock_.NowMilliseconds();
  job.max_attempts = kMaxAttempts;
  return queue_.EnqueueOrAdvance(job).status();
}

Status SyncScheduler::EnsureScheduled() {
  auto accounts = bank_data_.AutoSyncAccounts();
  if (!accounts.ok()) return accounts.error();
  for (const auto& [user_id, account_id] : accounts.value()) {
    jobs::NewJob job;
    job.kind = std::string(kSyncAccountJob);
    job.user_id = user_id;
    job.payload = "{\"account_id\":" + std::to_string(account_id) + "}";
    job.dedupe_key = AccountDedupeKey(account_id);
    job.max_attempts = kMaxAttempts;
    // Enqueue keeps an existing live job as it is: restarts do not trigger extra syncs.
    auto enqueued = queue_.Enqueue(job);
    if (!enqueued.ok()) return enqueued.error();
  }
  jobs::NewJob retention;
  retention.kind = std::string(kRetentionJob);
  retention.dedupe_key = "retention";
  auto retention_job = queue_.Enqueue(retention);
  if (!retention_job.ok()) return retention_job.error();
  jobs::NewJob warnings;
  warnings.kind = std::string(kConsentWarningJob);
  warnings.dedupe_key = std::string(kConsentWarningJob);
  return queue_.Enqueue(warnings).status();
}

jobs::JobOutcome SyncScheduler::RunAccountSync(const jobs::Job& job) {
  rapidjson::Document payload;
  payload.Parse(job.payload.c_str());
  if (!payload.IsObject() || !payload.HasMember("account_id") || !payload["account_id"].IsInt64()) {
    return jobs::JobOutcome::Failed("payload has no account_id");
  }
  int64_t account_id = payload["account_id"].GetInt64();
  auto account = bank_data_.GetAccount(job.user_id, account_id);
  if (!account.ok()) return jobs::JobOutcome::Failed(account.error().detail);
  if (!account.value().settings.sync_auto) {
    return jobs::JobOutcome::Failed("automatic sync is switched off for this account");
  }
  int64_t now = clock_.NowMilliseconds();
  SyncRequest request;
  request.details = !account.value().details_last_synced_at_ms ||
                    now - *account.value().details_last_synced_at_ms >= kDayMs;
  auto report = bank_data_.SyncAccount(job.user_id, account_id, request);
  if (report.ok()) {
    int64_t frequency_ms = account.value().settings.sync_frequency_in_minutes * kMinuteMs;
    return jobs::JobOutcome::RescheduleAt(now + frequency_ms);
  }
  const Error& error = report.error();
  switch (error.code) {
    case ErrorCode::kTooManyRequests:
      // The bank's own limit: wait as long as it says, at least a minute. A reschedule, not a
      // retry, so a bank that keeps limiting never uses up the job's attempts.
      return jobs::JobOutcome::RescheduleAt(now + std::max<int64_t>(60, error.retry_after_seconds) *
                                                      1000);
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      if (job.attempts < kQuickRetries) return jobs::JobOutcome::RetryWithBackoff(error.detail);
      // Unhealthy accounts sync at most daily until they recover.
      return jobs::JobOutcome::RescheduleAt(now + kDayMs);
    default:
      // Needs the user (consent expired, connection disabled, account gone).
      return jobs::JobOutcome::Failed(error.detail);
  }
}

}  // namespace finsync::sync
