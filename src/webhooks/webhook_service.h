// Webhook subscriptions: the user's endpoints, the events::Publisher that records events and
// fans them out to matching endpoints, and the durable jobs that deliver them.
//
// Flow: a module calls Publish inside its own Database::Write; Publish inserts the event, one
// delivery per matching enabled endpoint and one durable job per delivery, all in that Write,
// so an event exists exactly when the change that caused it committed. The delivery job signs
// the envelope per Standard Webhooks and POSTs it; 2xx delivers, anything else is retried on
// the schedule in retry.h, then the delivery fails. Every attempt is recorded.
//
// transactions.created / .updated / .removed are not published by ingest: a per-user feed job
// reads the transaction change feed from the user's cursor (webhook_feed_cursors) and
// publishes one event per account and kind per batch, so a sync pays nothing for webhooks.
// The feed job runs after each account sync (NotifyTransactionsChanged) and from a sweep
// every few seconds that catches changes made any other way (manual transactions, rules).
//
// Thread-safe: state lives in the store; the HTTP client is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/secret_box.h"
#include "common/status.h"
#include "domain/transaction.h"
#include "events/publisher.h"
#include "jobs/job_queue.h"
#include "jobs/worker.h"
#include "net/http_client.h"
#include "store/database.h"
#include "webhooks/endpoint_request.h"

namespace finsync::webhooks {

inline constexpr std::string_view kDeliveryJob = "webhook_delivery";
inline constexpr std::string_view kFeedJob = "webhook_transactions_feed";
inline constexpr std::string_view kFeedSweepJob = "webhook_feed_sweep";
inline constexpr std::string_view kPurgeJob = "webhook_purge";

struct WebhookOptions {
  int64_t endpoints_per_user_max = 20;
  int64_t bank_account_filter_max = 100;
  int64_t request_timeout_ms = 15'000;  // The specification suggests 15 to 30 s.
  int64_t retry_speedup = 1;            // Divides every retry delay; tests only.
  int64_t previous_secret_valid_ms = 86'400'000;
  int64_t event_retention_ms = 30 * 86'400'000LL;
  int64_t feed_sweep_interval_ms = 10'000;
  // At most this many transactions are embedded in one transactions.* event, and only while
  // the rendered list stays under inline_bytes_max; larger batches send ids only.
  int64_t inline_transactions_max = 25;
  int64_t inline_bytes_max = 256 * 1024;
  int64_t ids_per_event_max = 1000;
};

struct Endpoint {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string url;
  std::string description;
  std::vector<std::string> event_types;   // Empty: every type.
  std::vector<int64_t> bank_account_ids;  // Empty: every account.
  bool omit_sensitive_identifiers = false;
  bool enabled = true;
  std::optional<std::string> disabled_reason;
  std::optional<int64_t> secret_rotated_at_ms;
  std::optional<int64_t> previous_secret_expires_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// The only answers that carry a secret: create and rotate.
struct EndpointWithSecret {
  Endpoint endpoint;
  std::string secret;
};

enum class DeliveryState { kPending, kDelivered, kFailed };
std::string_view DeliveryStateName(DeliveryState state);
std::optional<DeliveryState> ParseDeliveryState(std::string_view text);

struct Attempt {
  int64_t id = 0;
  std::string outcome;  // delivered, failed, refused (the address is not allowed).
  std::optional<int64_t> status_code;
  std::string response_excerpt;
  std::string error;
  int64_t duration_ms = 0;
  int64_t started_at_ms = 0;
};

struct Delivery {
  int64_t id = 0;
  int64_t webhook_endpoint_id = 0;
  std::string event_id;
  std::string event_type;
  int64_t event_created_at_ms = 0;
  DeliveryState state = DeliveryState::kPending;
  int64_t attempt_count = 0;
  std::optional<int64_t> next_attempt_at_ms;
  std::optional<int64_t> last_status_code;
  std::optional<std::string> last_error;
  std::optional<int64_t> delivered_at_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct DeliveryDetail {
  Delivery delivery;
  std::string payload;            // The body as it is sent (without signature headers).
  std::vector<Attempt> attempts;  // Newest first.
};

struct DeliveryListOptions {
  std::optional<DeliveryState> state;
  std::optional<int64_t> before_id;  // Keyset cursor: deliveries with a smaller id.
  int64_t limit = 50;
};

// Renders one transaction exactly as the transactions API does (injected by the composition
// root, so this module needs no API code).
using TransactionRenderer = std::function<void(json::Writer&, const domain::BankTransaction&)>;

class WebhookService final : public events::Publisher {
 public:
  // Every reference must outlive the service. `signing_clock` stamps webhook-timestamp: the
  // real clock even when the server's clock runs ahead (sandbox time travel), because
  // receivers check it against their own.
  WebhookService(store::Database& database, const Clock& clock, const Clock& signing_clock,
                 jobs::JobQueue& queue, const SecretBox& secret_box, net::HttpClient& http,
                 TransactionRenderer render_transaction, WebhookOptions options);

  // events::Publisher.
  Status Publish(store::Connection& connection, const events::Event& event) override;

  // Endpoints. Errors: kValidationFailed naming url, description, events(.N),
  // bank_account_ids(.N); kPlanLimitReached beyond endpoints_per_user_max; kNotFound.
  Result<EndpointWithSecret> CreateEndpoint(int64_t user_id, const EndpointChange& change);
  Result<std::vector<Endpoint>> ListEndpoints(int64_t user_id);
  Result<Endpoint> GetEndpoint(int64_t user_id, int64_t endpoint_id);
  Result<Endpoint> UpdateEndpoint(int64_t user_id, int64_t endpoint_id,
                                  const EndpointChange& change);
  Status DeleteEndpoint(int64_t user_id, int64_t endpoint_id);
  // A new secret; the previous one keeps signing (as a second signature) for
  // previous_secret_valid_ms.
  Result<EndpointWithSecret> RotateSecret(int64_t user_id, int64_t endpoint_id);

  // Deliveries of one endpoint, newest first.
  Result<std::vector<Delivery>> ListDeliveries(int64_t user_id, int64_t endpoint_id,
                                               const DeliveryListOptions& options);
  Result<DeliveryDetail> GetDelivery(int64_t user_id, int64_t endpoint_id, int64_t delivery_id);
  // Sends the delivery again now, with the same webhook-id, and restarts its retry schedule.
  // kConflict when the endpoint is disabled.
  Result<Delivery> Redeliver(int64_t user_id, int64_t endpoint_id, int64_t delivery_id);
  // Publishes a webhook.test event to this endpoint only (enabled or not, whatever its
  // filters) and returns its delivery.
  Result<Delivery> SendTest(int64_t user_id, int64_t endpoint_id);

  // Starts the user's transaction feed job now (after a sync); errors are logged only.
  void NotifyTransactionsChanged(int64_t user_id);

  // Before the workers start.
  void RegisterHandlers(jobs::Workers& workers);
  // The recurring sweep and purge jobs; idempotent.
  Status EnsureScheduled();

  // Job handlers, public for tests.
  jobs::JobOutcome RunDelivery(const jobs::Job& job);
  jobs::JobOutcome RunFeed(const jobs::Job& job);
  jobs::JobOutcome RunFeedSweep(const jobs::Job& job);
  jobs::JobOutcome RunPurge(const jobs::Job& job);

 private:
  struct Prepared;

  Result<std::vector<int64_t>> ValidAccountIds(int64_t user_id, const EndpointChange& change,
                                               Error& errors);
  Result<int64_t> InsertEvent(store::Connection& connection, const events::Event& event);
  Result<int64_t> InsertDelivery(store::Connection& connection, int64_t user_id,
                                 int64_t endpoint_id, int64_t event_row_id, int64_t now_ms);
  Result<Delivery> LoadDelivery(int64_t user_id, int64_t endpoint_id, int64_t delivery_id);
  Result<std::optional<Prepared>> PrepareDelivery(int64_t user_id, int64_t delivery_id);
  Status RecordAttempt(const Prepared& prepared, const Attempt& attempt,
                       std::optional<int64_t> retry_delay_ms, bool disable_endpoint);
  // One page of the change feed published; false when the feed had nothing new.
  Result<bool> PublishFeedPage(int64_t user_id, bool& has_more);
  std::vector<events::Event> TransactionEvents(int64_t user_id, std::string_view type,
                                               int64_t bank_account_id,
                                               const std::vector<domain::BankTransaction>& list);

  store::Database& database_;
  const Clock& clock_;
  const Clock& signing_clock_;
  jobs::JobQueue& queue_;
  const SecretBox& secret_box_;
  net::HttpClient& http_;
  TransactionRenderer render_transaction_;
  const WebhookOptions options_;
};

}  // namespace finsync::webhooks
