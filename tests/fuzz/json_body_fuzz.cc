// Fuzzes request-body parsing: any byte string must yield an object or a 400/422 error with a
// detail, never a crash, and a malformed-JSON detail always names the offset.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = finsync::json::ParseObject(body);
  if (parsed.ok()) {
    assert(parsed.value().IsObject());
  } else {
    const auto& error = parsed.error();
    assert(!error.detail.empty());
    if (error.code == finsync::ErrorCode::kMalformedJson) {
      assert(error.detail.find("at offset") != std::string::npos);
    } else {
      // kBadRequest: a number RapidJSON must not convert (json::FindUnsupportedNumber).
      assert(error.code == finsync::ErrorCode::kValidationFailed ||
             error.code == finsync::ErrorCode::kBadRequest);
    }
  }
  return 0;
}
