#pragma once
// Full-size random checkpoints with the exact tensor layout of a Gemma 4 text model (for
// google/gemma-4-E2B-it: names under `model.language_model.`, BF16, 9.3 GB), for memory, speed and
// loader testing without downloading the real weights. Everything is derived from SynthConfig so a
// tiny preset exercises the same code.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"

namespace gemma4::synth {

// The architecture numbers that decide tensor names and shapes (and config.json).
struct SynthConfig {
  std::string preset;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int64_t head_dim = 0;         // sliding-attention layers
  int64_t global_head_dim = 0;  // full-attention layers
  int64_t sliding_window = 0;
  int64_t vocab_size_per_layer_input = 0;
  int64_t hidden_size_per_layer_input = 0;
  int num_kv_shared_layers = 0;  // the last N layers reuse earlier K/V and have no k/v projections
  bool use_double_wide_mlp = true;  // KV-shared layers get 2x intermediate_size
  int64_t max_position_embeddings = 0;
  int full_attention_period = 5;  // layer i is full attention when i % period == period - 1
  std::string prefix = "model.language_model.";
};

SynthConfig e2b_config();
SynthConfig tiny_config();  // the shapes of tests/data/tiny-a
// "e2b" or "tiny"; throws gemma4::Error listing the known presets otherwise.
SynthConfig preset_config(std::string_view name);

bool is_full_attention(const SynthConfig& cfg, int layer);
bool has_own_kv(const SynthConfig& cfg, int layer);
int64_t layer_head_dim(const SynthConfig& cfg, int layer);
int64_t layer_intermediate_size(const SynthConfig& cfg, int layer);

// How a tensor's random values are drawn (see synth_random.h for the distributions).
enum class InitKind { kMatrix, kNorm, kLayerScalar, kEmbedding };

struct SynthTensor {
  io::TensorSpec spec;
  InitKind init = InitKind::kMatrix;
};

// Every tensor of the text model, in model order (embeddings, layer 0..N-1, final norm).
std::vector<SynthTensor> synth_tensors(const SynthConfig& cfg);
uint64_t synth_total_bytes(const SynthConfig& cfg);

// Gemma4ForConditionalGeneration-style config.json with a nested "text_config".
nlohmann::ordered_json synth_config_json(const SynthConfig& cfg);
// Same content as the real E2B-it generation_config.json.
nlohmann::ordered_json synth_generation_config_json();

struct SynthOptions {
  std::filesystem::path out_dir;
  uint64_t seed = 0;
  std::filesystem::path tokenizer_json;  // copied into out_dir
  bool progress = true;                  // report tensors / GB written on stderr
};

// Writes model.safetensors, config.json, generation_config.json and tokenizer.json into
// out_dir (created if needed), streaming the weights chunk by chunk.
void write_synth_checkpoint(const SynthConfig& cfg, const SynthOptions& options);

}  // namespace gemma4::synth
