#pragma once
// What the HTTP handlers share: options, metrics, the backend once loaded, the shutdown flag,
// and the helpers that write JSON and OpenAI-shaped errors.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/backend.h"
#include "server/connection_stream.h"
#include "server/metrics.h"

namespace gemma4::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;      // empty: no authentication
  std::string cors_origin;  // empty: no CORS headers
  std::string model_alias;  // the model id clients see and may send; empty: the model folder's name
  size_t max_body_bytes = 8u << 20;
  int http_threads = 64;    // requests read, handled and answered at once (streams hold one each)
  int max_connections = 512;  // open connections, idle kept-alive ones included; more get 503
  std::chrono::milliseconds keep_alive{5000};  // idle kept-alive connections are closed after this
  StreamTimeouts timeouts;  // per read, per write, and for a whole request to arrive
  bool webui = true;        // serve the chat page at / (--no-webui: / is a 404)
};

class ServerState {
 public:
  explicit ServerState(ServerOptions options) : options_(std::move(options)) {}

  const ServerOptions& options() const { return options_; }
  Metrics& metrics() { return metrics_; }

  // Null while the model loads.
  std::shared_ptr<Backend> backend() const {
    std::lock_guard lock(mutex_);
    return backend_;
  }
  void set_backend(std::shared_ptr<Backend> backend) {
    std::lock_guard lock(mutex_);
    backend_ = std::move(backend);
  }
  // The model id responses carry: the alias, else the folder name.
  std::string served_model_name() const;

  std::atomic<bool> shutting_down{false};
  std::atomic<int64_t> in_flight{0};  // completion requests still producing output

 private:
  ServerOptions options_;
  Metrics metrics_;
  mutable std::mutex mutex_;
  std::shared_ptr<Backend> backend_;
};

// Counts a completion request in flight for as long as the guard lives (streams outlive handlers).
class InFlightGuard {
 public:
  explicit InFlightGuard(ServerState& state) : state_(state) { ++state_.in_flight; }
  ~InFlightGuard() { --state_.in_flight; }
  InFlightGuard(const InFlightGuard&) = delete;
  InFlightGuard& operator=(const InFlightGuard&) = delete;

 private:
  ServerState& state_;
};

void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void send_error(httplib::Response& res, const ApiError& error);
// The request body as a JSON object, or a 400 saying why it is not one.
nlohmann::json parse_json_body(const httplib::Request& req);

}  // namespace gemma4::server
