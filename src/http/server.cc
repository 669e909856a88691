#include "http/server.h"

#include <utility>  // Before Asio headers: g++ 12 + Boost 1.74 need it.

#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/problem.h"

namespace finsync::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

// Request ids: 16 hex characters from a per-thread generator seeded from the OS.
std::string NewRequestId() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t bits = generator();
  std::string id(16, '0');
  for (int i = 0; i < 16; ++i) id[i] = kHex[(bits >> (i * 4)) & 0xF];
  return id;
}

// A client-supplied id is kept only when it is short and plain, so it is safe to log and echo.
bool IsAcceptableRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

class Session;

struct Server::State {
  ServerOptions options;
  Handler handler;
  RequestObserver observer;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> active_sessions{0};
  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;  // GUARDED_BY(sessions_mutex)
  uint16_t bound_port = 0;
  // Declared after the session registry so it is destroyed first: destroying it destroys
  // pending handlers, and with them sessions that unregister themselves.
  net::io_context io_context;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_guard;
  std::optional<tcp::acceptor> acceptor;

  void Accept();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::State& state) : stream_(std::move(socket)), state_(state) {
    beast::error_code ignored;
    auto endpoint = stream_.socket().remote_endpoint(ignored);
    if (!ignored) remote_address_ = endpoint.address().to_string();
  }

  void Start() {
    state_.active_sessions.fetch_add(1);
    {
      std::lock_guard lock(state_.sessions_mutex);
      state_.sessions[this] = weak_from_this();
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
  }

  ~Session() {
    {
      std::lock_guard lock(state_.sessions_mutex);
      state_.sessions.erase(this);
    }
    state_.active_sessions.fetch_sub(1);
  }

  // Called on shutdown: an idle connection is closed at once; a busy one finishes its request.
  void CloseIfIdle() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->stream_.close();
      }
    });
  }

 private:
  void WaitForRequest() {
    if (state_.stopping.load()) return Close();
    if (buffer_.size() > 0) return ReadHeader();  // Pipelined bytes are already here.
    idle_ = true;
    stream_.expires_after(state_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code error, size_t count) {
                              self->idle_ = false;
                              self->buffer_.commit(count);
                              if (error) return self->Close();
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(state_.options.body_limit_bytes);
    parser_->header_limit(state_.options.header_limit_bytes);
    stream_.expires_after(state_.options.header_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, size_t) { self->OnHeader(error); });
  }

  void OnHeader(beast::error_code error) {
    if (error) return OnReadError(error);
    stream_.expires_after(state_.options.request_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code error, size_t) {
                        if (error) return self->OnReadError(error);
                        self->Handle();
                      });
  }

  void OnReadError(beast::error_code error) {
    if (error == bhttp::error::body_limit) {
      return RespondWithError(ErrorCode::kPayloadTooLarge,
                              "The request body is larger than the limit of " +
                                  std::to_string(state_.options.body_limit_bytes) + " bytes.");
    }
    if (error == bhttp::error::header_limit) {
      return RespondWithError(ErrorCode::kBadRequest, "The request headers are too large.");
    }
    if (error.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
        error != bhttp::error::end_of_stream && error != bhttp::error::partial_message) {
      return RespondWithError(ErrorCode::kBadRequest,
                              "The request is not valid HTTP/1.1: " + error.message() + ".");
    }
    // Timeouts, resets and clean end-of-stream: nothing useful can be written back.
    Close();
  }

  void FillRequestLine(Request& request) {
    const auto& header = parser_->get();
    request.method = std::string(header.method_string());
    request.target = std::string(header.target());
    size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
  }

  void RespondWithError(ErrorCode code, std::string detail) {
    Request request;
    request.started_at = std::chrono::steady_clock::now();
    request.remote_address = remote_address_;
    request.request_id = NewRequestId();
    if (parser_ && parser_->is_header_done()) FillRequestLine(request);
    Response response;
    RenderProblem(Error::Of(code, std::move(detail)), request.request_id, "", response);
    response.close_connection = true;
    Write(request, std::move(response), false, false);
  }

  void Handle() {
    Request request;
    request.started_at = std::chrono::steady_clock::now();
    request.remote_address = remote_address_;
    auto message = parser_->release();
    parser_.reset();
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    size_t question = request.target.find('?');
    std::string raw_path = request.target.substr(0, question);
    if (question != std::string::npos) request.query_string = request.target.substr(question + 1);
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    auto client_id = request.Header("x-request-id");
    request.request_id =
        client_id && IsAcceptableRequestId(*client_id) ? std::string(*client_id) : NewRequestId();
    request.body = std::move(message.body());
    bool is_head = message.method() == bhttp::verb::head;
    bool keep_alive = message.keep_alive();

    Response response;
    auto decoded_path = PercentDecode(raw_path, false);
    if (!decoded_path || raw_path.empty() || raw_path.front() != '/') {
      request.path = raw_path;
      RenderProblem(Error::Of(ErrorCode::kBadRequest, "The request target is not a valid path."),
                    request.request_id, "", response);
    } else {
      request.path = std::move(*decoded_path);
      try {
        state_.handler(request, response);
      } catch (const std::exception&) {
        // The handler chain logs and renders its own failures; this is the last safety net.
        response = Response();
        RenderProblem(Error::Of(ErrorCode::kInternal, "An unexpected error occurred."),
                      request.request_id, "", response);
      }
    }
    keep_alive = keep_alive && !response.close_connection && !state_.stopping.load();
    Write(request, std::move(response), keep_alive, is_head);
  }

  void Write(const Request& request, Response response, bool keep_alive, bool is_head) {
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->version(11);
    message->result(response.status);
    if (!response.content_type.empty()) {
      message->set(bhttp::field::content_type, response.content_type);
    }
    message->set("X-Request-Id", request.request_id);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->keep_alive(keep_alive);
    size_t body_size = response.body.size();
    if (!is_head) message->body() = response.body;
    if (response.status != 204 && response.status != 304 && response.status >= 200) {
      message->content_length(body_size);
    }
    if (state_.observer) state_.observer(request, response);
    stream_.expires_after(state_.options.request_timeout);
    bool close_after = !keep_alive;
    bool linger = response.close_connection;
    bhttp::async_write(
        stream_, *message,
        [self = shared_from_this(), message, close_after, linger](beast::error_code error, size_t) {
          if (error) return self->Close();
          if (linger) return self->LingeringClose();
          if (close_after) return self->Close();
          self->WaitForRequest();
        });
  }

  // After an early error (413) the client may still be sending its body. Closing at once would
  // reset the connection and could destroy the response before the client reads it, so stop
  // sending, discard input for a bounded time, then close.
  void LingeringClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    Drain();
  }

  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code error, size_t) {
                              if (error) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::State& state_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string remote_address_;
  bool idle_ = false;  // Only touched on the session's strand.
};

void Server::State::Accept() {
  acceptor->async_accept(net::make_strand(io_context),
                         [this](beast::error_code error, tcp::socket socket) {
                           if (stopping.load() || !acceptor->is_open()) return;
                           if (!error) {
                             beast::error_code ignored;
                             socket.set_option(tcp::no_delay(true), ignored);
                             std::make_shared<Session>(std::move(socket), *this)->Start();
                           }
                           Accept();
                         });
}

Server::Server(ServerOptions options, Handler handler, RequestObserver observer)
    : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->handler = std::move(handler);
  state_->observer = std::move(observer);
}

Server::~Server() { Stop(); }

Status Server::Start() {
  beast::error_code error;
  auto address = net::ip::make_address(state_->options.host, error);
  if (error) {
    return Error::Of(ErrorCode::kBadRequest, "invalid listen address " + state_->options.host);
  }
  tcp::endpoint endpoint(address, state_->options.port);
  state_->acceptor.emplace(state_->io_context);
  state_->acceptor->open(endpoint.protocol(), error);
  if (!error) state_->acceptor->set_option(net::socket_base::reuse_address(true), error);
  if (!error) state_->acceptor->bind(endpoint, error);
  if (!error) state_->acceptor->listen(net::socket_base::max_listen_connections, error);
  if (error) {
    return Error::Of(ErrorCode::kUnavailable, "cannot listen on " + state_->options.host + ":" +
                                                  std::to_string(state_->options.port) + ": " +
                                                  error.message());
  }
  state_->bound_port = state_->acceptor->local_endpoint().port();
  state_->work_guard.emplace(net::make_work_guard(state_->io_context));
  state_->Accept();
  int thread_count = state_->options.thread_count;
  if (thread_count <= 0) thread_count = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 0; i < thread_count; ++i) {
    state_->threads.emplace_back([this] { state_->io_context.run(); });
  }
  return Status::Ok();
}

uint16_t Server::port() const { return state_->bound_port; }

void Server::Stop() {
  if (state_->threads.empty()) return;
  state_->stopping.store(true);
  net::post(state_->io_context, [this] {
    beast::error_code ignored;
    if (state_->acceptor) state_->acceptor->close(ignored);
  });
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(state_->sessions_mutex);
    for (auto& [pointer, weak] : state_->sessions) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
  }
  for (auto& session : sessions) session->CloseIfIdle();
  sessions.clear();
  state_->work_guard.reset();
  auto deadline = std::chrono::steady_clock::now() + state_->options.shutdown_grace;
  while (state_->active_sessions.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  state_->io_context.stop();
  for (auto& thread : state_->threads) thread.join();
  state_->threads.clear();
}

}  // namespace finsync::http
