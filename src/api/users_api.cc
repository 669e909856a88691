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

void RegisterUserRoutes(http::Router& router, ApiContext& context) {
  router.Add("GET", "/api/v1/user",
             Authenticated(context, identity::kScopeRead,
                           [&context](http::Request&, http::Response& response,
                                      const identity::Principal& principal) {
                             const identity::User& user = principal.user;
                             json::Writer writer;
                             writer.StartObject().Key("data").StartObject();
                             writer.Field("id", user.id);
                             writer.Field("email", user.email);
                             writer.Field("name", user.name);
                             writer.Field("created_at", FormatTimeMs(user.created_at_ms));
                             writer.Field("mode", identity::ModeName(context.identity.mode()));
                             writer.EndObject().EndObject();
                             response.Json(200, writer.str());
                           }));
}

}  // namespace finsync::api
