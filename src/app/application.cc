#include "app/application.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "api/api.h"
#include "api/banks_api.h"
#include "api/idempotency.h"
#include "api/lunch_money_api.h"
#include "api/openapi_api.h"
#include "api/rules_api.h"
#include "api/sandbox_page.h"
#include "api/simplefin_api.h"
#include "api/transactions_api.h"
#include "api/transfers_api.h"
#include "api/webhooks_api.h"
#include "api/ynab_api.h"
#include "app/access_log.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/secret_box.h"
#include "delivery/delivery_service.h"
#include "delivery/lunch_money_destination.h"
#include "delivery/lunchmoney/lunchmoney_client.h"
#include "delivery/lunchmoney/lunchmoney_connections.h"
#include "delivery/simplefin_server/service.h"
#include "delivery/webhook_destination.h"
#include "delivery/ynab/ynab_client.h"
#include "delivery/ynab/ynab_mirror.h"
#include "delivery/ynab_destination.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/rate_limiter.h"
#include "http/router.h"
#include "ingest/ingest.h"
#include "jobs/job_queue.h"
#include "jobs/worker.h"
#include "net/http_client.h"
#include "rules/rule_service.h"
#include "sources/catalog.h"
#include "sources/sandbox/sandbox_source.h"
#include "store/database.h"
#include "sync/bank_data.h"
#include "sync/sandbox_support.h"
#include "sync/scheduler.h"
#include "webhooks/webhook_service.h"

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
  // The banks users can connect: the sandbox banks in sandbox mode, none of them in production
  // (sandbox data never mixes with real data; production banks come from aggregator sources).
  std::unique_ptr<sources::Catalog> catalog;
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
  std::unique_ptr<SecretBox> secret_box;
  std::unique_ptr<net::HttpClient> http_client;
  std::unique_ptr<delivery::WebhookDestinations> webhook_destinations;
  delivery::DestinationOpeners destination_openers;
  std::unique_ptr<delivery::DeliveryService> delivery;
  std::unique_ptr<delivery::lunchmoney::LunchMoneyV1Client> lunch_money_client;
  std::unique_ptr<delivery::lunchmoney::ConnectionService> lunch_money;
  std::unique_ptr<delivery::ynab::YnabClient> ynab_client;
  std::unique_ptr<delivery::ynab::YnabMirror> ynab_mirror;
  std::unique_ptr<net::HttpClient> webhook_http;
  std::unique_ptr<webhooks::WebhookService> webhooks;
  std::unique_ptr<AccessLog> access_logger;
  std::unique_ptr<http::Server> server;
  std::string demo_email;
  std::string demo_token;
  std::string public_url;  // Without a trailing slash.
  std::unique_ptr<delivery::simplefin::SimplefinService> simplefin;

  void Dispatch(http::Request& request, http::Response& response);
  void Observe(const http::Request& request, const http::Response& response);
};

// Routes whose path itself is a secret (a SimpleFIN claim token): the matched pattern stands in
// for the path everywhere it could be shown or logged (problem documents, the access log),
// even when the request is refused before its handler runs. They read no body.
constexpr std::string_view kSecretPathRoutes[] = {"/simplefin/claim/{token}"};

void Application::State::Dispatch(http::Request& request, http::Response& response) {
  http::RouteMatch match = router.Match(request.method, request.path);
  request.route = match.pattern;
  bool secret_path = false;
  for (std::string_view pattern : kSecretPathRoutes) {
    if (match.pattern == pattern) secret_path = true;
  }
  if (secret_path) request.path = match.pattern;  // The handler reads the token from params.
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
  if (!request.body.empty() && !secret_path) {
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
  Status secrets = OpenSecrets();
  if (!secrets.ok()) return secrets;
  net::HttpClientOptions http_options;
  http_options.allow_private_addresses = options.allow_private_destinations;
  state_->http_client = net::MakeHttpClient(http_options);
  // Destinations before banking: the delivery engine StartBanking builds opens them.
  Status lunch_money = StartLunchMoney();
  if (!lunch_money.ok()) return lunch_money;
  Status banking = StartBanking();
  if (!banking.ok()) return banking;
  api::RegisterRoutes(state_->router, *state_->context);
  api::RegisterOpenApiRoutes(state_->router, *state_->context);
  api::RegisterBankRoutes(state_->router, *state_->context, *state_->bank_data);
  api::RegisterSandboxPage(state_->router, *state_->context, *state_->bank_data);
  api::RegisterRuleRoutes(state_->router, *state_->context, *state_->rules);
  api::RegisterLunchMoneyRoutes(state_->router, *state_->context, *state_->lunch_money);
  api::RegisterTransferRoutes(state_->router, *state_->context, *state_->delivery);
  api::RegisterWebhookDestinationRoutes(state_->router, *state_->context,
                                        *state_->webhook_destinations);
  api::RegisterYnabRoutes(state_->router, *state_->context, *state_->ynab_mirror);
  api::RegisterWebhookRoutes(state_->router, *state_->context, *state_->webhooks);
  delivery::simplefin::ServiceOptions simplefin_options;
  simplefin_options.root_url = state_->public_url + "/simplefin";
  simplefin_options.setup_token_ttl_ms = options.simplefin_setup_token_ttl_hours * 3'600'000;
  state_->simplefin = std::make_unique<delivery::simplefin::SimplefinService>(
      *state_->database, clock, *state_->catalog, simplefin_options);
  api::RegisterSimplefinRoutes(
      state_->router, *state_->context, *state_->simplefin,
      api::SimplefinRouteOptions{&state_->rate_limiter, options.simplefin_requests_per_day});
  if (options.access_log != "off") {
    auto access_log = AccessLog::Open(options.access_log);
    if (!access_log.ok()) return access_log.error();
    state_->access_logger = std::move(access_log.value());
  }
  if (options.routes_only) return Status::Ok();
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
  if (s.options.mode == identity::Mode::kSandbox) {
    s.catalog = std::make_unique<sources::Catalog>(sources::Catalog::BuiltIn());
  } else {
    auto empty = sources::Catalog::Create({});
    if (!empty.ok()) return empty.error();
    s.catalog = std::make_unique<sources::Catalog>(std::move(empty.value()));
  }
  s.sandbox_consents = std::make_unique<sync::DatabaseSandboxConsentStore>(*s.database);
  sources::sandbox::SandboxOptions sandbox_options;
  sandbox_options.consent_page_url = public_url + "/sandbox/consents/";
  s.sandbox =
      std::make_unique<sources::sandbox::SandboxSource>(sandbox_options, *s.sandbox_consents);
  s.sandbox_simulator = std::make_unique<sync::SandboxSimulator>(*s.sandbox, clock);
  s.pipeline = std::make_unique<ingest::Pipeline>(*s.database, clock);
  sync::SourceRegistry sources;
  sources["SANDBOX"] = sync::SourceEntry{s.sandbox.get(), s.sandbox_simulator.get()};
  s.bank_data = std::make_unique<sync::BankDataService>(*s.database, clock, *s.catalog,
                                                        std::move(sources), *s.pipeline);
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
  worker_options.lease_ms = std::max<int64_t>(3, s.options.job_lease_ms);
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
  // Delivery: destinations by type, the engine, and its jobs; a sync that stored changes
  // schedules the account's transfer links.
  s.webhook_destinations = std::make_unique<delivery::WebhookDestinations>(
      *s.database, clock, *s.secret_box, *s.http_client,
      [](json::Writer& writer, const domain::BankTransaction& transaction) {
        api::WriteBankTransaction(writer, transaction);
      });
  s.destination_openers[delivery::DestinationType::kWebhook] = s.webhook_destinations->Opener();
  s.destination_openers[delivery::DestinationType::kLunchMoney] =
      delivery::LunchMoneyOpener(*s.lunch_money, *s.lunch_money_client, clock);
  Status ynab = StartYnab();
  if (!ynab.ok()) return ynab;
  s.delivery = std::make_unique<delivery::DeliveryService>(*s.database, clock, *s.rules,
                                                           *s.job_queue, s.destination_openers);
  s.delivery->RegisterHandlers(*s.workers);
  delivery::DeliveryService* delivery = s.delivery.get();
  State* state = &s;
  s.bank_data->SetSyncListener(
      [delivery, state](const sync::BankAccount& account, const sync::SyncReport& report) {
        if (report.transactions.added == 0 && report.transactions.modified == 0) return;
        // Transaction webhooks come from the change feed, read by the user's feed job.
        state->webhooks->NotifyTransactionsChanged(account.user_id);
        Status scheduled = delivery->ScheduleAccount(account.user_id, account.id);
        if (!scheduled.ok()) {
          spdlog::error("cannot schedule deliveries of account {}: {}", account.id,
                        scheduled.error().detail);
        }
      });
  Status deliveries = s.delivery->EnsureScheduled();
  if (!deliveries.ok()) return deliveries;
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
  Status webhooks = StartWebhooks();
  if (!webhooks.ok()) return webhooks;
  Status ensured = s.scheduler->EnsureScheduled();
  if (!ensured.ok()) return ensured;
  return s.workers->Start();
}

// Webhook subscriptions: an outbound HTTP client of their own (a slow receiver never holds up
// a destination), the publisher every module announces events through (bank data, transfer
// delivery), and the delivery, feed and purge jobs.
Status Application::StartWebhooks() {
  State& s = *state_;
  net::HttpClientOptions http_options;
  http_options.allow_private_addresses = s.options.allow_private_destinations;
  http_options.timeout_ms = 15'000;
  http_options.response_body_max = 1 << 20;  // Receivers answer briefly; bound the memory.
  s.webhook_http = net::MakeHttpClient(http_options);
  webhooks::WebhookOptions options;
  options.retry_speedup = s.options.webhook_retry_speedup;
  s.webhooks = std::make_unique<webhooks::WebhookService>(
      *s.database, *s.clock, SystemClock::Instance(), *s.job_queue, *s.secret_box, *s.webhook_http,
      api::WriteBankTransaction, options);
  s.bank_data->SetEventPublisher(s.webhooks.get());
  s.delivery->SetPublisher(s.webhooks.get());
  s.webhooks->RegisterHandlers(*s.workers);
  return s.webhooks->EnsureScheduled();
}

// The server key for secrets at rest: FINSYNC_SECRET_KEY, else --secret-key-file, else a key
// file beside the database (created with a new key on first start).
Status Application::OpenSecrets() {
  std::array<uint8_t, SecretBox::kKeySize> key{};
  if (const char* text = std::getenv("FINSYNC_SECRET_KEY"); text != nullptr && *text != '\0') {
    auto parsed = SecretBox::ParseKey(text);
    if (!parsed.ok()) {
      return Error::Of(ErrorCode::kBadRequest, "FINSYNC_SECRET_KEY: " + parsed.error().detail);
    }
    key = parsed.value();
  } else {
    std::string path = state_->options.secret_key_file;
    if (path.empty()) path = state_->options.database_url + ".key";
    auto loaded = SecretBox::LoadOrCreateKeyFile(path);
    if (!loaded.ok()) return loaded.error();
    key = loaded.value();
  }
  state_->secret_box = std::make_unique<SecretBox>(key);
  return Status::Ok();
}

// Lunch Money: the v1 client at --lunch-money-url and the connections service.
Status Application::StartLunchMoney() {
  State& s = *state_;
  const std::string& url = s.options.lunch_money_url;
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return Error::Of(ErrorCode::kBadRequest, "--lunch-money-url must be an http(s) URL");
  }
  s.lunch_money_client =
      std::make_unique<delivery::lunchmoney::LunchMoneyV1Client>(*s.http_client, url);
  s.lunch_money = std::make_unique<delivery::lunchmoney::ConnectionService>(
      *s.database, *s.clock, *s.secret_box, *s.lunch_money_client);
  return Status::Ok();
}

// YNAB: the client (with its per-token rate limit) over the shared HTTP client, the mirror of
// connections and budgets with its refresh job, and the YNAB destination for transfer links.
// Runs before the delivery service is built (it copies the openers) and before workers start.
Status Application::StartYnab() {
  State& s = *state_;
  delivery::ynab::YnabClientOptions ynab_options;
  ynab_options.base_url = s.options.ynab_url;
  ynab_options.requests_per_hour = static_cast<int>(s.options.ynab_requests_per_hour);
  ynab_options.clock = s.clock.get();
  s.ynab_client = std::make_unique<delivery::ynab::YnabClient>(*s.http_client, ynab_options);
  s.ynab_mirror = std::make_unique<delivery::ynab::YnabMirror>(
      *s.database, *s.clock, *s.ynab_client, *s.secret_box, delivery::ynab::MirrorOptions{});
  s.ynab_mirror->RegisterJobs(*s.workers);
  s.destination_openers[delivery::DestinationType::kYnab] =
      delivery::YnabOpener(*s.database, *s.secret_box, *s.ynab_client, *s.clock);
  return s.ynab_mirror->EnsureScheduled(*s.job_queue);
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
const std::vector<http::Router::RouteInfo>& Application::routes() const {
  return state_->router.routes();
}

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
