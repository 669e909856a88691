// finsync's SimpleFIN server, in two parts:
//  - the finsync API (Bearer tokens): POST /api/v1/simplefin/setup-tokens, and list, read and
//    revoke the accesses under /api/v1/simplefin/accesses;
//  - the SimpleFIN protocol at /simplefin (no Bearer token): GET /info, GET /create,
//    POST /claim/{token} and GET /accounts with the access URL's Basic credentials.
// Handlers only translate; the work is delivery::simplefin::SimplefinService.
#pragma once

#include <cstdint>

#include "api/api.h"
#include "delivery/simplefin_server/service.h"
#include "http/rate_limiter.h"

namespace finsync::api {

// The SimpleFIN Bridge asks clients for at most 24 requests a day, warns at 48 and blocks at
// 96. An access here holds a bucket of `requests_per_day` GET /accounts requests refilled
// continuously over a day: past half of it each answer carries a warning in its errors, and
// an empty bucket answers 429 with Retry-After until a request is available again.
struct SimplefinRouteOptions {
  http::RateLimiter* rate_limiter = nullptr;  // Null: no limit.
  int64_t requests_per_day = 96;              // 0: no limit.
};

void RegisterSimplefinRoutes(http::Router& router, ApiContext& context,
                             delivery::simplefin::SimplefinService& service,
                             SimplefinRouteOptions options);

}  // namespace finsync::api
