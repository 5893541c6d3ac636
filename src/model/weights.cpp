#include "model/weights.h"

#include <chrono>
#include <cstring>

#include "gemma4/error.h"
#include "kernels/numeric.h"
#include "kernels/quant.h"
#include "io/model_file.h"
#include "model/model_file_weights.h"

namespace gemma4 {

namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

SourceType source_type_of(const io::TensorView& t) {
  switch (t.dtype) {
    case io::DType::F32: return SourceType::F32;
    case io::DType::F16: return SourceType::F16;
    case io::DType::BF16: return SourceType::BF16;
    default:
      throw Error("tensor '" + t.name + "' in " + t.file.string() + " has dtype " +
                  std::string(io::dtype_name(t.dtype)) + "; expected F32, F16 or BF16");
  }
}

float element_as_float(const io::TensorView& t, const uint8_t* data, int64_t i) {
  switch (source_type_of(t)) {
    case SourceType::F32: {
      float v;
      std::memcpy(&v, data + 4 * i, 4);
      return v;
    }
    case SourceType::F16: {
      uint16_t v;
      std::memcpy(&v, data + 2 * i, 2);
      return f16_to_f32(v);
    }
    case SourceType::BF16: {
      uint16_t v;
      std::memcpy(&v, data + 2 * i, 2);
      return bf16_to_f32(v);
    }
  }
  return 0.0f;
}

WeightType storage_type_for(WeightType wanted, SourceType source, int64_t cols) {
  bool quantized = wanted == WeightType::Q8_0 || wanted == WeightType::Q4_0;
  int64_t block = wanted == WeightType::Q8_0 ? kQ8BlockSize : kQ4BlockSize;
  if (!quantized || cols % block == 0) return wanted;
  switch (source) {
    case SourceType::BF16: return WeightType::BF16;
    case SourceType::F16: return WeightType::F16;
    case SourceType::F32: return WeightType::F32;
  }
  return WeightType::F32;
}

class TensorResolver {
 public:
  TensorResolver(const io::Checkpoint& ckpt, std::string prefix, const WeightLoadOptions& opt)
      : ckpt_(ckpt), prefix_(std::move(prefix)), opt_(opt) {
    for (const auto& name : ckpt_.names()) total_bytes_ += ckpt_.get(name).nbytes;
  }

  // Progress is measured in checkpoint bytes visited (tables that stay mapped count as done).
  void report(uint64_t bytes) const {
    done_bytes_ += bytes;
    if (opt_.progress && total_bytes_ > 0)
      opt_.progress(std::min(1.0, static_cast<double>(done_bytes_) / static_cast<double>(total_bytes_)));
  }

  const io::TensorView& tensor(const std::string& name, const std::vector<int64_t>& shape,
                               bool prefixed = true) const {
    std::string full = prefixed ? prefix_ + name : name;
    const io::TensorView* t = ckpt_.find(full);
    if (!t) throw Error("tensor '" + full + "' is missing from the checkpoint in " + ckpt_.dir().string());
    source_type_of(*t);
    if (t->shape != shape)
      throw Error("tensor '" + full + "' in " + t->file.string() + " has shape " + shape_string(t->shape) +
                  ", expected " + shape_string(shape));
    return *t;
  }

  // The requested type, except that block-quantized types need whole blocks per row: a matrix
  // whose rows do not split into blocks stays in its stored 16-bit type (or float32).
  WeightType storage_type(const io::TensorView& t, int64_t cols) const {
    return storage_type_for(opt_.weight_type, source_type_of(t), cols);
  }

  std::vector<float> vector(const std::string& name, int64_t n) const {
    const io::TensorView& t = tensor(name, {n});
    std::vector<float> v(n);
    const uint8_t* data = ckpt_.acquire(t);
    for (int64_t i = 0; i < n; ++i) v[i] = element_as_float(t, data, i);
    if (t.data == nullptr) ckpt_.release(t);  // a read copy; mapped pages may be shared with a neighbour
    return v;
  }

  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols, bool prefixed = true) const {
    // A model file holds the converted matrix and not its source.
    const std::string full = prefixed ? prefix_ + name : name;
    if (opt_.store && !ckpt_.find(full)) {
      if (auto m = opt_.store->find_converted(full, rows, cols)) return *m;
    }
    const io::TensorView& t = tensor(name, {rows, cols}, prefixed);
    report(t.nbytes);
    return convert(t, rows, cols);
  }

  // A stored conversion when the store has one, else a fresh one (offered to the store).
  WeightMatrix convert(const io::TensorView& t, int64_t rows, int64_t cols) const {
    const WeightType type = storage_type(t, cols);
    if (opt_.store) {
      if (auto stored = opt_.store->find(t.name, type, rows, cols)) return *stored;
    }
    WeightMatrix m = make_weight_matrix(source_type_of(t), ckpt_.acquire(t), rows, cols, type, false, opt_.pool);
    if (m.owner) {
      // Converted copies no longer need the source: a read copy is freed, mapped pages given back.
      ckpt_.release(t);
      if (opt_.store) opt_.store->add(t.name, m);
    }
    return m;
  }

 private:
  const io::Checkpoint& ckpt_;
  std::string prefix_;
  const WeightLoadOptions& opt_;
  uint64_t total_bytes_ = 0;  // 64-bit: E2B's 9.3 GB would wrap a wasm32 size_t
  mutable uint64_t done_bytes_ = 0;
};

}  // namespace

void EmbeddingTable::lookup(int64_t id, float scale, float* out) const {
  if (id < 0 || id >= rows)
    throw Error("token id " + std::to_string(id) + " is out of range for '" + tensor->name + "' (" +
                std::to_string(rows) + " rows)");
  thread_local std::vector<uint8_t> scratch;
  scratch.resize(source->row_bytes());
  const uint8_t* row = source->row(id, scratch.data());
  switch (source_type_of(*tensor)) {
    case SourceType::F32:
      for (int64_t c = 0; c < cols; ++c) {
        float v;
        std::memcpy(&v, row + 4 * c, 4);
        out[c] = v * scale;
      }
      break;
    case SourceType::F16:
      for (int64_t c = 0; c < cols; ++c) {
        uint16_t v;
        std::memcpy(&v, row + 2 * c, 2);
        out[c] = f16_to_f32(v) * scale;
      }
      break;
    case SourceType::BF16:
      for (int64_t c = 0; c < cols; ++c) {
        uint16_t v;
        std::memcpy(&v, row + 2 * c, 2);
        out[c] = bf16_to_f32(v) * scale;
      }
      break;
  }
}

namespace {

bool is_per_layer_table(std::string_view name) {
  constexpr std::string_view suffix = "embed_tokens_per_layer.weight";
  return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}

// The table's rows from memory when its bytes are there (mapped, or kept by a head that uses them
// as stored), else read from its file.
EmbeddingTable table_of(const io::Checkpoint& ckpt, const io::TensorView& t, int64_t rows, int64_t cols) {
  const auto row_bytes = static_cast<size_t>(t.nbytes / static_cast<uint64_t>(rows > 0 ? rows : 1));
  if (const uint8_t* bytes = ckpt.held(t)) return {&t, rows, cols, std::make_shared<io::MemoryRowSource>(bytes, rows, row_bytes)};
  auto source = std::make_shared<io::FileRowSource>(ckpt.file_of(t).reader(), t.file_offset, rows, row_bytes);
  return {&t, rows, cols, std::move(source)};
}

}  // namespace

std::unique_ptr<ModelWeights> load_weights(const std::filesystem::path& model_dir,
                                           const WeightLoadOptions& options) {
  auto start = std::chrono::steady_clock::now();
  auto w = std::make_unique<ModelWeights>();
  w->config = load_model_config(model_dir);
  // A model file: its matrices come converted, the rest from its tensor section.
  std::unique_ptr<ConvertedWeightStore> file_store;
  WeightLoadOptions with_file = options;
  if (io::is_model_file(model_dir)) {
    file_store = open_model_file_weights(model_dir, options.weight_type, options.per_layer_table_on_disk);
    with_file.store = file_store.get();
  }
  io::CheckpointReadOptions read;
  if (options.per_layer_table_on_disk) read.keep_on_disk = is_per_layer_table;
  w->checkpoint = io::Checkpoint::open(model_dir, read);
  w->weight_type = options.weight_type;
  const ModelConfig& c = w->config;

  std::string prefix;
  if (w->checkpoint.find("model.language_model.embed_tokens.weight")) prefix = "model.language_model.";
  else if (w->checkpoint.find("model.embed_tokens.weight")) prefix = "model.";
  else
    throw Error("checkpoint in " + model_dir.string() +
                " has no token embedding: expected 'model.language_model.embed_tokens.weight' "
                "(multimodal layout) or 'model.embed_tokens.weight' (text-only layout)");
  TensorResolver r(w->checkpoint, prefix, with_file);

  const int64_t H = c.hidden_size;
  const io::TensorView& embed = r.tensor("embed_tokens.weight", {c.vocab_size, H});
  if (c.tie_word_embeddings) {
    w->lm_head = r.convert(embed, c.vocab_size, H);
    r.report(embed.nbytes);
  } else {
    w->lm_head = r.matrix("lm_head.weight", c.vocab_size, H, /*prefixed=*/false);
  }
  // Read, not mapped (the WebAssembly build), the token embedding is looked up row by row from
  // the file like the per-layer table: 805 MB of bf16 in E2B that never stay in the heap (a
  // quantized tied head converts from a copy freed at once; one that uses the bytes as stored
  // keeps them, and the lookups read them there).
  w->embed_tokens = table_of(w->checkpoint, embed, c.vocab_size, H);
  w->final_norm = r.vector("norm.weight", H);

  const int64_t P = c.hidden_size_per_layer_input;
  const int64_t L = c.num_layers;
  if (c.has_per_layer_inputs()) {
    w->embed_tokens_per_layer = table_of(w->checkpoint,
                                         r.tensor("embed_tokens_per_layer.weight", {c.vocab_size_per_layer_input, L * P}),
                                         c.vocab_size_per_layer_input, L * P);
    w->per_layer_model_projection = r.matrix("per_layer_model_projection.weight", L * P, H);
    w->per_layer_projection_norm = r.vector("per_layer_projection_norm.weight", P);
    r.report(w->embed_tokens_per_layer.tensor->nbytes);
  }

  w->layers.resize(L);
  for (int i = 0; i < L; ++i) {
    const LayerSpec& spec = c.layers[i];
    LayerWeights& lw = w->layers[i];
    std::string p = "layers." + std::to_string(i) + ".";
    lw.input_norm = r.vector(p + "input_layernorm.weight", H);
    lw.post_attention_norm = r.vector(p + "post_attention_layernorm.weight", H);
    lw.pre_feedforward_norm = r.vector(p + "pre_feedforward_layernorm.weight", H);
    lw.post_feedforward_norm = r.vector(p + "post_feedforward_layernorm.weight", H);
    lw.layer_scalar = r.vector(p + "layer_scalar", 1)[0];
    const int64_t hd = spec.head_dim;
    lw.q_proj = r.matrix(p + "self_attn.q_proj.weight", c.num_heads * hd, H);
    lw.q_norm = r.vector(p + "self_attn.q_norm.weight", hd);
    lw.o_proj = r.matrix(p + "self_attn.o_proj.weight", H, c.num_heads * hd);
    if (!spec.kv_shared) {
      lw.k_proj = r.matrix(p + "self_attn.k_proj.weight", spec.num_kv_heads * hd, H);
      if (spec.has_v_proj) lw.v_proj = r.matrix(p + "self_attn.v_proj.weight", spec.num_kv_heads * hd, H);
      lw.k_norm = r.vector(p + "self_attn.k_norm.weight", hd);
    }
    lw.gate_proj = r.matrix(p + "mlp.gate_proj.weight", spec.mlp_width, H);
    lw.up_proj = r.matrix(p + "mlp.up_proj.weight", spec.mlp_width, H);
    lw.down_proj = r.matrix(p + "mlp.down_proj.weight", H, spec.mlp_width);
    if (c.has_per_layer_inputs()) {
      lw.per_layer_input_gate = r.matrix(p + "per_layer_input_gate.weight", P, H);
      lw.per_layer_projection = r.matrix(p + "per_layer_projection.weight", H, P);
      lw.post_per_layer_input_norm = r.vector(p + "post_per_layer_input_norm.weight", H);
    }
  }
  if (options.progress) options.progress(1.0);
  w->load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return w;
}

}  // namespace gemma4
