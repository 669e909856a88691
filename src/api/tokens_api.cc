// Personal access tokens: list, create (secret shown once), revoke.
#include "api/api.h"
#include "common/json.h"
#include "domain/date.h"

namespace finsync::api {

namespace {

void WriteToken(json::Writer& writer, const identity::AccessToken& token) {
  writer.StartObject();
  writer.Field("id", token.id);
  writer.Field("name", token.name);
  writer.Field("prefix", token.prefix);
  writer.Key("scopes").StartArray();
  if (token.scopes & identity::kScopeRead) writer.String("read");
  if (token.scopes & identity::kScopeWrite) writer.String("write");
  writer.EndArray();
  writer.Field("mode", token.mode);
  writer.Field("created_at", FormatTimeMs(token.created_at_ms));
  auto optional_time = [&](std::string_view key, const std::optional<int64_t>& time_ms) {
    writer.Key(key);
    if (time_ms) {
      writer.String(FormatTimeMs(*time_ms));
    } else {
      writer.Null();
    }
  };
  optional_time("expires_at", token.expires_at_ms);
  optional_time("last_used_at", token.last_used_at_ms);
  optional_time("revoked_at", token.revoked_at_ms);
}

// Reads the create-token body into plain arguments; type errors become 422 field errors.
Result<identity::NewToken> ParseNewToken(std::string_view body, int64_t now_ms) {
  auto document = json::ParseObject(body);
  if (!document.ok()) return document.error();
  const rapidjson::Document& root = document.value();
  identity::NewToken request;
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  auto name = root.FindMember("name");
  if (name == root.MemberEnd() || name->value.IsNull()) {
    invalid.field_errors.push_back({"name", "is required"});
  } else if (!name->value.IsString()) {
    invalid.field_errors.push_back({"name", "must be a string"});
  } else {
    request.name = std::string(name->value.GetString(), name->value.GetStringLength());
  }
  auto scopes = root.FindMember("scopes");
  if (scopes != root.MemberEnd() && !scopes->value.IsNull()) {
    request.scopes = 0;
    bool valid = scopes->value.IsArray() && !scopes->value.Empty();
    if (valid) {
      for (const auto& scope : scopes->value.GetArray()) {
        auto bit = scope.IsString() ? identity::ScopesFromText(scope.GetString()) : std::nullopt;
        if (!bit || scope.GetStringLength() == 0 ||
            std::string_view(scope.GetString()).find(',') != std::string_view::npos) {
          valid = false;
          break;
        }
        request.scopes |= *bit;
      }
    }
    if (!valid) {
      invalid.field_errors.push_back(
          {"scopes", "must be a non-empty array holding \"read\" and/or \"write\""});
    }
  }
  auto expires_at = root.FindMember("expires_at");
  if (expires_at != root.MemberEnd() && !expires_at->value.IsNull()) {
    if (!expires_at->value.IsString()) {
      invalid.field_errors.push_back({"expires_at", "must be an RFC 3339 date-time string"});
    } else {
      auto parsed = domain::ParseTimestamp(expires_at->value.GetString());
      if (!parsed.ok()) {
        invalid.field_errors.push_back(
            {"expires_at", "must be an RFC 3339 date-time: " +
                               std::string(domain::DescribeDateTimeError(parsed.error))});
      } else {
        request.expires_at_ms = parsed.timestamp.unix_time_ms();
      }
    }
  }
  if (!invalid.field_errors.empty()) {
    // Report every broken field at once: add rule violations of the fields that parsed.
    for (auto& rule_error : identity::ValidateNewToken(request, now_ms)) {
      bool already_reported = false;
      for (const auto& type_error : invalid.field_errors) {
        already_reported = already_reported || type_error.field == rule_error.field;
      }
      if (!already_reported) invalid.field_errors.push_back(std::move(rule_error));
    }
    return invalid;
  }
  return request;
}

}  // namespace

std::string TokenJson(const identity::AccessToken& token, const std::string* secret) {
  json::Writer writer;
  WriteToken(writer, token);
  if (secret) writer.Field("token", *secret);
  writer.EndObject();
  return writer.str();
}

void RegisterTokenRoutes(http::Router& router, ApiContext& context) {
  router.Add("GET", "/api/v1/tokens",
             Authenticated(context, identity::kScopeRead,
                           [&context](http::Request& request, http::Response& response,
                                      const identity::Principal& principal) {
                             auto tokens = context.identity.ListTokens(principal.user.id);
                             if (!tokens.ok()) {
                               return RespondError(request, response, tokens.error());
                             }
                             json::Writer writer;
                             writer.StartObject().Key("data").StartArray();
                             for (const auto& token : tokens.value()) {
                               WriteToken(writer, token);
                               writer.EndObject();
                             }
                             writer.EndArray();
                             writer.Key("meta").StartObject();
                             writer.Field("total", static_cast<int64_t>(tokens.value().size()));
                             writer.EndObject();
                             writer.Key("links").StartObject().EndObject();
                             writer.EndObject();
                             response.Json(200, writer.str());
                           }));

  router.Add("POST", "/api/v1/tokens",
             Authenticated(context, identity::kScopeWrite,
                           [&context](http::Request& request, http::Response& response,
                                      const identity::Principal& principal) {
                             auto parsed =
                                 ParseNewToken(request.body, context.clock.NowMilliseconds());
                             if (!parsed.ok()) {
                               return RespondError(request, response, parsed.error());
                             }
                             auto created =
                                 context.identity.CreateToken(principal.user.id, parsed.value());
                             if (!created.ok()) {
                               return RespondError(request, response, created.error());
                             }
                             auto render = [&](const std::string* secret) {
                               json::Writer writer;
                               writer.StartObject().Field("message", "Token created.");
                               writer.Key("data");
                               WriteToken(writer, created.value().token);
                               writer.Key("token");
                               if (secret) {
                                 writer.String(*secret);
                               } else {
                                 writer.Null();
                               }
                               writer.EndObject().EndObject();
                               return writer.str();
                             };
                             response.Json(201, render(&created.value().secret));
                             // A replay shows the same token without its secret: the secret
                             // is shown once and never stored.
                             response.body_for_replay = render(nullptr);
                           }));

  router.Add("DELETE", "/api/v1/tokens/{id}",
             Authenticated(context, identity::kScopeWrite,
                           [&context](http::Request& request, http::Response& response,
                                      const identity::Principal& principal) {
                             auto id = ParseId(request.PathParam("id"));
                             if (!id) {
                               return RespondError(
                                   request, response,
                                   Error::Of(ErrorCode::kNotFound, "The token was not found."));
                             }
                             Status revoked = context.identity.RevokeToken(principal.user.id, *id);
                             if (!revoked.ok()) {
                               return RespondError(request, response, revoked.error());
                             }
                             response.NoContent();
                           }));
}

}  // namespace finsync::api
