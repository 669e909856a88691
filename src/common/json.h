// JSON helpers over RapidJSON: parsing request bodies with positioned errors, and a thin
// writer used by every renderer so output is produced without building a DOM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/status.h"

namespace finsync::json {

// The offset of the first number RapidJSON 1.1 must not be given: one in exponent notation
// (its full-precision conversion indexes a table with an unchecked exponent and can crash on
// "1e-536870877"; found by tests/fuzz/json_body_fuzz.cc) or a digit run longer than 100.
// Strings are skipped. nullopt when every number is plain.
std::optional<size_t> FindUnsupportedNumber(std::string_view text);

// Parses a request body that must be one JSON object. Errors are kMalformedJson with the
// byte offset and the parser's reason, or kValidationFailed when the top level is not an object.
Result<rapidjson::Document> ParseObject(std::string_view body);

// Writer that produces compact JSON into an owned buffer.
class Writer {
 public:
  Writer() : writer_(buffer_) {}
  Writer& StartObject() {
    writer_.StartObject();
    return *this;
  }
  Writer& EndObject() {
    writer_.EndObject();
    return *this;
  }
  Writer& StartArray() {
    writer_.StartArray();
    return *this;
  }
  Writer& EndArray() {
    writer_.EndArray();
    return *this;
  }
  Writer& Key(std::string_view key) {
    writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    return *this;
  }
  Writer& String(std::string_view value) {
    writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    return *this;
  }
  Writer& Int(int64_t value) {
    writer_.Int64(value);
    return *this;
  }
  Writer& Bool(bool value) {
    writer_.Bool(value);
    return *this;
  }
  Writer& Null() {
    writer_.Null();
    return *this;
  }
  Writer& OptionalString(const std::optional<std::string>& value) {
    return value ? String(*value) : Null();
  }
  // Key + value shorthands keep renderers one line per field.
  Writer& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  Writer& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  Writer& Field(std::string_view key, const std::string& value) { return Key(key).String(value); }
  Writer& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  Writer& Field(std::string_view key, bool value) { return Key(key).Bool(value); }
  Writer& Field(std::string_view key, const std::optional<std::string>& value) {
    return Key(key).OptionalString(value);
  }
  // Inserts already-serialised JSON as a value (the caller guarantees validity).
  Writer& Raw(std::string_view json_text) {
    writer_.RawValue(json_text.data(), json_text.size(), rapidjson::kObjectType);
    return *this;
  }

  std::string str() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

}  // namespace finsync::json
