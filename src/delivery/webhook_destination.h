// The webhook destination: a user's URL that receives each transferred transaction as signed
// JSON (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature). The resource
// (/api/v1/webhook-destinations) holds the URL and a "whsec_" secret shown once; a transfer
// link with destination_type WEBHOOK points at one.
//
// Bodies: {"type": "transaction.transferred" | "transaction.updated" | "transaction.deleted",
// "id": <import id>, "created_at", "data": {"transfer_link_id", "transaction": <as the
// transactions API renders it>, "outgoing": {payee, description, date, amount, currency}}}.
// webhook-id is the import id (":booked" for the update, ":deleted" for an undo), so a retry
// carries the same id and the receiver can drop what it has already seen (at-least-once).
// A 2xx answer is delivery; 4xx other than 408/429 is a refusal of that transaction (not
// retried by itself); 408, 429, 5xx and transport failures are retried with backoff.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/secret_box.h"
#include "common/status.h"
#include "delivery/destination.h"
#include "net/http_client.h"
#include "store/database.h"

namespace finsync::delivery {

struct WebhookDestinationRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string name;
  std::string url;
  bool omit_sensitive = false;
  std::string health_status = "HEALTHY";
  std::string health_message;
  int64_t failure_count = 0;
  std::optional<int64_t> last_attempt_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct WebhookDestinationPatch {
  std::optional<std::string> name;
  std::optional<std::string> url;
  std::optional<bool> omit_sensitive;
};

using TransactionRenderer = std::function<void(json::Writer&, const domain::BankTransaction&)>;

// Checks a receiver URL: http(s), a host, no credentials or fragment, at most 2000 bytes.
// Returns the problem, or "" when it is fine. Private addresses are refused when sending.
std::string CheckWebhookUrl(std::string_view url);

class WebhookDestinations {
 public:
  static constexpr size_t kNameMax = 200;
  static constexpr size_t kBatchMax = 25;  // One request per transaction; a pass sends these.

  WebhookDestinations(store::Database& database, const Clock& clock, const SecretBox& secrets,
                      net::HttpClient& http, TransactionRenderer render)
      : database_(database),
        clock_(clock),
        secrets_(secrets),
        http_(http),
        render_(std::move(render)) {}

  // Returns the destination and its secret ("whsec_..."), which is never shown again.
  Result<std::pair<WebhookDestinationRecord, std::string>> Create(
      int64_t user_id, const WebhookDestinationPatch& request);
  Result<WebhookDestinationRecord> Get(int64_t user_id, int64_t id);
  Result<std::vector<WebhookDestinationRecord>> List(int64_t user_id);
  Result<WebhookDestinationRecord> Update(int64_t user_id, int64_t id,
                                          const WebhookDestinationPatch& patch);
  Result<std::string> RotateSecret(int64_t user_id, int64_t id);
  // kConflict while a transfer link sends to it.
  Status Delete(int64_t user_id, int64_t id);

  DestinationOpener Opener();

 private:
  friend class WebhookSender;
  void RecordHealth(int64_t user_id, int64_t id, bool ok, const std::string& message);

  store::Database& database_;
  const Clock& clock_;
  const SecretBox& secrets_;
  net::HttpClient& http_;
  TransactionRenderer render_;
};

}  // namespace finsync::delivery
