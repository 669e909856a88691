// Prometheus metrics for HTTP traffic: a request counter by route, method and status, and a
// latency histogram by route and method. Routes are patterns, never raw paths, so the number
// of series is bounded by the number of routes. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace finsync::http {

class Metrics {
 public:
  static constexpr std::array<double, 14> kBucketBoundsSeconds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void ObserveRequest(std::string_view route, std::string_view method, unsigned status,
                      double duration_seconds);
  // The text exposition format (version 0.0.4).
  std::string Render() const;

 private:
  struct Histogram {
    std::array<uint64_t, kBucketBoundsSeconds.size()> bucket_counts{};
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, unsigned>, uint64_t, std::less<>>
      request_counts_;                                                  // GUARDED_BY(mutex_)
  std::map<std::pair<std::string, std::string>, Histogram> latencies_;  // GUARDED_BY(mutex_)
};

}  // namespace finsync::http
