#include "api/fields.h"

#include "api/api.h"

namespace finsync::api {

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
