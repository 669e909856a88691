// Conditional GET (RFC 9110 13.1.2): whether an If-None-Match header value matches an ETag.
#pragma once

#include <string_view>

namespace finsync::http {

// True when `if_none_match` (a comma-separated list of entity tags, or "*") names `etag`.
// The comparison is weak, as RFC 9110 asks for If-None-Match: W/"x" matches "x".
bool IfNoneMatchMatches(std::string_view if_none_match, std::string_view etag);

}  // namespace finsync::http
