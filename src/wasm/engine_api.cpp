// The C API that the JS package (web/engine/) calls. Every call returns at once: the work runs on
// its own thread, and the answer comes back to the JS thread that hosts the module through
// Module.gemma4Reply(call, json) / Module.gemma4Token(call, json). That thread never blocks, so
// file reads that other threads proxy to it (emscripten's file system) always make progress.
#include <emscripten.h>
#include <emscripten/threading.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "gemma4/engine.h"
#include "gemma4/model.h"
#include "io/model_file.h"
#include "gemma4/output_parser.h"
#include "wasm/chat_request.h"
#include "wasm/js_forward_backend.h"

namespace {

using nlohmann::json;

std::mutex engines_mutex;
std::map<int, std::shared_ptr<gemma4::Engine>> engines;
int next_engine = 1;

// Calls whose caller asked to stop (a stream left early, an AbortSignal): their token callback
// returns false, which cancels the request within one engine step.
std::mutex cancelled_mutex;
std::set<int> cancelled_calls;

bool is_cancelled(int call) {
  std::lock_guard<std::mutex> lock(cancelled_mutex);
  return cancelled_calls.count(call) != 0;
}

// Hands `message` to the JS thread; it frees the copy after reading it.
void post(bool token, int call, const json& message) {
  const std::string text = message.dump(-1, ' ', false, json::error_handler_t::replace);
  char* copy = static_cast<char*>(std::malloc(text.size() + 1));
  std::memcpy(copy, text.c_str(), text.size() + 1);
  MAIN_THREAD_ASYNC_EM_ASM(
      {
        var text = UTF8ToString($2);
        _free($2);
        if ($0) Module["gemma4Token"]($1, text);
        else Module["gemma4Reply"]($1, text);
      },
      token ? 1 : 0, call, copy);
}

void post_error(int call, const std::string& code, const std::string& message) {
  post(false, call, {{"error", {{"code", code}, {"message", message}}}});
}

std::shared_ptr<gemma4::Engine> engine_of(int handle) {
  std::lock_guard<std::mutex> lock(engines_mutex);
  auto it = engines.find(handle);
  return it == engines.end() ? nullptr : it->second;
}

// Runs `work` on a new thread, turning its exceptions into an error reply.
template <typename Work>
void run_detached(int call, Work work) {
  std::thread([call, work = std::move(work)]() mutable {
    try {
      work();
    } catch (const gemma4::EngineError& e) {
      post_error(call, gemma4::error_kind_name(e.kind()), e.what());
    } catch (const gemma4::wasm::RequestError& e) {
      post_error(call, "bad_request", e.what());
    } catch (const gemma4::Error& e) {
      post_error(call, "model_error", e.what());
    } catch (const std::exception& e) {
      post_error(call, "internal_error", e.what());
    }
  }).detach();
}

// options.dtype; without it a model file's own weight type (io/model_file.h), else f32.
std::string dtype_of(const std::string& dir, const json& options) {
  if (options.contains("dtype") && options["dtype"].is_string()) return options["dtype"].get<std::string>();
  return gemma4::io::is_model_file(dir) ? gemma4::io::ModelFile::open(dir).weight_type() : std::string("f32");
}

void open_engine(int call, const std::string& dir, const std::string& options_text) {
  const json options = json::parse(options_text, nullptr, false);
  if (options.is_discarded() || !options.is_object())
    throw gemma4::wasm::RequestError("engine options are not a JSON object");
  gemma4::EngineOptions o;
  o.dtype = dtype_of(dir, options);
  o.kv_type = options.value("kv_type", std::string("f32"));
  o.threads = options.value("threads", 2);
  o.parallel = options.value("parallel", 1);
  o.max_context = options.value("max_context", int64_t{2048});
  o.weight_cache = false;  // the wasm file system is not where converted weights should persist
  const std::string device = options.value("device", std::string("cpu"));
  if (device == "webgpu")
    o.forward_backend = gemma4::wasm::make_js_forward_backend(options.value("gpu", 0), gemma4::load_model_config(dir).vocab_size);
  else if (device != "cpu")
    throw gemma4::wasm::RequestError("unknown device '" + device + "' (choose cpu or webgpu)");
  auto engine = gemma4::Engine::open(dir, o);
  int handle;
  {
    std::lock_guard<std::mutex> lock(engines_mutex);
    handle = next_engine++;
    engines[handle] = engine;
  }
  post(false, call, {{"handle", handle}, {"model", engine->model_name()}, {"device", device}, {"dtype", o.dtype},
                     {"warnings", engine->warnings()}});
}

// The logits of every position of a token sequence, written as little-endian float32 [T, vocab]
// to options.out (the `gemma4 logits` contract; Node's file system under NODERAWFS).
void logits(int call, const std::string& dir, const std::string& options_text) {
  const json options = json::parse(options_text, nullptr, false);
  if (options.is_discarded() || !options.is_object() || !options.contains("tokens") || !options["tokens"].is_array())
    throw gemma4::wasm::RequestError("logits options need { tokens: [ids], out: 'file' }");
  const std::vector<int32_t> tokens = options["tokens"].get<std::vector<int32_t>>();
  if (tokens.empty()) throw gemma4::wasm::RequestError("no tokens given");
  const int64_t chunk = options.value("chunk", static_cast<int64_t>(tokens.size()));
  if (chunk <= 0) throw gemma4::wasm::RequestError("the prefill chunk must be positive");
  gemma4::ModelOptions mo;
  mo.dtype = dtype_of(dir, options);
  mo.threads = options.value("threads", 2);
  mo.weight_cache = false;
  auto model = gemma4::Model::load(dir, mo);
  gemma4::SessionOptions so;
  so.max_context = static_cast<int64_t>(tokens.size());
  so.max_chunk = chunk;
  so.kv_type = options.value("kv_type", std::string("f32"));
  gemma4::Session session(model, so);
  std::vector<float> all;
  session.append_all_logits(tokens, chunk, all);
  const std::string out = options.value("out", std::string());
  std::ofstream f(out, std::ios::binary);
  if (!f) throw gemma4::Error("cannot write " + out);
  f.write(reinterpret_cast<const char*>(all.data()), static_cast<std::streamsize>(all.size() * sizeof(float)));
  if (!f.flush()) throw gemma4::Error("writing " + out + " failed");
  post(false, call, {{"rows", tokens.size()}, {"vocab", model->config().vocab_size}});
}

void chat(int call, int handle, const std::string& request_text) {
  auto engine = engine_of(handle);
  if (!engine) throw gemma4::wasm::RequestError("the engine is closed");
  gemma4::wasm::ChatRequest chat = gemma4::wasm::parse_chat_request(request_text, *engine);
  gemma4::OutputParser parser;
  auto emit = [&](const std::vector<gemma4::OutputEvent>& events) {
    for (const auto& e : events) {
      if (e.kind == gemma4::OutputEventKind::content && !e.text.empty() && chat.stream)
        post(true, call, {{"content", e.text}});
      if (e.kind == gemma4::OutputEventKind::reasoning && !e.text.empty() && chat.stream)
        post(true, call, {{"reasoning", e.text}});
    }
  };
  gemma4::RequestResult r = engine->generate(std::move(chat.request), [&](const gemma4::TokenEvent& e) {
    if (chat.stream && e.token >= 0) post(true, call, {{"token", e.token}});
    emit(parser.push(e.text));
    return !is_cancelled(call);
  });
  emit(parser.finish());
  {
    std::lock_guard<std::mutex> lock(cancelled_mutex);
    cancelled_calls.erase(call);
  }
  if (r.error) throw *r.error;
  const gemma4::ParsedOutput parsed = gemma4::parse_output(r.text);
  json tool_calls = json::array();
  for (const auto& tc : parsed.tool_calls)
    tool_calls.push_back({{"name", tc.name}, {"arguments", tc.arguments.dump()}});
  post(false, call,
       {{"content", parsed.content},
        {"reasoning", parsed.reasoning},
        {"tool_calls", tool_calls},
        {"tokens", r.tokens},
        {"text", r.text},
        {"finish_reason", tool_calls.empty() ? gemma4::finish_reason_name(r.finish) : "tool_calls"},
        {"prompt_tokens", r.prompt_tokens},
        {"completion_tokens", r.completion_tokens}});
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE void gemma4_open(int call, const char* dir, const char* options_json) {
  std::string d = dir, o = options_json;
  run_detached(call, [call, d, o] { open_engine(call, d, o); });
}

EMSCRIPTEN_KEEPALIVE void gemma4_logits(int call, const char* dir, const char* options_json) {
  std::string d = dir, o = options_json;
  run_detached(call, [call, d, o] { logits(call, d, o); });
}

EMSCRIPTEN_KEEPALIVE void gemma4_chat(int call, int handle, const char* request_json) {
  std::string r = request_json;
  run_detached(call, [call, handle, r] { chat(call, handle, r); });
}

// Stops the completion started by call `call` (no effect once it finished).
EMSCRIPTEN_KEEPALIVE void gemma4_cancel(int call) {
  std::lock_guard<std::mutex> lock(cancelled_mutex);
  cancelled_calls.insert(call);
}

// Shutting down joins the engine's threads: done off the JS thread, answered when finished.
EMSCRIPTEN_KEEPALIVE void gemma4_close(int call, int handle) {
  std::shared_ptr<gemma4::Engine> engine;
  {
    std::lock_guard<std::mutex> lock(engines_mutex);
    auto it = engines.find(handle);
    if (it != engines.end()) {
      engine = std::move(it->second);
      engines.erase(it);
    }
  }
  run_detached(call, [call, engine]() mutable {
    if (engine) engine->shutdown();
    engine.reset();
    post(false, call, {{"closed", true}});
  });
}

}  // extern "C"
