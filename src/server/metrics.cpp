#include "server/metrics.h"

#include <sstream>

namespace gemma4::server {
namespace {

std::string format_bound(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void metric(std::ostringstream& out, const char* name, const char* type, const char* help, int64_t value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
}

void engine_metrics(std::ostringstream& out, const EngineStats& s) {
  metric(out, "gemma4_requests_running", "gauge", "Requests being computed.", s.running);
  metric(out, "gemma4_requests_waiting", "gauge", "Requests waiting in the queue.", s.waiting);
  metric(out, "gemma4_kv_blocks_total", "gauge", "KV cache blocks in the pool.", s.kv_blocks_total);
  metric(out, "gemma4_kv_blocks_used", "gauge", "KV cache blocks held by requests.", s.kv_blocks_used);
  metric(out, "gemma4_kv_blocks_cached", "gauge", "Free KV cache blocks still holding a reusable prefix.",
         s.kv_blocks_cached);
  metric(out, "gemma4_prompt_tokens_total", "counter", "Prompt tokens received.", s.prompt_tokens);
  metric(out, "gemma4_generation_tokens_total", "counter", "Tokens generated.", s.generated_tokens);
  metric(out, "gemma4_prompt_tokens_cached_total", "counter", "Prompt tokens served from the prefix cache.",
         s.cached_prompt_tokens);
  metric(out, "gemma4_prefix_cache_hits_total", "counter", "Requests that reused a cached prefix.",
         s.prefix_cache_hits);
  metric(out, "gemma4_prefix_cache_queries_total", "counter", "Prefix cache lookups.", s.prefix_cache_queries);
  metric(out, "gemma4_requests_finished_total", "counter", "Requests finished (any reason).", s.requests_finished);
  metric(out, "gemma4_requests_cancelled_total", "counter", "Requests cancelled.", s.requests_cancelled);
  metric(out, "gemma4_preemptions_total", "counter", "Requests preempted and recomputed.", s.preemptions);
  metric(out, "gemma4_engine_steps_total", "counter", "Engine forward steps.", s.steps);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out << name << "_bucket{le=\"" << format_bound(bounds_[i]) << "\"} " << cumulative << '\n';
  }
  out << name << "_bucket{le=\"+Inf\"} " << count_ << '\n';
  out << name << "_sum " << sum_ << '\n' << name << "_count " << count_ << '\n';
  return out.str();
}

Metrics::Metrics()
    : ttft_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      itl_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}) {}

void Metrics::count_http_request(int status) {
  std::lock_guard lock(mutex_);
  ++http_requests_[status];
}

std::string Metrics::render(const std::optional<EngineStats>& stats) const {
  std::ostringstream out;
  metric(out, "gemma4_model_loaded", "gauge", "1 once the model is loaded and requests are served.", stats ? 1 : 0);
  if (stats) engine_metrics(out, *stats);
  out << ttft_.render("gemma4_time_to_first_token_seconds", "Time from request arrival to its first token.");
  out << itl_.render("gemma4_inter_token_latency_seconds", "Time between consecutive tokens of a request.");
  std::lock_guard lock(mutex_);
  out << "# HELP gemma4_http_requests_total HTTP requests answered, by status code.\n"
         "# TYPE gemma4_http_requests_total counter\n";
  for (const auto& [status, count] : http_requests_) {
    out << "gemma4_http_requests_total{code=\"" << status << "\"} " << count << '\n';
  }
  metric(out, "gemma4_http_requests_aborted_total", "counter",
         "Requests whose headers or body never fully arrived (client closed or stalled); not in gemma4_http_requests_total.",
         static_cast<int64_t>(aborted_requests_.load()));
  metric(out, "gemma4_http_connections_open", "gauge", "Open HTTP connections, idle kept-alive ones included.",
         connections_.open.load());
  metric(out, "gemma4_http_connections_refused_total", "counter",
         "Connections answered 503 because the connection limit was reached.",
         static_cast<int64_t>(connections_.refused.load()));
  return out.str();
}

}  // namespace gemma4::server
