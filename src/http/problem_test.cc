#include "http/problem.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace finsync::http {
namespace {

// Proves each error code maps to exactly one status and stable machine code.
TEST(ProblemTest, CodeTable) {
  struct Case {
    ErrorCode code;
    unsigned status;
    std::string machine_code;
  };
  const std::vector<Case> cases = {
      {ErrorCode::kBadRequest, 400, "bad_request"},
      {ErrorCode::kMalformedJson, 400, "malformed_json"},
      {ErrorCode::kUnauthenticated, 401, "unauthenticated"},
      {ErrorCode::kInsufficientScope, 403, "insufficient_scope"},
      {ErrorCode::kPlanLimitReached, 403, "plan_limit_reached"},
      {ErrorCode::kNotFound, 404, "not_found"},
      {ErrorCode::kMethodNotAllowed, 405, "method_not_allowed"},
      {ErrorCode::kRequestTimeout, 408, "request_timeout"},
      {ErrorCode::kConflict, 409, "conflict"},
      {ErrorCode::kIdempotencyKeyInUse, 409, "idempotency_key_in_use"},
      {ErrorCode::kIdempotencyKeyReused, 422, "idempotency_key_reused"},
      {ErrorCode::kPayloadTooLarge, 413, "payload_too_large"},
      {ErrorCode::kUnsupportedMediaType, 415, "unsupported_media_type"},
      {ErrorCode::kValidationFailed, 422, "validation_failed"},
      {ErrorCode::kTooManyRequests, 429, "too_many_requests"},
      {ErrorCode::kInternal, 500, "internal_error"},
      {ErrorCode::kUnavailable, 503, "unavailable"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HttpStatusFor(c.code), c.status) << c.machine_code;
    EXPECT_EQ(MachineCodeFor(c.code), c.machine_code);
  }
}

// Proves a 422 problem carries message and errors grouped by field, in first-seen order.
TEST(ProblemTest, ValidationProblemGroupsFieldErrors) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors = {{"name", "is required"}, {"scopes", "bad"}, {"name", "too long"}};
  Response response;
  RenderProblem(error, "req-1", "/api/v1/tokens", response);
  EXPECT_EQ(response.status, 422u);
  EXPECT_EQ(response.content_type, "application/problem+json");
  rapidjson::Document document;
  document.Parse(response.body.c_str());
  ASSERT_TRUE(document.IsObject());
  EXPECT_STREQ(document["code"].GetString(), "validation_failed");
  EXPECT_STREQ(document["request_id"].GetString(), "req-1");
  EXPECT_STREQ(document["message"].GetString(), "The given data was invalid.");
  ASSERT_EQ(document["errors"]["name"].Size(), 2u);
  EXPECT_STREQ(document["errors"]["name"][1].GetString(), "too long");
  EXPECT_STREQ(document["errors"]["scopes"][0].GetString(), "bad");
}

// Proves other problems have no errors map.
TEST(ProblemTest, NonValidationProblemHasNoErrorsMap) {
  Response response;
  RenderProblem(Error::Of(ErrorCode::kNotFound, "gone"), "r", "", response);
  rapidjson::Document document;
  document.Parse(response.body.c_str());
  EXPECT_FALSE(document.HasMember("errors"));
  EXPECT_FALSE(document.HasMember("instance"));
  EXPECT_EQ(document["status"].GetInt(), 404);
}

}  // namespace
}  // namespace finsync::http
