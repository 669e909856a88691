// Fuzzes the transaction list and change-feed parsers: any query string must parse or be
// refused without crashing; an accepted query must build SQL with one bound value per
// placeholder; any text given as a page token or cursor must decode or be refused, and what
// decodes must encode back to the same text (one encoding per token).
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/message.h"
#include "sync/transactions_query.h"

namespace {

size_t CountPlaceholders(const std::string& sql) {
  size_t count = 0;
  bool in_literal = false;
  for (char c : sql) {
    if (c == '\'') in_literal = !in_literal;
    if (c == '?' && !in_literal) ++count;
  }
  return count;
}

void CheckListQuery(const finsync::http::Request& request) {
  auto params = request.QueryParams();
  auto query = finsync::sync::ParseListQuery(params);
  if (!query.ok()) {
    auto code = query.error().code;
    assert(code == finsync::ErrorCode::kValidationFailed ||
           code == finsync::ErrorCode::kBadRequest);
    assert(code != finsync::ErrorCode::kValidationFailed || !query.error().field_errors.empty());
    return;
  }
  const auto& list = query.value();
  assert(list.page_size >= 1 && list.page_size <= finsync::sync::kListLimitMax);
  assert(list.page_number * list.page_size <= finsync::sync::kPageWindowMax ||
         list.paging == finsync::sync::PagingStyle::kCursor);
  auto sql = finsync::sync::BuildListSql(list, 1, "id");
  assert(CountPlaceholders(sql.sql) == sql.params.size());
  auto count = finsync::sync::BuildCappedCountSql(list.filters, 1, 10001);
  assert(CountPlaceholders(count.sql) == count.params.size());
}

void CheckTokens(const std::string& text) {
  auto token = finsync::sync::DecodePageToken(text);
  if (token) assert(finsync::sync::EncodePageToken(*token) == text);
  auto seq = finsync::sync::DecodeChangeCursor(text);
  if (seq) assert(finsync::sync::EncodeChangeCursor(*seq) == text);
  auto bytes = finsync::sync::Base64UrlDecode(text);
  if (bytes) assert(finsync::sync::Base64UrlEncode(*bytes) == text);
  assert(finsync::sync::Base64UrlDecode(finsync::sync::Base64UrlEncode(text)) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  finsync::http::Request request;
  request.query_string = text;
  CheckListQuery(request);
  auto feed = finsync::sync::ParseChangeFeedQuery(request.QueryParams());
  if (feed.ok()) assert(feed.value().limit >= 1 && feed.value().after_seq >= 0);
  CheckTokens(text);
  return 0;
}
