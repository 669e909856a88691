#include "http/etag.h"

namespace finsync::http {

namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view Opaque(std::string_view tag) {
  return tag.starts_with("W/") ? tag.substr(2) : tag;
}

}  // namespace

bool IfNoneMatchMatches(std::string_view if_none_match, std::string_view etag) {
  const std::string_view wanted = Opaque(etag);
  std::string_view rest = if_none_match;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = Trim(rest.substr(0, comma));
    if (item == "*") return true;
    if (!etag.empty() && !item.empty() && Opaque(item) == wanted) return true;
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma + 1);
  }
}

}  // namespace finsync::http
