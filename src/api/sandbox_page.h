// The sandbox bank's consent page: what a user sees after opening a sandbox connection's
// auth_url. It shows the bank and asks to approve or reject; no token is needed because the
// consent reference in the URL is the capability, as with a real bank's link.
#pragma once

#include "api/api.h"
#include "sync/bank_data.h"

namespace finsync::api {

void RegisterSandboxPage(http::Router& router, ApiContext& context,
                         sync::BankDataService& bank_data);

}  // namespace finsync::api
