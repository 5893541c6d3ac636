// Engine: opening a model folder, cross-checking its pieces, sizing the KV pool, accepting requests.
// The step loop itself is in scheduler.cpp.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/engine_impl.h"
#include "gemma4/error.h"
#include "kernels/weight_matrix.h"

namespace gemma4 {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::BadRequest: return "bad_request";
    case ErrorKind::ContextOverflow: return "context_overflow";
    case ErrorKind::OutOfMemory: return "out_of_memory";
    case ErrorKind::Overloaded: return "overloaded";
    case ErrorKind::Cancelled: return "cancelled";
    case ErrorKind::ModelError: return "model_error";
    case ErrorKind::ShuttingDown: return "shutting_down";
  }
  return "?";
}

namespace {

std::string gib(double bytes) {
  std::ostringstream s;
  s.precision(bytes < 1e9 ? 2 : 3);
  s << bytes / (1024.0 * 1024.0 * 1024.0) << " GiB";
  return s.str();
}

// MemAvailable from /proc/meminfo in bytes; 0 when unknown.
int64_t available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t value = 0;
  std::string unit;
  while (f >> key >> value >> unit)
    if (key == "MemAvailable:") return value * 1024;
  return 0;
}

// Errors of the model folder's files become ModelError.
template <class F>
auto model_step(F&& f) {
  try {
    return f();
  } catch (const EngineError&) {
    throw;
  } catch (const Error& e) {
    throw EngineError(ErrorKind::ModelError, e.what());
  }
}

}  // namespace

EngineImpl::EngineImpl(const std::filesystem::path& dir_, const EngineOptions& options_)
    : dir(dir_), options(options_), tokenizer(model_step([&] { return Tokenizer::load(dir_); })) {
  auto bad = [](const std::string& m) { return EngineError(ErrorKind::BadRequest, m); };
  if (options.max_context <= 0) throw bad("the context size must be positive (got " + std::to_string(options.max_context) + ")");
  if (options.parallel <= 0 || options.parallel > 1024)
    throw bad("parallel must be between 1 and 1024 (got " + std::to_string(options.parallel) + ")");
  if (options.max_queue < 0) throw bad("the queue limit must not be negative");
  if (options.step_tokens <= 0) throw bad("the step token budget must be positive");
  if (options.kv_budget_bytes < 0) throw bad("the KV budget must not be negative");
  if (options.draft_tokens < 0 || options.draft_tokens > kMaxDraftTokens)
    throw bad("draft tokens must be between 0 and " + std::to_string(kMaxDraftTokens) + " (got " +
              std::to_string(options.draft_tokens) + ")");
  if (!parse_kv_type(options.kv_type)) throw bad("unknown KV cache type '" + options.kv_type + "' (choose f32, f16 or bf16)");
  defaults = model_step([&] { return load_generation_config(dir); });
  if (!parse_weight_type(options.dtype))
    throw bad("unknown dtype '" + options.dtype + "' (choose f32, bf16, f16, q8_0 or q4_0)");
  ModelOptions mo;
  mo.dtype = options.dtype;
  mo.threads = options.threads;
  mo.progress = options.progress;
  mo.weight_cache = options.weight_cache;
  mo.config_only = options.forward_backend != nullptr;
  model = model_step([&] { return Model::load(dir, mo); });
  check_pieces();
  build_pool();
  thread_ = std::thread([this] { loop(); });
}

EngineImpl::~EngineImpl() { shutdown(); }

// The tokenizer, generation_config.json and the context limit must agree with the model.
void EngineImpl::check_pieces() {
  const ModelConfig& c = model->config();
  if (tokenizer.vocab_size() > c.vocab_size)
    throw EngineError(ErrorKind::ModelError,
                      "tokenizer.json has " + std::to_string(tokenizer.vocab_size()) +
                          " token ids but the model's vocabulary has only " + std::to_string(c.vocab_size) +
                          " (config.json vocab_size): they do not belong together");
  for (int32_t id : defaults.stop_token_ids)
    if (id < 0 || id >= c.vocab_size || id >= tokenizer.vocab_size())
      throw EngineError(ErrorKind::ModelError, "stop token id " + std::to_string(id) +
                                                   " (generation_config.json eos_token_id) is not a token of the model");
  if (options.max_context > c.max_position_embeddings) {
    std::string what = "context size " + std::to_string(options.max_context) + " exceeds the model's " +
                       std::to_string(c.max_position_embeddings) + " positions (max_position_embeddings)";
    if (!options.allow_long_context) throw EngineError(ErrorKind::BadRequest, what);
    warnings.push_back(what + "; answers past that length will degrade");
  }
}

// One pool for every request. Without a budget it holds `parallel` requests of max_context
// positions; sliding-window layers get room for one extra sequence so blocks that leave a
// window stay cached for a while (chat turns that diverge before the end of the window).
void EngineImpl::build_pool() {
  const ModelConfig& c = model->config();
  const KvType type = *parse_kv_type(options.kv_type);
  KvPoolOptions one = kv_pool_options_for(c, type, options.max_context, options.step_tokens, 1);
  max_blocks_per_request_[0] = one.sliding_blocks;
  max_blocks_per_request_[1] = one.full_blocks;
  KvPoolOptions po = one;
  po.prefix_cache = options.prefix_cache;
  po.host_storage = options.forward_backend == nullptr;
  {
    KvPool probe(c, {type, one.block_size, std::min<int64_t>(1, one.full_blocks), std::min<int64_t>(1, one.sliding_blocks), false});
    const double full_bytes = static_cast<double>(probe.block_bytes(AttentionType::Full));
    const double sliding_bytes = static_cast<double>(probe.block_bytes(AttentionType::Sliding));
    const double per_request = full_bytes * one.full_blocks + sliding_bytes * one.sliding_blocks;
    double sequences = options.parallel;
    if (options.kv_budget_bytes > 0) {
      sequences = static_cast<double>(options.kv_budget_bytes) / std::max(per_request, 1.0);
      if (sequences < 1.0)
        throw EngineError(ErrorKind::BadRequest, "a KV budget of " + gib(static_cast<double>(options.kv_budget_bytes)) +
                                                     " holds less than one request of " + std::to_string(options.max_context) +
                                                     " positions (" + gib(per_request) + ")");
    }
    po.full_blocks = static_cast<int64_t>(std::floor(sequences * one.full_blocks));
    po.sliding_blocks = static_cast<int64_t>(std::floor((sequences + (options.kv_budget_bytes > 0 ? 0 : 1)) * one.sliding_blocks));
    const double total = full_bytes * po.full_blocks + sliding_bytes * po.sliding_blocks;
    const int64_t available = available_memory_bytes();
    if (po.host_storage && available > 0 && total > static_cast<double>(available))
      throw EngineError(ErrorKind::OutOfMemory, "the KV cache needs " + gib(total) + " (" + std::to_string(options.parallel) +
                                                    " x " + std::to_string(options.max_context) + " positions) but only " +
                                                    gib(static_cast<double>(available)) +
                                                    " of memory are available; lower the context size or parallel requests, "
                                                    "or set a KV budget");
  }
  pool_ = std::make_unique<KvPool>(c, po);
  if (options.forward_backend)
    model_step([&] { options.forward_backend->allocate_kv({po.block_size, po.sliding_blocks, po.full_blocks}); });
  stats_.kv_blocks_total = pool_->total_blocks(AttentionType::Full) + pool_->total_blocks(AttentionType::Sliding);
}

void EngineImpl::validate(const Request& r) const {
  const ModelConfig& c = model->config();
  auto bad = [](const std::string& m) { return EngineError(ErrorKind::BadRequest, m); };
  if (r.prompt.empty()) throw bad("the prompt is empty");
  const int64_t limit = c.has_per_layer_inputs() ? std::min(c.vocab_size, c.vocab_size_per_layer_input) : c.vocab_size;
  for (size_t i = 0; i < r.prompt.size(); ++i)
    if (r.prompt[i] < 0 || r.prompt[i] >= limit)
      throw bad("prompt token " + std::to_string(r.prompt[i]) + " at position " + std::to_string(i) +
                " is outside the vocabulary of " + std::to_string(limit));
  if (r.max_tokens < 0) throw bad("max_tokens must not be negative (got " + std::to_string(r.max_tokens) + ")");
  if (r.draft_tokens && (*r.draft_tokens < 0 || *r.draft_tokens > kMaxDraftTokens))
    throw bad("draft_tokens must be between 0 and " + std::to_string(kMaxDraftTokens) + " (got " +
              std::to_string(*r.draft_tokens) + ")");
  if (r.top_logprobs < 0 || r.top_logprobs > 20)
    throw bad("top_logprobs must be between 0 and 20 (got " + std::to_string(r.top_logprobs) + ")");
  try {
    validate_sampling_params(r.sampling);
  } catch (const Error& e) {
    throw bad(e.what());
  }
  for (const auto& [id, bias] : r.sampling.logit_bias)
    if (id < 0 || id >= c.vocab_size)
      throw bad("logit_bias token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(c.vocab_size));
  if (r.stop_token_ids)
    for (int32_t id : *r.stop_token_ids)
      if (id < 0 || id >= c.vocab_size) throw bad("stop token id " + std::to_string(id) + " is outside the vocabulary");
  const int64_t n = static_cast<int64_t>(r.prompt.size());
  if (n > options.max_context)
    throw EngineError(ErrorKind::ContextOverflow, "the prompt has " + std::to_string(n) +
                                                      " tokens but the context limit is " + std::to_string(options.max_context));
  if (r.require_room_for_max_tokens && n + r.max_tokens > options.max_context)
    throw EngineError(ErrorKind::ContextOverflow, "the prompt has " + std::to_string(n) + " tokens and " +
                                                      std::to_string(r.max_tokens) + " more were requested, but the context limit is " +
                                                      std::to_string(options.max_context));
  for (int g = 0; g < 2; ++g) {
    const AttentionType group = g ? AttentionType::Full : AttentionType::Sliding;
    if (max_blocks_per_request_[g] > pool_->total_blocks(group))
      throw EngineError(ErrorKind::OutOfMemory, "the KV pool cannot hold one request of the context size");
  }
}

std::shared_ptr<RequestHandle> EngineImpl::submit(Request request, TokenCallback callback) {
  validate(request);
  std::shared_ptr<const TokenTrie> trie = request.grammar ? token_trie() : nullptr;  // outside the lock
  std::vector<int32_t> stop_ids = request.stop_token_ids ? *request.stop_token_ids : defaults.stop_token_ids;
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) throw EngineError(ErrorKind::ShuttingDown, "the engine is shutting down");
  const int64_t room = options.max_queue + options.parallel;
  if (waiting_count_ + stats_.running >= room)
    throw EngineError(ErrorKind::Overloaded, "the server is busy: " + std::to_string(waiting_count_) +
                                                 " requests are waiting already (limit " + std::to_string(options.max_queue) + ")");
  auto state = std::make_unique<RequestState>(next_id_++, std::move(request), std::move(callback), std::move(stop_ids), tokenizer);
  state->draft_limit = state->request.draft_tokens.value_or(options.draft_tokens);
  if (trie) state->grammar.emplace(state->request.grammar, std::move(trie));
  std::shared_ptr<RequestHandle> handle = state->completion;
  incoming_.push_back(std::move(state));
  ++waiting_count_;
  stats_.waiting = waiting_count_;
  lock.unlock();
  wake_.notify_all();
  return handle;
}

std::shared_ptr<const TokenTrie> EngineImpl::token_trie() {
  std::call_once(trie_once_, [&] { trie_ = build_token_trie(tokenizer); });
  return trie_;
}

EngineStats EngineImpl::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void EngineImpl::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// ---- Engine ------------------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::shared_ptr<Engine> Engine::open(const std::filesystem::path& model_dir, const EngineOptions& options) {
  return std::shared_ptr<Engine>(new Engine(std::make_unique<EngineImpl>(model_dir, options)));
}

const ModelConfig& Engine::config() const { return impl_->model->config(); }
const Tokenizer& Engine::tokenizer() const { return impl_->tokenizer; }
const GenerationDefaults& Engine::defaults() const { return impl_->defaults; }
const EngineOptions& Engine::options() const { return impl_->options; }
const std::shared_ptr<Model>& Engine::model() const { return impl_->model; }
const std::vector<std::string>& Engine::warnings() const { return impl_->warnings; }

std::string Engine::model_name() const {
  std::filesystem::path p = impl_->dir;
  if (p.filename().empty()) p = p.parent_path();
  // A model file is named without its extension (gemma-4-E2B-it-q4_0.g4w: gemma-4-E2B-it-q4_0).
  return p.extension() == ".g4w" ? p.stem().string() : p.filename().string();
}

std::string Engine::render_chat(const nlohmann::json& messages, const nlohmann::json& tools, const ChatOptions& o) const {
  try {
    return gemma4::render_chat(messages, tools, o);
  } catch (const EngineError&) {
    throw;
  } catch (const Error& e) {
    throw EngineError(ErrorKind::BadRequest, e.what());
  }
}

std::vector<int32_t> Engine::encode_chat(const nlohmann::json& messages, const nlohmann::json& tools,
                                         const ChatOptions& o) const {
  return impl_->tokenizer.encode(render_chat(messages, tools, o), /*parse_special=*/true);
}

std::shared_ptr<RequestHandle> Engine::submit(Request request, TokenCallback on_token) {
  return impl_->submit(std::move(request), std::move(on_token));
}

RequestResult Engine::generate(Request request, TokenCallback on_token) {
  auto handle = submit(std::move(request), std::move(on_token));
  return handle->wait();
}

void Engine::prepare_grammars() { impl_->token_trie(); }

EngineStats Engine::stats() const { return impl_->stats(); }
void Engine::shutdown() { impl_->shutdown(); }

}  // namespace gemma4
