#include "api/simplefin_api.h"

#include <string>
#include <string_view>
#include <vector>

#include "api/fields.h"
#include "common/json.h"

namespace finsync::api {

namespace {

namespace simplefin = delivery::simplefin;
using http::Request;
using http::Response;

constexpr int64_t kSecondsPerDay = 86'400;

// `setup_token`: absent (lists and reads), null (a replayed creation) or the secret (the
// creation itself, the only time it is shown).
void WriteAccess(json::Writer& writer, const simplefin::Access& access, int64_t now_ms,
                 std::optional<const std::string*> setup_token = std::nullopt) {
  writer.StartObject();
  writer.Field("id", access.id);
  writer.Field("name", access.name);
  writer.Field("status", simplefin::AccessStatusName(access.StatusAt(now_ms)));
  writer.Key("bank_account_ids");
  if (access.bank_account_ids) {
    writer.StartArray();
    for (int64_t id : *access.bank_account_ids) writer.Int(id);
    writer.EndArray();
  } else {
    writer.Null();
  }
  writer.Field("created_at", FormatTimeMs(access.created_at_ms));
  writer.Field("setup_token_expires_at", FormatTimeMs(access.setup_token_expires_at_ms));
  WriteOptionalTime(writer, "claimed_at", access.claimed_at_ms);
  WriteOptionalTime(writer, "last_used_at", access.last_used_at_ms);
  WriteOptionalTime(writer, "revoked_at", access.revoked_at_ms);
  if (setup_token) {
    writer.Key("setup_token");
    if (*setup_token != nullptr) {
      writer.String(**setup_token);
    } else {
      writer.Null();
    }
  }
  writer.EndObject();
}

// The create body: {"name"?, "bank_account_ids"?}; anything else is a 422 naming it.
Result<simplefin::NewAccess> ParseNewAccess(const Request& request) {
  auto document = OptionalBody(request);
  if (!document.ok()) return document.error();
  const rapidjson::Document& root = document.value();
  simplefin::NewAccess access;
  Error invalid = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  for (const auto& member : root.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name != "name" && name != "bank_account_ids") {
      invalid.field_errors.push_back({std::string(name), "is not a known field"});
    }
  }
  access.name = OptionalString(root, "name", "name", invalid);
  if (const rapidjson::Value* ids = Member(root, "bank_account_ids")) {
    if (!ids->IsArray()) {
      invalid.field_errors.push_back({"bank_account_ids", "must be an array of account ids"});
    } else {
      std::vector<int64_t> list;
      for (rapidjson::SizeType i = 0; i < ids->Size(); ++i) {
        const rapidjson::Value& id = (*ids)[i];
        if (!id.IsInt64()) {
          invalid.field_errors.push_back(
              {"bank_account_ids." + std::to_string(i), "must be an integer"});
          continue;
        }
        list.push_back(id.GetInt64());
      }
      access.bank_account_ids = std::move(list);
    }
  }
  if (!invalid.field_errors.empty()) return invalid;
  return access;
}

void RespondText(Response& response, unsigned status, std::string body) {
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::move(body);
  response.SetHeader("Cache-Control", "no-store");
}

// The protocol's answer to a refused claim or bad credentials is a bare 403. The body is
// exactly "Forbidden", the Bridge's wording that clients (Actual Budget among them) test for.
void RespondForbidden(Response& response) { RespondText(response, 403, "Forbidden"); }

void RespondErrorsOnly(Response& response, unsigned status, std::string message) {
  response.Json(status, simplefin::RenderErrorsOnly({{"gen.api", std::move(message), "", ""}}));
  response.SetHeader("Cache-Control", "no-store");
}

std::string RateWarning(int64_t requests_per_day) {
  return "This access has made more than " + std::to_string(requests_per_day / 2) +
         " requests in the last day. SimpleFIN clients should make at most 24 a day; "
         "requests beyond " +
         std::to_string(requests_per_day) + " a day are refused.";
}

void HandleAccounts(ApiContext& context, simplefin::SimplefinService& service,
                    const SimplefinRouteOptions& options, Request& request, Response& response) {
  auto header = request.Header("authorization");
  auto credentials = header ? simplefin::ParseBasicAuthorization(*header) : std::nullopt;
  if (!credentials) return RespondForbidden(response);
  auto authenticated = service.Authenticate(*credentials);
  if (!authenticated.ok()) return RespondError(request, response, authenticated.error());
  if (authenticated.value().outcome != simplefin::AuthenticationOutcome::kAuthenticated) {
    return RespondForbidden(response);
  }
  const simplefin::Access& access = authenticated.value().access;
  request.principal_user_id = access.user_id;
  std::optional<std::string> warning;
  if (options.rate_limiter != nullptr && options.requests_per_day > 0) {
    http::RateLimitPolicy policy{"simplefin", options.requests_per_day, kSecondsPerDay};
    auto decision = options.rate_limiter->Take("simplefin:" + std::to_string(access.id), policy,
                                               context.clock.NowMilliseconds());
    response.SetHeader("RateLimit-Policy", http::RateLimitPolicyHeader(policy));
    response.SetHeader("RateLimit", http::RateLimitHeader(policy, decision));
    if (!decision.allowed) {
      response.SetHeader("Retry-After", std::to_string(decision.retry_after_seconds));
      return RespondErrorsOnly(response, 429,
                               "This access has used its " +
                                   std::to_string(options.requests_per_day) +
                                   " requests of the last day; try again in " +
                                   std::to_string(decision.retry_after_seconds) + " seconds.");
    }
    if (decision.remaining < options.requests_per_day / 2) {
      warning = RateWarning(options.requests_per_day);
    }
  }
  auto params = request.QueryParams();
  auto query = simplefin::ParseAccountsQuery(params);
  if (!query.ok()) return RespondErrorsOnly(response, 400, query.error().detail);
  auto set = service.ReadAccountSet(access, query.value());
  if (!set.ok()) return RespondError(request, response, set.error());
  if (warning) set.value().errors.push_back({"gen.api", *warning, "", ""});
  response.Json(
      200, simplefin::RenderAccountSet(set.value(), query.value().version, service.root_url()));
  response.SetHeader("Cache-Control", "no-store");
}

void HandleClaim(simplefin::SimplefinService& service, Request& request, Response& response) {
  std::string secret(request.PathParam("token"));
  // The path holds the claim secret: keep it out of the access log and any problem document.
  request.path = "/simplefin/claim/{token}";
  auto claimed = service.Claim(secret);
  if (!claimed.ok()) return RespondError(request, response, claimed.error());
  if (claimed.value().outcome != simplefin::ClaimOutcome::kClaimed) {
    return RespondForbidden(response);
  }
  RespondText(response, 200, claimed.value().access_url);
}

std::string CreatePage(std::string_view root_url) {
  constexpr std::string_view kRootPath = "/simplefin";
  std::string api(root_url.ends_with(kRootPath)
                      ? root_url.substr(0, root_url.size() - kRootPath.size())
                      : root_url);
  return "finsync SimpleFIN server\n\n"
         "To connect a SimpleFIN app (such as Actual Budget) to your finsync bank accounts:\n"
         "1. Create a setup token with your finsync access token:\n"
         "   curl -X POST " +
         api +
         "/api/v1/simplefin/setup-tokens -H 'Authorization: Bearer <token>'\n"
         "2. Copy the answer's setup_token (it is shown once and can be claimed once, within "
         "its expiry).\n"
         "3. Paste it into the app where it asks for a SimpleFIN setup token.\n";
}

Error AccessNotFound() {
  return Error::Of(ErrorCode::kNotFound, "The SimpleFIN access was not found.");
}

void HandleCreateSetupToken(simplefin::SimplefinService& service, const Clock& clock,
                            Request& request, Response& response, const identity::Principal& who) {
  auto parsed = ParseNewAccess(request);
  if (!parsed.ok()) return RespondError(request, response, parsed.error());
  auto created = service.CreateSetupToken(who.user.id, parsed.value());
  if (!created.ok()) return RespondError(request, response, created.error());
  int64_t now = clock.NowMilliseconds();
  auto render = [&](const std::string* secret) {
    json::Writer writer;
    writer.StartObject();
    writer.Field("message", "SimpleFIN setup token created.");
    writer.Key("data");
    WriteAccess(writer, created.value().access, now, secret);
    writer.EndObject();
    return writer.str();
  };
  response.Json(201, render(&created.value().setup_token));
  // A replay shows the access with "setup_token": null: secrets are shown once, never stored.
  response.body_for_replay = render(nullptr);
}

void HandleListAccesses(simplefin::SimplefinService& service, const Clock& clock, Request& request,
                        Response& response, const identity::Principal& who) {
  auto accesses = service.ListAccesses(who.user.id);
  if (!accesses.ok()) return RespondError(request, response, accesses.error());
  int64_t now = clock.NowMilliseconds();
  json::Writer writer;
  writer.StartObject().Key("data").StartArray();
  for (const auto& access : accesses.value()) WriteAccess(writer, access, now);
  writer.EndArray().Key("meta").StartObject();
  writer.Field("total", static_cast<int64_t>(accesses.value().size()));
  writer.EndObject().Key("links").StartObject().EndObject();
  writer.EndObject();
  response.Json(200, writer.str());
}

void HandleGetAccess(simplefin::SimplefinService& service, const Clock& clock, Request& request,
                     Response& response, const identity::Principal& who) {
  auto id = ParseId(request.PathParam("id"));
  auto access = id ? service.GetAccess(who.user.id, *id) : AccessNotFound();
  if (!access.ok()) return RespondError(request, response, access.error());
  int64_t now = clock.NowMilliseconds();
  RespondObject(response, 200, "",
                [&](json::Writer& writer) { WriteAccess(writer, access.value(), now); });
}

void HandleRevokeAccess(simplefin::SimplefinService& service, const Clock&, Request& request,
                        Response& response, const identity::Principal& who) {
  auto id = ParseId(request.PathParam("id"));
  Status revoked = id ? service.RevokeAccess(who.user.id, *id) : AccessNotFound();
  if (!revoked.ok()) return RespondError(request, response, revoked.error());
  response.NoContent();
}

using AccessHandler = void (*)(simplefin::SimplefinService&, const Clock&, Request&, Response&,
                               const identity::Principal&);

http::Handler Route(ApiContext& context, simplefin::SimplefinService& service, uint32_t scope,
                    AccessHandler handler) {
  return Authenticated(context, scope,
                       [&context, &service, handler](Request& request, Response& response,
                                                     const identity::Principal& who) {
                         handler(service, context.clock, request, response, who);
                       });
}

}  // namespace

void RegisterSimplefinRoutes(http::Router& router, ApiContext& context,
                             simplefin::SimplefinService& service, SimplefinRouteOptions options) {
  using identity::kScopeRead;
  using identity::kScopeWrite;
  router.Add("POST", "/api/v1/simplefin/setup-tokens",
             Route(context, service, kScopeWrite, HandleCreateSetupToken));
  router.Add("GET", "/api/v1/simplefin/accesses",
             Route(context, service, kScopeRead, HandleListAccesses));
  router.Add("GET", "/api/v1/simplefin/accesses/{id}",
             Route(context, service, kScopeRead, HandleGetAccess));
  router.Add("DELETE", "/api/v1/simplefin/accesses/{id}",
             Route(context, service, kScopeWrite, HandleRevokeAccess));
  simplefin::SimplefinService* sfin = &service;
  ApiContext* api = &context;
  router.Add("GET", "/simplefin/info",
             [](Request&, Response& response) { response.Json(200, simplefin::RenderInfo()); });
  router.Add("GET", "/simplefin/create", [sfin](Request&, Response& response) {
    RespondText(response, 200, CreatePage(sfin->root_url()));
  });
  router.Add("POST", "/simplefin/claim/{token}", [sfin](Request& request, Response& response) {
    HandleClaim(*sfin, request, response);
  });
  router.Add("GET", "/simplefin/accounts",
             [api, sfin, options](Request& request, Response& response) {
               HandleAccounts(*api, *sfin, options, request, response);
             });
}

}  // namespace finsync::api
