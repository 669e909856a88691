// Shared request and response helpers of the resource files: typed optional members of a JSON
// body (each wrong type becomes a field error named by its request path) and the
// {"message", "data"} envelope for single objects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "common/json.h"
#include "common/status.h"
#include "http/message.h"

namespace finsync::api {

// The body as a JSON object; an empty body is an empty object.
Result<rapidjson::Document> OptionalBody(const http::Request& request);

// The member `name` of `object` when present and not null, else nullptr.
const rapidjson::Value* Member(const rapidjson::Value& object, const char* name);

// The member `name` of `object` when present and not null; a value of the wrong type adds
// {path, message} to `errors` and answers nullopt.
std::optional<bool> OptionalBool(const rapidjson::Value& object, const char* name,
                                 const std::string& path, Error& errors);
std::optional<int64_t> OptionalInteger(const rapidjson::Value& object, const char* name,
                                       const std::string& path, Error& errors);
std::optional<std::string> OptionalString(const rapidjson::Value& object, const char* name,
                                          const std::string& path, Error& errors);

// A 422 error to which field errors are added.
Error Invalid();

// Query parameters: a missing parameter is nullopt; a malformed one adds a field error.
std::optional<int64_t> QueryInteger(const http::Request& request, std::string_view name,
                                    int64_t min, int64_t max, Error& errors);
std::optional<bool> QueryBool(const http::Request& request, std::string_view name, Error& errors);

// page[number] (from 1) and page[size] (1-100, default 25).
struct PageRequest {
  int64_t number = 1;
  int64_t size = 25;
};
Result<PageRequest> ParsePage(const http::Request& request);

// `limit` (1..limit_max, default limit_default) and `page_token` (a previous page's
// next_page_token: the last id it showed) of a newest-first keyset-paged list.
struct KeysetPage {
  int64_t limit = 50;
  std::optional<int64_t> before_id;  // Only items with a smaller id.
};
KeysetPage ParseKeysetPage(const http::Request& request, int64_t limit_default, int64_t limit_max,
                           Error& errors);

// Renders {"data": [items], "meta": {"limit", "next_page_token"}, "links": {}}: a full page
// may have a next one, whose token is the id of its last item.
template <typename Item, typename WriteItem>
void RespondKeysetPage(http::Response& response, const std::vector<Item>& items, int64_t limit,
                       WriteItem write_item) {
  std::optional<std::string> next;
  if (!items.empty() && static_cast<int64_t>(items.size()) == limit) {
    next = std::to_string(items.back().id);
  }
  json::Writer writer;
  writer.StartObject().Key("data").StartArray();
  for (const Item& item : items) write_item(writer, item);
  writer.EndArray().Key("meta").StartObject();
  writer.Field("limit", limit);
  writer.Field("next_page_token", next).EndObject();
  writer.Key("links").StartObject().EndObject().EndObject();
  response.Json(200, writer.str());
}

// The path parameter `name` as a positive id; kNotFound "<what> was not found." otherwise.
Result<int64_t> PathId(const http::Request& request, std::string_view name, std::string_view what);

// `key`: an RFC 3339 time, or null.
void WriteOptionalTime(json::Writer& writer, std::string_view key,
                       const std::optional<int64_t>& time_ms);

// Renders {"data": <object>}, or {"message": ..., "data": <object>} when `message` is set.
template <typename WriteFunction>
void RespondObject(http::Response& response, unsigned status, std::string_view message,
                   WriteFunction write) {
  json::Writer writer;
  writer.StartObject();
  if (!message.empty()) writer.Field("message", message);
  writer.Key("data");
  write(writer);
  writer.EndObject();
  response.Json(status, writer.str());
}

}  // namespace finsync::api
