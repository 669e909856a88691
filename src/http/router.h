// Routes a method and path to a handler. Patterns are literal segments and `{name}`
// parameters ("/api/v1/tokens/{id}"); literal segments win over parameters.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace finsync::http {

using Handler = std::function<void(Request&, Response&)>;

struct RouteMatch {
  enum class Outcome { kFound, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  const Handler* handler = nullptr;
  std::string pattern;
  std::vector<std::pair<std::string, std::string>> params;
  std::string allow;  // "GET, POST" for kMethodNotAllowed.
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Registers a route; registering the same method and pattern twice is a programmer error.
  void Add(std::string_view method, std::string_view pattern, Handler handler);
  RouteMatch Match(std::string_view method, std::string_view path) const;

  struct RouteInfo {
    std::string method;
    std::string pattern;
  };
  // Every registered route, for the OpenAPI document and its tests.
  const std::vector<RouteInfo>& routes() const { return routes_; }

 private:
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> literal_children;
    std::unique_ptr<Node> parameter_child;
    std::string parameter_name;
    std::map<std::string, Handler, std::less<>> handlers;  // By method.
    std::string pattern;
  };
  std::unique_ptr<Node> root_;
  std::vector<RouteInfo> routes_;
};

}  // namespace finsync::http
