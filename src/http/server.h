// The HTTP/1.1 server: Boost.Beast over one Asio io_context run by a pool of threads.
// Connections are kept alive, TCP_NODELAY is set, and every phase of a request is bounded by
// a timeout so that slow or stalled clients cannot hold a worker:
//   idle     waiting for the first byte of the next request on a kept-alive connection
//   header   from the first byte until the end of the header block
//   request  reading the body and writing the response
// Handlers run on the pool's threads and may block (store calls); size the pool accordingly.
// Thread safety: Start and Stop are called from one controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/message.h"
#include "http/router.h"

namespace finsync::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; port() tells which.
  int thread_count = 0;  // 0: one per core.
  uint64_t body_limit_bytes = 30ull * 1024 * 1024;
  uint32_t header_limit_bytes = 16 * 1024;
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds shutdown_grace{30000};  // Longest wait for in-flight requests.
};

// Called once per response written, including the server's own error responses; used for
// metrics and the access log. Runs on a pool thread; must be thread-safe and must not throw.
using RequestObserver = std::function<void(const Request&, const Response&)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler, RequestObserver observer);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the pool. Errors: kUnavailable when the address cannot be bound.
  Status Start();
  uint16_t port() const;
  // Stops accepting, closes idle connections, lets in-flight requests finish (bounded by
  // shutdown_grace), then joins the pool.
  void Stop();

 private:
  friend class Session;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace finsync::http
