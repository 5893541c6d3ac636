#include "gemma4/config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "io/model_file.h"

namespace gemma4 {

namespace {

using nlohmann::json;

// Reads typed fields of one JSON object, naming the file and field in every error.
class FieldReader {
 public:
  FieldReader(const json& obj, std::string source) : obj_(obj), source_(std::move(source)) {}

  bool has(const char* key) const { return obj_.contains(key) && !obj_[key].is_null(); }

  // A JSON number that becomes a count or a size: an integer in [lo, hi]. A float is accepted only
  // when whole and in range, so 4e9 or 1e300 is an error naming the field, never a wrapped or
  // undefined conversion; the bounds keep absurd values from becoming absurd allocations.
  int64_t integer(const char* key, int64_t fallback, int64_t lo, int64_t hi) const {
    if (!has(key)) return fallback;
    return checked_integer(obj_[key], key, lo, hi);
  }

  int64_t checked_integer(const json& v, const std::string& name, int64_t lo, int64_t hi) const {
    const auto out_of_range = [&] {
      fail(name, "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] (got " +
                     v.dump() + ")");
    };
    if (v.is_number_unsigned()) {  // nlohmann stores every non-negative integer literal as unsigned
      if (v.get<uint64_t>() > static_cast<uint64_t>(hi) || static_cast<int64_t>(v.get<uint64_t>()) < lo) out_of_range();
      return static_cast<int64_t>(v.get<uint64_t>());
    }
    if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      if (i < lo || i > hi) out_of_range();
      return i;
    }
    if (!v.is_number_float()) fail(name, "must be an integer (got " + v.dump() + ")");
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d) fail(name, "must be an integer (got " + v.dump() + ")");
    // Both bounds are far below 2^53, so they and every whole double between them are exact.
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) out_of_range();
    return static_cast<int64_t>(d);
  }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = obj_[key];
    if (!v.is_number()) fail(key, "must be a number");
    if (!std::isfinite(v.get<double>())) fail(key, "must be a finite number (got " + v.dump() + ")");
    return v.get<double>();
  }

  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = obj_[key];
    if (!v.is_boolean()) fail(key, "must be true or false");
    return v.get<bool>();
  }

  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = obj_[key];
    if (!v.is_string()) fail(key, "must be a string");
    return v.get<std::string>();
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(source_ + ": field '" + key + "' " + what);
  }

  const json& raw(const char* key) const { return obj_[key]; }
  const std::string& source() const { return source_; }

 private:
  const json& obj_;
  std::string source_;
};

constexpr int64_t kMaxTokenId = std::numeric_limits<int32_t>::max();

std::vector<int32_t> token_id_list(const FieldReader& f, const char* key) {
  if (!f.has(key)) return {};
  const json& v = f.raw(key);
  std::vector<int32_t> ids;
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      ids.push_back(static_cast<int32_t>(
          f.checked_integer(v[i], std::string(key) + "[" + std::to_string(i) + "]", 0, kMaxTokenId)));
  } else if (v.is_number()) {
    ids.push_back(static_cast<int32_t>(f.checked_integer(v, key, 0, kMaxTokenId)));
  } else {
    f.fail(key, "must be an integer or a list of integers");
  }
  return ids;
}

// The engine reads no architecture name (model_type decides), but a list that is not strings is
// a corrupt file and is named as such rather than ignored.
void check_string_list(const FieldReader& f, const char* key) {
  if (!f.has(key)) return;
  const json& v = f.raw(key);
  if (!v.is_array()) f.fail(key, "must be a list of strings (got " + v.dump() + ")");
  for (size_t i = 0; i < v.size(); ++i)
    if (!v[i].is_string()) f.fail(std::string(key) + "[" + std::to_string(i) + "]", "must be a string (got " + v[i].dump() + ")");
}

RopeParameters parse_rope(const json& obj, const std::string& source, const RopeParameters& fallback) {
  if (!obj.is_object()) throw Error(source + ": rope parameters must be an object");
  FieldReader f(obj, source);
  RopeParameters r = fallback;
  r.rope_type = f.string("rope_type", fallback.rope_type);
  r.theta = f.number("rope_theta", fallback.theta);
  r.partial_rotary_factor = f.number("partial_rotary_factor", r.rope_type == "proportional" ? fallback.partial_rotary_factor : 1.0);
  r.factor = f.number("factor", 1.0);
  if (r.rope_type != "default" && r.rope_type != "proportional")
    throw Error(source + ": rope_type '" + r.rope_type +
                "' is not supported (supported: default, proportional)");
  if (!(r.theta > 0)) throw Error(source + ": rope_theta must be positive");
  if (!(r.partial_rotary_factor >= 0 && r.partial_rotary_factor <= 1))
    throw Error(source + ": partial_rotary_factor must be in [0, 1]");
  if (!(r.factor > 0)) throw Error(source + ": rope factor must be positive");
  return r;
}

void derive_layers(ModelConfig& c, const std::string& source) {
  const int first_shared = c.first_kv_shared_layer();
  c.layers.assign(c.num_layers, LayerSpec{});
  for (int i = 0; i < c.num_layers; ++i) {
    LayerSpec& l = c.layers[i];
    l.type = c.layer_types[i];
    const bool full = l.type == AttentionType::Full;
    l.head_dim = full && c.global_head_dim > 0 ? c.global_head_dim : c.head_dim;
    const bool k_eq_v = c.attention_k_eq_v && full;
    l.num_kv_heads = k_eq_v && c.num_global_kv_heads ? *c.num_global_kv_heads : c.num_kv_heads;
    l.has_v_proj = !k_eq_v;
    if (c.num_heads % l.num_kv_heads != 0)
      throw Error(source + ": num_attention_heads (" + std::to_string(c.num_heads) +
                  ") must be a multiple of the key/value head count (" +
                  std::to_string(l.num_kv_heads) + ") of layer " + std::to_string(i));
    if (l.head_dim % 2 != 0)
      throw Error(source + ": head dimension of layer " + std::to_string(i) + " must be even");
    l.kv_shared = c.num_kv_shared_layers > 0 && i >= first_shared;
    l.kv_source_layer = i;
    if (l.kv_shared) {
      l.kv_source_layer = -1;
      for (int j = first_shared - 1; j >= 0; --j) {
        if (c.layer_types[j] == l.type) {
          l.kv_source_layer = j;
          break;
        }
      }
      if (l.kv_source_layer < 0)
        throw Error(source + ": layer " + std::to_string(i) + " is KV-shared but no earlier " +
                    (full ? "full" : "sliding") + "-attention layer computes K/V for it");
    }
    l.mlp_width = c.intermediate_size *
                  (c.use_double_wide_mlp && l.kv_shared && first_shared > 0 ? 2 : 1);
    const RopeParameters& rope = full ? c.rope_full : c.rope_sliding;
    if (rope.rope_type == "proportional") {
      l.rotary_pairs = static_cast<int64_t>(std::floor(rope.partial_rotary_factor * l.head_dim / 2));
    } else {
      l.rotary_pairs = l.head_dim / 2;
    }
    l.inv_freq.resize(l.rotary_pairs);
    for (int64_t p = 0; p < l.rotary_pairs; ++p) {
      double exponent = static_cast<double>(2 * p) / static_cast<double>(l.head_dim);
      l.inv_freq[p] = 1.0 / std::pow(rope.theta, exponent);
      if (rope.rope_type == "proportional") l.inv_freq[p] /= rope.factor;
    }
  }
}

}  // namespace

// Upper bounds of the size fields: far above any Gemma 4 (E2B: vocabulary 262,144, width 1,536,
// 35 layers, head size 512, 131,072 positions) and low enough that products of them cannot
// overflow 64 bits and a corrupt file fails here instead of in an allocation.
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxWidth = int64_t{1} << 16;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxHeadDim = int64_t{1} << 14;
constexpr int64_t kMaxPositions = std::numeric_limits<int32_t>::max();

ModelConfig parse_model_config(const json& doc, const std::string& source) {
  if (!doc.is_object()) throw Error(source + ": expected a JSON object");
  ModelConfig c;
  const json* text = &doc;
  if (doc.contains("text_config") && !doc["text_config"].is_null()) {
    if (!doc["text_config"].is_object()) throw Error(source + ": field 'text_config' must be an object");
    text = &doc["text_config"];
    c.nested = true;
  }
  FieldReader top(doc, source);
  FieldReader f(*text, c.nested ? source + " (text_config)" : source);

  for (const FieldReader* r : {&top, &f}) {
    if (r->has("model_type")) {
      std::string mt = r->string("model_type", "");
      if (mt != "gemma4" && mt != "gemma4_text")
        throw Error(source + ": model_type '" + mt + "' is not a Gemma 4 model (expected gemma4 or gemma4_text)");
    }
  }

  c.vocab_size = f.integer("vocab_size", c.vocab_size, 1, kMaxVocab);
  c.hidden_size = f.integer("hidden_size", c.hidden_size, 1, kMaxWidth);
  c.intermediate_size = f.integer("intermediate_size", c.intermediate_size, 1, kMaxWidth * 16);
  c.num_layers = static_cast<int>(f.integer("num_hidden_layers", c.num_layers, 1, kMaxLayers));
  c.num_heads = f.integer("num_attention_heads", c.num_heads, 1, kMaxHeads);
  c.num_kv_heads = f.integer("num_key_value_heads", c.num_kv_heads, 1, kMaxHeads);
  c.head_dim = f.integer("head_dim", c.head_dim, 1, kMaxHeadDim);
  // null or 0 global_head_dim: full layers use head_dim (as Gemma4TextAttention does).
  c.global_head_dim = f.has("global_head_dim") ? f.integer("global_head_dim", 0, 0, kMaxHeadDim)
                                               : (text->contains("global_head_dim") ? 0 : 512);
  if (f.has("num_global_key_value_heads"))
    c.num_global_kv_heads = f.integer("num_global_key_value_heads", 0, 1, kMaxHeads);
  c.attention_k_eq_v = f.boolean("attention_k_eq_v", false);
  c.sliding_window = f.integer("sliding_window", c.sliding_window, 1, kMaxPositions);
  c.vocab_size_per_layer_input =
      f.integer("vocab_size_per_layer_input", c.vocab_size_per_layer_input, 0, kMaxVocab);
  c.hidden_size_per_layer_input =
      text->contains("hidden_size_per_layer_input") && (*text)["hidden_size_per_layer_input"].is_null()
          ? 0
          : f.integer("hidden_size_per_layer_input", c.hidden_size_per_layer_input, 0, kMaxWidth);
  c.num_kv_shared_layers = static_cast<int>(f.integer("num_kv_shared_layers", 0, 0, kMaxLayers));
  c.use_double_wide_mlp = f.boolean("use_double_wide_mlp", false);
  c.max_position_embeddings = f.integer("max_position_embeddings", c.max_position_embeddings, 1, kMaxPositions);
  c.rms_norm_eps = f.number("rms_norm_eps", c.rms_norm_eps);
  c.hidden_activation = f.string("hidden_activation", c.hidden_activation);
  if (f.has("final_logit_softcapping")) c.final_logit_softcapping = f.number("final_logit_softcapping", 0);
  // The text config's own setting wins; a multimodal wrapper's top-level flag is the fallback.
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", top.boolean("tie_word_embeddings", true));
  if (f.has("bos_token_id")) c.bos_token_id = static_cast<int32_t>(f.integer("bos_token_id", 2, 0, kMaxTokenId));
  if (f.has("pad_token_id")) c.pad_token_id = static_cast<int32_t>(f.integer("pad_token_id", 0, 0, kMaxTokenId));
  {
    // Both levels are checked; the top level's list wins, as in transformers' generation defaults.
    auto eos = token_id_list(top, "eos_token_id");
    const auto text_eos = token_id_list(f, "eos_token_id");
    if (eos.empty()) eos = text_eos;
    if (!eos.empty()) c.eos_token_ids = eos;
  }
  for (const FieldReader* r : {&top, &f}) check_string_list(*r, "architectures");

  // Features this engine does not implement are refused rather than silently ignored.
  if (f.boolean("enable_moe_block", false))
    throw Error(source + ": enable_moe_block: true (mixture-of-experts Gemma 4) is not supported by this engine");
  if (f.boolean("attention_bias", false))
    throw Error(source + ": attention_bias: true is not supported by this engine");
  if (f.has("use_bidirectional_attention") && f.string("use_bidirectional_attention", "") == "all")
    throw Error(source + ": use_bidirectional_attention: \"all\" is not supported (text generation is causal)");
  if (c.hidden_activation != "gelu_pytorch_tanh" && c.hidden_activation != "gelu_new")
    throw Error(source + ": hidden_activation '" + c.hidden_activation +
                "' is not supported (supported: gelu_pytorch_tanh)");

  // Integer fields were range-checked as they were read; what is left are cross-field rules.
  if (c.has_per_layer_inputs() && c.vocab_size_per_layer_input == 0)
    f.fail("vocab_size_per_layer_input", "must be positive when hidden_size_per_layer_input is set");
  if (!(c.rms_norm_eps > 0)) f.fail("rms_norm_eps", "must be positive");
  if (c.final_logit_softcapping && !(*c.final_logit_softcapping > 0))
    f.fail("final_logit_softcapping", "must be positive or null");
  if (c.num_kv_shared_layers < 0 || c.num_kv_shared_layers >= c.num_layers)
    f.fail("num_kv_shared_layers", "must be in [0, num_hidden_layers - 1] (got " +
                                       std::to_string(c.num_kv_shared_layers) + ")");

  // layer_types: default 5 sliding : 1 full, and the last layer is always full attention.
  if (f.has("layer_types")) {
    const json& lt = f.raw("layer_types");
    if (!lt.is_array()) f.fail("layer_types", "must be a list");
    if (static_cast<int>(lt.size()) != c.num_layers)
      f.fail("layer_types", "has " + std::to_string(lt.size()) + " entries but num_hidden_layers is " +
                                std::to_string(c.num_layers));
    for (size_t i = 0; i < lt.size(); ++i) {
      std::string t = lt[i].is_string() ? lt[i].get<std::string>() : "";
      if (t == "sliding_attention") c.layer_types.push_back(AttentionType::Sliding);
      else if (t == "full_attention") c.layer_types.push_back(AttentionType::Full);
      else f.fail("layer_types", "entry " + std::to_string(i) + " must be \"sliding_attention\" or \"full_attention\"");
    }
  } else {
    for (int i = 0; i < c.num_layers; ++i)
      c.layer_types.push_back((i + 1) % 6 == 0 ? AttentionType::Full : AttentionType::Sliding);
  }
  c.layer_types.back() = AttentionType::Full;

  if (f.has("rope_parameters")) {
    const json& rp = f.raw("rope_parameters");
    if (!rp.is_object()) f.fail("rope_parameters", "must be an object");
    if (rp.contains("sliding_attention") && !rp["sliding_attention"].is_null())
      c.rope_sliding = parse_rope(rp["sliding_attention"], f.source() + " rope_parameters.sliding_attention", c.rope_sliding);
    if (rp.contains("full_attention") && !rp["full_attention"].is_null())
      c.rope_full = parse_rope(rp["full_attention"], f.source() + " rope_parameters.full_attention", c.rope_full);
  }

  derive_layers(c, source);
  return c;
}

ModelConfig load_model_config(const std::filesystem::path& model_dir) {
  const bool model_file = io::is_model_file(model_dir);
  if (!model_file && std::filesystem::is_regular_file(model_dir))
    throw Error(model_dir.string() + " is a file; --model takes the model folder (with config.json, "
                "tokenizer.json and the safetensors) or a model file that `gemma4 convert` wrote (.g4w)");
  std::filesystem::path path = model_dir / "config.json";
  const std::optional<std::string> text = io::read_model_text(model_dir, "config.json");
  if (!text) {
    if (!std::filesystem::exists(model_dir))
      throw Error("model folder " + model_dir.string() + " does not exist");
    if (model_file) throw Error(model_dir.string() + " holds no config.json (not written by `gemma4 convert`?)");
    throw Error(path.string() + " not found: a Gemma 4 model folder needs config.json (as downloaded from Hugging Face)");
  }
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
  return parse_model_config(doc, path.string());
}

}  // namespace gemma4
