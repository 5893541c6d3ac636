#include "server/completion_routes.h"

#include <chrono>
#include <random>

#include "gemma4/error.h"
#include "server/chat_request.h"
#include "server/completion_request.h"
#include "server/completion_run.h"
#include "server/connection_probe.h"
#include "server/heap_trim.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

// How long the HTTP thread waits for tokens before it checks that the client is still there.
constexpr std::chrono::milliseconds kPollInterval(50);

void check_model(const ServerState& state, const Backend& backend, const std::string& requested) {
  if (requested.empty() || requested == state.served_model_name() || requested == backend.model_name()) return;
  throw ApiError(404, "The model '" + requested + "' does not exist; this server serves '" + state.served_model_name() + "'.",
                 "invalid_request_error", "model", "model_not_found");
}

// The prompt's tokens; a prompt over the context limit is refused as soon as that is known, from
// its length alone or part way through, so its cost stays near that of a prompt that fits.
std::vector<int32_t> encode_prompt(const Backend& backend, std::string_view text, const std::string& param) {
  const int64_t limit = backend.max_context();
  BoundedEncoding encoded = backend.encode_at_most(text, static_cast<size_t>(limit));
  if (encoded.exceeded) {
    throw invalid_request("This model's maximum context length is " + std::to_string(limit) +
                              " tokens. However, your prompt has at least " + std::to_string(encoded.at_least) +
                              " tokens. Please reduce the length of the prompt.",
                          param, "context_length_exceeded");
  }
  return std::move(encoded.ids);
}

// OpenAI refuses a prompt that leaves no room, and a max_tokens that does not fit; without
// max_tokens the answer may use the rest of the context.
void fit_context(const Backend& backend, GenerationParams& gen, int64_t prompt_tokens, const std::string& param) {
  const int64_t limit = backend.max_context();
  if (prompt_tokens >= limit) {
    throw invalid_request("This model's maximum context length is " + std::to_string(limit) +
                              " tokens. However, your prompt resulted in " + std::to_string(prompt_tokens) +
                              " tokens. Please reduce the length of the prompt.",
                          param, "context_length_exceeded");
  }
  if (gen.max_tokens_given && prompt_tokens + gen.request.max_tokens > limit) {
    throw invalid_request("This model's maximum context length is " + std::to_string(limit) +
                              " tokens. However, you requested " + std::to_string(prompt_tokens + gen.request.max_tokens) +
                              " tokens (" + std::to_string(prompt_tokens) + " in the prompt, " +
                              std::to_string(gen.request.max_tokens) +
                              " for the completion). Please reduce the prompt or the completion length.",
                          param, "context_length_exceeded");
  }
  if (!gen.max_tokens_given) gen.request.max_tokens = limit - prompt_tokens;
}

uint64_t seed_for(const GenerationParams& gen) {
  if (gen.seed) return *gen.seed;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

TokenText token_text(std::shared_ptr<Backend> backend) {
  return [backend](int32_t token) { return backend->decode(std::span<const int32_t>(&token, 1)); };
}

CompletionPlan base_plan(const ServerState& state, const GenerationParams& gen, Endpoint endpoint) {
  CompletionPlan plan;
  plan.endpoint = endpoint;
  plan.request = gen.request;
  plan.n = gen.n;
  plan.seed = seed_for(gen);
  plan.include_usage = gen.include_usage;
  plan.model = state.served_model_name();
  return plan;
}

void respond_streaming(ServerState& state, std::shared_ptr<CompletionRun> run, httplib::Response& res) {
  auto guard = std::make_shared<InFlightGuard>(state);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [run, guard](size_t, httplib::DataSink& sink) {
        const std::string text = run->next_sse(kPollInterval);
        // A failed write or a closed socket means the client left: free its engine work now.
        const bool client_there = text.empty() ? sink.is_writable() : sink.write(text.data(), text.size());
        if (!client_there) {
          run->cancel();
          return false;
        }
        if (run->finished()) sink.done();
        return true;
      },
      [run](bool success) {
        if (!success) run->cancel();
      });
}

void respond(ServerState& state, Backend& backend, CompletionPlan plan, bool stream, const httplib::Request& req,
             httplib::Response& res, Clock::time_point arrived) {
  std::shared_ptr<CompletionRun> run;
  try {
    run = std::make_shared<CompletionRun>(backend, std::move(plan), state.metrics(), arrived);
  } catch (const EngineError& e) {
    throw from_engine_error(e);
  }
  if (stream) {
    respond_streaming(state, std::move(run), res);
    return;
  }
  InFlightGuard guard(state);
  const ConnectionProbe probe(req.remote_addr, req.remote_port, req.local_port);
  const auto response = run->wait_for_response([&] { return probe.peer_closed(); });
  if (!response) {
    // Nobody reads this; the status is for the access log (nginx's "client closed request").
    send_error(res, ApiError(499, "client closed the connection", "invalid_request_error"));
    return;
  }
  send_json(res, *response);
}


// Parsing, rendering and tokenizing, in a scope of its own so that the request's JSON and prompt
// text are freed before generation starts.
CompletionPlan chat_plan(ServerState& state, const std::shared_ptr<Backend>& backend_ptr, const httplib::Request& req,
                         bool& stream) {
  Backend& backend = *backend_ptr;
  ChatRequest chat = parse_chat_request(parse_json_body(req), backend.defaults(), backend.vocab_size());
  check_model(state, backend, chat.gen.model);
  std::string prompt_text;
  try {
    prompt_text = backend.render_chat(chat.messages, chat.tools, chat.chat);
  } catch (const Error& e) {
    throw invalid_request(std::string("The conversation cannot be rendered: ") + e.what(), "messages");
  }
  ChatAssemblerOptions assembly;
  // After a tool response with thinking on, the template opens the thought channel itself.
  assembly.starts_in_reasoning = prompt_text.ends_with("<|channel>thought\n");
  assembly.forced_prefix = chat.forced_prefix;
  assembly.parallel_tool_calls = chat.parallel_tool_calls;
  prompt_text += chat.forced_prefix;
  chat.gen.request.prompt = encode_prompt(backend, prompt_text, "messages");
  fit_context(backend, chat.gen, static_cast<int64_t>(chat.gen.request.prompt.size()), "messages");

  CompletionPlan plan = base_plan(state, chat.gen, Endpoint::chat);
  plan.make_choice = [assembly, logprobs = chat.gen.request.logprobs, text_of = token_text(backend_ptr)](int index) {
    return make_chat_choice(index, assembly, logprobs, text_of);
  };
  stream = chat.gen.stream;
  return plan;
}

CompletionPlan text_plan(ServerState& state, const std::shared_ptr<Backend>& backend_ptr, const httplib::Request& req,
                         bool& stream) {
  Backend& backend = *backend_ptr;
  CompletionRequest completion = parse_completion_request(parse_json_body(req), backend.defaults(), backend.vocab_size());
  check_model(state, backend, completion.gen.model);
  std::vector<int32_t>& prompt = completion.gen.request.prompt;
  if (completion.prompt_text) {
    prompt = encode_prompt(backend, *completion.prompt_text, "prompt");
    // The tokenizer never adds <bos>; a raw prompt gets it unless it already starts with it.
    const auto bos = backend.defaults().bos_token_id;
    if (bos && (prompt.empty() || prompt.front() != *bos)) prompt.insert(prompt.begin(), *bos);
  } else {
    prompt = std::move(completion.prompt_tokens);
  }
  if (prompt.empty()) throw invalid_request("'prompt' must not be empty", "prompt");
  fit_context(backend, completion.gen, static_cast<int64_t>(prompt.size()), "prompt");

  CompletionPlan plan = base_plan(state, completion.gen, Endpoint::text);
  plan.make_choice = [logprobs = completion.gen.request.logprobs, text_of = token_text(backend_ptr)](int index) {
    return make_text_choice(index, logprobs, text_of);
  };
  stream = completion.gen.stream;
  return plan;
}

}  // namespace

void handle_chat_completions(ServerState& state, const std::shared_ptr<Backend>& backend_ptr, const httplib::Request& req,
                             httplib::Response& res) {
  const Clock::time_point arrived = Clock::now();
  const TrimHeapAfterRequest trim(req.body.size());
  bool stream = false;
  CompletionPlan plan = chat_plan(state, backend_ptr, req, stream);
  respond(state, *backend_ptr, std::move(plan), stream, req, res, arrived);
}

void handle_completions(ServerState& state, const std::shared_ptr<Backend>& backend_ptr, const httplib::Request& req,
                        httplib::Response& res) {
  const Clock::time_point arrived = Clock::now();
  const TrimHeapAfterRequest trim(req.body.size());
  bool stream = false;
  CompletionPlan plan = text_plan(state, backend_ptr, req, stream);
  respond(state, *backend_ptr, std::move(plan), stream, req, res, arrived);
}

}  // namespace gemma4::server
