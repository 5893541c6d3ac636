#include "server/http_server.h"

#include <chrono>
#include <atomic>
#include <cstdio>
#include <thread>

#include "gemma4/error.h"
#include "server/completion_routes.h"
#include "server/connection_server.h"
#include "server/info_routes.h"
#include "server/openai_json.h"
#include "server/webui_routes.h"

namespace gemma4::server {
namespace {

using Request = httplib::Request;
using Response = httplib::Response;
using Clock = std::chrono::steady_clock;

// The access log's request start: handlers run on the connection's worker thread from the
// pre-routing hook to the logger, so a thread-local carries it.
thread_local std::optional<Clock::time_point> t_request_started;

// Compares every byte whatever the first difference, so timing does not reveal the key's prefix.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The chat page holds no secret, so it loads without the key; the requests it makes carry it.
bool is_public_page(const ServerOptions& options, const Request& req) {
  return options.webui && (req.method == "GET" || req.method == "HEAD") && find_webui_file(req.path) != nullptr;
}

bool authorised(const ServerOptions& options, const Request& req) {
  if (options.api_key.empty() || is_public_page(options, req)) return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header.starts_with(kBearer)) return false;
  return constant_time_equal(header.substr(kBearer.size()), options.api_key);
}

// Runs a handler, turning every error into an OpenAI-shaped body: client mistakes are 4xx,
// only a broken server is a 500.
template <typename Fn>
void guarded(Response& res, Fn&& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const EngineError& e) {
    send_error(res, from_engine_error(e));
  } catch (const nlohmann::json::exception& e) {
    send_error(res, invalid_request(std::string("Invalid request: ") + e.what()));
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, std::string("Internal server error: ") + e.what(), "server_error"));
  }
}

ConnectionLimits connection_limits(const ServerOptions& o) {
  ConnectionLimits limits;
  limits.workers = o.http_threads;
  limits.max_connections = o.max_connections;
  limits.max_skipped_body = o.max_body_bytes;
  limits.keep_alive = o.keep_alive;
  limits.timeouts = o.timeouts;
  return limits;
}

// The whole answer to a connection over the limit, sent before its request is read.
std::string refusal_response() {
  ApiError e(503, "The server has too many open connections; try again shortly.", "server_error", "",
             "too_many_connections");
  const std::string body = to_json_text(error_body(e));
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
         "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

struct HttpServer::Impl {
  explicit Impl(ServerOptions options)
      : state(std::move(options)),
        http(connection_limits(state.options()), state.metrics().connections(), refusal_response()) {}

  void install();
  void install_middleware();
  void install_routes();
  void log_access(const Request& req, const Response& res);
  // Completion and token routes need the model, and none are accepted during shutdown.
  template <typename Fn>
  httplib::Server::Handler with_backend(Fn fn) {
    return [this, fn](const Request& req, Response& res) {
      guarded(res, [&] {
        if (state.shutting_down) {
          ApiError e(503, "The server is shutting down.", "server_error", "", "shutting_down");
          e.retry_after_seconds = 5;
          throw e;
        }
        const std::shared_ptr<Backend> backend = state.backend();
        if (!backend) {
          ApiError e(503, "The model is still loading; try again shortly.", "server_error", "", "model_loading");
          e.retry_after_seconds = 1;
          throw e;
        }
        fn(backend, req, res);
      });
    };
  }

  ServerState state;
  ConnectionServer http;
  int port = -1;
  std::atomic<bool> serving{false}, stop_requested{false};
};

void HttpServer::Impl::install() {
  http.set_payload_max_length(state.options().max_body_bytes);
  if (!state.options().cors_origin.empty()) {
    http.set_default_headers({{"Access-Control-Allow-Origin", state.options().cors_origin},
                              {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                              {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
                              {"Vary", "Origin"}});
  }
  install_middleware();
  install_routes();
}

void HttpServer::Impl::install_middleware() {
  http.set_pre_routing_handler([this](const Request& req, Response& res) {
    t_request_started = Clock::now();
    if (req.method == "OPTIONS" || req.path == "/health" || authorised(state.options(), req)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    send_error(res, ApiError(401, "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY'.",
                             "invalid_request_error", "", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses httplib sets on its own (unknown route, oversized body) get an OpenAI body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const Request&, Response& res) {
    if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, error_for_status(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    send_error(res, ApiError(500, "Internal server error", "server_error"));
  });
  http.set_logger([this](const Request& req, const Response& res) { log_access(req, res); });
}

void HttpServer::Impl::install_routes() {
  http.Get("/health", [this](const Request&, Response& res) { handle_health(state, res); });
  http.Get("/metrics", [this](const Request&, Response& res) { guarded(res, [&] { handle_metrics(state, res); }); });
  http.Get("/v1/models", with_backend([this](const std::shared_ptr<Backend>& b, const Request&, Response& res) {
             handle_models(state, *b, res);
           }));
  http.Get(R"(/v1/models/(.+))", with_backend([this](const std::shared_ptr<Backend>& b, const Request& req, Response& res) {
             handle_model(state, *b, req.matches[1].str(), res);
           }));
  http.Post("/v1/chat/completions",
            with_backend([this](const std::shared_ptr<Backend>& b, const Request& req, Response& res) {
              handle_chat_completions(state, b, req, res);
            }));
  http.Post("/v1/completions", with_backend([this](const std::shared_ptr<Backend>& b, const Request& req, Response& res) {
              handle_completions(state, b, req, res);
            }));
  http.Post("/tokenize", with_backend([](const std::shared_ptr<Backend>& b, const Request& req, Response& res) {
              handle_tokenize(*b, req, res);
            }));
  http.Post("/detokenize", with_backend([](const std::shared_ptr<Backend>& b, const Request& req, Response& res) {
              handle_detokenize(*b, req, res);
            }));
  http.Options(R"(.*)", [](const Request&, Response& res) { res.status = 204; });
  if (state.options().webui) install_webui_routes(http);
}

void HttpServer::Impl::log_access(const Request& req, const Response& res) {
  // A request cut short (client gone or stalled mid-body) is httplib's 400 but no client mistake.
  const bool aborted = ConnectionServer::current_request_cut_short();
  if (aborted) {
    state.metrics().count_aborted_request();
  } else {
    state.metrics().count_http_request(res.status);
  }
  double ms = 0;
  if (t_request_started) ms = std::chrono::duration<double, std::milli>(Clock::now() - *t_request_started).count();
  t_request_started.reset();
  const std::string status = aborted ? "aborted" : std::to_string(res.status);
  std::fprintf(stderr, "%s:%d \"%s %s\" %s %.1f ms%s\n", req.remote_addr.c_str(), req.remote_port, req.method.c_str(),
               req.path.c_str(), status.c_str(), ms, res.content_provider_ ? " (stream)" : "");
}

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) { impl_->install(); }

HttpServer::~HttpServer() { stop(); }

int HttpServer::bind() {
  const ServerOptions& o = impl_->state.options();
  impl_->port = o.port == 0 ? impl_->http.bind_to_any_port(o.host) : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (impl_->port < 0) {
    throw Error("cannot listen on " + o.host + ":" + std::to_string(o.port) + " (address in use or not available)");
  }
  impl_->http.widen_backlog();
  return impl_->port;
}

void HttpServer::serve() {
  impl_->serving = true;
  if (!impl_->stop_requested) impl_->http.listen_after_bind();
  impl_->http.close_connections();
  impl_->serving = false;
}

void HttpServer::set_backend(std::shared_ptr<Backend> backend) { impl_->state.set_backend(std::move(backend)); }

void HttpServer::begin_shutdown() { impl_->state.shutting_down = true; }

int64_t HttpServer::in_flight() const { return impl_->state.in_flight; }

void HttpServer::stop() {
  impl_->stop_requested = true;
  // httplib's stop() does nothing until listening has begun: wait out a serve() just starting.
  while (impl_->serving && !impl_->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}

}  // namespace gemma4::server
