#include "sources/sandbox/fault_plan.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace finsync::sources::sandbox {
namespace {

struct ParseCase {
  std::string_view spec;
  bool valid;
  std::string_view canonical;  // ToSpec of the parsed plan; checked when valid.
};

TEST(FaultPlanTest, ParsesTheTextFormOrNamesTheBadStep) {
  // Proves the spec grammar the API passes through: every kind, seconds only for rate_limit,
  // counts and "always", spaces around steps, and a precise refusal for everything else.
  const ParseCase cases[] = {
      {"", true, ""},
      {"  ", true, ""},
      {"timeout", true, "timeout"},
      {"rate_limit", true, "rate_limit:60"},
      {"rate_limit:120", true, "rate_limit:120"},
      {"server_error*3", true, "server_error*3"},
      {"consent_expired*always", true, "consent_expired*always"},
      {"consent_not_found", true, "consent_not_found"},
      {"account_not_found", true, "account_not_found"},
      {"invalid_request*2", true, "invalid_request*2"},
      {"ok*2, server_error , rate_limit:5*2", true, "ok*2,server_error,rate_limit:5*2"},
      {"server_error*1", true, "server_error"},
      {"boom", false, ""},
      {"Timeout", false, ""},
      {"timeout:5", false, ""},
      {"rate_limit:0", false, ""},
      {"rate_limit:86401", false, ""},
      {"rate_limit:", false, ""},
      {"rate_limit:1.5", false, ""},
      {"server_error*0", false, ""},
      {"server_error*1001", false, ""},
      {"server_error*", false, ""},
      {"server_error*-1", false, ""},
      {"timeout,", false, ""},
      {",timeout", false, ""},
  };
  for (const ParseCase& test_case : cases) {
    const Result<FaultPlan> plan = FaultPlan::Parse(test_case.spec);
    ASSERT_EQ(plan.ok(), test_case.valid) << "'" << test_case.spec << "'";
    if (test_case.valid) {
      EXPECT_EQ(plan.value().ToSpec(), test_case.canonical) << "'" << test_case.spec << "'";
    } else {
      EXPECT_EQ(plan.error().code, ErrorCode::kValidationFailed);
      EXPECT_NE(plan.error().detail.find("fault step"), std::string::npos);
    }
  }
}

TEST(FaultPlanTest, RefusesMoreThanTheStepLimit) {
  // Proves the plan is bounded, so a hostile spec cannot grow memory without limit.
  std::string spec = "timeout";
  for (size_t step = 1; step < kFaultStepsMax; ++step) spec += ",timeout";
  EXPECT_TRUE(FaultPlan::Parse(spec).ok());
  EXPECT_FALSE(FaultPlan::Parse(spec + ",timeout").ok());
}

// The kinds the next calls answer with; nullopt where a call goes through.
std::vector<std::optional<SourceErrorKind>> TakeCalls(FaultPlan& plan, size_t count) {
  std::vector<std::optional<SourceErrorKind>> outcomes;
  for (size_t call = 0; call < count; ++call) {
    const std::optional<SourceError> error = plan.TakeCall();
    outcomes.push_back(error ? std::optional(error->kind) : std::nullopt);
  }
  return outcomes;
}

TEST(FaultPlanTest, StepsAnswerTheirCountOfCallsInOrder) {
  // Proves counted steps fail exactly that many calls, "ok" lets calls through, the plan then
  // runs dry, and "always" never does.
  using enum SourceErrorKind;
  constexpr std::nullopt_t kOk = std::nullopt;
  struct Case {
    std::string_view spec;
    std::vector<std::optional<SourceErrorKind>> outcomes;
  };
  const Case cases[] = {
      {"server_error*3", {kServerError, kServerError, kServerError, kOk, kOk}},
      {"ok*2,timeout", {kOk, kOk, kTimeout, kOk}},
      {"rate_limit:30,consent_expired", {kRateLimited, kConsentExpired, kOk}},
      {"ok,server_error*always", {kOk, kServerError, kServerError, kServerError}},
  };
  for (const Case& test_case : cases) {
    Result<FaultPlan> plan = FaultPlan::Parse(test_case.spec);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(TakeCalls(plan.value(), test_case.outcomes.size()), test_case.outcomes)
        << test_case.spec;
  }
}

TEST(FaultPlanTest, InjectedErrorsCarryTheIntegratorsWording) {
  // Proves each kind comes with a human message, and a rate limit with its wait in seconds.
  FaultPlan plan = FaultPlan::Parse("rate_limit:120,consent_expired").value();
  const std::optional<SourceError> limited = plan.TakeCall();
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->retry_after_seconds, 120);
  EXPECT_NE(limited->message.find("120 seconds"), std::string::npos);
  const std::optional<SourceError> expired = plan.TakeCall();
  ASSERT_TRUE(expired.has_value());
  EXPECT_NE(expired->message.find("expired"), std::string::npos);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.ToSpec(), "");
}

}  // namespace
}  // namespace finsync::sources::sandbox
