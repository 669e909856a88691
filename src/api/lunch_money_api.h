// Lunch Money connections and their assets (the destinations transfer links deliver into):
// connect with a Lunch Money access token, list, refresh, delete; list and read assets.
// Handlers only translate; the business functions are delivery::lunchmoney::ConnectionService.
// The access token is write-only: no answer ever contains it.
#pragma once

#include "api/api.h"
#include "delivery/lunchmoney/lunchmoney_connections.h"

namespace finsync::api {

void RegisterLunchMoneyRoutes(http::Router& router, ApiContext& context,
                              delivery::lunchmoney::ConnectionService& connections);

}  // namespace finsync::api
