#include "app/application.h"


#include <cstdio>
#include <thread>

#include "api/api.h"
#include "app/access_log.h"
#include "common/clock.h"
#include "common/json.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/router.h"
#include "store/database.h"

namespace finsync::app {

namespace {

bool IsJsonContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != 16) return false;
  constexpr std::string_view kJson = "application/json";
  for (size_t i = 0; i < media.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kJson[i]) return false;
  }
  return true;
}

}  // namespace

struct Application::State {
  ServeOptions options;
  std::unique_ptr<store::Database> database;
  std::unique_ptr<identity::IdentityService> identity;
  http::Metrics metrics;
  http::Router router;
  std::unique_ptr<api::ApiContext> context;
  std::unique_ptr<AccessLog> access_logger;
  std::unique_ptr<http::Server> server;
  std::string demo_email;
  std::string demo_token;

  void Dispatch(http::Request& request, http::Response& response);
  void Observe(const http::Request& request, const http::Response& response);
};

void Application::State::Dispatch(http::Request& request, http::Response& response) {
  http::RouteMatch match = router.Match(request.method, request.path);
  request.route = match.pattern;
  if (match.outcome == http::RouteMatch::Outcome::kNotFound) {
    return api::RespondError(request, response,
                             Error::Of(ErrorCode::kNotFound, "No route matches " + request.path +
                                                                 "."));
  }
  if (match.outcome == http::RouteMatch::Outcome::kMethodNotAllowed) {
    api::RespondError(request, response,
                      Error::Of(ErrorCode::kMethodNotAllowed,
                                request.method + " is not allowed here; allowed: " + match.allow +
                                    "."));
    response.SetHeader("Allow", match.allow);
    return;
  }
  if (!request.body.empty()) {
    auto content_type = request.Header("content-type");
    if (!content_type || !IsJsonContentType(*content_type)) {
      return api::RespondError(
          request, response,
          Error::Of(ErrorCode::kUnsupportedMediaType,
                    "Request bodies must be JSON sent with 'Content-Type: application/json'."));
    }
  }
  request.path_params = std::move(match.params);
  (*match.handler)(request, response);
}

void Application::State::Observe(const http::Request& request, const http::Response& response) {
  auto elapsed = std::chrono::steady_clock::now() - request.started_at;
  double seconds = std::chrono::duration<double>(elapsed).count();
  metrics.ObserveRequest(request.route, request.method, response.status, seconds);
  if (!access_logger) return;
  // Never the query string (it may carry filters with personal data) nor any header.
  json::Writer line;
  line.StartObject();
  line.Field("time", api::FormatTimeMs(SystemClock::Instance().NowMilliseconds()));
  line.Field("level", "info");
  line.Field("msg", "request");
  line.Field("request_id", request.request_id);
  line.Field("method", request.method);
  line.Field("path", request.path);
  line.Field("route", request.route);
  line.Field("status", static_cast<int64_t>(response.status));
  line.Field("duration_us", static_cast<int64_t>(seconds * 1e6));
  line.Field("bytes_in", static_cast<int64_t>(request.body.size()));
  line.Field("bytes_out", static_cast<int64_t>(response.body.size()));
  line.Field("remote", request.remote_address);
  if (request.principal_user_id != 0) line.Field("user_id", request.principal_user_id);
  line.EndObject();
  access_logger->Write(line.str());
}

Application::Application(ServeOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
}

Application::~Application() { Stop(); }

Status Application::Start() {
  ServeOptions& options = state_->options;
  int threads = options.server.thread_count > 0
                    ? options.server.thread_count
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  store::DatabaseOptions database_options;
  database_options.reader_count = options.reader_count > 0 ? options.reader_count : threads + 1;
  auto database = store::Open(options.database_url, database_options);
  if (!database.ok()) return database.error();
  state_->database = std::move(database.value());
  state_->identity = std::make_unique<identity::IdentityService>(
      *state_->database, SystemClock::Instance(), options.mode);
  state_->context = std::make_unique<api::ApiContext>(
      api::ApiContext{*state_->database, *state_->identity, state_->metrics,
                      SystemClock::Instance()});
  if (options.demo) {
    Status demo = CreateDemoToken();
    if (!demo.ok()) return demo;
  }
  api::RegisterRoutes(state_->router, *state_->context);
  if (options.access_log != "off") {
    auto access_log = AccessLog::Open(options.access_log);
    if (!access_log.ok()) return access_log.error();
    state_->access_logger = std::move(access_log.value());
  }
  State* state = state_.get();
  state_->server = std::make_unique<http::Server>(
      options.server,
      [state](http::Request& request, http::Response& response) {
        state->Dispatch(request, response);
      },
      [state](const http::Request& request, const http::Response& response) {
        state->Observe(request, response);
      });
  return state_->server->Start();
}

Status Application::CreateDemoToken() {
  constexpr std::string_view kDemoEmail = "demo@finsync.local";
  auto user = state_->identity->FindUserByEmail(kDemoEmail);
  if (!user.ok()) user = state_->identity->CreateUser(kDemoEmail, "Demo User");
  if (!user.ok()) return user.error();
  identity::NewToken request;
  request.name = "demo " + api::FormatTimeMs(SystemClock::Instance().NowMilliseconds());
  auto created = state_->identity->CreateToken(user.value().id, request);
  if (!created.ok()) return created.error();
  state_->demo_email = user.value().email;
  state_->demo_token = created.value().secret;
  return Status::Ok();
}

const std::string& Application::demo_email() const { return state_->demo_email; }
const std::string& Application::demo_token() const { return state_->demo_token; }

uint16_t Application::port() const { return state_->server ? state_->server->port() : 0; }

void Application::Stop() {
  if (state_->server) state_->server->Stop();
  state_->server.reset();
  if (state_->access_logger) state_->access_logger->Flush();
  state_->database.reset();
}

}  // namespace finsync::app
