#include "http/router.h"

#include <cassert>
#include <stdexcept>

namespace finsync::http {

namespace {

// Splits "/a/b/c" into {"a","b","c"}; a trailing slash yields no empty final segment.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end;
  }
  return segments;
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

void Router::Add(std::string_view method, std::string_view pattern, Handler handler) {
  Node* node = root_.get();
  for (std::string_view segment : Segments(pattern)) {
    bool is_parameter = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
    if (is_parameter) {
      std::string name(segment.substr(1, segment.size() - 2));
      if (!node->parameter_child) {
        node->parameter_child = std::make_unique<Node>();
        node->parameter_child->parameter_name = name;
      }
      if (node->parameter_child->parameter_name != name) {
        throw std::logic_error("conflicting parameter names at " + std::string(pattern));
      }
      node = node->parameter_child.get();
    } else {
      auto it = node->literal_children.find(segment);
      if (it == node->literal_children.end()) {
        it = node->literal_children.emplace(std::string(segment), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
  }
  if (!node->handlers.emplace(std::string(method), std::move(handler)).second) {
    throw std::logic_error("duplicate route " + std::string(method) + " " + std::string(pattern));
  }
  node->pattern = std::string(pattern);
  routes_.push_back({std::string(method), std::string(pattern)});
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch match;
  const Node* node = root_.get();
  for (std::string_view segment : Segments(path)) {
    auto it = node->literal_children.find(segment);
    if (it != node->literal_children.end()) {
      node = it->second.get();
    } else if (node->parameter_child) {
      node = node->parameter_child.get();
      match.params.emplace_back(node->parameter_name, std::string(segment));
    } else {
      match.params.clear();
      return match;
    }
  }
  if (node->handlers.empty()) {
    match.params.clear();
    return match;
  }
  match.pattern = node->pattern;
  auto handler = node->handlers.find(method);
  // HEAD is served by GET handlers; the server drops the body.
  if (handler == node->handlers.end() && method == "HEAD") handler = node->handlers.find("GET");
  if (handler == node->handlers.end()) {
    match.outcome = RouteMatch::Outcome::kMethodNotAllowed;
    for (const auto& [allowed, unused] : node->handlers) {
      if (!match.allow.empty()) match.allow += ", ";
      match.allow += allowed;
    }
    return match;
  }
  match.outcome = RouteMatch::Outcome::kFound;
  match.handler = &handler->second;
  return match;
}

}  // namespace finsync::http
