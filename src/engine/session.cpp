#include <algorithm>

#include "engine/model_impl.h"
#include "gemma4/error.h"

namespace gemma4 {

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options)
    : model_(std::move(model)), impl_(std::make_unique<SessionImpl>()) {
  if (!model_) throw Error("session needs a loaded model");
  if (!model_->has_weights()) throw Error("session needs a model with its weights (this one was loaded with config_only)");
  if (options.max_context <= 0) throw Error("context size must be positive");
  if (options.max_chunk <= 0) throw Error("prefill chunk size must be positive");
  auto kv_type = parse_kv_type(options.kv_type);
  if (!kv_type) throw Error("unknown KV cache type '" + options.kv_type + "' (choose f32, f16 or bf16)");
  impl_->options = options;
  const ModelConfig& c = model_->config();
  // One sequence of its own; the prefix cache lets truncate() take back sliding-window blocks
  // that fell out of the window (a chat turn after stripped reasoning).
  KvPoolOptions po = kv_pool_options_for(c, *kv_type, options.max_context, options.max_chunk);
  po.sliding_blocks *= 2;
  impl_->kv_pool = std::make_unique<KvPool>(c, po);
  impl_->sequence = std::make_unique<KvSequence>(*impl_->kv_pool, options.max_context, c.sliding_window);
}

Session::~Session() {
  if (impl_) impl_->sequence.reset();  // return blocks before the pool goes away
}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const Model& Session::model() const { return *model_; }
int64_t Session::length() const { return impl_->sequence->length(); }
int64_t Session::max_context() const { return impl_->options.max_context; }
const std::vector<int32_t>& Session::tokens() const { return impl_->sequence->tokens(); }

void Session::append(std::span<const int32_t> tokens, std::vector<float>* last_logits) {
  if (last_logits) last_logits->clear();
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (length() + n > max_context())
    throw Error("context length exceeded: " + std::to_string(length() + n) + " tokens but the limit is " +
                std::to_string(max_context()));
  const ModelImpl& m = model_->impl();
  for (int64_t begin = 0; begin < n; begin += impl_->options.max_chunk) {
    int64_t end = std::min(n, begin + impl_->options.max_chunk);
    ForwardOptions fo;
    fo.skip_shared_layers_for_unneeded_rows = impl_->options.skip_shared_layers;
    if (impl_->options.time_phases) fo.profile = &impl_->profile;
    const bool last = last_logits && end == n;
    // The logits go straight into the caller's buffer, so a decode step reuses its capacity.
    forward(*m.weights, *impl_->sequence, tokens.subspan(begin, end - begin), last ? 1 : 0, fo,
            last ? *last_logits : impl_->unwanted_logits, impl_->scratch, *m.pool);
  }
}

void Session::append_all_logits(std::span<const int32_t> tokens, int64_t chunk, std::vector<float>& logits) {
  if (chunk <= 0) throw Error("prefill chunk size must be positive");
  chunk = std::min(chunk, impl_->options.max_chunk);
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (length() + n > max_context())
    throw Error("context length exceeded: " + std::to_string(length() + n) + " tokens but the limit is " +
                std::to_string(max_context()));
  const ModelImpl& m = model_->impl();
  const int64_t V = model_->config().vocab_size;
  logits.assign(n * V, 0.0f);
  std::vector<float> part;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    int64_t end = std::min(n, begin + chunk);
    ForwardOptions fo;
    if (impl_->options.time_phases) fo.profile = &impl_->profile;
    forward(*m.weights, *impl_->sequence, tokens.subspan(begin, end - begin), end - begin, fo, part, impl_->scratch,
            *m.pool);
    std::copy(part.begin(), part.end(), logits.begin() + begin * V);
  }
}

PhaseTimes Session::phase_times() const {
  PhaseTimes out;
  const ForwardProfile& p = impl_->profile;
  for (int i = 0; i < ForwardProfile::kPhases; ++i) out.seconds.emplace_back(ForwardProfile::kNames[i], p.ns[i] * 1e-9);
  out.forward_calls = p.calls;
  return out;
}

void Session::reset_phase_times() { impl_->profile = ForwardProfile{}; }

bool Session::truncate(int64_t length) { return impl_->sequence->truncate(length); }

void Session::clear() { impl_->sequence->clear(); }

}  // namespace gemma4
