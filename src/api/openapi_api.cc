#include "api/openapi_api.h"

#include <map>
#include <string>

#include "api/embedded.h"
#include "common/crypto.h"
#include "http/etag.h"

namespace finsync::api {

namespace {

// Only this server's own files; Swagger UI sets inline styles on elements, hence
// 'unsafe-inline' for styles (never for scripts).
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

struct Asset {
  std::string_view data;
  std::string content_type;
  std::string etag;
};

std::string StrongEtag(std::string_view data) {
  return "\"" + crypto::Sha256Hex(data).substr(0, 32) + "\"";
}

std::string ContentTypeFor(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".png")) return "image/png";
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".json")) return "application/json";
  return "text/plain; charset=utf-8";  // LICENSE, NOTICE, *.txt.
}

void Serve(const http::Request& request, http::Response& response, const Asset& asset,
           std::string_view cache_control) {
  response.SetHeader("ETag", asset.etag);
  response.SetHeader("Cache-Control", std::string(cache_control));
  response.SetHeader("X-Content-Type-Options", "nosniff");
  auto if_none_match = request.Header("if-none-match");
  if (if_none_match && http::IfNoneMatchMatches(*if_none_match, asset.etag)) {
    response.status = 304;
    response.content_type.clear();
    response.body.clear();
    return;
  }
  response.status = 200;
  response.content_type = asset.content_type;
  response.body = std::string(asset.data);
}

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The page's HTML with the server's mode filled in (the only thing that varies).
std::string DocsPage(std::string_view html, identity::Mode mode) {
  bool sandbox = mode == identity::Mode::kSandbox;
  std::string page(html);
  page = ReplaceAll(std::move(page), "{{MODE_TITLE}}", sandbox ? "Sandbox" : "Production");
  page = ReplaceAll(std::move(page), "{{MODE_TEXT}}",
                    sandbox ? "This server runs the sandbox bank and test destinations: its data "
                              "is test data. Its tokens start with fs_test_."
                            : "This server reaches real banks: its data is real. Its tokens start "
                              "with fs_live_.");
  return ReplaceAll(std::move(page), "{{MODE}}", identity::ModeName(mode));
}

}  // namespace

void RegisterOpenApiRoutes(http::Router& router, ApiContext& context) {
  Asset document;
  for (const EmbeddedFile& file : OpenApiDocumentFiles()) {
    if (file.name == "openapi.json") document.data = file.data;
  }
  document.content_type = "application/json";
  document.etag = StrongEtag(document.data);
  router.Add("GET", "/api/v1/openapi.json",
             [document](http::Request& request, http::Response& response) {
               response.SetHeader("Access-Control-Allow-Origin", "*");
               Serve(request, response, document, "no-cache");
             });

  auto page = std::make_shared<std::string>();
  auto assets = std::make_shared<std::map<std::string, Asset, std::less<>>>();
  for (const EmbeddedFile& file : DocsPageFiles()) {
    if (file.name == "index.html") {
      *page = DocsPage(file.data, context.identity.mode());
      continue;
    }
    assets->emplace(std::string(file.name),
                    Asset{file.data, ContentTypeFor(file.name), StrongEtag(file.data)});
  }
  Asset page_asset{*page, "text/html; charset=utf-8", StrongEtag(*page)};
  router.Add("GET", "/docs", [page, page_asset](http::Request& request, http::Response& response) {
    response.SetHeader("Content-Security-Policy", std::string(kContentSecurityPolicy));
    response.SetHeader("Referrer-Policy", "no-referrer");
    Serve(request, response, page_asset, "no-cache");
  });
  router.Add("GET", "/docs/{asset}", [assets](http::Request& request, http::Response& response) {
    auto asset = assets->find(request.PathParam("asset"));
    if (asset == assets->end()) {
      return RespondError(
          request, response,
          Error::Of(ErrorCode::kNotFound, "The documentation page has no such file."));
    }
    // Immutable for a build; a day keeps the 1.7 MB renderer out of every reload.
    Serve(request, response, asset->second, "public, max-age=86400");
  });
}

}  // namespace finsync::api
