// Fault injection for the sandbox bank: a queue of outcomes that the next calls answer with
// instead of data, so every failure path of a sync (timeouts, 429 with a wait, 5xx, expired
// consent, ...) can be produced on demand and in a known order.
//
// Text form, for the API and tests: steps separated by commas, each
//   kind [":" seconds] ["*" count | "*always"]
// kind is ok, timeout, rate_limit, server_error, consent_expired, consent_not_found,
// account_not_found or invalid_request; ":seconds" (1..86400, default 60) only follows
// rate_limit; count (1..1000, default 1) is how many consecutive calls the step answers.
// "ok" lets calls through, so "ok*2,server_error" fails the third call. "always" keeps the
// step forever; steps after it never run. Examples: "timeout", "rate_limit:120",
// "server_error*3", "ok,consent_expired*always". The empty text is the empty plan.
//
// Faults answer at once: an injected timeout is reported without waiting, so tests on a
// ManualClock stay fast while the caller's handling of the outcome is what gets exercised.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sources/source.h"

namespace finsync::sources::sandbox {

inline constexpr int32_t kFaultCountMax = 1000;
inline constexpr int64_t kFaultRetryAfterSecondsMax = 86'400;
inline constexpr int64_t kFaultRetryAfterSecondsDefault = 60;
inline constexpr size_t kFaultStepsMax = 64;

struct FaultStep {
  std::optional<SourceErrorKind> kind;  // nullopt: "ok", let the call through.
  int64_t retry_after_seconds = 0;      // For kRateLimited.
  int32_t count = 1;                    // Calls this step answers; ignored when forever.
  bool forever = false;
};

// Not thread-safe: SandboxSource guards its plans with a mutex.
class FaultPlan {
 public:
  // kValidationFailed with the offending step and what is wrong with it.
  static Result<FaultPlan> Parse(std::string_view spec);

  // Adds a step at the end. At most kFaultStepsMax steps; programmer error beyond.
  void Append(const FaultStep& step);

  bool empty() const { return steps_.empty(); }

  // Consumes one call. nullopt means the call proceeds normally (no step, or an "ok" step).
  std::optional<SourceError> TakeCall();

  // The remaining steps in the text form Parse accepts.
  std::string ToSpec() const;

 private:
  std::deque<FaultStep> steps_;
};

// The error an injected fault answers with, worded like a real integrator's.
SourceError InjectedError(SourceErrorKind kind, int64_t retry_after_seconds);

}  // namespace finsync::sources::sandbox
