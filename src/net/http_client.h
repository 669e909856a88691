// Outbound HTTP: the one way finsync calls other services (YNAB, Lunch Money, webhook
// receivers, bank aggregators). Built on libcurl (TLS through OpenSSL, HTTP/1.1 keep-alive).
//
// Every call has a connect timeout and a total timeout. By default requests to private,
// loopback, link-local, unique-local, multicast and unspecified addresses are refused after
// DNS resolution and before connecting (so a hostname that resolves to 127.0.0.1 is refused
// too, and redirects are never followed): a user-supplied URL can never reach the server's own
// network. Tests and self-hosters who deliver inside their LAN turn this off with
// `allow_private_addresses` (serve flag --allow-private-destinations).
//
// Thread-safe: one client may be used from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace finsync::net {

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE.
  std::string url;             // Absolute http:// or https:// URL, query string included.
  std::vector<std::pair<std::string, std::string>> headers{};  // Sent in this order.
  std::string body{};
  std::optional<int64_t> timeout_ms{};  // Total time for this call; unset: the client's.
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers{};  // Names lower-cased.
  std::string body{};

  // The first header with this (lower-case) name.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

struct HttpClientOptions {
  int64_t connect_timeout_ms = 5'000;
  int64_t timeout_ms = 30'000;
  size_t response_body_max = 32u << 20;  // Longer answers fail with kUnavailable.
  bool allow_private_addresses = false;
  std::string user_agent = "finsync/0.1";
};

// Whether `address` (textual IPv4 or IPv6) is private, loopback, link-local, unique-local,
// carrier-grade NAT, multicast, reserved or unspecified, including IPv4-mapped IPv6 forms.
bool IsPrivateAddress(std::string_view address);

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends one request and returns whatever status the server answered (4xx and 5xx are
  // answers, not errors). Errors: kBadRequest for a malformed URL or a refused (private)
  // address, with a message naming it; kUnavailable for DNS, connect, TLS and timeout
  // failures, with a message that says which (never containing headers or the body).
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// The libcurl client.
std::unique_ptr<HttpClient> MakeHttpClient(const HttpClientOptions& options);

}  // namespace finsync::net
