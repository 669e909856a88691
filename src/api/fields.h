// Shared request and response helpers of the resource files: typed optional members of a JSON
// body (each wrong type becomes a field error named by its request path) and the
// {"message", "data"} envelope for single objects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
