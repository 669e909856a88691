// Fuzzes the If-None-Match matcher (src/http/etag.cc), which reads a client's header.
//
// Invariants checked, with checks that stay on in release builds:
// - It never reads out of bounds (ASan) and answers the same for the same input.
// - "*" anywhere in the list matches; the ETag itself, alone or appended to the list, matches.
// - A list made only of other tags never matches a tag containing a byte they lack.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/etag.h"

namespace {

void Check(bool condition, const char* invariant) {
  if (condition) return;
  std::fprintf(stderr, "if_none_match_fuzz invariant violated: %s\n", invariant);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using finsync::http::IfNoneMatchMatches;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first line is the header, the rest the ETag.
  const size_t newline = input.find('\n');
  const std::string_view header = input.substr(0, newline);
  const std::string_view etag =
      newline == std::string_view::npos ? std::string_view("\"e\"") : input.substr(newline + 1);
  const bool first = IfNoneMatchMatches(header, etag);
  Check(first == IfNoneMatchMatches(header, etag), "the answer is deterministic");
  Check(IfNoneMatchMatches(std::string(header) + ", *", etag), "\"*\" matches");
  const bool plain_etag = !etag.empty() && etag.find(',') == std::string_view::npos &&
                          etag.front() != ' ' && etag.front() != '\t' && etag.back() != ' ' &&
                          etag.back() != '\t';
  if (plain_etag) {
    Check(IfNoneMatchMatches(etag, etag), "an ETag matches itself");
    Check(IfNoneMatchMatches(std::string(header) + "," + std::string(etag), etag),
          "an ETag appended to the list matches");
  }
  if (first && header.find('*') == std::string_view::npos && !etag.empty()) {
    const std::string_view opaque = etag.starts_with("W/") ? etag.substr(2) : etag;
    Check(header.find(opaque) != std::string_view::npos, "a match contains the tag");
  }
  return 0;
}
