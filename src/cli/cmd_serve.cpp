// gemma4 serve: the OpenAI-compatible HTTP server. It listens at once (/health answers 503 while
// the model loads on a background thread), serves until SIGINT/SIGTERM, then drains: new requests
// get 503, running ones have a grace period, then the engine cancels the rest.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/generation_flags.h"
#include "cli/model_source.h"
#include "gemma4/engine.h"
#include "gemma4/error.h"
#include "server/backend.h"
#include "server/heap_trim.h"
#include "server/http_server.h"

namespace gemma4::cli {
namespace {

struct ServeArgs {
  std::string model;
  server::ServerOptions server;
  EngineOptions engine;
  bool dtype_given = false;  // else a model file loads in its own weight type
  std::string api_key_file;
  double drain_seconds = 10;
};

std::string read_api_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("--api-key-file: cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) throw Error("--api-key-file: " + path + " is empty");
  return key;
}

// Signals are taken synchronously on the main thread (sigwait); every other thread, created
// after this, inherits the blocked mask. SIGUSR1 is the loader's "loading failed".
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server
  return set;
}

// Every open connection is a descriptor: raise the soft limit if it would not hold them all.
void allow_connections(int max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + 128;  // model files, logs, epoll
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = std::min(wanted, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
}

// Waits up to `seconds` for running completions to finish; a second signal cuts it short.
void drain(server::HttpServer& http, const sigset_t& signals, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (http.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    const timespec tick{0, 100'000'000};
    if (sigtimedwait(&signals, nullptr, &tick) > 0) break;
  }
}

void serve(ServeArgs& a) {
  server::bound_heap_retention();  // large request buffers go back to the system when freed
  if (!a.api_key_file.empty()) a.server.api_key = read_api_key(a.api_key_file);
  if (a.server.model_alias.empty() && is_hub_id(a.model)) a.server.model_alias = a.model;  // not the commit folder's name
  // Each open stream holds an HTTP worker: room for every running and queued request, plus some.
  a.server.http_threads = static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(32, a.engine.parallel + a.engine.max_queue + 16)));
  allow_connections(a.server.max_connections);
  const sigset_t signals = block_signals();

  server::HttpServer http(a.server);
  const int port = http.bind();
  std::fprintf(stderr, "gemma4 serve: listening on http://%s:%d (loading %s)\n", a.server.host.c_str(), port,
               a.model.c_str());
  std::thread http_thread([&] { http.serve(); });

  std::shared_ptr<Engine> engine;
  std::exception_ptr load_error;
  std::atomic<bool> loaded{false};
  std::thread loader([&] {
    try {
      const std::filesystem::path dir = model_folder(a.model);  // a Hub id downloads here, /health says loading
      adopt_model_file_dtype(dir, a.dtype_given, a.engine.dtype);
      engine = Engine::open(dir, a.engine);
      for (const std::string& warning : engine->warnings()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
      http.set_backend(server::make_engine_backend(engine));
      loaded = true;
      std::fprintf(stderr, "gemma4 serve: model %s ready (%s, context %lld, %d parallel)\n", engine->model_name().c_str(),
                   a.engine.dtype.c_str(), static_cast<long long>(a.engine.max_context), a.engine.parallel);
    } catch (...) {
      load_error = std::current_exception();
      kill(getpid(), SIGUSR1);
    }
  });

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  if (signal_number == SIGUSR1) {
    loader.join();
    http.stop();
    http_thread.join();
    std::rethrow_exception(load_error);
  }
  if (!loaded) {
    // Loading cannot be interrupted and nothing is being served yet: leave at once.
    std::fprintf(stderr, "gemma4 serve: interrupted while loading\n");
    std::_Exit(130);
  }
  loader.join();
  std::fprintf(stderr, "gemma4 serve: shutting down (%lld requests in flight)\n", static_cast<long long>(http.in_flight()));
  http.begin_shutdown();
  drain(http, signals, a.drain_seconds);
  engine->shutdown();  // cancels whatever is left; its streams end now
  http.stop();
  http_thread.join();
  std::fprintf(stderr, "gemma4 serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (chat and text completions)");
  add_model_option(*cmd, a->model);
  cmd->add_flag_callback("--no-weight-cache", [a] { a->engine.weight_cache = false; }, "Do not read or write the weight cache");
  cmd->add_option("--host", a->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", a->server.port, "Port to listen on (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--parallel", a->engine.parallel, "Requests computed at once (continuous batching)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--ctx,-c", a->engine.max_context, "Context limit per request in tokens")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  cmd->add_option("--dtype", a->engine.dtype, "Weight type: f32 (exact), bf16, f16, q8_0, q4_0 (a model file: its own)")
      ->check(CLI::IsMember({"f32", "bf16", "f16", "q8_0", "q4_0"}))
      ->each([a](const std::string&) { a->dtype_given = true; })
      ->capture_default_str();
  cmd->add_option("--kv-type", a->engine.kv_type, "KV cache type: f32, f16, bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--threads,-t", a->engine.threads, "Worker threads (0 = all cores)")->check(thread_count());
  auto* key = cmd->add_option("--api-key", a->server.api_key, "Require 'Authorization: Bearer KEY'");
  cmd->add_option("--api-key-file", a->api_key_file, "Read the API key from this file")->excludes(key);
  cmd->add_option("--max-queue", a->engine.max_queue, "Waiting requests beyond --parallel; more get 429")
      ->check(CLI::Range(int64_t{0}, kMaxInt))
      ->capture_default_str();
  cmd->add_option("--cors-origin", a->server.cors_origin, "Allow browser requests from this origin ('*' for any)");
  cmd->add_option("--kv-budget", a->engine.kv_budget_bytes, "KV pool size in bytes (0: --parallel full contexts)")
      ->check(integer_in(0, int64_t{1} << 50));
  add_draft_flag(*cmd, a->engine.draft_tokens);
  add_step_tokens_flag(*cmd, a->engine.step_tokens);
  cmd->add_flag_callback("--no-webui", [a] { a->server.webui = false; }, "Do not serve the chat page at /");
  cmd->add_option("--model-alias", a->server.model_alias, "Model id reported to and accepted from clients");
  cmd->add_option("--max-body", a->server.max_body_bytes, "Largest request body in bytes (bigger: 413)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 32))
      ->capture_default_str();
  // httplib's request parser cannot take descriptors past select()'s 1024, so neither can this.
  cmd->add_option("--max-connections", a->server.max_connections,
                  "Open connections, idle kept-alive ones included; more get 503 at once")
      ->check(CLI::Range(1, 960))
      ->capture_default_str();
  cmd->add_option("--drain-seconds", a->drain_seconds, "Grace period for running requests on shutdown")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->callback([a] { serve(*a); });
}

}  // namespace gemma4::cli
