// Fuzzes the parsers of request targets: percent-decoding, query-string splitting and route
// matching must accept any bytes without crashing, and decoding never grows the text.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/message.h"
#include "http/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static finsync::http::Router* router = [] {
    auto* built = new finsync::http::Router();  // Lives for the whole fuzzing process.
    auto noop = [](finsync::http::Request&, finsync::http::Response&) {};
    built->Add("GET", "/api/v1/tokens", noop);
    built->Add("DELETE", "/api/v1/tokens/{id}", noop);
    built->Add("GET", "/api/v1/banks/{bank}/accounts/{account}", noop);
    return built;
  }();
  std::string text(reinterpret_cast<const char*>(data), size);
  auto decoded = finsync::http::PercentDecode(text, true);
  if (decoded) assert(decoded->size() <= text.size());
  finsync::http::Request request;
  size_t question = text.find('?');
  request.path = text.substr(0, question);
  if (question != std::string::npos) request.query_string = text.substr(question + 1);
  for (const auto& [name, value] : request.QueryParams()) {
    assert(name.size() + value.size() <= request.query_string.size());
  }
  auto match = router->Match("GET", request.path);
  if (match.outcome == finsync::http::RouteMatch::Outcome::kFound) assert(match.handler);
  return 0;
}
