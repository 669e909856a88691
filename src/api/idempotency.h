// Idempotency-Key handling for every mutating request (IETF httpapi idempotency-key draft).
// Keys are scoped per token, method and path. The first request with a key claims it
// atomically (a unique insert, never select-then-insert) and runs; its response is stored and
// replayed byte for byte to every later request with the same key and the same request
// (marked with `Idempotency-Replayed: true`). The same key with a different request is 422;
// while the first request still runs, a repeat waits for it (bounded by wait_ms) and then
// replays, or gets 409 when the wait runs out. 5xx and 429 answers are not stored, so the
// request can be retried. A claim abandoned by a crashed process is taken over after
// stale_running_ms. Keys expire after retention_ms.
//
// Known window: a process killed after the handler committed but before the response was
// stored runs the request again on retry. Handlers of creating routes keep that window small.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

#include "common/clock.h"
#include "common/status.h"
#include "http/message.h"
#include "store/database.h"

namespace finsync::api {

struct IdempotencyOptions {
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;
  int64_t wait_ms = 10'000;
  int64_t stale_running_ms = 300'000;
};

inline constexpr size_t kIdempotencyKeyLengthMax = 255;

class IdempotencyService {
 public:
  IdempotencyService(store::Database& database, const Clock& clock, IdempotencyOptions options)
      : database_(database), clock_(clock), options_(options) {}

  // Runs `handler` under the request's Idempotency-Key (which the caller found present).
  // `handler` fills `response`; on a replay it is not called.
  void Run(const http::Request& request, http::Response& response, int64_t user_id,
           int64_t token_id, std::string_view key, const std::function<void()>& handler);
  // Deletes expired keys; returns how many.
  Result<int64_t> PurgeExpired();

 private:
  enum class ClaimOutcome { kClaimed, kExists };
  Result<ClaimOutcome> Claim(const http::Request& request, int64_t user_id, int64_t token_id,
                             std::string_view key, const std::string& request_hash,
                             int64_t* claim_id);
  Status Finish(int64_t claim_id, const http::Response& response);
  void Release(int64_t claim_id);

  store::Database& database_;
  const Clock& clock_;
  IdempotencyOptions options_;
  // Wakes same-process waiters when any claim finishes; waiters re-read their row.
  std::mutex finished_mutex_;
  std::condition_variable finished_;
};

}  // namespace finsync::api
