// Fuzzes what a SimpleFIN client sends the server: the query of GET /accounts (through the
// same query-string splitting the server uses), the Authorization header's Basic credentials
// and the base64 inside them. Any bytes must parse or be refused without crashing, and what
// parses must keep the protocol's bounds: at most 100 short account ids, dates within year
// 9999, a window of at most 90 days, base64 that round-trips, and JSON that parses as valid UTF-8.
#include <rapidjson/document.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "delivery/simplefin_server/protocol.h"
#include "http/message.h"

namespace simplefin = finsync::delivery::simplefin;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  finsync::http::Request request;
  request.query_string = std::string(text);
  auto params = request.QueryParams();
  auto query = simplefin::ParseAccountsQuery(params);
  if (query.ok()) {
    const simplefin::AccountsQuery& parsed = query.value();
    assert(parsed.account_ids.size() <= simplefin::kAccountFilterMax);
    for (const auto& id : parsed.account_ids) assert(!id.empty() && id.size() <= 64);
    if (parsed.start_date) assert(*parsed.start_date <= simplefin::kEpochSecondsMax);
    if (parsed.end_date) assert(*parsed.end_date <= simplefin::kEpochSecondsMax);
    constexpr int64_t kNow = 1'750'000'000;
    simplefin::Window window = simplefin::ResolveWindow(parsed, kNow, std::nullopt);
    int64_t reference_end = parsed.end_date.value_or(kNow);
    assert(reference_end - window.start_seconds <=
           simplefin::kDateRangeDaysMax * simplefin::kSecondsPerDay);
    if (!window.empty && window.end_seconds) assert(window.start_seconds < *window.end_seconds);
    std::vector<simplefin::ProtocolError> errors = window.errors;
    for (const auto& name : parsed.unknown_parameters) errors.push_back({"gen.api", name, "", ""});
    std::string rendered = simplefin::RenderErrorsOnly(errors);
    rapidjson::Document document;
    document.Parse<rapidjson::kParseValidateEncodingFlag>(rendered.c_str(), rendered.size());
    assert(!document.HasParseError() && document.IsObject());
  } else {
    assert(query.error().field_errors.size() == 1);
  }

  auto credentials = simplefin::ParseBasicAuthorization(text);
  if (credentials) {
    assert(credentials->username.find(':') == std::string::npos);
    assert(credentials->username.size() + credentials->password.size() < size);
  }
  auto decoded = simplefin::Base64Decode(text);
  if (decoded) {
    assert(decoded->size() <= size);
    assert(simplefin::Base64Decode(simplefin::Base64Encode(*decoded)) == *decoded);
  }
  return 0;
}
