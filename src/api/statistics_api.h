// Statistics (Synci's Statistics group): GET /stats/bank/transactions (money in and out per
// currency, period and account over a date range) and GET /stats/user (key counts). Transfer
// statistics wait for transfer links and logs, which do not exist yet. Handlers only
// translate; the queries are sync::StatisticsService.
#pragma once

#include "api/api.h"

namespace finsync::api {

void RegisterStatisticsRoutes(http::Router& router, ApiContext& context);

}  // namespace finsync::api
