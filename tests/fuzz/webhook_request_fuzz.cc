// Fuzzes what webhook endpoints read from users and what they send on: the endpoint request
// body (every field checked or named in an error), URLs, secrets, and the stripping of
// sensitive identifiers, which must turn any text into one JSON object and never let an
// "iban" value through.
#include <rapidjson/document.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>

#include "webhooks/endpoint_request.h"
#include "webhooks/payload.h"
#include "webhooks/signing.h"

namespace {

void AssertNoIbanValue(const rapidjson::Value& value) {
  if (value.IsArray()) {
    for (const auto& item : value.GetArray()) AssertNoIbanValue(item);
  } else if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      if (std::string(member.name.GetString(), member.name.GetStringLength()) == "iban") {
        assert(member.value.IsNull());
      }
      AssertNoIbanValue(member.value);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto change = finsync::webhooks::ParseEndpointChange(text);
  if (change.ok()) {
    finsync::Error errors;
    finsync::webhooks::ValidateEndpointChange(change.value(), errors);
    for (const auto& error : errors.field_errors) assert(!error.field.empty());
  } else {
    assert(!change.error().detail.empty());
  }
  (void)finsync::webhooks::UrlProblem(text);
  auto key = finsync::webhooks::SecretKey(text);
  if (key) assert(key->size() >= 24 && key->size() <= 64);
  std::string stripped = finsync::webhooks::StripSensitiveIdentifiers(text);
  rapidjson::Document document;
  document.Parse(stripped.data(), stripped.size());
  assert(!document.HasParseError() && document.IsObject());
  AssertNoIbanValue(document);
  return 0;
}
