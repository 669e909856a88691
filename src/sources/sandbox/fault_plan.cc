#include "sources/sandbox/fault_plan.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>

namespace finsync::sources::sandbox {
namespace {

struct KindName {
  std::string_view name;
  std::optional<SourceErrorKind> kind;
};

constexpr std::array<KindName, 8> kKindNames = {{
    {"ok", std::nullopt},
    {"timeout", SourceErrorKind::kTimeout},
    {"rate_limit", SourceErrorKind::kRateLimited},
    {"server_error", SourceErrorKind::kServerError},
    {"consent_expired", SourceErrorKind::kConsentExpired},
    {"consent_not_found", SourceErrorKind::kConsentNotFound},
    {"account_not_found", SourceErrorKind::kAccountNotFound},
    {"invalid_request", SourceErrorKind::kInvalidRequest},
}};

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::optional<int64_t> ParseInteger(std::string_view text, int64_t low, int64_t high) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < low || value > high) return std::nullopt;
  return value;
}

Error StepError(std::string_view step, std::string_view problem) {
  return Error::Of(ErrorCode::kValidationFailed,
                   "fault step '" + std::string(step) + "': " + std::string(problem));
}

Result<FaultStep> ParseCount(std::string_view step, std::string_view count_text, FaultStep parsed) {
  if (count_text == "always") {
    parsed.forever = true;
    return parsed;
  }
  const std::optional<int64_t> count = ParseInteger(count_text, 1, kFaultCountMax);
  if (!count) return StepError(step, "count must be 1 to 1000 or 'always'");
  parsed.count = static_cast<int32_t>(*count);
  return parsed;
}

Result<FaultStep> ParseStep(std::string_view step) {
  std::string_view rest = step;
  std::optional<std::string_view> count_text;
  if (const size_t star = rest.find('*'); star != std::string_view::npos) {
    count_text = rest.substr(star + 1);
    rest = rest.substr(0, star);
  }
  std::optional<std::string_view> seconds_text;
  if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    seconds_text = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  const auto found = std::find_if(kKindNames.begin(), kKindNames.end(),
                                  [rest](const KindName& entry) { return entry.name == rest; });
  if (found == kKindNames.end()) return StepError(step, "unknown fault kind");
  FaultStep parsed;
  parsed.kind = found->kind;
  if (parsed.kind == SourceErrorKind::kRateLimited) {
    parsed.retry_after_seconds = kFaultRetryAfterSecondsDefault;
  }
  if (seconds_text) {
    if (parsed.kind != SourceErrorKind::kRateLimited) {
      return StepError(step, "only rate_limit takes ':seconds'");
    }
    const std::optional<int64_t> seconds =
        ParseInteger(*seconds_text, 1, kFaultRetryAfterSecondsMax);
    if (!seconds) return StepError(step, "seconds must be 1 to 86400");
    parsed.retry_after_seconds = *seconds;
  }
  if (!count_text) return parsed;
  return ParseCount(step, *count_text, parsed);
}

std::string_view NameOf(const std::optional<SourceErrorKind>& kind) {
  for (const KindName& entry : kKindNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "ok";
}

}  // namespace

Result<FaultPlan> FaultPlan::Parse(std::string_view spec) {
  FaultPlan plan;
  if (Trim(spec).empty()) return plan;
  while (true) {
    const size_t comma = spec.find(',');
    const std::string_view step = Trim(spec.substr(0, comma));
    if (plan.steps_.size() == kFaultStepsMax) {
      return Error::Of(ErrorCode::kValidationFailed, "a fault plan holds at most 64 steps");
    }
    Result<FaultStep> parsed = ParseStep(step);
    if (!parsed.ok()) return parsed.error();
    plan.steps_.push_back(parsed.value());
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return plan;
}

void FaultPlan::Append(const FaultStep& step) {
  assert(steps_.size() < kFaultStepsMax);
  assert(step.forever || (step.count >= 1 && step.count <= kFaultCountMax));
  steps_.push_back(step);
}

std::optional<SourceError> FaultPlan::TakeCall() {
  if (steps_.empty()) return std::nullopt;
  FaultStep& step = steps_.front();
  const std::optional<SourceErrorKind> kind = step.kind;
  const int64_t retry_after_seconds = step.retry_after_seconds;
  if (!step.forever && --step.count == 0) steps_.pop_front();
  if (!kind) return std::nullopt;
  return InjectedError(*kind, retry_after_seconds);
}

std::string FaultPlan::ToSpec() const {
  std::string spec;
  for (const FaultStep& step : steps_) {
    if (!spec.empty()) spec.push_back(',');
    spec.append(NameOf(step.kind));
    if (step.kind == SourceErrorKind::kRateLimited) {
      spec.append(":").append(std::to_string(step.retry_after_seconds));
    }
    if (step.forever) {
      spec.append("*always");
    } else if (step.count != 1) {
      spec.append("*").append(std::to_string(step.count));
    }
  }
  return spec;
}

SourceError InjectedError(SourceErrorKind kind, int64_t retry_after_seconds) {
  switch (kind) {
    case SourceErrorKind::kTimeout:
      return {kind, "The sandbox bank did not answer in time (injected timeout).", 0};
    case SourceErrorKind::kRateLimited:
      return {kind,
              "Request was throttled. Expected available in " +
                  std::to_string(retry_after_seconds) + " seconds.",
              retry_after_seconds};
    case SourceErrorKind::kServerError:
      return {kind, "The sandbox bank had an internal error (injected HTTP 503).", 0};
    case SourceErrorKind::kConsentExpired:
      return {kind, "End User Agreement (EUA) has expired; the user must renew the consent.", 0};
    case SourceErrorKind::kConsentNotFound:
      return {kind, "Requisition not found at the sandbox bank (injected).", 0};
    case SourceErrorKind::kAccountNotFound:
      return {kind, "Account not found at the sandbox bank (injected).", 0};
    case SourceErrorKind::kInvalidRequest:
      return {kind, "The sandbox bank rejected the request as invalid (injected).", 0};
  }
  return {SourceErrorKind::kServerError, "Unknown injected fault.", 0};
}

}  // namespace finsync::sources::sandbox
