// Bank transactions: list (filters, cursor and page paging), get, manual create, edit of the
// generated fields, delete, and the incremental change feed at /banks/transactions/sync.
#pragma once

#include "api/api.h"
#include "common/json.h"
#include "domain/transaction.h"

namespace finsync::api {

void RegisterTransactionRoutes(http::Router& router, ApiContext& context);

// Writes one transaction as a complete JSON object; shared with resources that embed one.
void WriteBankTransaction(json::Writer& writer, const domain::BankTransaction& transaction);

}  // namespace finsync::api
