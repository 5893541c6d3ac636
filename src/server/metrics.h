#pragma once
// Prometheus metrics: latency histograms the HTTP layer observes from token callbacks (time to
// first token, inter-token latency), HTTP request counts by status, and the engine's own gauges
// and counters (EngineStats) rendered in the text exposition format.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gemma4/engine.h"

namespace gemma4::server {

// Cumulative histogram with fixed upper bounds (seconds). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // "# HELP/# TYPE" header plus _bucket{le=…}, _sum and _count lines.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// The HTTP layer's connections, kept by ConnectionServer.
struct ConnectionCounters {
  std::atomic<int64_t> open{0};      // connections open now, idle ones included
  std::atomic<uint64_t> refused{0};  // connections answered 503 for exceeding the limit
};

class Metrics {
 public:
  Metrics();
  void observe_time_to_first_token(double seconds) { ttft_.observe(seconds); }
  void observe_inter_token_latency(double seconds) { itl_.observe(seconds); }
  void count_http_request(int status);
  // A request whose headers or body never fully arrived: the client closed, failed or stalled.
  // Counted apart from the answered statuses (httplib answers it 400 if the socket is still open).
  void count_aborted_request() { ++aborted_requests_; }
  ConnectionCounters& connections() { return connections_; }

  // The whole exposition; engine metrics only when the model is loaded.
  std::string render(const std::optional<EngineStats>& stats) const;

 private:
  Histogram ttft_, itl_;
  mutable std::mutex mutex_;
  std::map<int, uint64_t> http_requests_;  // by status code
  std::atomic<uint64_t> aborted_requests_{0};
  ConnectionCounters connections_;
};

}  // namespace gemma4::server
