#include <gtest/gtest.h>

#include <set>
#include <string>

#include "api/embedded.h"
#include "common/json.h"

namespace finsync::api {
namespace {

// The build embedded the bundled document: one JSON object, OpenAPI 3.1.0, with paths.
TEST(OpenApiEmbeddedTest, DocumentIsOpenApi31Json) {
  ASSERT_EQ(OpenApiDocumentFiles().size(), 1u);
  const EmbeddedFile& file = OpenApiDocumentFiles()[0];
  EXPECT_EQ(file.name, "openapi.json");
  auto document = json::ParseObject(file.data);
  ASSERT_TRUE(document.ok()) << document.error().detail;
  const rapidjson::Document& root = document.value();
  ASSERT_TRUE(root.HasMember("openapi") && root["openapi"].IsString());
  EXPECT_EQ(std::string(root["openapi"].GetString()), "3.1.0");
  ASSERT_TRUE(root.HasMember("paths") && root["paths"].IsObject());
  EXPECT_TRUE(root["paths"].HasMember("/api/v1/openapi.json"));
}

// The page, its start-up script and the renderer are all embedded, each non-empty; the page
// keeps the placeholders the server fills with its mode.
TEST(OpenApiEmbeddedTest, DocsPageFilesArePresent) {
  std::set<std::string> names;
  for (const EmbeddedFile& file : DocsPageFiles()) {
    EXPECT_FALSE(file.data.empty()) << file.name;
    names.emplace(file.name);
    if (file.name == "index.html") {
      EXPECT_NE(file.data.find("{{MODE}}"), std::string_view::npos);
      EXPECT_NE(file.data.find("/docs/swagger-ui-bundle.js"), std::string_view::npos);
    }
    if (file.name == "favicon-32x32.png") {
      // Binary data survives embedding: the PNG signature has a NUL-free, non-ASCII prefix.
      EXPECT_EQ(file.data.substr(0, 8), std::string_view("\x89PNG\r\n\x1a\n", 8));
    }
  }
  for (const char* expected :
       {"index.html", "init.js", "swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
}

}  // namespace
}  // namespace finsync::api
