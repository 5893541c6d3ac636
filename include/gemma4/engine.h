#pragma once
// The serving engine: one model, many concurrent requests.
//
// An Engine opens a model folder once (weights, tokenizer, generation_config.json, chat format),
// owns one engine-wide paged KV pool with an automatic prefix cache, and runs a step loop on its
// own thread: every step batches the next token of every decoding request with prefill chunks of
// newly admitted ones (continuous batching under a per-step token budget) through one forward
// pass. Requests join and leave between steps; cancellation takes effect within one step.
//
//   auto engine = gemma4::Engine::open("path/to/gemma-4-E2B-it", {.dtype = "q4_0", .parallel = 8});
//   gemma4::Request req;
//   req.prompt = engine->encode_chat(messages, nullptr, {});
//   req.sampling = engine->defaults().sampling;
//   auto handle = engine->submit(std::move(req), [](const gemma4::TokenEvent& e) {
//     std::fputs(e.text.c_str(), stdout);  // runs on the engine thread: do not block here
//     return true;                         // false cancels the request
//   });
//   gemma4::RequestResult result = handle->wait();
//
// Nothing here knows about HTTP or command-line flags: errors are gemma4::EngineError with a kind
// a front end maps to its own vocabulary (an HTTP status, an exit code).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/chat.h"
#include "gemma4/config.h"
#include "gemma4/error.h"
#include "gemma4/forward_backend.h"
#include "gemma4/grammar.h"
#include "gemma4/model.h"
#include "gemma4/sampling.h"
#include "gemma4/tokenizer.h"

namespace gemma4 {

enum class ErrorKind {
  BadRequest,       // invalid parameters or token ids in a request
  ContextOverflow,  // prompt (+ max_tokens where required) does not fit the context limit
  OutOfMemory,      // the request can never fit the KV pool
  Overloaded,       // the waiting queue is full; try again later
  Cancelled,        // the request was cancelled
  ModelError,       // the model folder is unusable (missing file, bad config, inconsistent pieces)
  ShuttingDown,     // the engine no longer accepts work
};
const char* error_kind_name(ErrorKind kind);  // "bad_request", "context_overflow", ...

class EngineError : public Error {
 public:
  EngineError(ErrorKind kind, const std::string& message) : Error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

struct EngineOptions {
  std::string dtype = "q8_0";   // weight type: f32 (exact), bf16, f16, q8_0, q4_0
  std::string kv_type = "f16";  // f32, f16, bf16
  int threads = 0;              // 0: one per hardware thread
  int64_t max_context = 4096;   // most positions one request may hold (prompt + answer)
  // Allow max_context above the model's max_position_embeddings (quality degrades; a warning is
  // reported through `warnings()`). Without it such a context is refused.
  bool allow_long_context = false;
  int parallel = 4;             // requests computed at once (the rest wait in the queue)
  int64_t max_queue = 256;      // waiting requests beyond `parallel`; more are refused (Overloaded)
  // KV pool size in bytes; 0 sizes it for `parallel` requests of `max_context` positions each.
  int64_t kv_budget_bytes = 0;
  // Tokens per forward step (decodes first, then prefill chunks). 128 measured best on E2B at 2
  // threads (q4_0 prefill +5-20 % over 512, q8_0 level; the GEMMs reuse weights per 64 tokens
  // anyway, and smaller chunks keep the MLP activations in cache and serve decode rows more often).
  int64_t step_tokens = 128;
  bool prefix_cache = true;     // reuse KV blocks of earlier requests with the same token prefix
  std::function<void(double fraction)> progress = nullptr;  // weight conversion progress (0..1)
  bool weight_cache = true;      // map converted weights from the cache (ModelOptions::weight_cache)
  // Speculative decoding by prompt lookup: each decode step also feeds up to this many guessed
  // tokens (copied from where the latest tokens occurred earlier in the prompt or answer) and
  // keeps those the model agrees with, several tokens per forward pass when text repeats. The
  // answer is distributed exactly as without it (greedy: the same tokens). 0 = off; at most
  // kMaxDraftTokens. A request may override it (Request::draft_tokens).
  int draft_tokens = 0;
  // Runs the forward pass somewhere else (the browser build's WebGPU backend); nullptr: the CPU
  // kernels. With a backend the engine reads only config.json of the model's weights and keeps
  // no K/V rows itself (gemma4/forward_backend.h); dtype, threads and weight_cache do not apply.
  std::shared_ptr<ForwardBackend> forward_backend;
};

inline constexpr int kMaxDraftTokens = 16;

enum class FinishReason { Stop, Length, Cancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled"

struct Request {
  std::vector<int32_t> prompt;            // token ids (at least one)
  SamplingParams sampling;                // validated at submit
  int64_t max_tokens = 512;               // generated tokens at most (stop tokens not counted)
  std::optional<std::vector<int32_t>> stop_token_ids;  // default: the model's (generation_config)
  std::vector<std::string> stop_strings;  // matched across token boundaries, never shown
  // Log-probabilities of each generated token under the model (before sampling transforms), and
  // of the `top_logprobs` most likely alternatives (0..20). Off when logprobs is false.
  bool logprobs = false;
  int top_logprobs = 0;
  // Reject the request (ContextOverflow) unless prompt + max_tokens fits the context; otherwise
  // generation simply ends with finish "length" when the context fills.
  bool require_room_for_max_tokens = false;
  // Draft tokens per decode step for this request (0 = off, at most kMaxDraftTokens); unset:
  // EngineOptions::draft_tokens.
  std::optional<int> draft_tokens;
  // Constrained decoding: only tokens the grammar accepts are sampled, and a stop token only once
  // the grammar's value is complete (see docs/grammar.md). nullptr: unconstrained.
  std::shared_ptr<const Grammar> grammar;
  std::string tag;                        // free text for logs
};

struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0.0f;
};

// One generated token, delivered on the engine thread.
struct TokenEvent {
  int32_t token = -1;  // -1 for the final flush of held-back text
  std::string text;    // text that became safe to show (may be empty while held back)
  float logprob = 0.0f;              // when requested
  std::vector<TokenLogprob> top;     // when requested, most likely first
};

struct RequestResult {
  FinishReason finish = FinishReason::Stop;
  std::vector<int32_t> tokens;   // generated tokens (without the stop token)
  std::string text;              // their text with special tokens, cut before a stop string
  int32_t stop_token = -1;       // the stop token that ended generation, if any
  std::string stop_string;       // the stop string that ended generation, if any
  std::vector<TokenEvent> logprobs;  // per generated token when requested (text empty)
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;     // prompt tokens whose KV came from the prefix cache
  int64_t completion_tokens = 0;
  int64_t preemptions = 0;       // times the request was preempted and recomputed
  int64_t drafted_tokens = 0;    // draft tokens the model checked (speculative decoding)
  int64_t accepted_drafts = 0;   // of those, the ones it agreed with
  double queue_seconds = 0, ttft_seconds = 0, total_seconds = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  // Set when the request failed after it was accepted (e.g. a model error); finish is Cancelled.
  std::optional<EngineError> error;
};

// Callback for each generated token; return false to cancel. Runs on the engine thread.
using TokenCallback = std::function<bool(const TokenEvent&)>;

class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  virtual uint64_t id() const = 0;
  // Asks the engine to stop the request (queued or running); it finishes as Cancelled within one
  // step and its KV blocks are released. Safe from any thread, any number of times.
  virtual void cancel() = 0;
  // Blocks until the request finished (any reason) and returns its result.
  virtual RequestResult wait() = 0;
  virtual bool done() const = 0;
};

struct EngineStats {
  int64_t running = 0, waiting = 0;
  int64_t kv_blocks_total = 0, kv_blocks_used = 0;  // both block groups together
  int64_t kv_blocks_cached = 0;                      // free for reuse but holding a cached prefix
  int64_t prompt_tokens = 0, generated_tokens = 0;   // totals since open
  int64_t cached_prompt_tokens = 0;                  // prompt tokens served by the prefix cache
  int64_t prefix_cache_hits = 0, prefix_cache_queries = 0;
  int64_t requests_finished = 0, requests_cancelled = 0, preemptions = 0, steps = 0;
  // Speculative decoding: draft tokens checked and accepted (acceptance rate = accepted / drafted).
  int64_t drafted_tokens = 0, accepted_drafts = 0;
};

class EngineImpl;

class Engine {
 public:
  // Loads and cross-checks the model folder. Throws EngineError (ModelError for a bad folder,
  // BadRequest for bad options).
  static std::shared_ptr<Engine> open(const std::filesystem::path& model_dir, const EngineOptions& options = {});
  ~Engine();  // cancels what is left and joins the step thread

  const ModelConfig& config() const;
  const Tokenizer& tokenizer() const;
  const GenerationDefaults& defaults() const;
  const EngineOptions& options() const;
  const std::shared_ptr<Model>& model() const;
  const std::vector<std::string>& warnings() const;  // things said while opening
  std::string model_name() const;                     // the folder's name

  // The chat template's prompt text and its tokens (Tokenizer::encode with special tokens).
  std::string render_chat(const nlohmann::json& messages, const nlohmann::json& tools, const ChatOptions& o) const;
  std::vector<int32_t> encode_chat(const nlohmann::json& messages, const nlohmann::json& tools,
                                   const ChatOptions& o) const;

  // Validates and enqueues. Throws EngineError: BadRequest, ContextOverflow (the prompt does not
  // fit max_context), OutOfMemory (it could never fit the pool), Overloaded, ShuttingDown.
  std::shared_ptr<RequestHandle> submit(Request request, TokenCallback on_token = {});
  // submit() + wait().
  RequestResult generate(Request request, TokenCallback on_token = {});
  // Builds the vocabulary's token trie, which constrained decoding needs, now (a few hundred ms,
  // once per engine) rather than in the first submit() with a grammar.
  void prepare_grammars();

  EngineStats stats() const;
  // Stops accepting work, cancels queued and running requests, joins the step thread.
  void shutdown();

 private:
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace gemma4
