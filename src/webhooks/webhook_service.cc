#include "webhooks/webhook_service.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <map>
#include <random>

#include "common/crypto.h"
#include "jobs/recurring.h"
#include "sync/transaction_service.h"
#include "sync/transactions_query.h"
#include "webhooks/payload.h"
#include "webhooks/retry.h"
#include "webhooks/signing.h"

namespace finsync::webhooks {

namespace {

constexpr std::string_view kSecretPurpose = "webhook_endpoint_secret";
constexpr size_t kExcerptLengthMax = 500;
constexpr size_t kErrorLengthMax = 500;
constexpr int64_t kAttemptsListedMax = 100;
constexpr int64_t kFeedPageSize = 500;
constexpr int32_t kFeedPagesPerRun = 20;
constexpr int64_t kPurgeBatch = 500;
constexpr int32_t kPurgeBatchesPerRun = 40;
constexpr int64_t kSweepUsersMax = 1000;
constexpr int32_t kDeliveryJobMaxAttempts = 100;
constexpr int64_t kDayMs = 86'400'000;

constexpr std::string_view kEndpointColumns =
    "id, user_id, url, description, event_types, bank_account_ids, omit_sensitive_identifiers, "
    "enabled, disabled_reason, secret_rotated_at, previous_secret_expires_at, created_at, "
    "updated_at";

constexpr std::string_view kDeliveryColumns =
    "d.id, d.webhook_endpoint_id, e.event_id, e.event_type, e.created_at, d.state, "
    "d.attempt_count, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, "
    "d.created_at, d.updated_at";

Error NotFound(std::string_view what) {
  return Error::Of(ErrorCode::kNotFound, "The " + std::string(what) + " was not found.");
}

Error Invalid() { return Error::Of(ErrorCode::kValidationFailed, "The given data was invalid."); }

std::string Truncated(std::string_view text, size_t length_max) {
  return std::string(text.substr(0, length_max));
}

// Receivers answer anything; only printable ASCII is kept, so the excerpt is always valid
// UTF-8 and safe to show.
std::string PrintableExcerpt(std::string_view body) {
  std::string excerpt;
  for (char c : body.substr(0, kExcerptLengthMax)) {
    bool printable = (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\t';
    excerpt += printable ? c : '?';
  }
  return excerpt;
}

uint64_t RandomNumber() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return random();
}

std::string StringListJson(const std::vector<std::string>& items) {
  json::Writer writer;
  writer.StartArray();
  for (const auto& item : items) writer.String(item);
  writer.EndArray();
  return writer.str();
}

std::string IdListJson(const std::vector<int64_t>& ids) {
  json::Writer writer;
  writer.StartArray();
  for (int64_t id : ids) writer.Int(id);
  writer.EndArray();
  return writer.str();
}

std::vector<std::string> StringListFrom(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  std::vector<std::string> items;
  if (document.HasParseError() || !document.IsArray()) return items;
  for (const auto& value : document.GetArray()) {
    if (value.IsString()) items.emplace_back(value.GetString(), value.GetStringLength());
  }
  return items;
}

std::vector<int64_t> IdListFrom(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  std::vector<int64_t> ids;
  if (document.HasParseError() || !document.IsArray()) return ids;
  for (const auto& value : document.GetArray()) {
    if (value.IsInt64()) ids.push_back(value.GetInt64());
  }
  return ids;
}

Endpoint EndpointFromRow(const store::Row& row) {
  Endpoint endpoint;
  endpoint.id = row.Int(0);
  endpoint.user_id = row.Int(1);
  endpoint.url = row.Text(2);
  endpoint.description = row.Text(3);
  endpoint.event_types = StringListFrom(row.Text(4));
  endpoint.bank_account_ids = IdListFrom(row.Text(5));
  endpoint.omit_sensitive_identifiers = row.Int(6) != 0;
  endpoint.enabled = row.Int(7) != 0;
  endpoint.disabled_reason = row.OptionalText(8);
  endpoint.secret_rotated_at_ms = row.OptionalInt(9);
  endpoint.previous_secret_expires_at_ms = row.OptionalInt(10);
  endpoint.created_at_ms = row.Int(11);
  endpoint.updated_at_ms = row.Int(12);
  return endpoint;
}

Delivery DeliveryFromRow(const store::Row& row) {
  Delivery delivery;
  delivery.id = row.Int(0);
  delivery.webhook_endpoint_id = row.Int(1);
  delivery.event_id = row.Text(2);
  delivery.event_type = row.Text(3);
  delivery.event_created_at_ms = row.Int(4);
  delivery.state = ParseDeliveryState(row.Text(5)).value_or(DeliveryState::kPending);
  delivery.attempt_count = row.Int(6);
  delivery.next_attempt_at_ms = row.OptionalInt(7);
  delivery.last_status_code = row.OptionalInt(8);
  delivery.last_error = row.OptionalText(9);
  delivery.delivered_at_ms = row.OptionalInt(10);
  delivery.created_at_ms = row.Int(11);
  delivery.updated_at_ms = row.Int(12);
  return delivery;
}

bool Subscribes(const std::vector<std::string>& types, std::string_view type) {
  return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
}

std::optional<int64_t> ConnectionIdOf(const std::string& data_json) {
  rapidjson::Document document;
  document.Parse(data_json.data(), data_json.size());
  if (document.HasParseError() || !document.IsObject()) return std::nullopt;
  auto member = document.FindMember("bank_connection_id");
  if (member == document.MemberEnd() || !member->value.IsInt64()) return std::nullopt;
  return member->value.GetInt64();
}

std::optional<int64_t> PayloadId(const std::string& payload, const char* name) {
  rapidjson::Document document;
  document.Parse(payload.data(), payload.size());
  if (document.HasParseError() || !document.IsObject()) return std::nullopt;
  auto member = document.FindMember(name);
  if (member == document.MemberEnd() || !member->value.IsInt64()) return std::nullopt;
  return member->value.GetInt64();
}

}  // namespace

std::string_view DeliveryStateName(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kFailed:
      return "failed";
  }
  return "pending";
}

std::optional<DeliveryState> ParseDeliveryState(std::string_view text) {
  for (DeliveryState state :
       {DeliveryState::kPending, DeliveryState::kDelivered, DeliveryState::kFailed}) {
    if (DeliveryStateName(state) == text) return state;
  }
  return std::nullopt;
}

// Everything a delivery attempt needs, read in one snapshot.
struct WebhookService::Prepared {
  int64_t delivery_id = 0;
  int64_t user_id = 0;
  int64_t endpoint_id = 0;
  std::string url;
  bool omit_sensitive_identifiers = false;
  bool enabled = true;
  std::string state;
  int64_t retry_count = 0;
  std::string event_id;
  std::string event_type;
  std::string data;
  int64_t event_created_at_ms = 0;
  std::string secret_sealed;
  std::optional<std::string> previous_secret_sealed;
  std::optional<int64_t> previous_secret_expires_at_ms;
};

WebhookService::WebhookService(store::Database& database, const Clock& clock,
                               const Clock& signing_clock, jobs::JobQueue& queue,
                               const SecretBox& secret_box, net::HttpClient& http,
                               TransactionRenderer render_transaction, WebhookOptions options)
    : database_(database),
      clock_(clock),
      signing_clock_(signing_clock),
      queue_(queue),
      secret_box_(secret_box),
      http_(http),
      render_transaction_(std::move(render_transaction)),
      options_(options) {}

// ---- Publishing -----------------------------------------------------------------------------

Result<int64_t> WebhookService::InsertEvent(store::Connection& connection,
                                            const events::Event& event) {
  auto rows = connection.Query(
      "INSERT INTO webhook_events (user_id, event_id, event_type, bank_account_id, data, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
      {event.user_id, "evt_" + crypto::RandomBase62(27), event.type,
       store::OptionalInt(event.bank_account_id), event.data_json, clock_.NowMilliseconds()});
  if (!rows.ok()) return rows.error();
  return rows.value()[0].Int(0);
}

Result<int64_t> WebhookService::InsertDelivery(store::Connection& connection, int64_t user_id,
                                               int64_t endpoint_id, int64_t event_row_id,
                                               int64_t now_ms) {
  auto rows = connection.Query(
      "INSERT INTO webhook_deliveries (user_id, webhook_endpoint_id, webhook_event_id, state, "
      "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?) "
      "RETURNING id",
      {user_id, endpoint_id, event_row_id, now_ms, now_ms, now_ms});
  if (!rows.ok()) return rows.error();
  int64_t delivery_id = rows.value()[0].Int(0);
  jobs::NewJob job;
  job.kind = std::string(kDeliveryJob);
  job.payload = "{\"delivery_id\":" + std::to_string(delivery_id) + "}";
  job.user_id = user_id;
  job.run_at_ms = now_ms;
  job.dedupe_key = jobs::DedupeKey("webhook_delivery", delivery_id);
  job.max_attempts = kDeliveryJobMaxAttempts;
  auto enqueued = queue_.Enqueue(connection, job);
  if (!enqueued.ok()) return enqueued.error();
  return delivery_id;
}

Status WebhookService::Publish(store::Connection& connection, const events::Event& event) {
  auto rows = connection.Query(
      "SELECT id, event_types, bank_account_ids FROM webhook_endpoints WHERE user_id = ? AND "
      "enabled = 1 ORDER BY id",
      {event.user_id});
  if (!rows.ok()) return rows.status();
  // An event about a whole bank connection (health, consent) reaches an endpoint filtered by
  // bank account when any account of that connection is in the filter.
  std::optional<std::vector<int64_t>> connection_accounts;
  auto accounts_of_event = [&]() -> Result<std::vector<int64_t>> {
    if (event.bank_account_id) return std::vector<int64_t>{*event.bank_account_id};
    if (connection_accounts) return *connection_accounts;
    connection_accounts.emplace();
    auto connection_id = ConnectionIdOf(event.data_json);
    if (!connection_id) return *connection_accounts;
    auto accounts = connection.Query(
        "SELECT id FROM bank_accounts WHERE bank_connection_id = ? AND user_id = ?",
        {*connection_id, event.user_id});
    if (!accounts.ok()) return accounts.error();
    for (const auto& row : accounts.value()) connection_accounts->push_back(row.Int(0));
    return *connection_accounts;
  };
  std::vector<int64_t> targets;
  for (const auto& row : rows.value()) {
    if (!Subscribes(StringListFrom(row.Text(1)), event.type)) continue;
    std::vector<int64_t> filter = IdListFrom(row.Text(2));
    if (!filter.empty()) {
      auto accounts = accounts_of_event();
      if (!accounts.ok()) return accounts.error();
      // An event about no account at all (none known) is not narrowed by the filter.
      bool about_nothing =
          !event.bank_account_id && accounts.value().empty() && !ConnectionIdOf(event.data_json);
      bool matches = about_nothing;
      for (int64_t account : accounts.value()) {
        matches = matches || std::find(filter.begin(), filter.end(), account) != filter.end();
      }
      if (!matches) continue;
    }
    targets.push_back(row.Int(0));
  }
  if (targets.empty()) return Status::Ok();
  auto event_row = InsertEvent(connection, event);
  if (!event_row.ok()) return event_row.error();
  int64_t now = clock_.NowMilliseconds();
  for (int64_t endpoint_id : targets) {
    auto delivery = InsertDelivery(connection, event.user_id, endpoint_id, event_row.value(), now);
    if (!delivery.ok()) return delivery.error();
  }
  return Status::Ok();
}

// ---- Endpoints ------------------------------------------------------------------------------

Result<std::vector<int64_t>> WebhookService::ValidAccountIds(int64_t user_id,
                                                             const EndpointChange& change,
                                                             Error& errors) {
  std::vector<int64_t> ids;
  if (!change.bank_account_ids) return ids;
  const auto& requested = *change.bank_account_ids;
  if (static_cast<int64_t>(requested.size()) > options_.bank_account_filter_max) {
    errors.field_errors.push_back(
        {"bank_account_ids",
         "must list at most " + std::to_string(options_.bank_account_filter_max) + " accounts"});
    return ids;
  }
  std::vector<int64_t> owned;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows =
        connection.Query("SELECT id FROM bank_accounts WHERE user_id = ? ORDER BY id", {user_id});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) owned.push_back(row.Int(0));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  for (size_t index = 0; index < requested.size(); ++index) {
    int64_t id = requested[index];
    if (!std::binary_search(owned.begin(), owned.end(), id)) {
      errors.field_errors.push_back(
          {"bank_account_ids." + std::to_string(index), "is not one of your bank accounts"});
      continue;
    }
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

namespace {

std::vector<std::string> Deduplicated(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return out;
}

}  // namespace

Result<EndpointWithSecret> WebhookService::CreateEndpoint(int64_t user_id,
                                                          const EndpointChange& change) {
  Error errors = Invalid();
  if (!change.url) errors.field_errors.push_back({"url", "is required"});
  ValidateEndpointChange(change, errors);
  auto accounts = ValidAccountIds(user_id, change, errors);
  if (!accounts.ok()) return accounts.error();
  if (!errors.field_errors.empty()) return errors;
  std::string secret = NewSecret();
  std::string sealed = crypto::Base64Encode(secret_box_.Seal(kSecretPurpose, secret));
  int64_t now = clock_.NowMilliseconds();
  int64_t id = 0;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto count =
        connection.Query("SELECT COUNT(*) FROM webhook_endpoints WHERE user_id = ?", {user_id});
    if (!count.ok()) return count.status();
    if (count.value()[0].Int(0) >= options_.endpoints_per_user_max) {
      return Error::Of(ErrorCode::kPlanLimitReached,
                       "A user can have at most " +
                           std::to_string(options_.endpoints_per_user_max) + " webhook endpoints.");
    }
    auto rows = connection.Query(
        "INSERT INTO webhook_endpoints (user_id, url, description, event_types, "
        "bank_account_ids, omit_sensitive_identifiers, enabled, secret_sealed, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {user_id, *change.url, change.description.value_or(""),
         StringListJson(Deduplicated(change.event_types.value_or(std::vector<std::string>{}))),
         IdListJson(accounts.value()), int64_t{change.omit_sensitive_identifiers.value_or(false)},
         int64_t{change.enabled.value_or(true)}, sealed, now, now});
    if (!rows.ok()) return rows.status();
    id = rows.value()[0].Int(0);
    // The transaction feed starts now: changes made before the first endpoint existed are
    // history, not events.
    return connection
        .Execute(
            "INSERT INTO webhook_feed_cursors (user_id, last_seq, updated_at) VALUES (?, "
            "COALESCE((SELECT MAX(seq) FROM transaction_changes WHERE user_id = ?), 0), ?) "
            "ON CONFLICT (user_id) DO NOTHING",
            {user_id, user_id, now})
        .status();
  });
  if (!status.ok()) return status.error();
  auto endpoint = GetEndpoint(user_id, id);
  if (!endpoint.ok()) return endpoint.error();
  return EndpointWithSecret{std::move(endpoint.value()), std::move(secret)};
}

Result<std::vector<Endpoint>> WebhookService::ListEndpoints(int64_t user_id) {
  std::vector<Endpoint> endpoints;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kEndpointColumns) +
                                     " FROM webhook_endpoints WHERE user_id = ? ORDER BY id",
                                 {user_id});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) endpoints.push_back(EndpointFromRow(row));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return endpoints;
}

Result<Endpoint> WebhookService::GetEndpoint(int64_t user_id, int64_t endpoint_id) {
  std::optional<Endpoint> endpoint;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kEndpointColumns) +
                                     " FROM webhook_endpoints WHERE id = ? AND user_id = ?",
                                 {endpoint_id, user_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) endpoint = EndpointFromRow(rows.value()[0]);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!endpoint) return NotFound("webhook endpoint");
  return std::move(*endpoint);
}

Result<Endpoint> WebhookService::UpdateEndpoint(int64_t user_id, int64_t endpoint_id,
                                                const EndpointChange& change) {
  auto existing = GetEndpoint(user_id, endpoint_id);
  if (!existing.ok()) return existing.error();
  Error errors = Invalid();
  ValidateEndpointChange(change, errors);
  auto accounts = ValidAccountIds(user_id, change, errors);
  if (!accounts.ok()) return accounts.error();
  if (!errors.field_errors.empty()) return errors;
  Endpoint endpoint = existing.value();
  if (change.url) endpoint.url = *change.url;
  if (change.description) endpoint.description = *change.description;
  if (change.event_types) endpoint.event_types = Deduplicated(*change.event_types);
  if (change.bank_account_ids) endpoint.bank_account_ids = accounts.value();
  if (change.omit_sensitive_identifiers) {
    endpoint.omit_sensitive_identifiers = *change.omit_sensitive_identifiers;
  }
  if (change.enabled) endpoint.enabled = *change.enabled;
  // Enabling again clears why it was switched off (e.g. a 410 Gone).
  if (endpoint.enabled) endpoint.disabled_reason.reset();
  int64_t now = clock_.NowMilliseconds();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto updated = connection.Execute(
        "UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, "
        "bank_account_ids = ?, omit_sensitive_identifiers = ?, enabled = ?, disabled_reason = "
        "?, updated_at = ? WHERE id = ? AND user_id = ?",
        {endpoint.url, endpoint.description, StringListJson(endpoint.event_types),
         IdListJson(endpoint.bank_account_ids), int64_t{endpoint.omit_sensitive_identifiers},
         int64_t{endpoint.enabled}, store::OptionalText(endpoint.disabled_reason), now, endpoint_id,
         user_id});
    if (!updated.ok()) return updated.status();
    if (updated.value() == 0) return NotFound("webhook endpoint");
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return GetEndpoint(user_id, endpoint_id);
}

Status WebhookService::DeleteEndpoint(int64_t user_id, int64_t endpoint_id) {
  return database_.Write([&](store::Connection& connection) -> Status {
    auto deleted = connection.Execute("DELETE FROM webhook_endpoints WHERE id = ? AND user_id = ?",
                                      {endpoint_id, user_id});
    if (!deleted.ok()) return deleted.status();
    if (deleted.value() == 0) return NotFound("webhook endpoint");
    // Without endpoints the feed cursor goes too; a later first endpoint starts afresh.
    return connection
        .Execute(
            "DELETE FROM webhook_feed_cursors WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM "
            "webhook_endpoints WHERE user_id = ?)",
            {user_id, user_id})
        .status();
  });
}

Result<EndpointWithSecret> WebhookService::RotateSecret(int64_t user_id, int64_t endpoint_id) {
  std::string secret = NewSecret();
  std::string sealed = crypto::Base64Encode(secret_box_.Seal(kSecretPurpose, secret));
  int64_t now = clock_.NowMilliseconds();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto updated = connection.Execute(
        "UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, "
        "previous_secret_expires_at = ?, secret_sealed = ?, secret_rotated_at = ?, updated_at = "
        "? WHERE id = ? AND user_id = ?",
        {now + options_.previous_secret_valid_ms, sealed, now, now, endpoint_id, user_id});
    if (!updated.ok()) return updated.status();
    if (updated.value() == 0) return NotFound("webhook endpoint");
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  auto endpoint = GetEndpoint(user_id, endpoint_id);
  if (!endpoint.ok()) return endpoint.error();
  return EndpointWithSecret{std::move(endpoint.value()), std::move(secret)};
}

// ---- Deliveries -----------------------------------------------------------------------------

Result<std::vector<Delivery>> WebhookService::ListDeliveries(int64_t user_id, int64_t endpoint_id,
                                                             const DeliveryListOptions& options) {
  auto endpoint = GetEndpoint(user_id, endpoint_id);
  if (!endpoint.ok()) return endpoint.error();
  std::optional<std::string> state;
  if (options.state) state = std::string(DeliveryStateName(*options.state));
  int64_t limit = std::clamp<int64_t>(options.limit, 1, 500);
  std::vector<Delivery> deliveries;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT " + std::string(kDeliveryColumns) +
            " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.webhook_event_id "
            "WHERE d.user_id = ? AND d.webhook_endpoint_id = ? AND (? IS NULL OR d.state = ?) "
            "AND (? IS NULL OR d.id < ?) ORDER BY d.id DESC LIMIT ?",
        {user_id, endpoint_id, store::OptionalText(state), store::OptionalText(state),
         store::OptionalInt(options.before_id), store::OptionalInt(options.before_id), limit});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) deliveries.push_back(DeliveryFromRow(row));
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return deliveries;
}

Result<Delivery> WebhookService::LoadDelivery(int64_t user_id, int64_t endpoint_id,
                                              int64_t delivery_id) {
  std::optional<Delivery> delivery;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT " + std::string(kDeliveryColumns) +
            " FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.webhook_event_id "
            "WHERE d.id = ? AND d.user_id = ? AND d.webhook_endpoint_id = ?",
        {delivery_id, user_id, endpoint_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) delivery = DeliveryFromRow(rows.value()[0]);
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  if (!delivery) return NotFound("webhook delivery");
  return std::move(*delivery);
}

Result<DeliveryDetail> WebhookService::GetDelivery(int64_t user_id, int64_t endpoint_id,
                                                   int64_t delivery_id) {
  auto delivery = LoadDelivery(user_id, endpoint_id, delivery_id);
  if (!delivery.ok()) return delivery.error();
  DeliveryDetail detail;
  detail.delivery = std::move(delivery.value());
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto event = connection.Query(
        "SELECT e.data, w.omit_sensitive_identifiers FROM webhook_deliveries d JOIN "
        "webhook_events e ON e.id = d.webhook_event_id JOIN webhook_endpoints w ON w.id = "
        "d.webhook_endpoint_id WHERE d.id = ? AND d.user_id = ?",
        {delivery_id, user_id});
    if (!event.ok()) return event.status();
    if (event.value().empty()) return NotFound("webhook delivery");
    std::string data = event.value()[0].Text(0);
    if (event.value()[0].Int(1) != 0) data = StripSensitiveIdentifiers(data);
    detail.payload = RenderEnvelope(detail.delivery.event_type, detail.delivery.event_id,
                                    endpoint_id, detail.delivery.event_created_at_ms, data);
    auto attempts = connection.Query(
        "SELECT id, outcome, status_code, response_excerpt, error, duration_ms, started_at FROM "
        "webhook_delivery_attempts WHERE user_id = ? AND webhook_delivery_id = ? ORDER BY id "
        "DESC LIMIT ?",
        {user_id, delivery_id, kAttemptsListedMax});
    if (!attempts.ok()) return attempts.status();
    for (const auto& row : attempts.value()) {
      detail.attempts.push_back(Attempt{row.Int(0), row.Text(1), row.OptionalInt(2), row.Text(3),
                                        row.Text(4), row.Int(5), row.Int(6)});
    }
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return detail;
}

Result<Delivery> WebhookService::Redeliver(int64_t user_id, int64_t endpoint_id,
                                           int64_t delivery_id) {
  auto endpoint = GetEndpoint(user_id, endpoint_id);
  if (!endpoint.ok()) return endpoint.error();
  if (!endpoint.value().enabled) {
    return Error::Of(ErrorCode::kConflict,
                     "The webhook endpoint is disabled: enable it before redelivering.");
  }
  int64_t now = clock_.NowMilliseconds();
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    auto updated = connection.Execute(
        "UPDATE webhook_deliveries SET state = 'pending', retry_count = 0, next_attempt_at = ?, "
        "updated_at = ? WHERE id = ? AND user_id = ? AND webhook_endpoint_id = ?",
        {now, now, delivery_id, user_id, endpoint_id});
    if (!updated.ok()) return updated.status();
    if (updated.value() == 0) return NotFound("webhook delivery");
    jobs::NewJob job;
    job.kind = std::string(kDeliveryJob);
    job.payload = "{\"delivery_id\":" + std::to_string(delivery_id) + "}";
    job.user_id = user_id;
    job.run_at_ms = now;
    job.dedupe_key = jobs::DedupeKey("webhook_delivery", delivery_id);
    job.max_attempts = kDeliveryJobMaxAttempts;
    return queue_.EnqueueOrAdvance(connection, job).status();
  });
  if (!status.ok()) return status.error();
  queue_.Wake();
  return LoadDelivery(user_id, endpoint_id, delivery_id);
}

Result<Delivery> WebhookService::SendTest(int64_t user_id, int64_t endpoint_id) {
  auto endpoint = GetEndpoint(user_id, endpoint_id);
  if (!endpoint.ok()) return endpoint.error();
  int64_t now = clock_.NowMilliseconds();
  int64_t delivery_id = 0;
  Status status = database_.Write([&](store::Connection& connection) -> Status {
    json::Writer data;
    data.StartObject();
    data.Field("message", "A test event sent from finsync on request.");
    data.Field("webhook_endpoint_id", endpoint_id);
    data.EndObject();
    events::Event event{user_id, std::string(kTestEventType), std::nullopt, data.str()};
    auto event_row = InsertEvent(connection, event);
    if (!event_row.ok()) return event_row.status();
    auto delivery = InsertDelivery(connection, user_id, endpoint_id, event_row.value(), now);
    if (!delivery.ok()) return delivery.status();
    delivery_id = delivery.value();
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  queue_.Wake();
  return LoadDelivery(user_id, endpoint_id, delivery_id);
}

Result<std::optional<WebhookService::Prepared>> WebhookService::PrepareDelivery(
    int64_t user_id, int64_t delivery_id) {
  std::optional<Prepared> prepared;
  Status status = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT d.id, d.user_id, w.id, w.url, w.omit_sensitive_identifiers, w.enabled, d.state, "
        "d.retry_count, e.event_id, e.event_type, e.data, e.created_at, w.secret_sealed, "
        "w.previous_secret_sealed, w.previous_secret_expires_at FROM webhook_deliveries d JOIN "
        "webhook_events e ON e.id = d.webhook_event_id JOIN webhook_endpoints w ON w.id = "
        "d.webhook_endpoint_id WHERE d.id = ? AND d.user_id = ?",
        {delivery_id, user_id});
    if (!rows.ok()) return rows.status();
    if (rows.value().empty()) return Status::Ok();
    const store::Row& row = rows.value()[0];
    prepared = Prepared{row.Int(0),      row.Int(1),           row.Int(2),         row.Text(3),
                        row.Int(4) != 0, row.Int(5) != 0,      row.Text(6),        row.Int(7),
                        row.Text(8),     row.Text(9),          row.Text(10),       row.Int(11),
                        row.Text(12),    row.OptionalText(13), row.OptionalInt(14)};
    return Status::Ok();
  });
  if (!status.ok()) return status.error();
  return prepared;
}

Status WebhookService::RecordAttempt(const Prepared& prepared, const Attempt& attempt,
                                     std::optional<int64_t> retry_delay_ms, bool disable_endpoint) {
  int64_t now = clock_.NowMilliseconds();
  bool delivered = attempt.outcome == "delivered";
  std::string state = delivered ? "delivered" : (retry_delay_ms ? "pending" : "failed");
  std::optional<int64_t> next_attempt_at;
  if (!delivered && retry_delay_ms) next_attempt_at = now + *retry_delay_ms;
  std::optional<std::string> last_error;
  if (!attempt.error.empty()) last_error = attempt.error;
  return database_.Write([&](store::Connection& connection) -> Status {
    auto updated = connection.Execute(
        "UPDATE webhook_deliveries SET attempt_count = attempt_count + 1, retry_count = "
        "retry_count + 1, state = ?, last_status_code = ?, last_error = ?, next_attempt_at = ?, "
        "delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END, updated_at = ? WHERE id = ? "
        "AND user_id = ?",
        {state, store::OptionalInt(attempt.status_code), store::OptionalText(last_error),
         store::OptionalInt(next_attempt_at), int64_t{delivered}, now, now, prepared.delivery_id,
         prepared.user_id});
    if (!updated.ok()) return updated.status();
    if (updated.value() == 0) return Status::Ok();  // Deleted with its endpoint meanwhile.
    auto inserted = connection.Execute(
        "INSERT INTO webhook_delivery_attempts (user_id, webhook_delivery_id, outcome, "
        "status_code, response_excerpt, error, duration_ms, started_at) VALUES (?, ?, ?, ?, ?, "
        "?, ?, ?)",
        {prepared.user_id, prepared.delivery_id, attempt.outcome,
         store::OptionalInt(attempt.status_code), attempt.response_excerpt, attempt.error,
         attempt.duration_ms, attempt.started_at_ms});
    if (!inserted.ok()) return inserted.status();
    if (!disable_endpoint) return Status::Ok();
    return connection
        .Execute(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE "
            "id = ? AND user_id = ?",
            {std::string("The receiver answered 410 Gone: it no longer wants these webhooks."), now,
             prepared.endpoint_id, prepared.user_id})
        .status();
  });
}

jobs::JobOutcome WebhookService::RunDelivery(const jobs::Job& job) {
  auto delivery_id = PayloadId(job.payload, "delivery_id");
  if (!delivery_id) return jobs::JobOutcome::Failed("payload has no delivery_id");
  auto loaded = PrepareDelivery(job.user_id, *delivery_id);
  if (!loaded.ok()) return jobs::JobOutcome::RetryWithBackoff(loaded.error().detail);
  // Gone with its endpoint, or already finished (a duplicate run): nothing to do.
  if (!loaded.value() || loaded.value()->state != "pending") return jobs::JobOutcome::Succeeded();
  const Prepared& prepared = *loaded.value();
  int64_t now = clock_.NowMilliseconds();
  Attempt attempt;
  attempt.started_at_ms = now;
  if (!prepared.enabled && prepared.event_type != kTestEventType) {
    Status failed = database_.Write([&](store::Connection& connection) -> Status {
      return connection
          .Execute(
              "UPDATE webhook_deliveries SET state = 'failed', last_error = ?, next_attempt_at = "
              "NULL, updated_at = ? WHERE id = ? AND user_id = ? AND state = 'pending'",
              {std::string("The webhook endpoint is disabled."), now, prepared.delivery_id,
               prepared.user_id})
          .status();
    });
    if (!failed.ok()) return jobs::JobOutcome::RetryWithBackoff(failed.error().detail);
    return jobs::JobOutcome::Succeeded();
  }
  std::vector<std::string> keys;
  auto open = [&](const std::string& stored) -> bool {
    auto sealed = crypto::Base64Decode(stored);
    if (!sealed) return false;
    auto secret = secret_box_.Open(kSecretPurpose, *sealed);
    if (!secret.ok()) return false;
    auto key = SecretKey(secret.value());
    if (!key) return false;
    keys.push_back(std::move(*key));
    return true;
  };
  if (!open(prepared.secret_sealed)) {
    attempt.outcome = "failed";
    attempt.error =
        "The endpoint's secret cannot be decrypted (was the server key replaced?): rotate it.";
    Status recorded = RecordAttempt(prepared, attempt, std::nullopt, false);
    if (!recorded.ok()) return jobs::JobOutcome::RetryWithBackoff(recorded.error().detail);
    return jobs::JobOutcome::Succeeded();
  }
  if (prepared.previous_secret_sealed && prepared.previous_secret_expires_at_ms &&
      *prepared.previous_secret_expires_at_ms > now) {
    (void)open(*prepared.previous_secret_sealed);  // An unreadable old secret is just skipped.
  }
  std::string data = prepared.omit_sensitive_identifiers ? StripSensitiveIdentifiers(prepared.data)
                                                         : prepared.data;
  std::string body = RenderEnvelope(prepared.event_type, prepared.event_id, prepared.endpoint_id,
                                    prepared.event_created_at_ms, data);
  int64_t timestamp = signing_clock_.NowMilliseconds() / 1000;
  net::HttpRequest request;
  request.method = "POST";
  request.url = prepared.url;
  request.headers = {
      {"content-type", "application/json"},
      {"webhook-id", prepared.event_id},
      {"webhook-timestamp", std::to_string(timestamp)},
      {"webhook-signature", SignatureHeader(keys, prepared.event_id, timestamp, body)}};
  request.body = std::move(body);
  request.timeout_ms = options_.request_timeout_ms;
  auto started = std::chrono::steady_clock::now();
  auto response = http_.Send(request);
  attempt.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  std::optional<int64_t> retry_after_ms;
  bool gone = false;
  if (response.ok()) {
    const net::HttpResponse& answer = response.value();
    attempt.status_code = answer.status;
    attempt.response_excerpt = PrintableExcerpt(answer.body);
    if (answer.status >= 200 && answer.status < 300) {
      attempt.outcome = "delivered";
    } else {
      attempt.outcome = "failed";
      attempt.error = "The receiver answered HTTP " + std::to_string(answer.status) + ".";
      gone = answer.status == 410;
      if (answer.status == 429 || answer.status == 503) {
        if (auto header = answer.Header("retry-after")) {
          std::string text(*header);
          if (!text.empty() && text.size() <= 9 &&
              std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            retry_after_ms = std::stoll(text) * 1000;
          }
        }
      }
    }
  } else {
    // kBadRequest: the client refused the address (private, loopback, link-local) or URL.
    attempt.outcome = response.error().code == ErrorCode::kBadRequest ? "refused" : "failed";
    attempt.error = Truncated(response.error().detail, kErrorLengthMax);
  }
  std::optional<int64_t> delay;
  if (attempt.outcome != "delivered" && !gone) {
    delay = RetryDelayMs(static_cast<int32_t>(std::min<int64_t>(prepared.retry_count + 1, 1000)),
                         RandomNumber(), options_.retry_speedup, retry_after_ms);
  }
  Status recorded = RecordAttempt(prepared, attempt, delay, gone);
  if (!recorded.ok()) return jobs::JobOutcome::RetryWithBackoff(recorded.error().detail);
  if (delay) return jobs::JobOutcome::RetryAfter(*delay, attempt.error);
  return jobs::JobOutcome::Succeeded();
}

// ---- The transaction feed -------------------------------------------------------------------

std::vector<events::Event> WebhookService::TransactionEvents(
    int64_t user_id, std::string_view type, int64_t bank_account_id,
    const std::vector<domain::BankTransaction>& list) {
  std::vector<events::Event> out;
  size_t chunk_size = static_cast<size_t>(std::max<int64_t>(1, options_.ids_per_event_max));
  for (size_t begin = 0; begin < list.size(); begin += chunk_size) {
    size_t end = std::min(list.size(), begin + chunk_size);
    std::string inline_list;
    if (type != "transactions.removed" &&
        static_cast<int64_t>(end - begin) <= options_.inline_transactions_max) {
      json::Writer rendered;
      rendered.StartArray();
      for (size_t index = begin; index < end; ++index) render_transaction_(rendered, list[index]);
      rendered.EndArray();
      inline_list = rendered.str();
      if (static_cast<int64_t>(inline_list.size()) > options_.inline_bytes_max) inline_list.clear();
    }
    json::Writer data;
    data.StartObject();
    data.Field("bank_account_id", bank_account_id);
    data.Field("count", static_cast<int64_t>(end - begin));
    data.Key("transaction_ids").StartArray();
    for (size_t index = begin; index < end; ++index) data.Int(list[index].id);
    data.EndArray();
    data.Key("transactions");
    if (inline_list.empty()) {
      data.Null();
    } else {
      data.Raw(inline_list);
    }
    data.EndObject();
    out.push_back(events::Event{user_id, std::string(type), bank_account_id, data.str()});
  }
  return out;
}

Result<bool> WebhookService::PublishFeedPage(int64_t user_id, bool& has_more) {
  has_more = false;
  std::optional<int64_t> after_seq;
  bool subscribed = false;
  Status read = database_.Read([&](store::Connection& connection) -> Status {
    auto cursor =
        connection.Query("SELECT last_seq FROM webhook_feed_cursors WHERE user_id = ?", {user_id});
    if (!cursor.ok()) return cursor.status();
    if (!cursor.value().empty()) after_seq = cursor.value()[0].Int(0);
    auto endpoints = connection.Query(
        "SELECT event_types FROM webhook_endpoints WHERE user_id = ? AND enabled = 1", {user_id});
    if (!endpoints.ok()) return endpoints.status();
    for (const auto& row : endpoints.value()) {
      for (std::string_view type :
           {"transactions.created", "transactions.updated", "transactions.removed"}) {
        subscribed = subscribed || Subscribes(StringListFrom(row.Text(0)), type);
      }
    }
    return Status::Ok();
  });
  if (!read.ok()) return read.error();
  if (!after_seq) return false;
  sync::TransactionService transactions(database_, clock_);
  auto page = transactions.Changes(user_id, sync::ChangeFeedQuery{*after_seq, kFeedPageSize});
  if (!page.ok()) return page.error();
  auto next_seq = sync::DecodeChangeCursor(page.value().next_cursor);
  if (!next_seq || *next_seq <= *after_seq) return false;
  std::vector<events::Event> events;
  if (subscribed) {
    // One event per account and kind, accounts in id order.
    for (auto [type, list] : {std::pair{"transactions.created", &page.value().added},
                              std::pair{"transactions.updated", &page.value().modified}}) {
      std::map<int64_t, std::vector<domain::BankTransaction>> by_account;
      for (auto& transaction : *list) {
        by_account[transaction.bank_account_id].push_back(std::move(transaction));
      }
      for (const auto& [account, items] : by_account) {
        auto made = TransactionEvents(user_id, type, account, items);
        events.insert(events.end(), made.begin(), made.end());
      }
    }
    std::map<int64_t, std::vector<domain::BankTransaction>> removed;
    for (const auto& gone : page.value().removed) {
      domain::BankTransaction stub;
      stub.id = gone.id;
      stub.bank_account_id = gone.bank_account_id;
      removed[gone.bank_account_id].push_back(stub);
    }
    for (const auto& [account, items] : removed) {
      auto made = TransactionEvents(user_id, "transactions.removed", account, items);
      events.insert(events.end(), made.begin(), made.end());
    }
  }
  int64_t now = clock_.NowMilliseconds();
  Status written = database_.Write([&](store::Connection& connection) -> Status {
    // Compare-and-set: a second run of this job that got here first already published this
    // page; this one then publishes nothing.
    auto moved = connection.Execute(
        "UPDATE webhook_feed_cursors SET last_seq = ?, updated_at = ? WHERE user_id = ? AND "
        "last_seq = ?",
        {*next_seq, now, user_id, *after_seq});
    if (!moved.ok()) return moved.status();
    if (moved.value() == 0) return Error::Of(ErrorCode::kConflict, "feed cursor moved");
    for (const auto& event : events) {
      Status published = Publish(connection, event);
      if (!published.ok()) return published;
    }
    return Status::Ok();
  });
  if (!written.ok()) {
    if (written.error().code == ErrorCode::kConflict) return false;
    return written.error();
  }
  if (!events.empty()) queue_.Wake();
  has_more = page.value().has_more;
  return true;
}

jobs::JobOutcome WebhookService::RunFeed(const jobs::Job& job) {
  for (int32_t page = 0; page < kFeedPagesPerRun; ++page) {
    bool has_more = false;
    auto published = PublishFeedPage(job.user_id, has_more);
    if (!published.ok()) return jobs::JobOutcome::RetryWithBackoff(published.error().detail);
    if (!published.value() || !has_more) return jobs::JobOutcome::Succeeded();
  }
  // A long backlog: give other jobs a turn, then go on.
  return jobs::JobOutcome::RescheduleAt(clock_.NowMilliseconds());
}

void WebhookService::NotifyTransactionsChanged(int64_t user_id) {
  bool has_cursor = false;
  Status read = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query("SELECT 1 FROM webhook_feed_cursors WHERE user_id = ?", {user_id});
    if (!rows.ok()) return rows.status();
    has_cursor = !rows.value().empty();
    return Status::Ok();
  });
  if (!read.ok() || !has_cursor) return;
  jobs::NewJob job;
  job.kind = std::string(kFeedJob);
  job.user_id = user_id;
  job.dedupe_key = jobs::DedupeKey("webhook_feed", user_id);
  auto enqueued = queue_.Enqueue(job);
  if (!enqueued.ok()) {
    spdlog::error("cannot start the webhook feed of user {}: {}", user_id, enqueued.error().detail);
  }
}

jobs::JobOutcome WebhookService::RunFeedSweep(const jobs::Job& sweep) {
  std::vector<int64_t> users;
  Status read = database_.Read([&](store::Connection& connection) -> Status {
    auto rows = connection.Query(
        "SELECT c.user_id FROM webhook_feed_cursors c WHERE EXISTS (SELECT 1 FROM "
        "transaction_changes t WHERE t.user_id = c.user_id AND t.seq > c.last_seq) ORDER BY "
        "c.user_id LIMIT ?",
        {kSweepUsersMax});
    if (!rows.ok()) return rows.status();
    for (const auto& row : rows.value()) users.push_back(row.Int(0));
    return Status::Ok();
  });
  if (!read.ok()) return jobs::JobOutcome::RetryWithBackoff(read.error().detail);
  for (int64_t user_id : users) {
    jobs::NewJob job;
    job.kind = std::string(kFeedJob);
    job.user_id = user_id;
    job.dedupe_key = jobs::DedupeKey("webhook_feed", user_id);
    auto enqueued = queue_.Enqueue(job);
    if (!enqueued.ok()) return jobs::JobOutcome::RetryWithBackoff(enqueued.error().detail);
  }
  return jobs::RunAgainEvery(sweep, options_.feed_sweep_interval_ms, clock_.NowMilliseconds());
}

jobs::JobOutcome WebhookService::RunPurge(const jobs::Job&) {
  int64_t cutoff = clock_.NowMilliseconds() - options_.event_retention_ms;
  for (int32_t batch = 0; batch < kPurgeBatchesPerRun; ++batch) {
    int64_t deleted = 0;
    Status status = database_.Write([&](store::Connection& connection) -> Status {
      // Deliveries and their attempts go with their event (ON DELETE CASCADE).
      auto purged = connection.Execute(
          "DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e WHERE "
          "e.created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE "
          "d.webhook_event_id = e.id AND d.state = 'pending') ORDER BY e.id LIMIT ?)",
          {cutoff, kPurgeBatch});
      if (!purged.ok()) return purged.status();
      deleted = purged.value();
      return Status::Ok();
    });
    if (!status.ok()) return jobs::JobOutcome::RetryWithBackoff(status.error().detail);
    if (deleted < kPurgeBatch) break;
  }
  return jobs::JobOutcome::RescheduleAt(clock_.NowMilliseconds() + kDayMs);
}

// ---- Wiring ---------------------------------------------------------------------------------

void WebhookService::RegisterHandlers(jobs::Workers& workers) {
  workers.Register(std::string(kDeliveryJob),
                   [this](const jobs::Job& job) { return RunDelivery(job); });
  workers.Register(std::string(kFeedJob), [this](const jobs::Job& job) { return RunFeed(job); });
  workers.Register(std::string(kFeedSweepJob),
                   [this](const jobs::Job& job) { return RunFeedSweep(job); });
  workers.Register(std::string(kPurgeJob), [this](const jobs::Job& job) { return RunPurge(job); });
}

Status WebhookService::EnsureScheduled() {
  for (std::string_view kind : {kFeedSweepJob, kPurgeJob}) {
    auto scheduled = jobs::EnsureRecurring(
        queue_, jobs::RecurringJob{.kind = std::string(kind), .dedupe_key = std::string(kind)});
    if (!scheduled.ok()) return scheduled.error();
  }
  return Status::Ok();
}

}  // namespace finsync::webhooks
