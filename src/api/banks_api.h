// Supported banks, bank connections, bank accounts and balances (Synci's SupportedBanks,
// BankConnections and BankAccounts groups), plus the sandbox bank's consent page.
#pragma once

#include "api/api.h"
#include "sync/bank_data.h"

namespace finsync::api {

void RegisterBankRoutes(http::Router& router, ApiContext& context,
                        sync::BankDataService& bank_data);

}  // namespace finsync::api
