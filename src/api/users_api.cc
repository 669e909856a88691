// GET /api/v1/user: the user the token belongs to.
#include "api/api.h"
#include "common/json.h"

namespace finsync::api {

std::string UserJson(const identity::User& user) {
  json::Writer writer;
  writer.StartObject();
  writer.Field("id", user.id);
  writer.Field("email", user.email);
  writer.Field("name", user.name);
  writer.Field("created_at", FormatTimeMs(user.created_at_ms));
  writer.EndObject();
  return writer.str();
}

namespace {

void WriteUser(json::Writer& writer, const identity::User& user, identity::Mode mode) {
  writer.StartObject();
  writer.Field("id", user.id);
  writer.Field("email", user.email);
  writer.Field("name", user.name);
  writer.Key("retention_days");
  if (user.retention_days) {
    writer.Int(*user.retention_days);
  } else {
    writer.Null();
  }
  writer.Field("created_at", FormatTimeMs(user.created_at_ms));
  writer.Field("mode", identity::ModeName(mode));
  writer.EndObject();
}

Result<identity::UserUpdate> ParseUserUpdate(std::string_view body) {
  auto document = json::ParseObject(body);
  if (!document.ok()) return document.error();
  const rapidjson::Document& root = document.value();
  identity::UserUpdate update;
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  for (const auto& member : root.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name == "name") {
      if (!member.value.IsString()) {
        invalid.field_errors.push_back({"name", "must be a string"});
      } else {
        update.name = std::string(member.value.GetString(), member.value.GetStringLength());
      }
    } else if (name == "retention_days") {
      if (member.value.IsNull()) {
        update.retention_days = std::optional<int64_t>();
      } else if (!member.value.IsInt64()) {
        invalid.field_errors.push_back({"retention_days", "must be an integer or null"});
      } else {
        update.retention_days = std::optional<int64_t>(member.value.GetInt64());
      }
    } else {
      invalid.field_errors.push_back({std::string(name), "is not a field of the user"});
    }
  }
  if (!invalid.field_errors.empty()) return invalid;
  return update;
}

}  // namespace

void RegisterUserRoutes(http::Router& router, ApiContext& context) {
  router.Add("GET", "/api/v1/user",
             Authenticated(context, identity::kScopeRead,
                           [&context](http::Request&, http::Response& response,
                                      const identity::Principal& principal) {
                             json::Writer writer;
                             writer.StartObject().Key("data");
                             WriteUser(writer, principal.user, context.identity.mode());
                             writer.EndObject();
                             response.Json(200, writer.str());
                           }));
  // Changes the user's name and data retention (retention_days: 7 or more, null = forever).
  router.Add("PUT", "/api/v1/user",
             Authenticated(context, identity::kScopeWrite,
                           [&context](http::Request& request, http::Response& response,
                                      const identity::Principal& principal) {
                             auto update = ParseUserUpdate(request.body);
                             if (!update.ok()) {
                               return RespondError(request, response, update.error());
                             }
                             auto user =
                                 context.identity.UpdateUser(principal.user.id, update.value());
                             if (!user.ok()) return RespondError(request, response, user.error());
                             json::Writer writer;
                             writer.StartObject().Field("message", "User updated.").Key("data");
                             WriteUser(writer, user.value(), context.identity.mode());
                             writer.EndObject();
                             response.Json(200, writer.str());
                           }));
}

}  // namespace finsync::api
