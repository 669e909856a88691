// YNAB connections and the mirrored budgets, accounts, payees, categories and transactions
// (Synci's YnabConnections and YnabBudgets groups). The access token is accepted on create and
// never returned.
#pragma once

#include "api/api.h"
#include "delivery/ynab/ynab_mirror.h"

namespace finsync::api {

void RegisterYnabRoutes(http::Router& router, ApiContext& context,
                        delivery::ynab::YnabMirror& mirror);

}  // namespace finsync::api
