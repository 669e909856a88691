#include "http/metrics.h"

#include <cstdio>

namespace finsync::http {

namespace {

// Label values are route patterns and methods; escape anyway so the output stays valid.
std::string EscapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string FormatDouble(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

}  // namespace

void Metrics::ObserveRequest(std::string_view route, std::string_view method, unsigned status,
                             double duration_seconds) {
  std::string route_label = route.empty() ? "unmatched" : std::string(route);
  std::lock_guard lock(mutex_);
  ++request_counts_[std::make_tuple(route_label, std::string(method), status)];
  Histogram& histogram = latencies_[{route_label, std::string(method)}];
  for (size_t i = 0; i < kBucketBoundsSeconds.size(); ++i) {
    if (duration_seconds <= kBucketBoundsSeconds[i]) ++histogram.bucket_counts[i];
  }
  ++histogram.count;
  histogram.sum_seconds += duration_seconds;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out +=
      "# HELP finsync_http_requests_total HTTP requests answered, by route, method and status.\n";
  out += "# TYPE finsync_http_requests_total counter\n";
  for (const auto& [key, count] : request_counts_) {
    const auto& [route, method, status] = key;
    out += "finsync_http_requests_total{route=\"" + EscapeLabel(route) + "\",method=\"" +
           EscapeLabel(method) + "\",status=\"" + std::to_string(status) + "\"} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP finsync_http_request_duration_seconds Time from request read to response.\n";
  out += "# TYPE finsync_http_request_duration_seconds histogram\n";
  for (const auto& [key, histogram] : latencies_) {
    std::string labels =
        "route=\"" + EscapeLabel(key.first) + "\",method=\"" + EscapeLabel(key.second) + "\"";
    for (size_t i = 0; i < kBucketBoundsSeconds.size(); ++i) {
      out += "finsync_http_request_duration_seconds_bucket{" + labels + ",le=\"" +
             FormatDouble(kBucketBoundsSeconds[i]) + "\"} " +
             std::to_string(histogram.bucket_counts[i]) + "\n";
    }
    out += "finsync_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(histogram.count) + "\n";
    out += "finsync_http_request_duration_seconds_sum{" + labels + "} " +
           FormatDouble(histogram.sum_seconds) + "\n";
    out += "finsync_http_request_duration_seconds_count{" + labels + "} " +
           std::to_string(histogram.count) + "\n";
  }
  return out;
}

}  // namespace finsync::http
