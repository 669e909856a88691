// The API's description: GET /api/v1/openapi.json (the OpenAPI 3.1 document bundled from
// api/openapi/ at build time) and the interactive documentation page at /docs, which renders
// it with Swagger UI served from the binary itself. No token needed.
#pragma once

#include "api/api.h"

namespace finsync::api {

void RegisterOpenApiRoutes(http::Router& router, ApiContext& context);

}  // namespace finsync::api
