#include "api/fields.h"

#include <charconv>

#include "api/api.h"

namespace finsync::api {

Error Invalid() { return Error::Of(ErrorCode::kValidationFailed, "The given data was invalid."); }

std::optional<int64_t> QueryInteger(const http::Request& request, std::string_view name,
                                    int64_t min, int64_t max, Error& errors) {
  auto text = request.Query(name);
  if (!text) return std::nullopt;
  int64_t value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    errors.field_errors.push_back(
        {std::string(name),
         "must be an integer from " + std::to_string(min) + " to " + std::to_string(max)});
    return std::nullopt;
  }
  return value;
}

std::optional<bool> QueryBool(const http::Request& request, std::string_view name, Error& errors) {
  auto text = request.Query(name);
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "1") return true;
  if (*text == "false" || *text == "0") return false;
  errors.field_errors.push_back({std::string(name), "must be true or false"});
  return std::nullopt;
}

Result<PageRequest> ParsePage(const http::Request& request) {
  Error errors = Invalid();
  PageRequest page;
  page.number = QueryInteger(request, "page[number]", 1, 1'000'000, errors).value_or(1);
  page.size = QueryInteger(request, "page[size]", 1, 100, errors).value_or(25);
  if (!errors.field_errors.empty()) return errors;
  return page;
}

KeysetPage ParseKeysetPage(const http::Request& request, int64_t limit_default, int64_t limit_max,
                           Error& errors) {
  KeysetPage page;
  page.limit = QueryInteger(request, "limit", 1, limit_max, errors).value_or(limit_default);
  auto token = request.Query("page_token");
  if (token && !token->empty()) {
    page.before_id = ParseId(*token);
    if (!page.before_id) {
      errors.field_errors.push_back({"page_token", "is not a token from next_page_token"});
    }
  }
  return page;
}

Result<int64_t> PathId(const http::Request& request, std::string_view name, std::string_view what) {
  auto id = ParseId(request.PathParam(name));
  if (!id) return Error::Of(ErrorCode::kNotFound, std::string(what) + " was not found.");
  return *id;
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  auto member = object.FindMember(name);
  if (member == object.MemberEnd() || member->value.IsNull()) return nullptr;
  return &member->value;
}

Result<rapidjson::Document> OptionalBody(const http::Request& request) {
  if (request.body.empty()) {
    rapidjson::Document empty;
    empty.SetObject();
    return empty;
  }
  return json::ParseObject(request.body);
}

std::optional<bool> OptionalBool(const rapidjson::Value& object, const char* name,
                                 const std::string& path, Error& errors) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr) return std::nullopt;
  if (value->IsBool()) return value->GetBool();
  errors.field_errors.push_back({path, "must be true or false"});
  return std::nullopt;
}

std::optional<int64_t> OptionalInteger(const rapidjson::Value& object, const char* name,
                                       const std::string& path, Error& errors) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr) return std::nullopt;
  if (value->IsInt64()) return value->GetInt64();
  errors.field_errors.push_back({path, "must be an integer"});
  return std::nullopt;
}

std::optional<std::string> OptionalString(const rapidjson::Value& object, const char* name,
                                          const std::string& path, Error& errors) {
  const rapidjson::Value* value = Member(object, name);
  if (value == nullptr) return std::nullopt;
  if (value->IsString()) return std::string(value->GetString(), value->GetStringLength());
  errors.field_errors.push_back({path, "must be a string"});
  return std::nullopt;
}

void WriteOptionalTime(json::Writer& writer, std::string_view key,
                       const std::optional<int64_t>& time_ms) {
  writer.Key(key);
  if (time_ms) {
    writer.String(FormatTimeMs(*time_ms));
  } else {
    writer.Null();
  }
}

}  // namespace finsync::api
