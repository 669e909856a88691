// What a receiver gets: the envelope around an event's data, and the copy of the data with
// sensitive identifiers removed for endpoints that ask for it (omit_sensitive_identifiers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace finsync::webhooks {

// {"event_type","event_id","webhook_endpoint_id","created_at","data"} as compact JSON; the
// body that is signed and sent. `data_json` must be a JSON object.
std::string RenderEnvelope(std::string_view event_type, std::string_view event_id,
                           int64_t webhook_endpoint_id, int64_t created_at_ms,
                           std::string_view data_json);

// `data_json` with sensitive identifiers removed, at any depth:
// - values of the members iban, bban, pan, masked_pan, msisdn, owner_name, account_number and
//   account (names compared without case, '_' or '-') become null;
// - "raw" (the bank's own record, which may carry identifiers in any shape) becomes null;
// - in a transaction (an object with amount_minor, creditor and debtor), the name of the
//   account holder's side (the debtor of money going out, the creditor of money coming in)
//   becomes null; the counterparty's name stays, as does the generated payee.
// Text that is not a JSON object gives "{}": nothing unchecked ever leaves.
std::string StripSensitiveIdentifiers(std::string_view data_json);

}  // namespace finsync::webhooks
