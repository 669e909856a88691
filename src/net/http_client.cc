#include "net/http_client.h"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace finsync::net {

std::optional<std::string_view> HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

namespace {

bool InV4(uint32_t address, uint32_t network, int prefix_length) {
  const uint32_t mask = prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - prefix_length);
  return (address & mask) == (network & mask);
}

constexpr uint32_t V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

// Special-purpose IPv4 blocks (IANA registry) a user-supplied URL must never reach.
bool IsPrivateV4(uint32_t address) {
  struct Block {
    uint32_t network;
    int prefix_length;
  };
  static constexpr Block kBlocks[] = {
      {V4(0, 0, 0, 0), 8},        // "this network", including the unspecified address
      {V4(10, 0, 0, 0), 8},       // private
      {V4(100, 64, 0, 0), 10},    // carrier-grade NAT
      {V4(127, 0, 0, 0), 8},      // loopback
      {V4(169, 254, 0, 0), 16},   // link-local (cloud metadata services live here)
      {V4(172, 16, 0, 0), 12},    // private
      {V4(192, 0, 0, 0), 24},     // IETF protocol assignments
      {V4(192, 0, 2, 0), 24},     // documentation (TEST-NET-1)
      {V4(192, 88, 99, 0), 24},   // 6to4 relay anycast (deprecated)
      {V4(192, 168, 0, 0), 16},   // private
      {V4(198, 18, 0, 0), 15},    // benchmarking
      {V4(198, 51, 100, 0), 24},  // documentation (TEST-NET-2)
      {V4(203, 0, 113, 0), 24},   // documentation (TEST-NET-3)
      {V4(224, 0, 0, 0), 4},      // multicast
      {V4(240, 0, 0, 0), 4},      // reserved, including broadcast
  };
  for (const Block& block : kBlocks) {
    if (InV4(address, block.network, block.prefix_length)) return true;
  }
  return false;
}

uint32_t V4At(const std::array<uint8_t, 16>& bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
         (uint32_t{bytes[offset + 2]} << 8) | bytes[offset + 3];
}

bool StartsWith(const std::array<uint8_t, 16>& bytes, std::initializer_list<uint8_t> prefix) {
  return std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

// Only global unicast (2000::/3) can be public; inside it a few blocks are special too.
bool IsPrivateV6(const std::array<uint8_t, 16>& bytes) {
  // IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) and the rest of ::/8 are outside
  // 2000::/3 and refused below; NAT64's well-known prefix carries a real IPv4 address.
  if (StartsWith(bytes, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return IsPrivateV4(V4At(bytes, 12));
  }
  if ((bytes[0] & 0xe0) != 0x20) return true;  // not 2000::/3: ULA, link-local, multicast...
  // 2001::/23: IETF protocol assignments (Teredo, benchmarking, ORCHID, AMT, ...).
  if (bytes[0] == 0x20 && bytes[1] == 0x01 && (bytes[2] & 0xfe) == 0x00) return true;
  if (StartsWith(bytes, {0x20, 0x01, 0x0d, 0xb8})) return true;  // documentation
  if (bytes[0] == 0x3f && bytes[1] == 0xff && (bytes[2] & 0xf0) == 0x00) {
    return true;  // documentation (3fff::/20)
  }
  if (bytes[0] == 0x20 && bytes[1] == 0x02) return IsPrivateV4(V4At(bytes, 2));  // 6to4
  return false;
}

// Strips "[...]" around an IPv6 literal and a "%zone" suffix.
std::string Unbracket(std::string_view address) {
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  if (const size_t percent = address.find('%'); percent != std::string_view::npos) {
    address = address.substr(0, percent);
  }
  return std::string(address);
}

}  // namespace

bool IsPrivateAddress(std::string_view address) {
  const std::string text = Unbracket(address);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return IsPrivateV4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::array<uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), v6.s6_addr, bytes.size());
    return IsPrivateV6(bytes);
  }
  return true;  // Not an address at all: refuse rather than guess.
}

namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("curl_global_init failed");
    }
  });
}

// Per-call state the libcurl callbacks write into.
struct CallState {
  const HttpClientOptions* options = nullptr;
  HttpResponse response;
  bool body_too_large = false;
  std::string refused_address;  // Set when the socket callback refused a private address.
};

std::string AddressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  } else if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
  }
  return text;
}

// Runs after DNS resolution, before connect(): the one place every destination passes through.
curl_socket_t OpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* state = static_cast<CallState*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  if (address->family != AF_INET && address->family != AF_INET6) return CURL_SOCKET_BAD;
  if (!state->options->allow_private_addresses) {
    const std::string text = AddressText(&address->addr);
    if (IsPrivateAddress(text)) {
      state->refused_address = text;
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<CallState*>(user);
  const size_t length = size * count;
  if (state->response.body.size() + length > state->options->response_body_max) {
    state->body_too_large = true;
    return 0;  // Aborts the transfer with CURLE_WRITE_ERROR.
  }
  state->response.body.append(data, length);
  return length;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<CallState*>(user);
  const size_t length = size * count;
  const std::string_view line(data, length);
  if (line.starts_with("HTTP/")) {
    state->response.headers.clear();  // A new response (after 100 Continue): start over.
    return length;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return length;  // The blank line, or junk.
  std::string name(Trim(line.substr(0, colon)));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  state->response.headers.emplace_back(std::move(name), std::string(Trim(line.substr(colon + 1))));
  return length;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
  void operator()(char* text) const { curl_free(text); }
};
template <typename T>
using CurlPtr = std::unique_ptr<T, CurlDeleter>;

// Checks scheme and host; returns the host for messages.
Result<std::string> CheckUrl(const std::string& url) {
  CurlPtr<CURLU> parsed(curl_url());
  if (!parsed || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Error::Of(ErrorCode::kBadRequest, "the URL is malformed");
  }
  char* scheme_raw = nullptr;
  char* host_raw = nullptr;
  curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme_raw, 0);
  CurlPtr<char> scheme(scheme_raw);
  curl_url_get(parsed.get(), CURLUPART_HOST, &host_raw, 0);
  CurlPtr<char> host(host_raw);
  const std::string scheme_text = scheme ? scheme.get() : "";
  if (scheme_text != "http" && scheme_text != "https") {
    return Error::Of(ErrorCode::kBadRequest, "the URL must use http or https");
  }
  if (!host || host.get()[0] == '\0') {
    return Error::Of(ErrorCode::kBadRequest, "the URL has no host");
  }
  return std::string(host.get());
}

bool IsKnownMethod(std::string_view method) {
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
  return std::find(std::begin(kMethods), std::end(kMethods), method) != std::end(kMethods);
}

std::string TransportMessage(CURLcode code, const std::string& host) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return "DNS lookup failed for " + host;
    case CURLE_COULDNT_CONNECT:
      return "could not connect to " + host;
    case CURLE_OPERATION_TIMEDOUT:
      return "the request to " + host + " timed out";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return "TLS with " + host + " failed (" + curl_easy_strerror(code) + ")";
    default:
      return "the request to " + host + " failed (" + curl_easy_strerror(code) + ")";
  }
}

// One connection and DNS cache per client, shared by its calls (keep-alive across calls).
class CurlShare {
 public:
  CurlShare() : share_(curl_share_init()) {
    if (share_ == nullptr) throw std::runtime_error("curl_share_init failed");
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlShare::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlShare::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  ~CurlShare() { curl_share_cleanup(share_); }
  CurlShare(const CurlShare&) = delete;
  CurlShare& operator=(const CurlShare&) = delete;
  CURLSH* get() const { return share_; }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlShare*>(user)->mutexes_[Index(data)].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlShare*>(user)->mutexes_[Index(data)].unlock();
  }
  static size_t Index(curl_lock_data data) {
    return std::min<size_t>(static_cast<size_t>(data), kLocks - 1);
  }
  static constexpr size_t kLocks = CURL_LOCK_DATA_LAST + 1;
  CURLSH* share_;
  std::array<std::mutex, kLocks> mutexes_;
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(const HttpClientOptions& options) : options_(options) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (!IsKnownMethod(request.method)) {
      return Error::Of(ErrorCode::kBadRequest, "unsupported HTTP method " + request.method);
    }
    auto host = CheckUrl(request.url);
    if (!host.ok()) return host.error();
    CurlPtr<CURL> handle(curl_easy_init());
    if (!handle) return Error::Of(ErrorCode::kInternal, "curl_easy_init failed");
    CallState state;
    state.options = &options_;
    CurlPtr<curl_slist> headers;
    Configure(handle.get(), request, state, headers);
    const CURLcode code = curl_easy_perform(handle.get());
    if (!state.refused_address.empty() && code != CURLE_OK) {
      // The address stays in the server's log: users of a shared server must not learn what
      // its internal DNS answers.
      spdlog::warn("outbound request to {} refused: it resolves to {}", host.value(),
                   state.refused_address);
      return Error::Of(ErrorCode::kBadRequest,
                       "refused to connect to " + host.value() +
                           ": it resolves to a private or reserved address");
    }
    if (state.body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
      return Error::Of(ErrorCode::kUnavailable,
                       "the answer from " + host.value() + " is larger than " +
                           std::to_string(options_.response_body_max) + " bytes");
    }
    if (code != CURLE_OK) {
      return Error::Of(ErrorCode::kUnavailable, TransportMessage(code, host.value()));
    }
    long status = 0;
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &status);
    state.response.status = static_cast<int>(status);
    return std::move(state.response);
  }

 private:
  void Configure(CURL* handle, const HttpRequest& request, CallState& state,
                 CurlPtr<curl_slist>& headers) {
    curl_easy_setopt(handle, CURLOPT_SHARE, share_.get());
    curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    // A proxy would be the address checked instead of the destination: never use one, not
    // even from http_proxy in the environment.
    curl_easy_setopt(handle, CURLOPT_PROXY, "");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(request.timeout_ms.value_or(options_.timeout_ms)));
    curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options_.response_body_max));
    curl_easy_setopt(handle, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");  // Whatever libcurl can decode.
    curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
    curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, &state);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &WriteBody);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &WriteHeader);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &state);
    if (request.method == "GET") {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    } else {
      // POSTFIELDS makes libcurl send the body for PUT, PATCH and DELETE too.
      curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (!request.body.empty() || request.method != "DELETE") {
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
      }
    }
    curl_slist* list = nullptr;
    for (const auto& [name, value] : request.headers) {
      list = curl_slist_append(list, (name + ": " + value).c_str());
    }
    list = curl_slist_append(list, "Expect:");  // No 100-continue round trip.
    headers.reset(list);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
  }

  HttpClientOptions options_;
  CurlShare share_;
};

}  // namespace

std::unique_ptr<HttpClient> MakeHttpClient(const HttpClientOptions& options) {
  GlobalInitOnce();
  return std::make_unique<CurlHttpClient>(options);
}

}  // namespace finsync::net
