#include "api/lunch_money_api.h"

#include <map>
#include <vector>

#include "api/fields.h"
#include "common/json.h"

namespace finsync::api {

namespace {

using delivery::lunchmoney::Connection;
using delivery::lunchmoney::ConnectionService;
using delivery::lunchmoney::StoredAsset;

void WriteHealth(json::Writer& writer, const sync::Health& health) {
  writer.Key("health").StartObject();
  writer.Field("status", sync::HealthStatusName(health.status));
  writer.Field("integrator_message", health.integrator_message);
  writer.Field("failure_count", health.failure_count);
  WriteOptionalTime(writer, "last_attempt_at", health.last_attempt_at_ms);
  writer.EndObject();
}

void WriteAsset(json::Writer& writer, const StoredAsset& asset) {
  writer.StartObject();
  writer.Field("id", asset.id);
  writer.Field("connection_id", asset.connection_id);
  writer.Field("lunch_money_id", asset.lunch_money_id);
  writer.Field("name", asset.name);
  writer.Field("display_name", asset.display_name);
  writer.Field("type_name", asset.type_name);
  writer.Field("subtype_name", asset.subtype_name);
  writer.Field("balance", asset.balance);
  writer.Field("currency", asset.currency);
  writer.Field("institution_name", asset.institution_name);
  writer.Field("closed", asset.closed);
  writer.Field("created_at", FormatTimeMs(asset.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(asset.updated_at_ms));
  writer.EndObject();
}

void WriteConnection(json::Writer& writer, const Connection& connection,
                     const std::vector<StoredAsset>& assets) {
  writer.StartObject();
  writer.Field("id", connection.id);
  writer.Key("lunch_money_user_id");
  if (connection.lunch_money_user_id) {
    writer.Int(*connection.lunch_money_user_id);
  } else {
    writer.Null();
  }
  writer.Field("user_name", connection.user_name);
  writer.Field("budget_name", connection.budget_name);
  writer.Field("primary_currency", connection.primary_currency);
  WriteHealth(writer, connection.health);
  writer.Key("assets").StartArray();
  for (const auto& asset : assets) WriteAsset(writer, asset);
  writer.EndArray();
  writer.Field("assets_count", static_cast<int64_t>(assets.size()));
  WriteOptionalTime(writer, "last_synced_at", connection.last_synced_at_ms);
  writer.Field("created_at", FormatTimeMs(connection.created_at_ms));
  writer.Field("updated_at", FormatTimeMs(connection.updated_at_ms));
  writer.EndObject();
}

template <typename Item, typename WriteFunction>
void RespondList(http::Response& response, const std::vector<Item>& items, WriteFunction write) {
  json::Writer writer;
  writer.StartObject().Key("data").StartArray();
  for (const auto& item : items) write(writer, item);
  writer.EndArray();
  writer.Key("meta").StartObject().Field("total", static_cast<int64_t>(items.size()));
  writer.EndObject();
  writer.Key("links").StartObject().EndObject();
  writer.EndObject();
  response.Json(200, writer.str());
}

Result<std::string> ParseAccessToken(const http::Request& request) {
  auto body = json::ParseObject(request.body);
  if (!body.ok()) return body.error();
  Error errors = Invalid();
  auto token = OptionalString(body.value(), "access_token", "access_token", errors);
  if (!errors.field_errors.empty()) return errors;
  if (!token) {
    errors.field_errors.push_back({"access_token", "is required"});
    return errors;
  }
  return *token;
}

}  // namespace

void RegisterLunchMoneyRoutes(http::Router& router, ApiContext& context,
                              ConnectionService& connections) {
  using http::Request;
  using http::Response;
  using identity::kScopeRead;
  using identity::kScopeWrite;
  using identity::Principal;
  ConnectionService* service = &connections;

  auto respond_connection = [service](Request& request, Response& response,
                                      const Result<Connection>& connection, unsigned status,
                                      std::string_view message) {
    if (!connection.ok()) return RespondError(request, response, connection.error());
    auto assets = service->ListAssets(connection.value().user_id, connection.value().id);
    if (!assets.ok()) return RespondError(request, response, assets.error());
    RespondObject(response, status, message, [&](json::Writer& writer) {
      WriteConnection(writer, connection.value(), assets.value());
    });
  };

  router.Add("GET", "/api/v1/lunch-money/connections",
             Authenticated(context, kScopeRead,
                           [service](Request& request, Response& response, const Principal& who) {
                             auto list = service->ListConnections(who.user.id);
                             if (!list.ok()) return RespondError(request, response, list.error());
                             auto assets = service->ListAssets(who.user.id, std::nullopt);
                             if (!assets.ok()) {
                               return RespondError(request, response, assets.error());
                             }
                             std::map<int64_t, std::vector<StoredAsset>> by_connection;
                             for (const auto& asset : assets.value()) {
                               by_connection[asset.connection_id].push_back(asset);
                             }
                             RespondList(response, list.value(),
                                         [&](json::Writer& writer, const Connection& connection) {
                                           WriteConnection(writer, connection,
                                                           by_connection[connection.id]);
                                         });
                           }));
  router.Add("POST", "/api/v1/lunch-money/connections",
             Authenticated(context, kScopeWrite,
                           [service, respond_connection](Request& request, Response& response,
                                                         const Principal& who) {
                             auto token = ParseAccessToken(request);
                             if (!token.ok()) return RespondError(request, response, token.error());
                             respond_connection(
                                 request, response,
                                 service->CreateConnection(who.user.id, token.value()), 201,
                                 "Lunch Money connection created.");
                           }));
  router.Add("GET", "/api/v1/lunch-money/connections/{id}",
             Authenticated(context, kScopeRead,
                           [service, respond_connection](Request& request, Response& response,
                                                         const Principal& who) {
                             auto id = PathId(request, "id", "The Lunch Money connection");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_connection(request, response,
                                                service->GetConnection(who.user.id, id.value()),
                                                200, "");
                           }));
  router.Add("DELETE", "/api/v1/lunch-money/connections/{id}",
             Authenticated(context, kScopeWrite,
                           [service](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The Lunch Money connection");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             Status deleted = service->DeleteConnection(who.user.id, id.value());
                             if (!deleted.ok()) {
                               return RespondError(request, response, deleted.error());
                             }
                             response.NoContent();
                           }));
  router.Add("POST", "/api/v1/lunch-money/connections/{id}/sync",
             Authenticated(context, kScopeWrite,
                           [service, respond_connection](Request& request, Response& response,
                                                         const Principal& who) {
                             auto id = PathId(request, "id", "The Lunch Money connection");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             respond_connection(request, response,
                                                service->RefreshConnection(who.user.id, id.value()),
                                                200, "Lunch Money connection refreshed.");
                           }));
  router.Add("GET", "/api/v1/lunch-money/assets",
             Authenticated(context, kScopeRead,
                           [service](Request& request, Response& response, const Principal& who) {
                             Error errors = Invalid();
                             auto connection_id =
                                 QueryInteger(request, "connection_id", 1, INT64_MAX, errors);
                             if (!connection_id) {
                               connection_id = QueryInteger(request, "filter[connection_id]", 1,
                                                            INT64_MAX, errors);
                             }
                             if (!errors.field_errors.empty()) {
                               return RespondError(request, response, errors);
                             }
                             auto assets = service->ListAssets(who.user.id, connection_id);
                             if (!assets.ok())
                               return RespondError(request, response, assets.error());
                             RespondList(response, assets.value(), WriteAsset);
                           }));
  router.Add("GET", "/api/v1/lunch-money/assets/{id}",
             Authenticated(context, kScopeRead,
                           [service](Request& request, Response& response, const Principal& who) {
                             auto id = PathId(request, "id", "The Lunch Money asset");
                             if (!id.ok()) return RespondError(request, response, id.error());
                             auto asset = service->GetAsset(who.user.id, id.value());
                             if (!asset.ok()) return RespondError(request, response, asset.error());
                             RespondObject(response, 200, "", [&](json::Writer& writer) {
                               WriteAsset(writer, asset.value());
                             });
                           }));
}

}  // namespace finsync::api
