#include "api/sandbox_page.h"

#include "common/json.h"

namespace finsync::api {

namespace {

std::string EscapeHtml(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string ConsentPage(const sync::BankConnection& connection, const sources::Bank* bank) {
  std::string bank_name = bank ? bank->name : connection.bank_id;
  std::string reference = EscapeHtml(connection.consent_reference);
  std::string page =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Sandbox consent</title><style>body{font-family:sans-serif;max-width:36em;"
      "margin:3em auto}button{font-size:1.1em;margin-right:1em;padding:.4em 1.2em}</style>"
      "</head><body><h1>" +
      EscapeHtml(bank_name) +
      "</h1>"
      "<p>This is finsync's sandbox bank. finsync asks to read your accounts, balances and "
      "transactions for " +
      std::to_string(connection.access_valid_for_days) + " days, with up to " +
      std::to_string(connection.max_historical_days) +
      " days of history.</p><p>Status: <strong id=\"status\">" + EscapeHtml(connection.status) +
      "</strong></p>"
      "<button id=\"approve\">Approve</button><button id=\"reject\">Reject</button>"
      "<script>for (const d of ['approve','reject']) document.getElementById(d).onclick ="
      " async () => { const r = await fetch('/sandbox/consents/" +
      reference +
      "/' + d,"
      " {method:'POST'}); const j = await r.json();"
      " document.getElementById('status').textContent = j.data ? j.data.status :"
      " (j.detail || r.status); };</script></body></html>";
  return page;
}

}  // namespace

void RegisterSandboxPage(http::Router& router, ApiContext& context,
                         sync::BankDataService& bank_data) {
  (void)context;
  sync::BankDataService* service = &bank_data;
  router.Add("GET", "/sandbox/consents/{reference}",
             [service](http::Request& request, http::Response& response) {
               auto connection = service->FindByConsent("SANDBOX", request.PathParam("reference"));
               if (!connection.ok()) return RespondError(request, response, connection.error());
               response.status = 200;
               response.content_type = "text/html; charset=utf-8";
               response.body = ConsentPage(connection.value(),
                                           service->catalog().FindBank(connection.value().bank_id));
             });
  for (auto [suffix, approve] : {std::pair{"approve", true}, std::pair{"reject", false}}) {
    router.Add("POST", std::string("/sandbox/consents/{reference}/") + suffix,
               [service, approve = approve](http::Request& request, http::Response& response) {
                 auto connection =
                     service->FindByConsent("SANDBOX", request.PathParam("reference"));
                 if (!connection.ok()) {
                   return RespondError(request, response, connection.error());
                 }
                 auto decided = service->DecideSandboxConsent(connection.value().user_id,
                                                              connection.value().id, approve);
                 if (!decided.ok()) return RespondError(request, response, decided.error());
                 json::Writer writer;
                 writer.StartObject().Key("data").StartObject();
                 writer.Field("id", decided.value().id);
                 writer.Field("status", decided.value().status);
                 writer.EndObject().EndObject();
                 response.Json(200, writer.str());
               });
  }
}

}  // namespace finsync::api
