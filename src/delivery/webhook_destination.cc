#include "delivery/webhook_destination.h"

#include <spdlog/spdlog.h>

#include <string_view>

#include "domain/currency.h"
#include "domain/money.h"
#include "webhooks/payload.h"
#include "webhooks/signing.h"

namespace finsync::delivery {

namespace {

using store::Connection;
using store::Row;

constexpr std::string_view kSecretPurpose = "webhook_destination_secret";
constexpr size_t kUrlMax = 2000;
constexpr size_t kExcerptMax = 200;

constexpr std::string_view kColumns =
    "id, user_id, name, url, omit_sensitive, health_status, health_message, failure_count, "
    "last_attempt_at, created_at, updated_at";

WebhookDestinationRecord FromRow(const Row& row) {
  WebhookDestinationRecord record;
  record.id = row.Int(0);
  record.user_id = row.Int(1);
  record.name = row.Text(2);
  record.url = row.Text(3);
  record.omit_sensitive = row.Int(4) != 0;
  record.health_status = row.Text(5);
  record.health_message = row.Text(6);
  record.failure_count = row.Int(7);
  record.last_attempt_at_ms = row.OptionalInt(8);
  record.created_at_ms = row.Int(9);
  record.updated_at_ms = row.Int(10);
  return record;
}

Error NotFound() {
  return Error::Of(ErrorCode::kNotFound, "The webhook destination was not found.");
}

Error Invalid(std::vector<FieldError> errors) {
  Error error = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  error.field_errors = std::move(errors);
  return error;
}

std::vector<FieldError> Check(const WebhookDestinationPatch& patch, bool creating) {
  std::vector<FieldError> errors;
  if (creating && !patch.url) errors.push_back({"url", "is required"});
  if (patch.url) {
    std::string problem = CheckWebhookUrl(*patch.url);
    if (!problem.empty()) errors.push_back({"url", problem});
  }
  if (patch.name && patch.name->size() > WebhookDestinations::kNameMax) {
    errors.push_back({"name", "must be at most 200 bytes"});
  }
  return errors;
}

std::string Excerpt(std::string_view body) {
  std::string text(body.substr(0, kExcerptMax));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

}  // namespace

std::string CheckWebhookUrl(std::string_view url) {
  if (url.size() > kUrlMax) return "must be at most 2000 bytes";
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return "must be an http:// or https:// URL";
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return "must name a host";
  if (authority.find('@') != std::string_view::npos) return "must not contain credentials";
  if (url.find('#') != std::string_view::npos) return "must not contain a fragment";
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "must not contain spaces or non-ASCII characters (percent-encode them)";
    }
  }
  return "";
}

// Sends to one webhook destination.
class WebhookSender final : public Destination {
 public:
  WebhookSender(WebhookDestinations& owner, WebhookDestinationRecord record, std::string key)
      : owner_(owner), record_(std::move(record)), key_(std::move(key)) {}

  size_t batch_max() const override { return WebhookDestinations::kBatchMax; }

  Result<std::vector<ItemOutcome>> Create(std::span<const OutboundItem> items) override {
    return SendAll(items, "transaction.transferred", "");
  }

  Result<std::vector<ItemOutcome>> Update(std::span<const OutboundItem> items,
                                          const UpdateFields&) override {
    return SendAll(items, "transaction.updated", ":booked");
  }

  Status Delete(std::string_view destination_transaction_id) override {
    const int64_t now_ms = owner_.clock_.NowMilliseconds();
    json::Writer body;
    body.StartObject();
    body.Field("type", "transaction.deleted");
    body.Field("id", destination_transaction_id);
    body.Field("created_at", FormatTimestamp(now_ms));
    body.Key("data").StartObject().Field("id", destination_transaction_id).EndObject();
    body.EndObject();
    ItemOutcome outcome =
        Post(std::string(destination_transaction_id) + ":deleted", body.str(), now_ms);
    if (outcome.delivered) return Status::Ok();
    return Error::Of(outcome.retryable ? ErrorCode::kUnavailable : ErrorCode::kConflict,
                     outcome.message);
  }

 private:
  static std::string FormatTimestamp(int64_t ms) {
    auto timestamp = domain::Timestamp::FromUnixTimeMs(ms);
    return timestamp ? domain::FormatTimestamp(*timestamp) : "";
  }

  Result<std::vector<ItemOutcome>> SendAll(std::span<const OutboundItem> items,
                                           std::string_view type, std::string_view id_suffix) {
    std::vector<ItemOutcome> outcomes;
    outcomes.reserve(items.size());
    bool failing = false;
    for (const OutboundItem& item : items) {
      if (failing) {
        // The receiver is failing: the rest wait for the retry instead of piling up.
        outcomes.push_back(ItemOutcome::Retry("not sent: the receiver failed just before"));
        continue;
      }
      const int64_t now_ms = owner_.clock_.NowMilliseconds();
      ItemOutcome outcome =
          Post(item.import_id + std::string(id_suffix), Body(item, type, now_ms), now_ms);
      if (outcome.delivered) {
        outcome.destination_transaction_id = item.import_id;
      } else if (outcome.retryable) {
        failing = true;
      }
      outcomes.push_back(std::move(outcome));
    }
    return outcomes;
  }

  std::string Body(const OutboundItem& item, std::string_view type, int64_t now_ms) {
    json::Writer data;
    data.StartObject();
    if (item.transaction != nullptr) {
      data.Field("bank_account_id", item.transaction->bank_account_id);
      data.Key("transaction");
      owner_.render_(data, *item.transaction);
    }
    const rules::OutgoingTransaction& copy = item.copy;
    data.Key("outgoing").StartObject();
    data.Field("payee", copy.payee);
    data.Field("description", copy.description);
    if (copy.date) {
      data.Field("date", domain::FormatDate(*copy.date));
    } else {
      data.Key("date").Null();
    }
    auto currency = domain::Currency::FromCode(copy.currency);
    if (currency) {
      data.Field("amount", domain::FormatDecimalAmount(copy.amount_minor, currency->exponent()));
    } else {
      data.Key("amount").Null();
    }
    data.Field("currency", copy.currency);
    data.EndObject();
    data.EndObject();
    std::string data_json = data.str();
    if (record_.omit_sensitive) data_json = webhooks::StripSensitiveIdentifiers(data_json);
    json::Writer body;
    body.StartObject();
    body.Field("type", type);
    body.Field("id", item.import_id);
    body.Field("created_at", FormatTimestamp(now_ms));
    body.Key("data").Raw(data_json);
    body.EndObject();
    return body.str();
  }

  ItemOutcome Post(const std::string& webhook_id, const std::string& body, int64_t now_ms) {
    const int64_t timestamp = now_ms / 1000;
    net::HttpRequest request;
    request.method = "POST";
    request.url = record_.url;
    request.headers = {{"Content-Type", "application/json"},
                       {"webhook-id", webhook_id},
                       {"webhook-timestamp", std::to_string(timestamp)},
                       {"webhook-signature", webhooks::Sign(key_, webhook_id, timestamp, body)}};
    request.body = body;
    request.timeout_ms = 15'000;
    auto response = owner_.http_.Send(request);
    ItemOutcome outcome;
    if (!response.ok()) {
      outcome =
          response.error().code == ErrorCode::kBadRequest
              ? ItemOutcome::Rejected("the webhook URL was refused: " + response.error().detail)
              : ItemOutcome::Retry("the receiver could not be reached: " + response.error().detail);
    } else {
      const int status = response.value().status;
      const std::string answer = "the receiver answered " + std::to_string(status);
      if (status >= 200 && status < 300) {
        outcome = ItemOutcome::Delivered(webhook_id);
      } else if (status == 408 || status == 429 || status >= 500) {
        outcome = ItemOutcome::Retry(answer + ": " + Excerpt(response.value().body));
      } else {
        outcome = ItemOutcome::Rejected(answer + ": " + Excerpt(response.value().body));
      }
    }
    owner_.RecordHealth(record_.user_id, record_.id, outcome.delivered, outcome.message);
    return outcome;
  }

  WebhookDestinations& owner_;
  WebhookDestinationRecord record_;
  std::string key_;
};

Result<std::pair<WebhookDestinationRecord, std::string>> WebhookDestinations::Create(
    int64_t user_id, const WebhookDestinationPatch& request) {
  auto errors = Check(request, true);
  if (!errors.empty()) return Invalid(std::move(errors));
  const int64_t now_ms = clock_.NowMilliseconds();
  const std::string secret = webhooks::NewSecret();
  WebhookDestinationRecord record;
  record.user_id = user_id;
  record.name = request.name.value_or("");
  record.url = *request.url;
  record.omit_sensitive = request.omit_sensitive.value_or(false);
  record.created_at_ms = now_ms;
  record.updated_at_ms = now_ms;
  Status written = database_.Write([&](Connection& connection) -> Status {
    auto rows = connection.Query(
        "INSERT INTO webhook_destinations (user_id, name, url, secret_ciphertext, "
        "omit_sensitive, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {user_id, record.name, record.url, secrets_.Seal(kSecretPurpose, secret),
         int64_t{record.omit_sensitive}, now_ms, now_ms});
    if (!rows.ok()) return rows.status();
    record.id = rows.value()[0].Int(0);
    return Status::Ok();
  });
  if (!written.ok()) return written.error();
  return std::make_pair(std::move(record), secret);
}

Result<WebhookDestinationRecord> WebhookDestinations::Get(int64_t user_id, int64_t id) {
  std::optional<WebhookDestinationRecord> record;
  Status read = database_.Read([&](Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kColumns) +
                                     " FROM webhook_destinations WHERE id = ? AND user_id = ?",
                                 {id, user_id});
    if (!rows.ok()) return rows.status();
    if (!rows.value().empty()) record = FromRow(rows.value()[0]);
    return Status::Ok();
  });
  if (!read.ok()) return read.error();
  if (!record) return NotFound();
  return *record;
}

Result<std::vector<WebhookDestinationRecord>> WebhookDestinations::List(int64_t user_id) {
  std::vector<WebhookDestinationRecord> records;
  Status read = database_.Read([&](Connection& connection) -> Status {
    auto rows = connection.Query("SELECT " + std::string(kColumns) +
                                     " FROM webhook_destinations WHERE user_id = ? ORDER BY id",
                                 {user_id});
    if (!rows.ok()) return rows.status();
    for (const Row& row : rows.value()) records.push_back(FromRow(row));
    return Status::Ok();
  });
  if (!read.ok()) return read.error();
  return records;
}

Result<WebhookDestinationRecord> WebhookDestinations::Update(int64_t user_id, int64_t id,
                                                             const WebhookDestinationPatch& patch) {
  auto errors = Check(patch, false);
  if (!errors.empty()) return Invalid(std::move(errors));
  const int64_t now_ms = clock_.NowMilliseconds();
  Status written = database_.Write([&](Connection& connection) -> Status {
    auto changed = connection.Execute(
        "UPDATE webhook_destinations SET name = COALESCE(?, name), url = COALESCE(?, url), "
        "omit_sensitive = COALESCE(?, omit_sensitive), updated_at = ? WHERE id = ? AND user_id "
        "= ?",
        {store::OptionalText(patch.name), store::OptionalText(patch.url),
         patch.omit_sensitive ? store::Value(int64_t{*patch.omit_sensitive}) : store::Null(),
         now_ms, id, user_id});
    if (!changed.ok()) return changed.status();
    return changed.value() == 0 ? Status(NotFound()) : Status::Ok();
  });
  if (!written.ok()) return written.error();
  return Get(user_id, id);
}

Result<std::string> WebhookDestinations::RotateSecret(int64_t user_id, int64_t id) {
  const std::string secret = webhooks::NewSecret();
  const int64_t now_ms = clock_.NowMilliseconds();
  Status written = database_.Write([&](Connection& connection) -> Status {
    auto changed = connection.Execute(
        "UPDATE webhook_destinations SET secret_ciphertext = ?, updated_at = ? WHERE id = ? AND "
        "user_id = ?",
        {secrets_.Seal(kSecretPurpose, secret), now_ms, id, user_id});
    if (!changed.ok()) return changed.status();
    return changed.value() == 0 ? Status(NotFound()) : Status::Ok();
  });
  if (!written.ok()) return written.error();
  return secret;
}

Status WebhookDestinations::Delete(int64_t user_id, int64_t id) {
  return database_.Write([&](Connection& connection) -> Status {
    auto links = connection.Query(
        "SELECT id FROM transfer_links WHERE user_id = ? AND destination_type = 'WEBHOOK' AND "
        "destination_id = ? ORDER BY id LIMIT 1",
        {user_id, id});
    if (!links.ok()) return links.status();
    auto exists = connection.Query(
        "SELECT 1 FROM webhook_destinations WHERE id = ? AND user_id = ?", {id, user_id});
    if (!exists.ok()) return exists.status();
    if (exists.value().empty()) return NotFound();
    if (!links.value().empty()) {
      return Error::Of(ErrorCode::kConflict,
                       "transfer link " + std::to_string(links.value()[0].Int(0)) +
                           " sends to this webhook destination; delete the link first");
    }
    auto deleted = connection.Execute(
        "DELETE FROM webhook_destinations WHERE id = ? AND user_id = ?", {id, user_id});
    if (!deleted.ok()) return deleted.status();
    return connection
        .Execute(
            "DELETE FROM rule_attachments WHERE user_id = ? AND target_kind = 'WEBHOOK' AND "
            "target_id = ?",
            {user_id, id})
        .status();
  });
}

void WebhookDestinations::RecordHealth(int64_t user_id, int64_t id, bool ok,
                                       const std::string& message) {
  const int64_t now_ms = clock_.NowMilliseconds();
  // Bookkeeping only: a lost update of the health fields harms nothing.
  database_.WriteDetached([=](Connection& connection) -> Status {
    if (ok) {
      return connection
          .Execute(
              "UPDATE webhook_destinations SET health_status = 'HEALTHY', health_message = '', "
              "failure_count = 0, last_attempt_at = ? WHERE id = ? AND user_id = ?",
              {now_ms, id, user_id})
          .status();
    }
    return connection
        .Execute(
            "UPDATE webhook_destinations SET health_status = CASE WHEN failure_count + 1 >= 10 "
            "THEN 'DEAD' ELSE 'FAILING' END, health_message = ?, failure_count = failure_count + "
            "1, last_attempt_at = ? WHERE id = ? AND user_id = ?",
            {message, now_ms, id, user_id})
        .status();
  });
}

DestinationOpener WebhookDestinations::Opener() {
  return [this](int64_t user_id, int64_t destination_id) -> Result<std::unique_ptr<Destination>> {
    std::optional<WebhookDestinationRecord> record;
    std::string sealed;
    Status read = database_.Read([&](Connection& connection) -> Status {
      auto rows = connection.Query("SELECT " + std::string(kColumns) +
                                       ", secret_ciphertext FROM webhook_destinations WHERE id = "
                                       "? AND user_id = ?",
                                   {destination_id, user_id});
      if (!rows.ok()) return rows.status();
      if (rows.value().empty()) return Status::Ok();
      record = FromRow(rows.value()[0]);
      sealed = rows.value()[0].Text(11);
      return Status::Ok();
    });
    if (!read.ok()) return read.error();
    if (!record) return Error::Of(ErrorCode::kNotFound, "the webhook destination was deleted");
    auto secret = secrets_.Open(kSecretPurpose, sealed);
    if (!secret.ok()) {
      return Error::Of(ErrorCode::kConflict,
                       "the webhook destination's secret cannot be read with this server's key; "
                       "rotate the secret");
    }
    auto key = webhooks::SecretKey(secret.value());
    if (!key) return Error::Of(ErrorCode::kInternal, "the stored webhook secret is malformed");
    return std::unique_ptr<Destination>(
        std::make_unique<WebhookSender>(*this, std::move(*record), std::move(*key)));
  };
}

}  // namespace finsync::delivery
