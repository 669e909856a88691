#include "api/api.h"

#include "api/idempotency.h"
#include "api/statistics_api.h"
#include "api/transactions_api.h"

#include <charconv>

#include "domain/date.h"
#include "http/problem.h"

#include <spdlog/spdlog.h>

namespace finsync::api {

void RegisterRoutes(http::Router& router, ApiContext& context) {
  RegisterOperationsRoutes(router, context);
  RegisterUserRoutes(router, context);
  RegisterTokenRoutes(router, context);
  RegisterTransactionRoutes(router, context);
  RegisterStatisticsRoutes(router, context);
}

void RespondError(const http::Request& request, http::Response& response, const Error& error) {
  if (error.code == ErrorCode::kInternal) {
    // Internals (SQL, file paths) go to the log only; the client gets the request id to quote.
    spdlog::error(R"({{"msg":"internal error","request_id":"{}","detail":"{}"}})",
                  request.request_id, error.detail);
    http::RenderProblem(Error::Of(ErrorCode::kInternal,
                                  "An unexpected error occurred. Quote the request_id when "
                                  "reporting it."),
                        request.request_id, request.path, response);
    return;
  }
  http::RenderProblem(error, request.request_id, request.path, response);
  if (error.code == ErrorCode::kTooManyRequests && error.retry_after_seconds > 0) {
    response.SetHeader("Retry-After", std::to_string(error.retry_after_seconds));
  }
  if (error.code == ErrorCode::kUnauthenticated) {
    response.SetHeader("WWW-Authenticate", "Bearer realm=\"finsync\"");
  }
}

namespace {

std::optional<std::string_view> BearerSecret(const http::Request& request) {
  auto header = request.Header("authorization");
  if (!header) return std::nullopt;
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = value[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  return value;
}

}  // namespace

http::Handler Authenticated(ApiContext& context, uint32_t required_scope,
                            AuthenticatedHandler handler) {
  return [&context, required_scope, handler = std::move(handler)](http::Request& request,
                                                                  http::Response& response) {
    auto secret = BearerSecret(request);
    if (!secret) {
      return RespondError(request, response,
                          Error::Of(ErrorCode::kUnauthenticated,
                                    "An access token is required: send 'Authorization: Bearer "
                                    "<token>'."));
    }
    auto principal = context.identity.Authenticate(*secret);
    if (!principal.ok()) return RespondError(request, response, principal.error());
    const identity::Principal& who = principal.value();
    if ((who.token.scopes & required_scope) != required_scope) {
      std::string scope_name = identity::ScopesToText(required_scope);
      return RespondError(
          request, response,
          Error::Of(ErrorCode::kInsufficientScope,
                    "This request needs a token with the '" + scope_name + "' scope."));
    }
    request.principal_user_id = who.user.id;
    request.principal_token_id = who.token.id;
    bool mutating = request.method != "GET" && request.method != "HEAD";
    if (context.rate_limiter != nullptr) {
      const RateLimits& limits = context.rate_limits;
      bool sync_route = request.method == "POST" &&
                        (request.route.ends_with("/sync") || request.route.ends_with("/retry") ||
                         request.route.find("/retry") != std::string::npos);
      const http::RateLimitPolicy& policy =
          sync_route ? limits.sync : (mutating ? limits.write : limits.read);
      auto decision = context.rate_limiter->Take("token:" + std::to_string(who.token.id), policy,
                                                 context.clock.NowMilliseconds());
      if (!decision.allowed) {
        Error limited = Error::Of(
            ErrorCode::kTooManyRequests,
            "Rate limit of " + std::to_string(policy.limit) + " " + policy.name + " requests per " +
                std::to_string(policy.window_seconds) + " seconds exceeded for this token.");
        limited.retry_after_seconds = decision.retry_after_seconds;
        RespondError(request, response, limited);
      }
      response.SetHeader("RateLimit-Policy", http::RateLimitPolicyHeader(policy));
      response.SetHeader("RateLimit", http::RateLimitHeader(policy, decision));
      if (!decision.allowed) return;
    }
    auto key = request.Header("idempotency-key");
    if (!mutating || !key || context.idempotency == nullptr) {
      return handler(request, response, who);
    }
    // Rate-limit headers describe this request, not the stored one: keep them on replays.
    http::Headers limit_headers = response.headers;
    context.idempotency->Run(request, response, who.user.id, who.token.id, *key,
                             [&] { handler(request, response, who); });
    for (auto& [name, value] : limit_headers) response.SetHeader(name, value);
  };
}

std::string FormatTimeMs(int64_t unix_time_ms) {
  auto timestamp = domain::Timestamp::FromUnixTimeMs(unix_time_ms);
  return timestamp ? domain::FormatTimestamp(*timestamp) : std::string();
}

std::optional<int64_t> ParseId(std::string_view text) {
  int64_t id = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

}  // namespace finsync::api
