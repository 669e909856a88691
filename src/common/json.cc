#include "common/json.h"

#include <rapidjson/error/en.h>

namespace finsync::json {

Result<rapidjson::Document> ParseObject(std::string_view body) {
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
