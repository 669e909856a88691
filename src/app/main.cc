// finsync command line: `serve` runs the server; `user` and `token` manage identities
// directly in the store (for the first token, and for scripts). Every option can also come
// from a FINSYNC_* environment variable; flags win.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "api/api.h"
#include "app/application.h"
#include "common/clock.h"
#include "domain/date.h"
#include "identity/identity.h"
#include "store/database.h"

namespace {

using finsync::Error;
using finsync::ErrorCode;
using finsync::Status;

int Fail(const std::string& message) {
  std::fprintf(stderr, "finsync: %s\n", message.c_str());
  return 1;
}

int FailWith(const Error& error) {
  std::string message = error.detail;
  for (const auto& field_error : error.field_errors) {
    message += "\n  " + field_error.field + ": " + field_error.message;
  }
  return Fail(message);
}

struct IdentityOptions {
  std::string database_url = "finsync.db";
  std::string mode = "sandbox";
};

void AddStoreOptions(CLI::App* command, IdentityOptions& options) {
  command->add_option("--db", options.database_url, "SQLite database file")
      ->envname("FINSYNC_DB")
      ->capture_default_str();
  command->add_option("--mode", options.mode, "sandbox or production (sets the token prefix)")
      ->envname("FINSYNC_MODE")
      ->check(CLI::IsMember({"sandbox", "production"}))
      ->capture_default_str();
}

// Opens the store for one CLI command and runs `body` with the identity service.
int WithIdentity(const IdentityOptions& options,
                 const std::function<int(finsync::identity::IdentityService&)>& body) {
  finsync::store::DatabaseOptions database_options;
  database_options.reader_count = 1;
  auto database = finsync::store::Open(options.database_url, database_options);
  if (!database.ok()) return FailWith(database.error());
  finsync::identity::IdentityService identity(*database.value(), finsync::SystemClock::Instance(),
                                              *finsync::identity::ParseMode(options.mode));
  return body(identity);
}

int RunServe(finsync::app::ServeOptions options) {
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  finsync::app::Application application(options);
  Status started = application.Start();
  if (!started.ok()) return FailWith(started.error());
  std::string url = "http://" + options.server.host + ":" + std::to_string(application.port());
  std::fprintf(stderr, "finsync listening on %s (mode %s, store %s)\n", url.c_str(),
               std::string(finsync::identity::ModeName(options.mode)).c_str(),
               options.database_url.c_str());
  if (options.demo) {
    std::fprintf(stderr,
                 "\n  URL:          %s\n  Demo user:    %s\n  Access token: %s\n\n"
                 "  Try: curl -H 'Authorization: Bearer %s' %s/api/v1/user\n\n",
                 url.c_str(), application.demo_email().c_str(), application.demo_token().c_str(),
                 application.demo_token().c_str(), url.c_str());
  }
  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "finsync: signal %d received, finishing in-flight requests\n", received);
  application.Stop();
  std::fprintf(stderr, "finsync: stopped\n");
  return 0;
}

// Prints every route the server registers, one "METHOD /pattern" a line, without listening:
// the services are wired on a throw-away database.
int RunRoutes(const std::string& mode) {
  char directory_template[] = "/tmp/finsync-routes-XXXXXX";
  const char* directory = mkdtemp(directory_template);
  if (directory == nullptr) return Fail("cannot create a temporary directory");
  int exit_code = 0;
  {
    finsync::app::ServeOptions options;
    options.database_url = std::string(directory) + "/routes.db";
    options.access_log = "off";
    options.mode = *finsync::identity::ParseMode(mode);
    options.job_worker_count = 1;
    options.routes_only = true;
    finsync::app::Application application(options);
    Status started = application.Start();
    if (!started.ok()) {
      exit_code = FailWith(started.error());
    } else {
      for (const auto& route : application.routes()) {
        std::printf("%s %s\n", route.method.c_str(), route.pattern.c_str());
      }
    }
    application.Stop();
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"finsync: self-hostable bank-data platform"};
  cli.require_subcommand(1);

  // serve
  finsync::app::ServeOptions serve;
  std::string mode = "sandbox";
  uint64_t header_timeout_ms = 10000, idle_timeout_ms = 60000, request_timeout_ms = 30000;
  uint64_t shutdown_grace_ms = 30000;
  auto* serve_command = cli.add_subcommand("serve", "Run the HTTP API server");
  serve_command->add_option("--db", serve.database_url, "SQLite database file")
      ->envname("FINSYNC_DB")
      ->capture_default_str();
  serve_command->add_option("--host", serve.server.host, "Address to listen on")
      ->envname("FINSYNC_HOST")
      ->capture_default_str();
  serve_command->add_option("--port", serve.server.port, "Port to listen on (0 picks one)")
      ->envname("FINSYNC_PORT")
      ->capture_default_str();
  serve_command
      ->add_option("--threads", serve.server.thread_count, "Worker threads (0: one per core)")
      ->envname("FINSYNC_THREADS")
      ->capture_default_str();
  serve_command
      ->add_option("--body-limit-bytes", serve.server.body_limit_bytes,
                   "Largest accepted request body")
      ->envname("FINSYNC_BODY_LIMIT_BYTES")
      ->capture_default_str();
  serve_command
      ->add_option("--header-timeout-ms", header_timeout_ms,
                   "Time allowed to send the request headers")
      ->envname("FINSYNC_HEADER_TIMEOUT_MS")
      ->capture_default_str();
  serve_command
      ->add_option("--idle-timeout-ms", idle_timeout_ms,
                   "Keep-alive connection idle time before it is closed")
      ->envname("FINSYNC_IDLE_TIMEOUT_MS")
      ->capture_default_str();
  serve_command
      ->add_option("--request-timeout-ms", request_timeout_ms,
                   "Time allowed to send the body and read the response")
      ->envname("FINSYNC_REQUEST_TIMEOUT_MS")
      ->capture_default_str();
  serve_command
      ->add_option("--shutdown-grace-ms", shutdown_grace_ms,
                   "Longest wait for in-flight requests on SIGTERM")
      ->envname("FINSYNC_SHUTDOWN_GRACE_MS")
      ->capture_default_str();
  serve_command->add_option("--access-log", serve.access_log, "stdout, off, or a file path")
      ->envname("FINSYNC_ACCESS_LOG")
      ->capture_default_str();
  serve_command->add_option("--mode", mode, "sandbox or production")
      ->envname("FINSYNC_MODE")
      ->check(CLI::IsMember({"sandbox", "production"}))
      ->capture_default_str();
  serve_command
      ->add_option("--job-workers", serve.job_worker_count,
                   "Threads running durable jobs (scheduled syncs, clean-up)")
      ->envname("FINSYNC_JOB_WORKERS")
      ->capture_default_str();
  serve_command
      ->add_option("--job-lease-ms", serve.job_lease_ms,
                   "How long a dead process's jobs stay claimed before others run them")
      ->envname("FINSYNC_JOB_LEASE_MS")
      ->capture_default_str();
  serve_command
      ->add_option("--public-url", serve.public_url,
                   "URL users reach this server at (default http://HOST:PORT)")
      ->envname("FINSYNC_PUBLIC_URL");
  serve_command
      ->add_option("--rate-limit-read", serve.rate_limit_read_per_minute,
                   "GET requests per minute per token (0: unlimited)")
      ->envname("FINSYNC_RATE_LIMIT_READ")
      ->capture_default_str();
  serve_command
      ->add_option("--rate-limit-write", serve.rate_limit_write_per_minute,
                   "Mutating requests per minute per token (0: unlimited)")
      ->envname("FINSYNC_RATE_LIMIT_WRITE")
      ->capture_default_str();
  serve_command
      ->add_option("--rate-limit-sync", serve.rate_limit_sync_per_minute,
                   "Sync and retry triggers per minute per token (0: unlimited)")
      ->envname("FINSYNC_RATE_LIMIT_SYNC")
      ->capture_default_str();
  serve_command
      ->add_option("--rule-conditions-max", serve.rule_conditions_max,
                   "Plan limit: conditions per rule")
      ->envname("FINSYNC_RULE_CONDITIONS_MAX")
      ->capture_default_str();
  serve_command
      ->add_option("--rule-actions-max", serve.rule_actions_max, "Plan limit: actions per rule")
      ->envname("FINSYNC_RULE_ACTIONS_MAX")
      ->capture_default_str();
  serve_command
      ->add_option("--rules-per-target-max", serve.rules_per_target_max,
                   "Plan limit: rules attached to one bank account, link or destination")
      ->envname("FINSYNC_RULES_PER_TARGET_MAX")
      ->capture_default_str();
  serve_command
      ->add_option("--idempotency-retention-days", serve.idempotency_retention_days,
                   "How long Idempotency-Key responses are kept")
      ->envname("FINSYNC_IDEMPOTENCY_RETENTION_DAYS")
      ->capture_default_str();
  serve_command
      ->add_option("--idempotency-wait-ms", serve.idempotency_wait_ms,
                   "How long a repeat waits for the first request with its key")
      ->envname("FINSYNC_IDEMPOTENCY_WAIT_MS")
      ->capture_default_str();
  serve_command
      ->add_option("--clock-offset-seconds", serve.clock_offset_seconds,
                   "Sandbox mode only: run the clock this far ahead (for tests)")
      ->envname("FINSYNC_CLOCK_OFFSET_SECONDS")
      ->capture_default_str();
  serve_command
      ->add_option("--secret-key-file", serve.secret_key_file,
                   "Key sealing stored secrets (default: <database file>.key, created if "
                   "missing; FINSYNC_SECRET_KEY holds the key itself)")
      ->envname("FINSYNC_SECRET_KEY_FILE");
  serve_command
      ->add_flag("--allow-private-destinations", serve.allow_private_destinations,
                 "Let destinations and webhooks reach private and loopback addresses")
      ->envname("FINSYNC_ALLOW_PRIVATE_DESTINATIONS");
  serve_command
      ->add_option("--simplefin-requests-per-day", serve.simplefin_requests_per_day,
                   "SimpleFIN GET /accounts requests per access per day (0: unlimited)")
      ->envname("FINSYNC_SIMPLEFIN_REQUESTS_PER_DAY")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve_command
      ->add_option("--simplefin-setup-token-ttl-hours", serve.simplefin_setup_token_ttl_hours,
                   "How long an unclaimed SimpleFIN setup token stays valid")
      ->envname("FINSYNC_SIMPLEFIN_SETUP_TOKEN_TTL_HOURS")
      ->check(CLI::Range(int64_t{1}, int64_t{24 * 365}))
      ->capture_default_str();
  serve_command
      ->add_flag("--demo", serve.demo,
                 "Create a demo user and print a new access token at start-up")
      ->envname("FINSYNC_DEMO");
  serve_command
      ->add_option("--webhook-retry-speedup", serve.webhook_retry_speedup,
                   "Divide every webhook retry delay by this (for tests)")
      ->envname("FINSYNC_WEBHOOK_RETRY_SPEEDUP")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->capture_default_str();
  serve_command->add_option("--lunch-money-url", serve.lunch_money_url, "Lunch Money API base URL")
      ->envname("FINSYNC_LUNCH_MONEY_URL")
      ->capture_default_str();
  serve_command
      ->add_option("--ynab-requests-per-hour", serve.ynab_requests_per_hour,
                   "Requests sent per YNAB token per rolling hour (YNAB allows 200)")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->envname("FINSYNC_YNAB_REQUESTS_PER_HOUR")
      ->capture_default_str();
  serve_command->add_option("--ynab-url", serve.ynab_url, "YNAB API base URL")
      ->envname("FINSYNC_YNAB_URL")
      ->capture_default_str();

  // user create
  IdentityOptions user_options;
  std::string email, user_name;
  auto* user_command = cli.add_subcommand("user", "Manage users");
  user_command->require_subcommand(1);
  auto* user_create = user_command->add_subcommand("create", "Create a user");
  AddStoreOptions(user_create, user_options);
  user_create->add_option("--email", email, "Email address")->required();
  user_create->add_option("--name", user_name, "Display name");

  // token create | list | revoke
  IdentityOptions token_options;
  std::string token_user, token_name, scopes = "read,write", expires_at;
  int64_t token_id = 0;
  auto* token_command = cli.add_subcommand("token", "Manage personal access tokens");
  token_command->require_subcommand(1);
  auto* token_create = token_command->add_subcommand("create", "Create a token (shown once)");
  auto* token_list = token_command->add_subcommand("list", "List a user's tokens");
  auto* token_revoke = token_command->add_subcommand("revoke", "Revoke a token");
  for (auto* command : {token_create, token_list, token_revoke}) {
    AddStoreOptions(command, token_options);
    command->add_option("--user", token_user, "The user's email")->required();
  }
  token_create->add_option("--name", token_name, "A name saying what the token is for")->required();
  token_create->add_option("--scopes", scopes, "Comma-separated: read, write")
      ->capture_default_str();
  token_create->add_option("--expires-at", expires_at, "RFC 3339 expiry time (default: never)");
  token_revoke->add_option("--id", token_id, "The token id")->required();

  // routes
  std::string routes_mode = "sandbox";
  auto* routes_command =
      cli.add_subcommand("routes", "Print every route the server serves (METHOD /pattern)");
  routes_command->add_option("--mode", routes_mode, "sandbox or production")
      ->check(CLI::IsMember({"sandbox", "production"}))
      ->capture_default_str();

  CLI11_PARSE(cli, argc, argv);

  if (serve_command->parsed()) {
    serve.mode = *finsync::identity::ParseMode(mode);
    serve.server.header_timeout = std::chrono::milliseconds(header_timeout_ms);
    serve.server.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
    serve.server.request_timeout = std::chrono::milliseconds(request_timeout_ms);
    serve.server.shutdown_grace = std::chrono::milliseconds(shutdown_grace_ms);
    return RunServe(serve);
  }
  if (routes_command->parsed()) return RunRoutes(routes_mode);
  if (user_create->parsed()) {
    return WithIdentity(user_options, [&](finsync::identity::IdentityService& identity) {
      auto user = identity.CreateUser(email, user_name);
      if (!user.ok()) return FailWith(user.error());
      std::printf("%s\n", finsync::api::UserJson(user.value()).c_str());
      return 0;
    });
  }
  return WithIdentity(token_options, [&](finsync::identity::IdentityService& identity) {
    auto user = identity.FindUserByEmail(token_user);
    if (!user.ok()) return Fail("no user with email " + token_user);
    int64_t user_id = user.value().id;
    if (token_create->parsed()) {
      finsync::identity::NewToken request;
      request.name = token_name;
      auto parsed_scopes = finsync::identity::ScopesFromText(scopes);
      if (!parsed_scopes) return Fail("--scopes must be read, write or read,write");
      request.scopes = *parsed_scopes;
      if (!expires_at.empty()) {
        auto parsed = finsync::domain::ParseTimestamp(expires_at);
        if (!parsed.ok()) return Fail("--expires-at must be an RFC 3339 date-time");
        request.expires_at_ms = parsed.timestamp.unix_time_ms();
      }
      auto created = identity.CreateToken(user_id, request);
      if (!created.ok()) return FailWith(created.error());
      std::printf("%s\n",
                  finsync::api::TokenJson(created.value().token, &created.value().secret).c_str());
      return 0;
    }
    if (token_list->parsed()) {
      auto tokens = identity.ListTokens(user_id);
      if (!tokens.ok()) return FailWith(tokens.error());
      std::string out = "[";
      for (size_t i = 0; i < tokens.value().size(); ++i) {
        if (i > 0) out += ",";
        out += finsync::api::TokenJson(tokens.value()[i], nullptr);
      }
      std::printf("%s]\n", out.c_str());
      return 0;
    }
    Status revoked = identity.RevokeToken(user_id, token_id);
    if (!revoked.ok()) return FailWith(revoked.error());
    std::printf("{\"revoked\":%lld}\n", static_cast<long long>(token_id));
    return 0;
  });
}
