#pragma once
// The OpenAI-compatible HTTP server (cpp-httplib): routes, API-key check, CORS, access log, error
// bodies in OpenAI's shape. It listens before the model is loaded (/health answers 503 until
// set_backend) and knows the engine only through the Backend interface.
#include <cstdint>
#include <memory>

#include "server/backend.h"
#include "server/server_state.h"

namespace gemma4::server {

class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: any free port) and returns the port. Throws gemma4::Error.
  int bind();
  // Serves until stop(); run it on its own thread.
  void serve();
  // The model is ready: completions are served and /health answers 200.
  void set_backend(std::shared_ptr<Backend> backend);
  // New completions get 503 and /health says "shutting_down"; running ones continue.
  void begin_shutdown();
  int64_t in_flight() const;
  // Closes the listening socket and ends open streams; serve() returns.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gemma4::server
