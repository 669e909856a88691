#include "http/problem.h"

#include <string>

#include "common/json.h"

namespace finsync::http {

namespace {

struct ProblemKind {
  ErrorCode code;
  unsigned status;
  std::string_view machine_code;
  std::string_view title;
};

// One line per code: one code always maps to one status.
constexpr ProblemKind kProblemKinds[] = {
    {ErrorCode::kBadRequest, 400, "bad_request", "Bad request"},
    {ErrorCode::kMalformedJson, 400, "malformed_json", "Malformed JSON"},
    {ErrorCode::kUnauthenticated, 401, "unauthenticated", "Unauthenticated"},
    {ErrorCode::kInsufficientScope, 403, "insufficient_scope", "Insufficient scope"},
    {ErrorCode::kPlanLimitReached, 403, "plan_limit_reached", "Plan limit reached"},
    {ErrorCode::kNotFound, 404, "not_found", "Not found"},
    {ErrorCode::kMethodNotAllowed, 405, "method_not_allowed", "Method not allowed"},
    {ErrorCode::kRequestTimeout, 408, "request_timeout", "Request timeout"},
    {ErrorCode::kConflict, 409, "conflict", "Conflict"},
    {ErrorCode::kIdempotencyKeyInUse, 409, "idempotency_key_in_use", "Idempotency key in use"},
    {ErrorCode::kIdempotencyKeyReused, 422, "idempotency_key_reused", "Idempotency key reused"},
    {ErrorCode::kPayloadTooLarge, 413, "payload_too_large", "Payload too large"},
    {ErrorCode::kUnsupportedMediaType, 415, "unsupported_media_type", "Unsupported media type"},
    {ErrorCode::kValidationFailed, 422, "validation_failed", "Validation failed"},
    {ErrorCode::kTooManyRequests, 429, "too_many_requests", "Too many requests"},
    {ErrorCode::kInternal, 500, "internal_error", "Internal server error"},
    {ErrorCode::kUnavailable, 503, "unavailable", "Service unavailable"},
};

const ProblemKind& KindFor(ErrorCode code) {
  for (const auto& kind : kProblemKinds) {
    if (kind.code == code) return kind;
  }
  // Unreachable while the table is complete (problem_test.cc checks every code).
  for (const auto& kind : kProblemKinds) {
    if (kind.code == ErrorCode::kInternal) return kind;
  }
  return kProblemKinds[0];
}

}  // namespace

unsigned HttpStatusFor(ErrorCode code) { return KindFor(code).status; }
std::string_view MachineCodeFor(ErrorCode code) { return KindFor(code).machine_code; }
std::string_view TitleFor(ErrorCode code) { return KindFor(code).title; }

void RenderProblem(const Error& error, std::string_view request_id, std::string_view instance,
                   Response& response) {
  const ProblemKind& kind = KindFor(error.code);
  std::string type = "https://finsync.dev/problems/";
  type.append(kind.machine_code);
  json::Writer writer;
  writer.StartObject();
  writer.Field("type", type);
  writer.Field("title", kind.title);
  writer.Field("status", static_cast<int64_t>(kind.status));
  writer.Field("detail", error.detail);
  writer.Field("code", kind.machine_code);
  writer.Field("request_id", request_id);
  if (!instance.empty()) writer.Field("instance", instance);
  if (error.code == ErrorCode::kValidationFailed) {
    writer.Field("message", error.detail);
    writer.Key("errors").StartObject();
    // Group messages by field, keeping the order fields first appear in.
    std::vector<std::string_view> fields;
    for (const auto& field_error : error.field_errors) {
      bool seen = false;
      for (auto field : fields) seen = seen || field == field_error.field;
      if (!seen) fields.push_back(field_error.field);
    }
    for (auto field : fields) {
      writer.Key(field).StartArray();
      for (const auto& field_error : error.field_errors) {
        if (field_error.field == field) writer.String(field_error.message);
      }
      writer.EndArray();
    }
    writer.EndObject();
  }
  writer.EndObject();
  response.status = kind.status;
  response.content_type = "application/problem+json";
  response.body = writer.str();
}

}  // namespace finsync::http
