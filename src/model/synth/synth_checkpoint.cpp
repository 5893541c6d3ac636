#include "model/synth/synth_checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <thread>
#include <utility>

#include "gemma4/error.h"
#include "model/synth/synth_random.h"

namespace gemma4::synth {
namespace {

namespace fs = std::filesystem;

void write_json_file(const fs::path& path, const nlohmann::ordered_json& value) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << value.dump(2) << '\n';
  out.flush();
  if (!out) throw Error("cannot write " + path.string());
}

void copy_tokenizer(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::is_regular_file(from, ec)) throw Error("tokenizer file " + from.string() + " not found");
  if (fs::exists(to, ec) && fs::equivalent(from, to, ec)) return;
  if (!fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec) || ec)
    throw Error("cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
}

// Fills one chunk on a few threads: the values depend only on their position, so the split is free.
void fill_parallel(const SynthTensor& tensor, uint64_t seed, size_t index, size_t offset, uint8_t* out,
                   size_t len) {
  constexpr size_t kMinBytesPerThread = size_t{4} << 20;
  const size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = std::min<size_t>(std::min<size_t>(hw, 8), std::max<size_t>(1, len / kMinBytesPerThread));
  if (threads <= 1) {
    fill_synth_bf16(tensor, seed, index, offset, out, len);
    return;
  }
  // Split on 8-byte boundaries so every part starts 4-byte aligned within the tensor.
  const size_t part = (len / threads + 7) / 8 * 8;
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) {
    const size_t begin = std::min(len, t * part);
    const size_t end = std::min(len, begin + part);
    if (begin < end)
      workers.emplace_back([&, begin, end] { fill_synth_bf16(tensor, seed, index, offset + begin, out + begin, end - begin); });
  }
  fill_synth_bf16(tensor, seed, index, offset, out, std::min(len, part));
  for (std::thread& w : workers) w.join();
}

}  // namespace

SynthConfig e2b_config() {
  SynthConfig c;
  c.preset = "e2b";
  c.vocab_size = 262144;
  c.hidden_size = 1536;
  c.intermediate_size = 6144;
  c.num_hidden_layers = 35;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 1;
  c.head_dim = 256;
  c.global_head_dim = 512;
  c.sliding_window = 512;
  c.vocab_size_per_layer_input = 262144;
  c.hidden_size_per_layer_input = 256;
  c.num_kv_shared_layers = 20;
  c.use_double_wide_mlp = true;
  c.max_position_embeddings = 131072;
  return c;
}

SynthConfig tiny_config() {
  SynthConfig c;
  c.preset = "tiny";
  c.vocab_size = 512;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_hidden_layers = 10;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 1;
  c.head_dim = 16;
  c.global_head_dim = 32;
  c.sliding_window = 8;
  c.vocab_size_per_layer_input = 512;
  c.hidden_size_per_layer_input = 16;
  c.num_kv_shared_layers = 4;
  c.use_double_wide_mlp = true;
  c.max_position_embeddings = 4096;
  return c;
}

SynthConfig preset_config(std::string_view name) {
  if (name == "e2b") return e2b_config();
  if (name == "tiny") return tiny_config();
  throw Error("unknown synth preset '" + std::string(name) + "' (known: e2b, tiny)");
}

bool is_full_attention(const SynthConfig& cfg, int layer) {
  return cfg.full_attention_period > 0 && layer % cfg.full_attention_period == cfg.full_attention_period - 1;
}

bool has_own_kv(const SynthConfig& cfg, int layer) {
  return layer < cfg.num_hidden_layers - cfg.num_kv_shared_layers;
}

int64_t layer_head_dim(const SynthConfig& cfg, int layer) {
  return is_full_attention(cfg, layer) ? cfg.global_head_dim : cfg.head_dim;
}

int64_t layer_intermediate_size(const SynthConfig& cfg, int layer) {
  const bool wide = cfg.use_double_wide_mlp && !has_own_kv(cfg, layer);
  return wide ? 2 * cfg.intermediate_size : cfg.intermediate_size;
}

std::vector<SynthTensor> synth_tensors(const SynthConfig& cfg) {
  std::vector<SynthTensor> out;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape, InitKind init) {
    out.push_back({io::TensorSpec{cfg.prefix + name, io::DType::BF16, std::move(shape)}, init});
  };
  const int64_t hidden = cfg.hidden_size;
  const int64_t ple = cfg.hidden_size_per_layer_input;
  const int64_t ple_total = cfg.num_hidden_layers * ple;

  add("embed_tokens.weight", {cfg.vocab_size, hidden}, InitKind::kEmbedding);
  add("embed_tokens_per_layer.weight", {cfg.vocab_size_per_layer_input, ple_total}, InitKind::kEmbedding);
  add("per_layer_model_projection.weight", {ple_total, hidden}, InitKind::kMatrix);
  add("per_layer_projection_norm.weight", {ple}, InitKind::kNorm);

  for (int i = 0; i < cfg.num_hidden_layers; ++i) {
    const std::string layer = "layers." + std::to_string(i) + ".";
    const int64_t hd = layer_head_dim(cfg, i);
    const int64_t inter = layer_intermediate_size(cfg, i);
    add(layer + "input_layernorm.weight", {hidden}, InitKind::kNorm);
    add(layer + "self_attn.q_proj.weight", {cfg.num_attention_heads * hd, hidden}, InitKind::kMatrix);
    add(layer + "self_attn.q_norm.weight", {hd}, InitKind::kNorm);
    if (has_own_kv(cfg, i)) {
      add(layer + "self_attn.k_proj.weight", {cfg.num_key_value_heads * hd, hidden}, InitKind::kMatrix);
      add(layer + "self_attn.v_proj.weight", {cfg.num_key_value_heads * hd, hidden}, InitKind::kMatrix);
      add(layer + "self_attn.k_norm.weight", {hd}, InitKind::kNorm);
    }
    add(layer + "self_attn.o_proj.weight", {hidden, cfg.num_attention_heads * hd}, InitKind::kMatrix);
    add(layer + "post_attention_layernorm.weight", {hidden}, InitKind::kNorm);
    add(layer + "pre_feedforward_layernorm.weight", {hidden}, InitKind::kNorm);
    add(layer + "mlp.gate_proj.weight", {inter, hidden}, InitKind::kMatrix);
    add(layer + "mlp.up_proj.weight", {inter, hidden}, InitKind::kMatrix);
    add(layer + "mlp.down_proj.weight", {hidden, inter}, InitKind::kMatrix);
    add(layer + "post_feedforward_layernorm.weight", {hidden}, InitKind::kNorm);
    add(layer + "per_layer_input_gate.weight", {ple, hidden}, InitKind::kMatrix);
    add(layer + "per_layer_projection.weight", {hidden, ple}, InitKind::kMatrix);
    add(layer + "post_per_layer_input_norm.weight", {hidden}, InitKind::kNorm);
    add(layer + "layer_scalar", {1}, InitKind::kLayerScalar);
  }
  add("norm.weight", {hidden}, InitKind::kNorm);
  return out;
}

uint64_t synth_total_bytes(const SynthConfig& cfg) {
  uint64_t total = 0;
  for (const SynthTensor& t : synth_tensors(cfg)) total += io::tensor_nbytes(t.spec);
  return total;
}

nlohmann::ordered_json synth_config_json(const SynthConfig& cfg) {
  using nlohmann::ordered_json;
  ordered_json layer_types = ordered_json::array();
  for (int i = 0; i < cfg.num_hidden_layers; ++i)
    layer_types.push_back(is_full_attention(cfg, i) ? "full_attention" : "sliding_attention");

  ordered_json text;
  text["model_type"] = "gemma4_text";
  text["vocab_size"] = cfg.vocab_size;
  text["hidden_size"] = cfg.hidden_size;
  text["intermediate_size"] = cfg.intermediate_size;
  text["num_hidden_layers"] = cfg.num_hidden_layers;
  text["num_attention_heads"] = cfg.num_attention_heads;
  text["num_key_value_heads"] = cfg.num_key_value_heads;
  text["head_dim"] = cfg.head_dim;
  text["global_head_dim"] = cfg.global_head_dim;
  text["num_global_key_value_heads"] = nullptr;
  text["attention_k_eq_v"] = false;
  text["sliding_window"] = cfg.sliding_window;
  text["vocab_size_per_layer_input"] = cfg.vocab_size_per_layer_input;
  text["hidden_size_per_layer_input"] = cfg.hidden_size_per_layer_input;
  text["num_kv_shared_layers"] = cfg.num_kv_shared_layers;
  text["use_double_wide_mlp"] = cfg.use_double_wide_mlp;
  text["max_position_embeddings"] = cfg.max_position_embeddings;
  text["rms_norm_eps"] = 1e-6;
  text["hidden_activation"] = "gelu_pytorch_tanh";
  text["final_logit_softcapping"] = 30.0;
  text["pad_token_id"] = 0;
  text["bos_token_id"] = 2;
  text["eos_token_id"] = 1;
  text["tie_word_embeddings"] = true;
  text["enable_moe_block"] = false;
  text["layer_types"] = layer_types;
  text["rope_parameters"] = {
      {"full_attention", {{"partial_rotary_factor", 0.25}, {"rope_theta", 1000000.0}, {"rope_type", "proportional"}}},
      {"sliding_attention", {{"rope_theta", 10000.0}, {"rope_type", "default"}}},
  };

  ordered_json config;
  config["architectures"] = {"Gemma4ForConditionalGeneration"};
  config["model_type"] = "gemma4";
  config["eos_token_id"] = {1, 106};
  config["tie_word_embeddings"] = true;
  config["text_config"] = text;
  return config;
}

nlohmann::ordered_json synth_generation_config_json() {
  nlohmann::ordered_json g;
  g["bos_token_id"] = 2;
  g["do_sample"] = true;
  g["eos_token_id"] = {1, 106, 50};
  g["pad_token_id"] = 0;
  g["temperature"] = 1.0;
  g["top_k"] = 64;
  g["top_p"] = 0.95;
  g["transformers_version"] = "5.5.0.dev0";
  return g;
}

void write_synth_checkpoint(const SynthConfig& cfg, const SynthOptions& options) {
  const fs::path& dir = options.out_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) throw Error("cannot create output folder " + dir.string());

  const std::vector<SynthTensor> tensors = synth_tensors(cfg);
  std::vector<io::TensorSpec> specs;
  uint64_t total = 0;
  for (const SynthTensor& t : tensors) {
    specs.push_back(t.spec);
    total += io::tensor_nbytes(t.spec);
  }
  // Fail before writing gigabytes rather than at the end with a full disk.
  const fs::space_info space = fs::space(dir, ec);
  if (!ec && space.available < total)
    throw Error("not enough disk space in " + dir.string() + ": the checkpoint needs " +
                std::to_string(total / 1000000) + " MB, " + std::to_string(space.available / 1000000) +
                " MB available");

  copy_tokenizer(options.tokenizer_json, dir / "tokenizer.json");
  write_json_file(dir / "config.json", synth_config_json(cfg));
  write_json_file(dir / "generation_config.json", synth_generation_config_json());

  constexpr double kGB = 1e9;
  constexpr uint64_t kReportEvery = uint64_t{500} << 20;
  uint64_t written = 0;
  uint64_t next_report = kReportEvery;
  size_t tensors_done = 0;
  const auto report = [&] {
    if (options.progress)
      std::fprintf(stderr, "synth: %zu/%zu tensors, %.2f/%.2f GB\n", tensors_done, tensors.size(),
                   static_cast<double>(written) / kGB, static_cast<double>(total) / kGB);
  };
  io::write_safetensors_chunked(
      dir / "model.safetensors", specs,
      [&](size_t index, size_t offset, uint8_t* out, size_t len) {
        fill_parallel(tensors[index], options.seed, index, offset, out, len);
        written += len;
        if (offset + len == io::tensor_nbytes(specs[index])) ++tensors_done;
        if (written >= next_report) {
          report();
          next_report = written + kReportEvery;
        }
      },
      {{"format", "pt"}, {"synthetic", "gemma4 synth --preset " + cfg.preset + " --seed " + std::to_string(options.seed)}});
  tensors_done = tensors.size();
  report();
}

}  // namespace gemma4::synth
