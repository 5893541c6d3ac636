#pragma once
// Public entry points: load a Gemma 4 model folder, then run sequences through it in sessions.
//
//   auto model = gemma4::Model::load("path/to/gemma-4-E2B-it", {.dtype = "q8_0"});
//   gemma4::Session session(model, {.max_context = 4096});
//   std::vector<float> logits;
//   session.append(prompt_ids, &logits);   // logits of the last token
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gemma4/config.h"

namespace gemma4 {

struct ModelOptions {
  std::string dtype = "f32";  // f32 (exact reference), bf16, f16, q8_0, q4_0
  int threads = 0;            // 0: one per hardware thread
  // Called while loading with the fraction of weights converted so far (0..1).
  std::function<void(double fraction)> progress = nullptr;
  // Keep converted weights in a cache file and map them on later loads (see README, "Instant
  // load"); weight_cache_dir empty: $GEMMA4_WEIGHT_CACHE, $XDG_CACHE_HOME/gemma4/weights or
  // ~/.cache/gemma4/weights.
  bool weight_cache = true;
  std::filesystem::path weight_cache_dir = {};
  // Read config.json only, no weights: for an engine whose forward pass runs in a
  // ForwardBackend. Such a model cannot run a Session.
  bool config_only = false;
};

struct ModelImpl;

class Model {
 public:
  // Throws gemma4::Error naming the problem (missing folder/file, bad config, missing tensor...).
  static std::shared_ptr<Model> load(const std::filesystem::path& dir, const ModelOptions& options = {});
  ~Model();

  const ModelConfig& config() const;
  const std::filesystem::path& dir() const;
  std::string dtype() const;
  int threads() const;
  double load_seconds() const;
  size_t weight_bytes() const;
  bool has_weights() const;     // false when loaded with config_only  // bytes of converted weights held in memory

  ModelImpl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<ModelImpl> impl);
  std::unique_ptr<ModelImpl> impl_;
};

struct SessionOptions {
  int64_t max_context = 4096;  // most positions the session may hold
  int64_t max_chunk = 512;     // prefill is processed in chunks of at most this many tokens
  std::string kv_type = "f32";  // f32, f16 or bf16
  // Prefill skips the KV-shared layers for tokens whose logits are not wanted (exact).
  bool skip_shared_layers = true;
  // Time every forward pass by phase (embedding, projections, attention, MLP, LM head); read with
  // Session::phase_times(). Costs a clock read per phase.
  bool time_phases = false;
};

// Accumulated wall time of the forward passes by phase, in the order they run.
struct PhaseTimes {
  std::vector<std::pair<std::string, double>> seconds;  // (phase, seconds)
  int64_t forward_calls = 0;
};

struct SessionImpl;

// One sequence with its own paged KV cache.
class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const Model& model() const;
  int64_t length() const;
  int64_t max_context() const;
  const std::vector<int32_t>& tokens() const;  // every token in the cache, in order

  // Appends tokens (prefill in chunks of max_chunk). When `last_logits` is given it receives the
  // logits of the last appended token [vocab].
  void append(std::span<const int32_t> tokens, std::vector<float>* last_logits = nullptr);
  // Appends tokens `chunk` at a time and returns the logits of every one of them [n, vocab].
  void append_all_logits(std::span<const int32_t> tokens, int64_t chunk, std::vector<float>& logits);
  // Drops cached positions >= length. Returns false (nothing changed) if the cache cannot resume
  // there (sliding-window blocks already released); the caller then clears and re-feeds.
  bool truncate(int64_t length);
  void clear();

  // What time_phases measured since the session began or the last reset_phase_times().
  PhaseTimes phase_times() const;
  void reset_phase_times();

  SessionImpl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Model> model_;
  std::unique_ptr<SessionImpl> impl_;
};

}  // namespace gemma4
