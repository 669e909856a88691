// What delivery needs from a destination (YNAB, Lunch Money, a webhook URL): create a batch
// of transactions, update a batch, delete one. Each destination adapts its own API to this;
// the delivery engine (delivery_service.h) never knows which one it talks to.
//
// Idempotency contract: `Create` is called with a stable `import_id` per (transfer link, bank
// transaction, generation). Calling it again with the same import ids (after a crash, a
// timeout, a retry) must not create a second transaction: the destination answers the id of
// the one it already holds (YNAB duplicate_import_ids, Lunch Money external_id, the webhook
// receiver's webhook-id).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/transaction.h"
#include "rules/target_field.h"

namespace finsync::delivery {

enum class DestinationType : uint8_t { kYnab, kLunchMoney, kWebhook };
std::string_view DestinationTypeName(DestinationType type);  // YNAB, LUNCH_MONEY, WEBHOOK
std::optional<DestinationType> ParseDestinationType(std::string_view name);
rules::Destination RulesDestination(DestinationType type);

// One transaction to send: the outgoing copy (after the link's and destination's rules) and
// the bank's own record (the webhook destination sends it whole).
struct OutboundItem {
  int64_t item_id = 0;  // transfer_items.id
  std::string import_id;
  std::string destination_transaction_id;  // Set for updates.
  rules::OutgoingTransaction copy;
  const domain::BankTransaction* transaction = nullptr;
};

// Which fields an update (a pending transaction that booked) changes: the transfer link's
// on_booked_change.
struct UpdateFields {
  bool status = true;
  bool payee = false;
  bool description = false;
  bool amount = true;
};

// The answer for one item: delivered (with the destination's id for it), or not, with the
// destination's reason. `retryable` says whether trying again later may succeed (a timeout, a
// 5xx) or not (a field the destination refuses: only a change and a manual retry helps).
struct ItemOutcome {
  bool delivered = false;
  bool retryable = false;
  std::string destination_transaction_id;
  std::string message;

  static ItemOutcome Delivered(std::string id) { return {true, false, std::move(id), ""}; }
  static ItemOutcome Rejected(std::string message) {
    return {false, false, "", std::move(message)};
  }
  static ItemOutcome Retry(std::string message) { return {false, true, "", std::move(message)}; }
};

class Destination {
 public:
  virtual ~Destination() = default;
  // Most items one Create or Update call may carry (one HTTP request where the API allows).
  virtual size_t batch_max() const = 0;
  // One outcome per item, in order. An Error means nothing in the call is known to have
  // happened (kTooManyRequests with retry_after_seconds, kUnavailable, kUnauthenticated for a
  // rejected token, ...); the engine retries the whole call later with the same import ids.
  virtual Result<std::vector<ItemOutcome>> Create(std::span<const OutboundItem> items) = 0;
  virtual Result<std::vector<ItemOutcome>> Update(std::span<const OutboundItem> items,
                                                  const UpdateFields& fields) = 0;
  // Deletes one transaction (undo). Deleting one that is already gone is success.
  virtual Status Delete(std::string_view destination_transaction_id) = 0;
};

// Opens the destination a transfer link points at, for one user: kNotFound when it is gone.
using DestinationOpener =
    std::function<Result<std::unique_ptr<Destination>>(int64_t user_id, int64_t destination_id)>;
using DestinationOpeners = std::map<DestinationType, DestinationOpener>;

}  // namespace finsync::delivery
