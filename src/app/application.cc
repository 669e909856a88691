#include "app/application.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <thread>

#include "api/api.h"
#include "api/banks_api.h"
#include "api/idempotency.h"
#include "api/rules_api.h"
#include "api/sandbox_page.h"
#include "api/simplefin_api.h"
#include "app/access_log.h"
#include "common/clock.h"
#include "common/json.h"
#include "delivery/simplefin_server/service.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/rate_limiter.h"
#include "http/router.h"
#include "ingest/ingest.h"
#include "jobs/job_queue.h"
#include "jobs/worker.h"
#include "rules/rule_service.h"
#include "sources/catalog.h"
#include "sources/sandbox/sandbox_source.h"
#include "store/database.h"
#include "sync/bank_data.h"
#include "sync/sandbox_support.h"
#include "sync/scheduler.h"

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
  std::unique_ptr<Clock> clock;
  std::unique_ptr<store::Database> database;
  std::unique_ptr<identity::IdentityService> identity;
  http::Metrics metrics;
  http::Router router;
  std::unique_ptr<api::ApiContext> context;
  std::unique_ptr<api::IdempotencyService> idempotency;
  http::RateLimiter rate_limiter;
  std::unique_ptr<sync::DatabaseSandboxConsentStore> sandbox_consents;
  std::unique_ptr<sources::sandbox::SandboxSource> sandbox;
  std::unique_ptr<sync::SandboxSimulator> sandbox_simulator;
  std::unique_ptr<ingest::Pipeline> pipeline;
  std::unique_ptr<sync::BankDataService> bank_data;
  std::unique_ptr<rules::RuleService> rules;
  std::unique_ptr<rules::BankRuleStage> rule_stage;
  std::unique_ptr<jobs::JobQueue> job_queue;
  std::unique_ptr<jobs::Workers> workers;
  std::unique_ptr<sync::SyncScheduler> scheduler;
  std::unique_ptr<AccessLog> access_logger;
  std::unique_ptr<http::Server> server;
  std::string demo_email;
  std::string demo_token;
  std::string public_url;  // Without a trailing slash.
  std::unique_ptr<delivery::simplefin::SimplefinService> simplefin;

  void Dispatch(http::Request& request, http::Response& response);
  void Observe(const http::Request& request, const http::Response& response);
};

void Application::State::Dispatch(http::Request& request, http::Response& response) {
  http::RouteMatch match = router.Match(request.method, request.path);
  request.route = match.pattern;
  if (match.outcome == http::RouteMatch::Outcome::kNotFound) {
    return api::RespondError(
        request, response,
        Error::Of(ErrorCode::kNotFound, "No route matches " + request.path + "."));
  }
  if (match.outcome == http::RouteMatch::Outcome::kMethodNotAllowed) {
    api::RespondError(
        request, response,
        Error::Of(ErrorCode::kMethodNotAllowed,
                  request.method + " is not allowed here; allowed: " + match.allow + "."));
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
  if (options.clock_offset_seconds != 0 && options.mode != identity::Mode::kSandbox) {
    return Error::Of(ErrorCode::kBadRequest, "--clock-offset-seconds is for sandbox mode only");
  }
  state_->clock = std::make_unique<OffsetClock>(options.clock_offset_seconds * 1000);
  const Clock& clock = *state_->clock;
  int threads = options.server.thread_count > 0
                    ? options.server.thread_count
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  store::DatabaseOptions database_options;
  database_options.reader_count = options.reader_count > 0 ? options.reader_count : threads + 1;
  auto database = store::Open(options.database_url, database_options);
  if (!database.ok()) return database.error();
  state_->database = std::move(database.value());
  state_->identity =
      std::make_unique<identity::IdentityService>(*state_->database, clock, options.mode);
  state_->context = std::make_unique<api::ApiContext>(
      api::ApiContext{*state_->database, *state_->identity, state_->metrics, clock, nullptr,
                      nullptr, api::RateLimits{}});
  api::IdempotencyOptions idempotency_options;
  idempotency_options.retention_ms = options.idempotency_retention_days * 86'400'000;
  idempotency_options.wait_ms = options.idempotency_wait_ms;
  state_->idempotency =
      std::make_unique<api::IdempotencyService>(*state_->database, clock, idempotency_options);
  state_->context->idempotency = state_->idempotency.get();
  state_->context->rate_limiter = &state_->rate_limiter;
  state_->context->rate_limits.read.limit = options.rate_limit_read_per_minute;
  state_->context->rate_limits.write.limit = options.rate_limit_write_per_minute;
  state_->context->rate_limits.sync.limit = options.rate_limit_sync_per_minute;
  if (options.demo) {
    Status demo = CreateDemoToken();
    if (!demo.ok()) return demo;
  }
  Status banking = StartBanking();
  if (!banking.ok()) return banking;
  api::RegisterRoutes(state_->router, *state_->context);
  api::RegisterBankRoutes(state_->router, *state_->context, *state_->bank_data);
  api::RegisterSandboxPage(state_->router, *state_->context, *state_->bank_data);
  api::RegisterRuleRoutes(state_->router, *state_->context, *state_->rules);
  delivery::simplefin::ServiceOptions simplefin_options;
  simplefin_options.root_url = state_->public_url + "/simplefin";
  simplefin_options.setup_token_ttl_ms = options.simplefin_setup_token_ttl_hours * 3'600'000;
  state_->simplefin = std::make_unique<delivery::simplefin::SimplefinService>(
      *state_->database, clock, sources::Catalog::BuiltIn(), simplefin_options);
  api::RegisterSimplefinRoutes(
      state_->router, *state_->context, *state_->simplefin,
      api::SimplefinRouteOptions{&state_->rate_limiter, options.simplefin_requests_per_day});
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

// The sync layer: the sandbox bank (consents kept in the store), ingest, the bank data
// service, and the durable job workers that run scheduled syncs.
Status Application::StartBanking() {
  State& s = *state_;
  const Clock& clock = *s.clock;
  std::string public_url = s.options.public_url;
  if (public_url.empty()) {
    public_url = "http://" + s.options.server.host + ":" + std::to_string(s.options.server.port);
  }
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
  s.public_url = public_url;
  s.sandbox_consents = std::make_unique<sync::DatabaseSandboxConsentStore>(*s.database);
  sources::sandbox::SandboxOptions sandbox_options;
  sandbox_options.consent_page_url = public_url + "/sandbox/consents/";
  s.sandbox =
      std::make_unique<sources::sandbox::SandboxSource>(sandbox_options, *s.sandbox_consents);
  s.sandbox_simulator = std::make_unique<sync::SandboxSimulator>(*s.sandbox, clock);
  s.pipeline = std::make_unique<ingest::Pipeline>(*s.database, clock);
  sync::SourceRegistry sources;
  sources["SANDBOX"] = sync::SourceEntry{s.sandbox.get(), s.sandbox_simulator.get()};
  s.bank_data = std::make_unique<sync::BankDataService>(
      *s.database, clock, sources::Catalog::BuiltIn(), std::move(sources), *s.pipeline);
  // Rules: the service behind the rules API, and the stage that runs BANK rules in ingest.
  rules::RuleLimits rule_limits;
  rule_limits.conditions_per_rule_max = s.options.rule_conditions_max;
  rule_limits.actions_per_rule_max = s.options.rule_actions_max;
  rule_limits.rules_per_target_max = s.options.rules_per_target_max;
  s.rules = std::make_unique<rules::RuleService>(*s.database, clock, rule_limits);
  s.rule_stage = std::make_unique<rules::BankRuleStage>(*s.rules, clock);
  s.bank_data->SetRuleStage(s.rule_stage.get());
  s.job_queue = std::make_unique<jobs::JobQueue>(*s.database, clock);
  jobs::WorkerOptions worker_options;
  worker_options.thread_count = std::max(1, s.options.job_worker_count);
  s.workers = std::make_unique<jobs::Workers>(*s.job_queue, clock, worker_options);
  s.scheduler = std::make_unique<sync::SyncScheduler>(*s.bank_data, *s.job_queue, clock);
  sync::SyncScheduler* scheduler = s.scheduler.get();
  s.bank_data->SetAccountListener([scheduler](int64_t user_id, int64_t account_id) {
    Status scheduled = scheduler->ScheduleAccount(user_id, account_id);
    if (!scheduled.ok()) {
      spdlog::error("cannot schedule sync of account {}: {}", account_id, scheduled.error().detail);
    }
  });
  s.scheduler->RegisterHandlers(*s.workers);
  api::IdempotencyService* idempotency = s.idempotency.get();
  s.workers->Register("purge_idempotency_keys", [idempotency, &clock](const jobs::Job&) {
    auto purged = idempotency->PurgeExpired();
    if (!purged.ok()) return jobs::JobOutcome::RetryWithBackoff(purged.error().detail);
    return jobs::JobOutcome::RescheduleAt(clock.NowMilliseconds() + 3'600'000);
  });
  jobs::NewJob purge;
  purge.kind = "purge_idempotency_keys";
  purge.dedupe_key = "purge_idempotency_keys";
  auto purge_job = s.job_queue->Enqueue(purge);
  if (!purge_job.ok()) return purge_job.error();
  Status ensured = s.scheduler->EnsureScheduled();
  if (!ensured.ok()) return ensured;
  return s.workers->Start();
}

Status Application::CreateDemoToken() {
  constexpr std::string_view kDemoEmail = "demo@finsync.local";
  auto user = state_->identity->FindUserByEmail(kDemoEmail);
  if (!user.ok()) user = state_->identity->CreateUser(kDemoEmail, "Demo User");
  if (!user.ok()) return user.error();
  identity::NewToken request;
  request.name = "demo " + api::FormatTimeMs(state_->clock->NowMilliseconds());
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
  if (state_->workers) (void)state_->workers->Stop();
  state_->workers.reset();
  if (state_->access_logger) state_->access_logger->Flush();
  state_->database.reset();
}

}  // namespace finsync::app
