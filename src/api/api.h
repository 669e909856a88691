// The REST API: handlers translate HTTP into plain arguments, call a domain service, and
// render its result. Nothing here talks SQL; nothing below here knows HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "http/message.h"
#include "http/metrics.h"
#include "http/rate_limiter.h"
#include "http/router.h"
#include "identity/identity.h"
#include "store/database.h"

namespace finsync::api {

class IdempotencyService;

// Per-token limits by route class: reads (GET), writes, and sync triggers (POST .../sync,
// .../retry), which start work at banks and destinations.
struct RateLimits {
  http::RateLimitPolicy read{"read", 600, 60};
  http::RateLimitPolicy write{"write", 120, 60};
  http::RateLimitPolicy sync{"sync", 10, 60};
};

struct ApiContext {
  store::Database& database;
  identity::IdentityService& identity;
  http::Metrics& metrics;
  const Clock& clock;
  IdempotencyService* idempotency = nullptr;  // Null: Idempotency-Key is ignored.
  http::RateLimiter* rate_limiter = nullptr;  // Null: no rate limits.
  RateLimits rate_limits;
};

// Registers every route of the API on `router`.
void RegisterRoutes(http::Router& router, ApiContext& context);

// Renders `error` as problem+json for this request.
void RespondError(const http::Request& request, http::Response& response, const Error& error);

using AuthenticatedHandler =
    std::function<void(http::Request&, http::Response&, const identity::Principal&)>;
// Wraps a handler so it runs only for a valid bearer token holding `required_scope`, within
// the token's rate limit (RateLimit headers on every answer, 429 beyond), and, for mutating
// methods with an Idempotency-Key header, at most once per key (see idempotency.h).
http::Handler Authenticated(ApiContext& context, uint32_t required_scope,
                            AuthenticatedHandler handler);

std::string FormatTimeMs(int64_t unix_time_ms);
// Parses a path parameter that must be a positive integer id; nullopt otherwise.
std::optional<int64_t> ParseId(std::string_view text);

// JSON of a token (and its secret when just created) and of a user; shared with the CLI.
std::string TokenJson(const identity::AccessToken& token, const std::string* secret);
std::string UserJson(const identity::User& user);

// Registration functions, one per resource file.
void RegisterOperationsRoutes(http::Router& router, ApiContext& context);
void RegisterUserRoutes(http::Router& router, ApiContext& context);
void RegisterTokenRoutes(http::Router& router, ApiContext& context);

}  // namespace finsync::api
