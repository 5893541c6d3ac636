#pragma once
// The text-decoder configuration of a Gemma 4 checkpoint, parsed from config.json with the
// defaults and post-init rules of Hugging Face's Gemma4TextConfig, plus what follows from it for
// each layer (attention type, head size, KV sharing, MLP width).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace gemma4 {

enum class AttentionType : uint8_t { Sliding, Full };

struct RopeParameters {
  std::string rope_type = "default";  // "default" or "proportional"
  double theta = 10000.0;
  double partial_rotary_factor = 1.0;
  double factor = 1.0;
};

// Everything one decoder layer needs to know about its own shape.
struct LayerSpec {
  AttentionType type = AttentionType::Sliding;
  int64_t head_dim = 0;
  int64_t num_kv_heads = 0;
  bool kv_shared = false;     // computes no K/V of its own
  int kv_source_layer = -1;   // the layer whose K/V it attends over (itself when not shared)
  bool has_v_proj = true;     // false when attention_k_eq_v applies: V is the raw K projection
  int64_t mlp_width = 0;
  int64_t rotary_pairs = 0;   // leading pairs (i, i + head_dim/2) that RoPE rotates
  std::vector<double> inv_freq;  // rotary_pairs inverse frequencies
};

struct ModelConfig {
  int64_t vocab_size = 262144;
  int64_t hidden_size = 2304;
  int64_t intermediate_size = 9216;
  int num_layers = 30;
  int64_t num_heads = 8;
  int64_t num_kv_heads = 4;
  int64_t head_dim = 256;
  int64_t global_head_dim = 512;  // 0: full layers use head_dim
  std::optional<int64_t> num_global_kv_heads;
  bool attention_k_eq_v = false;
  int64_t sliding_window = 512;
  int64_t vocab_size_per_layer_input = 262144;
  int64_t hidden_size_per_layer_input = 256;  // 0: no per-layer embeddings
  int num_kv_shared_layers = 0;
  bool use_double_wide_mlp = false;
  int64_t max_position_embeddings = 131072;
  double rms_norm_eps = 1e-6;
  std::string hidden_activation = "gelu_pytorch_tanh";
  std::optional<double> final_logit_softcapping;
  bool tie_word_embeddings = true;
  std::vector<AttentionType> layer_types;
  RopeParameters rope_sliding{"default", 10000.0, 1.0, 1.0};
  RopeParameters rope_full{"proportional", 1000000.0, 0.25, 1.0};
  std::optional<int32_t> bos_token_id = 2;
  std::vector<int32_t> eos_token_ids = {1};
  std::optional<int32_t> pad_token_id = 0;
  bool nested = false;  // text_config inside a multimodal config

  std::vector<LayerSpec> layers;  // derived by finalize()

  int first_kv_shared_layer() const { return num_layers - num_kv_shared_layers; }
  bool has_per_layer_inputs() const { return hidden_size_per_layer_input > 0; }
};

// Parses a config.json document (nested `text_config` or flat). `source` names the file in errors.
// Throws gemma4::Error for invalid or unsupported configurations.
ModelConfig parse_model_config(const nlohmann::json& doc, const std::string& source = "config.json");
ModelConfig load_model_config(const std::filesystem::path& model_dir);

}  // namespace gemma4
