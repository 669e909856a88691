// Operations endpoints: liveness, readiness and Prometheus metrics. They need no token so
// that load balancers and scrapers can reach them.
#include "api/api.h"
#include "common/json.h"

namespace finsync::api {

void RegisterOperationsRoutes(http::Router& router, ApiContext& context) {
  router.Add("GET", "/healthz", [](http::Request&, http::Response& response) {
    response.Json(200, R"({"status":"ok"})");
  });
  router.Add("GET", "/readyz", [&context](http::Request& request, http::Response& response) {
    Status ping = context.database.Ping();
    if (!ping.ok()) {
      return RespondError(request, response,
                          Error::Of(ErrorCode::kUnavailable, "The store does not answer."));
    }
    response.Json(200, R"({"status":"ready"})");
  });
  router.Add("GET", "/metrics", [&context](http::Request&, http::Response& response) {
    response.status = 200;
    response.content_type = "text/plain; version=0.0.4";
    response.body = context.metrics.Render();
  });
}

}  // namespace finsync::api
