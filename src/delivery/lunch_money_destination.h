// The Lunch Money destination: a transfer link with destination_type LUNCH_MONEY points at an
// imported asset (lunch_money_assets.id). Each pass inserts up to 500 transactions in one
// request (Lunch Money v1's limit) with external_id = the link's import id; Lunch Money skips an
// external_id the asset already has and the client finds the existing transaction's id, so a
// resend after a crash never creates a second one. Undo removes the transaction where the API
// can (v2) and otherwise neutralises it (v1 cannot delete: amount 0 and a note). Amounts go
// out with debit_as_negative, so the sign means what it means in finsync; payee is cut to 140
// and notes to 350 characters.
#pragma once

#include "delivery/destination.h"
#include "delivery/lunchmoney/lunchmoney_client.h"
#include "delivery/lunchmoney/lunchmoney_connections.h"

namespace finsync::delivery {

DestinationOpener LunchMoneyOpener(lunchmoney::ConnectionService& connections,
                                   lunchmoney::LunchMoneyApi& api, const Clock& clock);

}  // namespace finsync::delivery
