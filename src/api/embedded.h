// Files embedded into the binary at build time by scripts/embed_files.py: the bundled OpenAPI
// document (api/openapi/) and the /docs page with its renderer (web/docs/, Swagger UI from npm).
#pragma once

#include <span>
#include <string_view>

namespace finsync::api {

struct EmbeddedFile {
  std::string_view name;
  std::string_view data;
};

// {"openapi.json"}: the document scripts/openapi_bundle.py made from api/openapi/.
std::span<const EmbeddedFile> OpenApiDocumentFiles();
// index.html (with {{MODE}}-style placeholders), the start-up script, style sheets, the
// renderer's bundle, icons and licence texts.
std::span<const EmbeddedFile> DocsPageFiles();

}  // namespace finsync::api
