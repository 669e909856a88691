// The ceiling for bench/http_load.sh: the same finsync::http::Server and Router as
// `finsync serve`, answering `GET /hello` with a constant JSON body. No authentication, no
// store, no metrics and no access log, so the difference between this server and finsync under
// the same load is the cost of everything finsync adds on top of HTTP.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "http/message.h"
#include "http/router.h"
#include "http/server.h"

namespace {

// Mirrors the shape of app::Application::State::Dispatch without its error rendering: the
// benchmark only ever requests the one route.
void Dispatch(const finsync::http::Router& router, finsync::http::Request& request,
              finsync::http::Response& response) {
  finsync::http::RouteMatch match = router.Match(request.method, request.path);
  request.route = match.pattern;
  if (match.outcome == finsync::http::RouteMatch::Outcome::kNotFound) {
    return response.Json(404, R"({"error":"not found"})");
  }
  if (match.outcome == finsync::http::RouteMatch::Outcome::kMethodNotAllowed) {
    response.Json(405, R"({"error":"method not allowed"})");
    response.SetHeader("Allow", match.allow);
    return;
  }
  request.path_params = std::move(match.params);
  (*match.handler)(request, response);
}

}  // namespace

int main(int argc, char** argv) {
  finsync::http::ServerOptions options;
  CLI::App cli{"hello_server: the bare Beast ceiling for bench/http_load.sh"};
  cli.add_option("--host", options.host, "Address to listen on")->capture_default_str();
  cli.add_option("--port", options.port, "Port to listen on (0 picks one)")->capture_default_str();
  cli.add_option("--threads", options.thread_count, "Worker threads (0: one per core)")
      ->capture_default_str();
  CLI11_PARSE(cli, argc, argv);

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  finsync::http::Router router;
  router.Add("GET", "/hello", [](finsync::http::Request&, finsync::http::Response& response) {
    response.Json(200, R"({"hello":"world"})");
  });
  finsync::http::Server server(
      options,
      [&router](finsync::http::Request& request, finsync::http::Response& response) {
        Dispatch(router, request, response);
      },
      nullptr);
  finsync::Status started = server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "hello_server: %s\n", started.error().detail.c_str());
    return 1;
  }
  std::fprintf(stderr, "hello_server listening on http://%s:%u\n", options.host.c_str(),
               static_cast<unsigned>(server.port()));

  int received = 0;
  sigwait(&signals, &received);
  std::fprintf(stderr, "hello_server: signal %d received, stopping\n", received);
  server.Stop();
  return 0;
}
