#include "net/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace finsync::net {
namespace {

// Proves the address filter refuses every special-purpose IPv4 and IPv6 block, including IPv4
// addresses hidden inside IPv6 forms, while ordinary public addresses pass.
TEST(HttpClientTest, IsPrivateAddressTable) {
  struct Case {
    const char* address;
    bool is_private;
  };
  const Case cases[] = {
      // IPv4 public.
      {"8.8.8.8", false},
      {"1.1.1.1", false},
      {"93.184.216.34", false},
      {"100.63.255.255", false},
      {"100.128.0.0", false},
      {"172.15.255.255", false},
      {"172.32.0.0", false},
      {"192.167.255.255", false},
      {"198.17.255.255", false},
      {"198.20.0.0", false},
      {"223.255.255.255", false},
      {"169.253.255.255", false},
      // IPv4 special.
      {"0.0.0.0", true},
      {"0.1.2.3", true},
      {"10.0.0.1", true},
      {"10.255.255.255", true},
      {"100.64.0.1", true},
      {"100.127.255.255", true},
      {"127.0.0.1", true},
      {"127.255.255.254", true},
      {"169.254.169.254", true},
      {"172.16.0.1", true},
      {"172.31.255.255", true},
      {"192.0.0.8", true},
      {"192.0.2.1", true},
      {"192.88.99.1", true},
      {"192.168.1.1", true},
      {"198.18.0.1", true},
      {"198.19.255.255", true},
      {"198.51.100.7", true},
      {"203.0.113.9", true},
      {"224.0.0.1", true},
      {"239.255.255.250", true},
      {"240.0.0.1", true},
      {"255.255.255.255", true},
      // IPv6 public.
      {"2606:4700:4700::1111", false},
      {"2001:4860:4860::8888", false},
      {"2a00:1450:4001:80b::200e", false},
      {"[2606:4700:4700::1111]", false},
      {"64:ff9b::808:808", false},  // NAT64 of 8.8.8.8
      {"2002:808:808::1", false},   // 6to4 of 8.8.8.8
      // IPv6 special.
      {"::", true},
      {"::1", true},
      {"[::1]", true},
      {"fe80::1", true},
      {"fe80::1%eth0", true},
      {"febf::1", true},
      {"fec0::1", true},
      {"fc00::1", true},
      {"fd12:3456:789a::1", true},
      {"ff02::1", true},
      {"ff05::2", true},
      {"100::1", true},
      {"2001:db8::1", true},
      {"2001::1", true},     // Teredo
      {"2001:2::1", true},   // benchmarking
      {"2001:10::1", true},  // ORCHID
      {"3fff::1", true},     // documentation
      {"4000::1", true},     // outside global unicast
      {"::ffff:127.0.0.1", true},
      {"::ffff:10.0.0.1", true},
      {"::ffff:8.8.8.8", true},  // IPv4-mapped is never a real destination
      {"::ffff:7f00:1", true},
      {"::127.0.0.1", true},      // IPv4-compatible (deprecated)
      {"64:ff9b::7f00:1", true},  // NAT64 of 127.0.0.1
      {"64:ff9b::a9fe:a9fe", true},
      {"64:ff9b:1::1", true},    // local-use NAT64
      {"2002:7f00:1::1", true},  // 6to4 of 127.0.0.1
      {"2002:c0a8:101::1", true},
      // Not addresses: refused rather than guessed.
      {"", true},
      {"localhost", true},
      {"127.1", true},
      {"1.2.3.256", true},
      {"::g", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsPrivateAddress(c.address), c.is_private) << c.address;
  }
}

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 whose answer the test chooses.
class LocalServer {
 public:
  using Handler = std::function<std::string(const std::string& request)>;
  explicit LocalServer(Handler handler) : handler_(std::move(handler)) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listener_, 8), 0);
    socklen_t length = sizeof(address);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~LocalServer() {
    stopping_ = true;
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  void Run() {
    while (!stopping_) {
      const int connection = accept(listener_, nullptr, nullptr);
      if (connection < 0) return;
      const std::string request = ReadRequest(connection);
      {
        std::lock_guard lock(mutex_);
        last_request_ = request;
      }
      const std::string answer = handler_(request);
      size_t sent = 0;
      while (sent < answer.size()) {
        const ssize_t n =
            send(connection, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      close(connection);
    }
  }
  static std::string ReadRequest(int connection) {
    std::string data;
    char buffer[4096];
    while (true) {
      const size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t content_length = 0;
        const size_t at = data.find("Content-Length: ");
        if (at != std::string::npos && at < end) content_length = std::stoul(data.substr(at + 16));
        if (data.size() >= end + 4 + content_length) return data;
      }
      const ssize_t n = recv(connection, buffer, sizeof(buffer), 0);
      if (n <= 0) return data;
      data.append(buffer, static_cast<size_t>(n));
    }
  }

  Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::string last_request_;
};

HttpClientOptions AllowPrivate() {
  HttpClientOptions options;
  options.allow_private_addresses = true;
  options.connect_timeout_ms = 2'000;
  options.timeout_ms = 5'000;
  return options;
}

std::string Url(const LocalServer& server, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(server.port()) + path;
}

// Proves a request really goes over the wire: method, path, headers and body arrive, and the
// status, lower-cased headers and body come back.
TEST(HttpClientTest, SendsRequestAndReadsAnswer) {
  LocalServer server([](const std::string&) {
    return std::string(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Rate-Limit: 1/200\r\n"
        "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
  });
  auto client = MakeHttpClient(AllowPrivate());
  HttpRequest request;
  request.method = "PATCH";
  request.url = Url(server, "/v1/budgets/b1/transactions?x=1");
  request.headers = {{"Authorization", "Bearer secret"}, {"Content-Type", "application/json"}};
  request.body = R"({"transactions":[]})";
  auto answer = client->Send(request);
  ASSERT_TRUE(answer.ok()) << answer.error().detail;
  EXPECT_EQ(answer.value().status, 201);
  EXPECT_EQ(answer.value().body, R"({"ok":true})");
  EXPECT_EQ(answer.value().Header("content-type").value_or(""), "application/json");
  EXPECT_EQ(answer.value().Header("x-rate-limit").value_or(""), "1/200");
  EXPECT_FALSE(answer.value().Header("X-Rate-Limit").has_value());
  const std::string seen = server.last_request();
  EXPECT_EQ(seen.rfind("PATCH /v1/budgets/b1/transactions?x=1 HTTP/1.1\r\n", 0), 0u) << seen;
  EXPECT_NE(seen.find("Authorization: Bearer secret\r\n"), std::string::npos);
  EXPECT_NE(seen.find("\r\n\r\n{\"transactions\":[]}"), std::string::npos);
  EXPECT_EQ(seen.find("Expect:"), std::string::npos);
}

// Proves GET and DELETE send no body and 4xx/5xx answers are answers, not errors.
TEST(HttpClientTest, ErrorStatusesAreAnswers) {
  LocalServer server([](const std::string&) {
    return std::string(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno");
  });
  auto client = MakeHttpClient(AllowPrivate());
  for (const char* method : {"GET", "DELETE"}) {
    HttpRequest request;
    request.method = method;
    request.url = Url(server, "/thing");
    auto answer = client->Send(request);
    ASSERT_TRUE(answer.ok()) << answer.error().detail;
    EXPECT_EQ(answer.value().status, 404);
    EXPECT_EQ(answer.value().body, "no");
    EXPECT_EQ(server.last_request().rfind(std::string(method) + " /thing HTTP/1.1", 0), 0u);
  }
}

// Proves loopback destinations are refused by default, by IP literal and by a name that
// resolves to loopback, before any connection is made.
TEST(HttpClientTest, LoopbackRefusedByDefault) {
  std::atomic<int> hits{0};
  LocalServer server([&](const std::string&) {
    ++hits;
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });
  auto client = MakeHttpClient(HttpClientOptions{});
  for (const char* host : {"127.0.0.1", "localhost"}) {
    HttpRequest request;
    request.url = std::string("http://") + host + ":" + std::to_string(server.port()) + "/";
    auto answer = client->Send(request);
    ASSERT_FALSE(answer.ok()) << host;
    EXPECT_EQ(answer.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(answer.error().detail.find("private or reserved address"), std::string::npos)
        << answer.error().detail;
  }
  EXPECT_EQ(hits.load(), 0);
}

// Proves redirects are returned, never followed.
TEST(HttpClientTest, RedirectsAreNotFollowed) {
  LocalServer server([](const std::string&) {
    return std::string(
        "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n");
  });
  auto client = MakeHttpClient(AllowPrivate());
  auto answer = client->Send(HttpRequest{.url = Url(server, "/")});
  ASSERT_TRUE(answer.ok()) << answer.error().detail;
  EXPECT_EQ(answer.value().status, 302);
  EXPECT_EQ(answer.value().Header("location").value_or(""), "http://169.254.169.254/latest");
}

// Proves an answer over the size cap fails with kUnavailable, with and without Content-Length.
TEST(HttpClientTest, ResponseSizeCap) {
  for (bool with_length : {true, false}) {
    LocalServer server([&](const std::string&) {
      const std::string body(5000, 'x');
      return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n") +
             (with_length ? "Content-Length: 5000\r\n" : "") + "\r\n" + body;
    });
    HttpClientOptions options = AllowPrivate();
    options.response_body_max = 1000;
    auto client = MakeHttpClient(options);
    auto answer = client->Send(HttpRequest{.url = Url(server, "/")});
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(answer.error().detail.find("larger than 1000 bytes"), std::string::npos)
        << answer.error().detail;
  }
}

// Proves a server that never answers hits the per-request timeout as kUnavailable.
TEST(HttpClientTest, TimeoutIsUnavailable) {
  LocalServer server([](const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  auto client = MakeHttpClient(AllowPrivate());
  const auto start = std::chrono::steady_clock::now();
  auto answer = client->Send(HttpRequest{.url = Url(server, "/"), .timeout_ms = 300});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(answer.error().detail.find("timed out"), std::string::npos) << answer.error().detail;
  EXPECT_LT(elapsed, std::chrono::milliseconds(1400));
}

// Proves malformed URLs, other schemes and unknown methods are refused as kBadRequest.
TEST(HttpClientTest, RefusesBadRequests) {
  auto client = MakeHttpClient(AllowPrivate());
  const HttpRequest cases[] = {
      {.url = "not a url"},          {.url = "ftp://example.com/file"},
      {.url = "file:///etc/passwd"}, {.url = "http://"},
      {.url = "http://:8080/path"},  {.method = "TRACE", .url = "http://127.0.0.1:1/"},
  };
  for (const HttpRequest& request : cases) {
    auto answer = client->Send(request);
    ASSERT_FALSE(answer.ok()) << request.url;
    EXPECT_EQ(answer.error().code, ErrorCode::kBadRequest) << request.url;
  }
}

// Proves a refused connection (nothing listening) is kUnavailable naming the host.
TEST(HttpClientTest, ConnectFailureIsUnavailable) {
  int port = 0;
  {
    LocalServer server([](const std::string&) { return std::string(); });
    port = server.port();
  }
  auto client = MakeHttpClient(AllowPrivate());
  auto answer = client->Send(HttpRequest{.url = "http://127.0.0.1:" + std::to_string(port)});
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(answer.error().detail.find("127.0.0.1"), std::string::npos) << answer.error().detail;
}

}  // namespace
}  // namespace finsync::net
