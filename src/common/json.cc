#include "common/json.h"

#include <rapidjson/error/en.h>

namespace finsync::json {

std::optional<size_t> FindUnsupportedNumber(std::string_view text) {
  constexpr size_t kDigitRunMax = 100;
  bool in_string = false;
  bool escaped = false;
  size_t digit_run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      digit_run = 0;
      continue;
    }
    bool digit = c >= '0' && c <= '9';
    // Outside strings an 'e' follows a digit (or the '.' after digits) only in a number's
    // exponent: the literals true and false never have a digit before their 'e'.
    if ((c == 'e' || c == 'E') && i > 0 &&
        ((text[i - 1] >= '0' && text[i - 1] <= '9') || text[i - 1] == '.')) {
      return i;
    }
    digit_run = digit ? digit_run + 1 : 0;
    if (digit_run > kDigitRunMax) return i;
  }
  return std::nullopt;
}

Result<rapidjson::Document> ParseObject(std::string_view body) {
  if (auto offset = FindUnsupportedNumber(body)) {
    return Error::Of(ErrorCode::kBadRequest,
                     "Numbers in exponent notation or with more than 100 digits are not "
                     "accepted (at offset " +
                         std::to_string(*offset) + ").");
  }
  rapidjson::Document document;
  document.Parse<rapidjson::kParseFullPrecisionFlag>(body.data(), body.size());
  if (document.HasParseError()) {
    return Error::Of(ErrorCode::kMalformedJson,
                     std::string("The body is not valid JSON: ") +
                         rapidjson::GetParseError_En(document.GetParseError()) + " at offset " +
                         std::to_string(document.GetErrorOffset()) + ".");
  }
  if (!document.IsObject()) {
    Error error = Error::Of(ErrorCode::kValidationFailed, "The body must be a JSON object.");
    error.field_errors.push_back({"body", "must be a JSON object"});
    return error;
  }
  return document;
}

}  // namespace finsync::json
