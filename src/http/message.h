// Plain request and response values handed to handlers. The HTTP layer knows nothing about
// finance: authentication results travel in `attributes` set by middleware.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace finsync::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;        // "GET", "POST", ...
  std::string target;        // As received: path plus query.
  std::string path;          // Percent-decoded path without the query.
  std::string query_string;  // Raw text after '?', may be empty.
  Headers headers;           // Names are lower-case.
  std::string body;
  std::string request_id;
  std::string remote_address;
  std::string route;  // The matched route pattern ("/api/v1/tokens/{id}"), empty if none.
  std::vector<std::pair<std::string, std::string>> path_params;
  std::chrono::steady_clock::time_point started_at;
  // Set by authentication middleware; read by handlers and the access log.
  int64_t principal_user_id = 0;
  int64_t principal_token_id = 0;

  std::optional<std::string_view> Header(std::string_view lower_case_name) const;
  std::string_view PathParam(std::string_view name) const;
  // Decoded query parameters in order; repeated names appear repeatedly.
  std::vector<std::pair<std::string, std::string>> QueryParams() const;
  std::optional<std::string> Query(std::string_view name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  Headers headers;
  bool close_connection = false;  // Set when the connection cannot be reused (413, 408).
  // What a replay store may keep instead of `body` when the body holds a secret shown once
  // (a new token): secrets are never written to the store in the clear.
  std::optional<std::string> body_for_replay;

  void SetHeader(std::string name, std::string value);
  void Json(unsigned status_code, std::string json_body) {
    status = status_code;
    content_type = "application/json";
    body = std::move(json_body);
  }
  void NoContent() {
    status = 204;
    content_type.clear();
    body.clear();
  }
};

// Decodes %XX and (for queries) '+'. Returns nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

}  // namespace finsync::http
