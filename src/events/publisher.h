// Webhook events: the one call every module makes to announce something happened
// (transactions.created, transfer.succeeded, ...). The event is recorded inside the caller's
// own Database::Write, so it exists exactly when the change that caused it committed; the
// webhook delivery (src/events) fans it out to the user's matching endpoints as durable jobs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "store/database.h"

namespace finsync::events {

struct Event {
  int64_t user_id = 0;
  std::string type;                        // "transfer.succeeded", ...
  std::optional<int64_t> bank_account_id;  // For endpoints filtered by bank account.
  std::string data_json;                   // A JSON object: the envelope's `data`.
};

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Records `event` with `connection` (inside the caller's Write) for delivery to every
  // matching endpoint once that Write commits. Errors: store errors only.
  virtual Status Publish(store::Connection& connection, const Event& event) = 0;
};

}  // namespace finsync::events
