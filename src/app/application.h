// The composition root: reads configuration, opens the store, builds services, wires the
// router and middleware into the HTTP server. The only place that knows every module.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/router.h"
#include "http/server.h"
#include "identity/identity.h"

namespace finsync::app {

struct ServeOptions {
  std::string database_url = "finsync.db";
  http::ServerOptions server;
  std::string access_log = "stdout";  // "stdout", "off" or a file path.
  identity::Mode mode = identity::Mode::kSandbox;
  int reader_count = 0;      // 0: thread count + 1.
  bool demo = false;         // Create a demo user and print a fresh token at start-up.
  int job_worker_count = 2;  // Threads running durable jobs (syncs, clean-up).
  // How long the jobs of a process that died stay claimed before another worker takes them.
  int64_t job_lease_ms = 60'000;
  // The URL users reach this server at, for links such as the sandbox consent page.
  // Default: http://<host>:<port>.
  std::string public_url;
  int64_t rate_limit_read_per_minute = 600;  // 0 disables the class.
  int64_t rate_limit_write_per_minute = 120;
  int64_t rate_limit_sync_per_minute = 10;
  int64_t idempotency_retention_days = 7;
  int64_t idempotency_wait_ms = 10'000;
  // Plan limits of rules, per user.
  int64_t rule_conditions_max = 5;
  int64_t rule_actions_max = 5;
  int64_t rules_per_target_max = 10;
  // Sandbox mode only: run the server's clock this far ahead of the system clock.
  int64_t clock_offset_seconds = 0;
  // YNAB's API base URL (tests point it at a fake).
  std::string ynab_url = "https://api.ynab.com/v1";
  // Requests finsync sends per YNAB token per rolling hour (YNAB allows 200).
  int64_t ynab_requests_per_hour = 200;
  // The key that seals stored secrets (destination tokens and secrets): FINSYNC_SECRET_KEY
  // (base64 of 32 bytes), else this file, else "<database file>.key" (created on first start).
  std::string secret_key_file;
  // Let outbound requests (destinations, webhooks) reach private and loopback addresses.
  bool allow_private_destinations = false;
  std::string lunch_money_url = "https://dev.lunchmoney.app";
  // Divides every webhook retry delay (tests only; 1 in production).
  int64_t webhook_retry_speedup = 1;
  // SimpleFIN server: GET /accounts requests per access per day (0: unlimited), and how long
  // an unclaimed setup token stays valid.
  int64_t simplefin_requests_per_day = 96;
  int64_t simplefin_setup_token_ttl_hours = 24;
  // Start() wires every service and route, then returns without listening (`finsync routes`).
  bool routes_only = false;
};

class Application {
 public:
  explicit Application(ServeOptions options);
  ~Application();
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  // Opens the store, registers routes and starts listening.
  Status Start();
  uint16_t port() const;
  // Graceful: finishes in-flight requests, then closes the store.
  void Stop();

  // With ServeOptions::demo: the demo user and the token created for it at start-up.
  const std::string& demo_email() const;
  const std::string& demo_token() const;
  // Every registered route (after Start()).
  const std::vector<http::Router::RouteInfo>& routes() const;

 private:
  Status CreateDemoToken();
  Status StartBanking();
  Status StartWebhooks();
  Status OpenSecrets();
  Status StartLunchMoney();
  Status StartYnab();

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace finsync::app
