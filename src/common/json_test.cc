#include "common/json.h"

#include <gtest/gtest.h>

namespace finsync::json {
namespace {

// Proves body parsing accepts objects, names the offset of a syntax error, and rejects
// top-level values that are not objects with a validation error.
TEST(JsonTest, ParseObjectTable) {
  struct Case {
    std::string body;
    bool ok;
    ErrorCode code;
    std::string detail_contains;
  };
  const std::vector<Case> cases = {
      {R"({"name":"x"})", true, ErrorCode::kInternal, ""},
      {R"({"name": })", false, ErrorCode::kMalformedJson, "at offset 9"},
      {"", false, ErrorCode::kMalformedJson, "at offset 0"},
      {R"({"a":1} x)", false, ErrorCode::kMalformedJson, "at offset 8"},
      {"[1,2]", false, ErrorCode::kValidationFailed, "must be a JSON object"},
      {"\"text\"", false, ErrorCode::kValidationFailed, "must be a JSON object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto parsed = ParseObject(c.body);
    ASSERT_EQ(parsed.ok(), c.ok);
    if (c.ok) continue;
    EXPECT_EQ(parsed.error().code, c.code);
    EXPECT_NE(parsed.error().detail.find(c.detail_contains), std::string::npos)
        << parsed.error().detail;
  }
}

// Proves numbers RapidJSON cannot convert safely are refused before it sees them, with the
// offset, while the same characters inside strings and the literals stay allowed.
TEST(JsonTest, UnsupportedNumbersTable) {
  struct Case {
    std::string body;
    std::optional<size_t> offset;
  };
  const std::vector<Case> cases = {
      {R"({"a":1e5})", 6},
      {R"({"a":1.5E-3})", 8},
      {R"({"a":-2.e9})", 8},
      {R"({"a":"1e5","b":true,"c":false})", std::nullopt},
      {R"({"a":"\"1e5"})", std::nullopt},
      {R"({"a":-42.50})", std::nullopt},
      {"{\"a\":" + std::string(101, '7') + "}", 105},
      {"{\"a\":" + std::string(100, '7') + "}", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    EXPECT_EQ(FindUnsupportedNumber(c.body), c.offset);
  }
  auto refused = ParseObject(R"({"amount": 1e-536870877})");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBadRequest);
}

// Proves the writer escapes strings and writes nulls for absent optionals.
TEST(JsonTest, WriterEscapesAndNulls) {
  Writer writer;
  writer.StartObject();
  writer.Field("quote", std::string("a\"b\\c\n"));
  writer.Field("missing", std::optional<std::string>());
  writer.Field("n", int64_t{-5});
  writer.EndObject();
  EXPECT_EQ(writer.str(), R"({"quote":"a\"b\\c\n","missing":null,"n":-5})");
}

}  // namespace
}  // namespace finsync::json
