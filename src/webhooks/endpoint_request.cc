#include "webhooks/endpoint_request.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "common/json.h"

namespace finsync::webhooks {

namespace {

constexpr std::array<std::string_view, 8> kEventTypes = {"transactions.created",
                                                         "transactions.updated",
                                                         "transactions.removed",
                                                         "balance.updated",
                                                         "transfer.succeeded",
                                                         "transfer.failed",
                                                         "bank_connection.health_changed",
                                                         "bank_connection.consent_expiring"};

// An optional string member: absent gives nullopt, null gives `null_value`.
std::optional<std::string> TextMember(const rapidjson::Value& root, const char* name,
                                      std::optional<std::string> null_value, Error& errors) {
  auto member = root.FindMember(name);
  if (member == root.MemberEnd()) return std::nullopt;
  if (member->value.IsNull()) {
    if (!null_value) errors.field_errors.push_back({name, "must be a string"});
    return null_value;
  }
  if (!member->value.IsString()) {
    errors.field_errors.push_back({name, "must be a string"});
    return std::nullopt;
  }
  return std::string(member->value.GetString(), member->value.GetStringLength());
}

std::optional<bool> BoolMember(const rapidjson::Value& root, const char* name, Error& errors) {
  auto member = root.FindMember(name);
  if (member == root.MemberEnd()) return std::nullopt;
  if (!member->value.IsBool()) {
    errors.field_errors.push_back({name, "must be true or false"});
    return std::nullopt;
  }
  return member->value.GetBool();
}

// An optional array member whose items `read` converts (adding its own errors); null is an
// empty list ("all").
template <typename T, typename Read>
std::optional<std::vector<T>> ListMember(const rapidjson::Value& root, const char* name,
                                         Error& errors, Read read) {
  auto member = root.FindMember(name);
  if (member == root.MemberEnd()) return std::nullopt;
  std::vector<T> items;
  if (member->value.IsNull()) return items;
  if (!member->value.IsArray()) {
    errors.field_errors.push_back({name, "must be an array"});
    return std::nullopt;
  }
  rapidjson::SizeType index = 0;
  for (const auto& value : member->value.GetArray()) {
    std::string path = std::string(name) + "." + std::to_string(index++);
    if (auto item = read(value, path, errors)) items.push_back(std::move(*item));
  }
  return items;
}

}  // namespace

std::span<const std::string_view> EventTypes() { return kEventTypes; }

bool IsKnownEventType(std::string_view type) {
  return std::find(kEventTypes.begin(), kEventTypes.end(), type) != kEventTypes.end();
}

Result<EndpointChange> ParseEndpointChange(std::string_view body) {
  auto parsed = json::ParseObject(body);
  if (!parsed.ok()) return parsed.error();
  const rapidjson::Document& root = parsed.value();
  Error errors = Error::Of(ErrorCode::kValidationFailed, "The given data was invalid.");
  static constexpr std::array<std::string_view, 6> kFields = {
      "url", "description", "events", "bank_account_ids", "omit_sensitive_identifiers", "enabled"};
  for (const auto& member : root.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (std::find(kFields.begin(), kFields.end(), name) == kFields.end()) {
      errors.field_errors.push_back({std::string(name), "is not a known field"});
    }
  }
  EndpointChange change;
  change.url = TextMember(root, "url", std::nullopt, errors);
  change.description = TextMember(root, "description", std::string(), errors);
  change.event_types =
      ListMember<std::string>(root, "events", errors,
                              [](const rapidjson::Value& value, const std::string& path,
                                 Error& item_errors) -> std::optional<std::string> {
                                if (value.IsString())
                                  return std::string(value.GetString(), value.GetStringLength());
                                item_errors.field_errors.push_back({path, "must be a string"});
                                return std::nullopt;
                              });
  change.bank_account_ids =
      ListMember<int64_t>(root, "bank_account_ids", errors,
                          [](const rapidjson::Value& value, const std::string& path,
                             Error& item_errors) -> std::optional<int64_t> {
                            if (value.IsInt64() && value.GetInt64() > 0) return value.GetInt64();
                            item_errors.field_errors.push_back({path, "must be a bank account id"});
                            return std::nullopt;
                          });
  change.omit_sensitive_identifiers = BoolMember(root, "omit_sensitive_identifiers", errors);
  change.enabled = BoolMember(root, "enabled", errors);
  if (!errors.field_errors.empty()) return errors;
  return change;
}

void ValidateEndpointChange(const EndpointChange& change, Error& errors) {
  if (change.url) {
    if (auto problem = UrlProblem(*change.url)) errors.field_errors.push_back({"url", *problem});
  }
  if (change.description && change.description->size() > kDescriptionLengthMax) {
    errors.field_errors.push_back({"description", "must be at most 500 bytes"});
  }
  if (!change.event_types) return;
  std::string known;
  for (std::string_view type : kEventTypes) {
    if (!known.empty()) known += ", ";
    known += type;
  }
  for (size_t index = 0; index < change.event_types->size(); ++index) {
    const std::string& type = (*change.event_types)[index];
    if (!IsKnownEventType(type)) {
      errors.field_errors.push_back({"events." + std::to_string(index),
                                     "'" + type + "' is not an event type; known: " + known});
    }
  }
}

std::optional<std::string> UrlProblem(std::string_view url) {
  if (url.size() > kUrlLengthMax) return "must be at most 2048 characters";
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return "must not contain spaces or control characters";
    }
  }
  std::string lower;
  for (char c : url.substr(0, 8)) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  size_t scheme_end = 0;
  if (lower.starts_with("https://")) {
    scheme_end = 8;
  } else if (lower.starts_with("http://")) {
    scheme_end = 7;
  } else {
    return "must be an absolute https:// or http:// URL";
  }
  if (url.find('#') != std::string_view::npos) return "must not have a fragment";
  std::string_view authority = url.substr(scheme_end);
  authority = authority.substr(0, authority.find_first_of("/?"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unclosed IPv6 address";
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "has text after the IPv6 address";
      port = rest.substr(1);
    }
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return "must name a host";
  if (!port.empty() || authority.ends_with(":")) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
      return "has an invalid port";
    }
  }
  return std::nullopt;
}

}  // namespace finsync::webhooks
