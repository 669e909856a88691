#include "api/idempotency.h"

#include <chrono>

#include "api/api.h"
#include "common/crypto.h"
#include "common/json.h"

namespace finsync::api {

namespace {

bool IsValidKey(std::string_view key) {
  if (key.empty() || key.size() > kIdempotencyKeyLengthMax) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string RequestHash(const http::Request& request) {
  std::string text;
  text.reserve(request.body.size() + request.target.size() + 16);
  text.append(request.method).push_back('\x1f');
  text.append(request.target).push_back('\x1f');
  text.append(request.body);
  return crypto::Sha256Hex(text);
}

struct StoredKey {
  int64_t id = 0;
  std::string request_hash;
  std::string state;
  int64_t updated_at_ms = 0;
  int64_t expires_at_ms = 0;
  int64_t response_status = 0;
  std::string content_type;
  std::string headers_json;
  std::string body;
};

}  // namespace

Result<IdempotencyService::ClaimOutcome> IdempotencyService::Claim(
    const http::Request& request, int64_t user_id, int64_t token_id, std::string_view key,
    const std::string& request_hash, int64_t* claim_id) {
  int64_t now = clock_.NowMilliseconds();
  ClaimOutcome outcome = ClaimOutcome::kExists;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    // An expired key is free again.
    auto expired = connection.Execute(
        "DELETE FROM idempotency_keys WHERE token_id = ? AND method = ? AND path = ? AND "
        "idempotency_key = ? AND expires_at <= ?",
        {token_id, request.method, request.path, std::string(key), now});
    if (!expired.ok()) return expired.status();
    auto inserted = connection.Query(
        "INSERT INTO idempotency_keys (user_id, token_id, method, path, idempotency_key, "
        "request_hash, state, created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, "
        "'running', ?, ?, ?) ON CONFLICT (token_id, method, path, idempotency_key) DO NOTHING "
        "RETURNING id",
        {user_id, token_id, request.method, request.path, std::string(key), request_hash, now, now,
         now + options_.retention_ms});
    if (!inserted.ok()) return inserted.status();
    if (!inserted.value().empty()) {
      outcome = ClaimOutcome::kClaimed;
      *claim_id = inserted.value()[0].Int(0);
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return outcome;
}

Status IdempotencyService::Finish(int64_t claim_id, const http::Response& response) {
  int64_t now = clock_.NowMilliseconds();
  bool store_response = response.status < 500 && response.status != 429;
  json::Writer headers;
  headers.StartObject();
  for (const auto& [name, value] : response.headers) headers.Field(name, value);
  headers.EndObject();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    if (!store_response) {
      return connection.Execute("DELETE FROM idempotency_keys WHERE id = ?", {claim_id}).status();
    }
    return connection
        .Execute(
            "UPDATE idempotency_keys SET state = 'done', response_status = ?, "
            "response_content_type = ?, response_headers = ?, response_body = ?, updated_at = ? "
            "WHERE id = ?",
            {int64_t{response.status}, response.content_type, headers.str(),
             response.body_for_replay ? *response.body_for_replay : response.body, now, claim_id})
        .status();
  });
  { std::lock_guard lock(finished_mutex_); }
  finished_.notify_all();
  return status;
}

void IdempotencyService::Release(int64_t claim_id) {
  (void)database_.Write([&](store::Connection& connection) -> Status {
    return connection.Execute("DELETE FROM idempotency_keys WHERE id = ?", {claim_id}).status();
  });
  finished_.notify_all();
}

void IdempotencyService::Run(const http::Request& request, http::Response& response,
                             int64_t user_id, int64_t token_id, std::string_view key,
                             const std::function<void()>& handler) {
  if (!IsValidKey(key)) {
    return RespondError(request, response,
                        Error::Of(ErrorCode::kBadRequest,
                                  "Idempotency-Key must be 1 to 255 visible ASCII characters."));
  }
  std::string request_hash = RequestHash(request);
  int64_t deadline = clock_.NowMilliseconds() + options_.wait_ms;
  auto run_claimed = [&](int64_t claim_id) {
    try {
      handler();
    } catch (...) {
      Release(claim_id);
      throw;
    }
    Status finished = Finish(claim_id, response);
    (void)finished;  // The response stands even if storing it failed; a retry re-runs.
  };
  while (true) {
    int64_t claim_id = 0;
    auto claim = Claim(request, user_id, token_id, key, request_hash, &claim_id);
    if (!claim.ok()) return RespondError(request, response, claim.error());
    if (claim.value() == ClaimOutcome::kClaimed) return run_claimed(claim_id);

    std::optional<StoredKey> stored;
    Status read = database_.Read([&](store::Connection& connection) -> Status {
      auto rows = connection.Query(
          "SELECT id, request_hash, state, updated_at, expires_at, response_status, "
          "response_content_type, response_headers, response_body FROM idempotency_keys WHERE "
          "token_id = ? AND method = ? AND path = ? AND idempotency_key = ?",
          {token_id, request.method, request.path, std::string(key)});
      if (!rows.ok()) return rows.status();
      if (rows.value().empty()) return Status::Ok();
      const store::Row& row = rows.value()[0];
      stored = StoredKey{row.Int(0), row.Text(1), row.Text(2), row.Int(3), row.Int(4),
                         row.Int(5), row.Text(6), row.Text(7), row.Text(8)};
      return Status::Ok();
    });
    if (!read.ok()) return RespondError(request, response, read.error());
    if (!stored) continue;  // Released (5xx, 429) or expired meanwhile: claim again.
    if (stored->request_hash != request_hash) {
      return RespondError(
          request, response,
          Error::Of(ErrorCode::kIdempotencyKeyReused,
                    "This Idempotency-Key was already used for a different request."));
    }
    if (stored->state == "done") {
      response.status = static_cast<unsigned>(stored->response_status);
      response.content_type = stored->content_type;
      response.body = stored->body;
      rapidjson::Document headers;
      headers.Parse(stored->headers_json.c_str());
      if (headers.IsObject()) {
        for (const auto& member : headers.GetObject()) {
          if (member.value.IsString()) {
            response.SetHeader(member.name.GetString(), member.value.GetString());
          }
        }
      }
      response.SetHeader("Idempotency-Replayed", "true");
      return;
    }
    int64_t now = clock_.NowMilliseconds();
    if (now - stored->updated_at_ms >= options_.stale_running_ms) {
      // The claimant died: take the claim over if nobody else did first.
      int64_t taken = 0;
      Status takeover = database_.Write([&](store::Connection& connection) -> Status {
        auto changed = connection.Execute(
            "UPDATE idempotency_keys SET updated_at = ? WHERE id = ? AND state = 'running' AND "
            "updated_at = ?",
            {now, stored->id, stored->updated_at_ms});
        if (!changed.ok()) return changed.status();
        taken = changed.value();
        return Status::Ok();
      });
      if (!takeover.ok()) return RespondError(request, response, takeover.error());
      if (taken == 1) return run_claimed(stored->id);
      continue;
    }
    if (now >= deadline) {
      return RespondError(request, response,
                          Error::Of(ErrorCode::kIdempotencyKeyInUse,
                                    "A request with this Idempotency-Key is still being "
                                    "processed; retry later."));
    }
    std::unique_lock lock(finished_mutex_);
    finished_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(50, deadline - now)));
  }
}

Result<int64_t> IdempotencyService::PurgeExpired() {
  int64_t now = clock_.NowMilliseconds();
  int64_t deleted = 0;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto result = connection.Execute("DELETE FROM idempotency_keys WHERE expires_at <= ?", {now});
    if (!result.ok()) return result.status();
    deleted = result.value();
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return deleted;
}

}  // namespace finsync::api
