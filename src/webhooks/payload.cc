#include "webhooks/payload.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>

#include "common/json.h"
#include "domain/date.h"

namespace finsync::webhooks {

namespace {

// Lower case without '_' and '-', so ownerName, owner_name and Owner-Name compare equal.
std::string Normalised(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '_' || c == '-') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

bool IsSensitiveName(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kNames = {
      "iban", "bban", "pan", "maskedpan", "msisdn", "ownername", "accountnumber", "account"};
  std::string normalised = Normalised(name);
  for (std::string_view sensitive : kNames) {
    if (normalised == sensitive) return true;
  }
  return false;
}

void NullHolderName(rapidjson::Value& transaction) {
  const auto amount = transaction.FindMember("amount_minor");
  if (amount == transaction.MemberEnd() || !amount->value.IsInt64()) return;
  const char* holder = amount->value.GetInt64() < 0 ? "debtor" : "creditor";
  auto party = transaction.FindMember(holder);
  if (party == transaction.MemberEnd() || !party->value.IsObject()) return;
  auto name = party->value.FindMember("name");
  if (name != party->value.MemberEnd()) name->value.SetNull();
}

void Strip(rapidjson::Value& value) {
  if (value.IsArray()) {
    for (auto& item : value.GetArray()) Strip(item);
    return;
  }
  if (!value.IsObject()) return;
  for (auto& member : value.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    if (name == "raw" || IsSensitiveName(name)) {
      member.value.SetNull();
    } else {
      Strip(member.value);
    }
  }
  if (value.HasMember("amount_minor") && value.HasMember("creditor") && value.HasMember("debtor")) {
    NullHolderName(value);
  }
}

}  // namespace

std::string RenderEnvelope(std::string_view event_type, std::string_view event_id,
                           int64_t webhook_endpoint_id, int64_t created_at_ms,
                           std::string_view data_json) {
  json::Writer writer;
  writer.StartObject();
  writer.Field("event_type", event_type);
  writer.Field("event_id", event_id);
  writer.Field("webhook_endpoint_id", webhook_endpoint_id);
  auto created = domain::Timestamp::FromUnixTimeMs(created_at_ms);
  writer.Field("created_at", created ? domain::FormatTimestamp(*created) : std::string());
  writer.Key("data").Raw(data_json);
  writer.EndObject();
  return writer.str();
}

std::string StripSensitiveIdentifiers(std::string_view data_json) {
  auto parsed = json::ParseObject(data_json);
  if (!parsed.ok()) return "{}";
  rapidjson::Document& document = parsed.value();
  Strip(document);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace finsync::webhooks
