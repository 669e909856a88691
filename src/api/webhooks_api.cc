#include "api/webhooks_api.h"

#include <charconv>
#include <utility>

#include "api/fields.h"
#include "common/json.h"

namespace finsync::api {

namespace {

using http::Request;
using http::Response;
using identity::Principal;
using webhooks::Delivery;
using webhooks::Endpoint;

constexpr int64_t kDeliveryLimitDefault = 50;
constexpr int64_t kDeliveryLimitMax = 500;

void WriteEndpoint(json::Writer& writer, const Endpoint& endpoint, const std::string* secret) {
  writer.StartObject();
  writer.Field("id", endpoint.id);
  writer.Field("url", endpoint.url);
  writer.Field("description", endpoint.description);
  writer.Key("events").StartArray();
  for (const auto& type : endpoint.event_types) writer.String(type);
  writer.EndArray();
  writer.Key("bank_account_ids").StartArray();
  for (int64_t id : endpoint.bank_account_ids) writer.Int(id);
  writer.EndArray();
  writer.Field("omit_sensitive_identifiers", endpoint.omit_sensitive_identifiers);
  writer.Field("enabled", endpoint.enabled);
  writer.Field("disabled_reason", endpoint.disabled_reason);
  WriteOptionalTime(writer, "secret_rotated_at", endpoint.secret_rotated_at_ms);
  WriteOptionalTime(writer, "previous_secret_expires_at", endpoint.previous_secret_expires_at_ms);
  if (secret != nullptr) writer.Field("secret", *secret);
  writer.Field("created_at", FormatTimeMs(endpoint.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(endpoint.updated_at_ms));
  writer.EndObject();
}

void WriteDeliveryFields(json::Writer& writer, const Delivery& delivery) {
  writer.Field("id", delivery.id);
  writer.Field("webhook_endpoint_id", delivery.webhook_endpoint_id);
  writer.Field("event_id", delivery.event_id);
  writer.Field("event_type", delivery.event_type);
  writer.Field("event_created_at", FormatTimeMs(delivery.event_created_at_ms));
  writer.Field("state", webhooks::DeliveryStateName(delivery.state));
  writer.Field("attempts_count", delivery.attempt_count);
  WriteOptionalTime(writer, "next_attempt_at",
                    delivery.state == webhooks::DeliveryState::kPending
                        ? delivery.next_attempt_at_ms
                        : std::nullopt);
  writer.Key("last_status_code");
  if (delivery.last_status_code) {
    writer.Int(*delivery.last_status_code);
  } else {
    writer.Null();
  }
  writer.Field("last_error", delivery.last_error);
  WriteOptionalTime(writer, "delivered_at", delivery.delivered_at_ms);
  writer.Field("created_at", FormatTimeMs(delivery.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(delivery.updated_at_ms));
}

void WriteDelivery(json::Writer& writer, const Delivery& delivery) {
  writer.StartObject();
  WriteDeliveryFields(writer, delivery);
  writer.EndObject();
}

void WriteDeliveryDetail(json::Writer& writer, const webhooks::DeliveryDetail& detail) {
  writer.StartObject();
  WriteDeliveryFields(writer, detail.delivery);
  writer.Key("payload").Raw(detail.payload);
  writer.Key("attempts").StartArray();
  for (const auto& attempt : detail.attempts) {
    writer.StartObject();
    writer.Field("id", attempt.id);
    writer.Field("outcome", attempt.outcome);
    writer.Key("status_code");
    if (attempt.status_code) {
      writer.Int(*attempt.status_code);
    } else {
      writer.Null();
    }
    writer.Field("response_excerpt", attempt.response_excerpt);
    writer.Field("error", attempt.error);
    writer.Field("duration_ms", attempt.duration_ms);
    writer.Field("started_at", FormatTimeMs(attempt.started_at_ms));
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
}

Error Invalid() { return Error::Of(ErrorCode::kValidationFailed, "The given data was invalid."); }

Result<int64_t> PathId(const Request& request, std::string_view name, std::string_view what) {
  auto id = ParseId(request.PathParam(name));
  if (!id) return Error::Of(ErrorCode::kNotFound, "The " + std::string(what) + " was not found.");
  return *id;
}

Result<webhooks::DeliveryListOptions> ParseDeliveryQuery(const Request& request) {
  Error errors = Invalid();
  webhooks::DeliveryListOptions options;
  options.limit = kDeliveryLimitDefault;
  if (auto text = request.Query("limit")) {
    int64_t limit = 0;
    auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (error != std::errc() || end != text->data() + text->size() || limit < 1 ||
        limit > kDeliveryLimitMax) {
      errors.field_errors.push_back({"limit", "must be an integer from 1 to 500"});
    }
    options.limit = limit;
  }
  if (auto state = request.Query("state")) {
    options.state = webhooks::ParseDeliveryState(*state);
    if (!options.state) {
      errors.field_errors.push_back({"state", "must be one of pending, delivered, failed"});
    }
  }
  if (auto token = request.Query("page_token"); token && !token->empty()) {
    options.before_id = ParseId(*token);
    if (!options.before_id) {
      errors.field_errors.push_back({"page_token", "is not a token from next_page_token"});
    }
  }
  if (!errors.field_errors.empty()) return errors;
  return options;
}

struct Ids {
  int64_t endpoint_id = 0;
  int64_t delivery_id = 0;
};

// The endpoint id, and the delivery id when the route has one; kNotFound for a malformed id.
Result<Ids> PathIds(const Request& request, bool with_delivery) {
  auto endpoint = PathId(request, "id", "webhook endpoint");
  if (!endpoint.ok()) return endpoint.error();
  Ids ids{endpoint.value(), 0};
  if (!with_delivery) return ids;
  auto delivery = PathId(request, "delivery_id", "webhook delivery");
  if (!delivery.ok()) return delivery.error();
  ids.delivery_id = delivery.value();
  return ids;
}

void RegisterEndpointRoutes(http::Router& router, ApiContext& context,
                            webhooks::WebhookService* service) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  auto respond = [](Request& request, Response& response, const Result<Endpoint>& endpoint,
                    std::string_view message) {
    if (!endpoint.ok()) return RespondError(request, response, endpoint.error());
    RespondObject(response, 200, message,
                  [&](json::Writer& writer) { WriteEndpoint(writer, endpoint.value(), nullptr); });
  };
  auto respond_with_secret = [](Request& request, Response& response,
                                const Result<webhooks::EndpointWithSecret>& created,
                                unsigned status, std::string_view message) {
    if (!created.ok()) return RespondError(request, response, created.error());
    RespondObject(response, status, message, [&](json::Writer& writer) {
      WriteEndpoint(writer, created.value().endpoint, &created.value().secret);
    });
    // A replay of this request answers without the secret: it is shown once and never kept
    // in the idempotency store.
    Response without_secret;
    RespondObject(without_secret, status, message, [&](json::Writer& writer) {
      WriteEndpoint(writer, created.value().endpoint, nullptr);
    });
    response.body_for_replay = std::move(without_secret.body);
  };
  router.Add("POST", "/api/v1/webhook-endpoints",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto change = webhooks::ParseEndpointChange(request.body);
                             if (!change.ok()) {
                               return RespondError(request, response, change.error());
                             }
                             respond_with_secret(
                                 request, response,
                                 service->CreateEndpoint(who.user.id, change.value()), 201,
                                 "Webhook endpoint created.");
                           }));
  router.Add("GET", "/api/v1/webhook-endpoints",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto endpoints = service->ListEndpoints(who.user.id);
                             if (!endpoints.ok()) {
                               return RespondError(request, response, endpoints.error());
                             }
                             json::Writer writer;
                             writer.StartObject().Key("data").StartArray();
                             for (const auto& endpoint : endpoints.value()) {
                               WriteEndpoint(writer, endpoint, nullptr);
                             }
                             writer.EndArray().Key("meta").StartObject();
                             writer.Field("total", static_cast<int64_t>(endpoints.value().size()));
                             writer.EndObject().EndObject();
                             response.Json(200, writer.str());
                           }));
  router.Add("GET", "/api/v1/webhook-endpoints/{id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto ids = PathIds(request, false);
                             if (!ids.ok()) return RespondError(request, response, ids.error());
                             respond(request, response,
                                     service->GetEndpoint(who.user.id, ids.value().endpoint_id),
                                     "");
                           }));
  router.Add(
      "PUT", "/api/v1/webhook-endpoints/{id}",
      Authenticated(
          context, kScopeWrite, [=](Request& request, Response& response, const Principal& who) {
            auto ids = PathIds(request, false);
            if (!ids.ok()) return RespondError(request, response, ids.error());
            auto change = webhooks::ParseEndpointChange(request.body);
            if (!change.ok()) {
              return RespondError(request, response, change.error());
            }
            respond(request, response,
                    service->UpdateEndpoint(who.user.id, ids.value().endpoint_id, change.value()),
                    "Webhook endpoint updated.");
          }));
  router.Add("DELETE", "/api/v1/webhook-endpoints/{id}",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto ids = PathIds(request, false);
                             if (!ids.ok()) return RespondError(request, response, ids.error());
                             Status deleted =
                                 service->DeleteEndpoint(who.user.id, ids.value().endpoint_id);
                             if (!deleted.ok()) {
                               return RespondError(request, response, deleted.error());
                             }
                             response.NoContent();
                           }));
  router.Add("POST", "/api/v1/webhook-endpoints/{id}/rotate-secret",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto ids = PathIds(request, false);
                             if (!ids.ok()) return RespondError(request, response, ids.error());
                             respond_with_secret(
                                 request, response,
                                 service->RotateSecret(who.user.id, ids.value().endpoint_id), 200,
                                 "Secret rotated: the previous one signs too for 24 hours.");
                           }));
}

void RegisterDeliveryRoutes(http::Router& router, ApiContext& context,
                            webhooks::WebhookService* service) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  auto respond = [](Request& request, Response& response, const Result<Delivery>& delivery,
                    unsigned status, std::string_view message) {
    if (!delivery.ok()) return RespondError(request, response, delivery.error());
    RespondObject(response, status, message,
                  [&](json::Writer& writer) { WriteDelivery(writer, delivery.value()); });
  };
  router.Add("POST", "/api/v1/webhook-endpoints/{id}/test",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto ids = PathIds(request, false);
                             if (!ids.ok()) return RespondError(request, response, ids.error());
                             respond(request, response,
                                     service->SendTest(who.user.id, ids.value().endpoint_id), 202,
                                     "Test event queued for delivery.");
                           }));
  router.Add(
      "GET", "/api/v1/webhook-endpoints/{id}/deliveries",
      Authenticated(
          context, kScopeRead, [=](Request& request, Response& response, const Principal& who) {
            auto ids = PathIds(request, false);
            if (!ids.ok()) return RespondError(request, response, ids.error());
            auto options = ParseDeliveryQuery(request);
            if (!options.ok()) return RespondError(request, response, options.error());
            auto deliveries =
                service->ListDeliveries(who.user.id, ids.value().endpoint_id, options.value());
            if (!deliveries.ok()) return RespondError(request, response, deliveries.error());
            // A full page may have a next one; the id of its last entry is the cursor.
            std::optional<std::string> next;
            if (static_cast<int64_t>(deliveries.value().size()) == options.value().limit) {
              next = std::to_string(deliveries.value().back().id);
            }
            json::Writer writer;
            writer.StartObject().Key("data").StartArray();
            for (const auto& delivery : deliveries.value()) WriteDelivery(writer, delivery);
            writer.EndArray().Key("meta").StartObject();
            writer.Field("limit", options.value().limit);
            writer.Field("next_page_token", next).EndObject().EndObject();
            response.Json(200, writer.str());
          }));
  router.Add("GET", "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}",
             Authenticated(context, kScopeRead,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto ids = PathIds(request, true);
                             if (!ids.ok()) return RespondError(request, response, ids.error());
                             auto detail = service->GetDelivery(
                                 who.user.id, ids.value().endpoint_id, ids.value().delivery_id);
                             if (!detail.ok())
                               return RespondError(request, response, detail.error());
                             RespondObject(response, 200, "", [&](json::Writer& writer) {
                               WriteDeliveryDetail(writer, detail.value());
                             });
                           }));
  router.Add("POST", "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/redeliver",
             Authenticated(context, kScopeWrite,
                           [=](Request& request, Response& response, const Principal& who) {
                             auto ids = PathIds(request, true);
                             if (!ids.ok()) return RespondError(request, response, ids.error());
                             respond(request, response,
                                     service->Redeliver(who.user.id, ids.value().endpoint_id,
                                                        ids.value().delivery_id),
                                     202, "Delivery queued again.");
                           }));
  router.Add("GET", "/api/v1/webhook-event-types",
             Authenticated(context, kScopeRead, [](Request&, Response& response, const Principal&) {
               json::Writer writer;
               writer.StartObject().Key("data").StartArray();
               for (std::string_view type : webhooks::EventTypes()) {
                 writer.String(type);
               }
               writer.EndArray().EndObject();
               response.Json(200, writer.str());
             }));
}

}  // namespace

void RegisterWebhookRoutes(http::Router& router, ApiContext& context,
                           webhooks::WebhookService& service) {
  RegisterEndpointRoutes(router, context, &service);
  RegisterDeliveryRoutes(router, context, &service);
}

}  // namespace finsync::api
