#pragma once
// The weights of a Gemma 4 text decoder, resolved from a checkpoint: norms and scalars as float32,
// linear layers as WeightMatrix in the chosen weight type, embedding tables left memory-mapped.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gemma4/config.h"
#include "io/row_source.h"
#include "io/safetensors.h"
#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"

namespace gemma4 {

struct LayerWeights {
  std::vector<float> input_norm, post_attention_norm, pre_feedforward_norm, post_feedforward_norm;
  std::vector<float> q_norm, k_norm;   // k_norm empty for KV-shared layers
  std::vector<float> post_per_layer_input_norm;  // empty without per-layer inputs
  float layer_scalar = 1.0f;
  WeightMatrix q_proj, k_proj, v_proj, o_proj;  // k/v empty for KV-shared layers; v empty when K = V
  WeightMatrix gate_proj, up_proj, down_proj;
  WeightMatrix per_layer_input_gate, per_layer_projection;  // empty without per-layer inputs
};

// One row-addressable embedding table, left in the checkpoint: rows come from its mapping, or
// from the file one at a time (io/row_source.h) when the table is kept on disk.
struct EmbeddingTable {
  const io::TensorView* tensor = nullptr;
  int64_t rows = 0, cols = 0;
  std::shared_ptr<const io::RowSource> source;

  // Writes row `id` as float32 times `scale` (exact conversion from the stored type).
  void lookup(int64_t id, float scale, float* out) const;
};

struct ModelWeights {
  ModelConfig config;
  io::Checkpoint checkpoint;       // owns the mappings every view points into
  WeightType weight_type = WeightType::F32;
  EmbeddingTable embed_tokens;
  EmbeddingTable embed_tokens_per_layer;  // rows == 0 without per-layer inputs
  WeightMatrix lm_head;            // the embedding itself when tied
  WeightMatrix per_layer_model_projection;
  std::vector<float> per_layer_projection_norm;
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
  double load_seconds = 0.0;
};

// Linear layers converted by an earlier load and kept on disk (model/weight_cache.h).
class ConvertedWeightStore {
 public:
  virtual ~ConvertedWeightStore() = default;
  // The stored matrix for tensor `name` in exactly this type and shape, or nullopt.
  virtual std::optional<WeightMatrix> find(const std::string& name, WeightType type, int64_t rows,
                                           int64_t cols) const = 0;
  // The stored matrix for tensor `name` that the checkpoint does not hold at all (a model file
  // keeps the converted matrix, not its source), in whatever type it was converted to; nullopt
  // when there is none. Throws gemma4::Error when its shape is not rows x cols.
  virtual std::optional<WeightMatrix> find_converted(const std::string& name, int64_t rows, int64_t cols) const {
    (void)name, (void)rows, (void)cols;
    return std::nullopt;
  }
  // Receives every matrix the load had to convert itself.
  virtual void add(const std::string& name, const WeightMatrix& m) = 0;
};

struct WeightLoadOptions {
  WeightType weight_type = WeightType::F32;
  ConvertedWeightStore* store = nullptr;  // reuse and record converted matrices when set
  ThreadPool* pool = nullptr;  // parallel conversion/quantization when set
  std::function<void(double fraction)> progress;  // fraction of weight bytes converted so far
  // Read the checkpoint instead of mapping it: each tensor is read when it is converted and freed
  // after, and the embedding tables (the per-layer one is 4.7 GB in E2B) stay on disk, their rows
  // read on demand. On by default on the WebAssembly build, whose mmap would copy the whole file
  // into the heap.
#ifdef __EMSCRIPTEN__
  bool per_layer_table_on_disk = true;
#else
  bool per_layer_table_on_disk = false;
#endif
};

// Opens `model_dir` (config.json + safetensors, or a model file that `gemma4 convert` wrote: see
// io/model_file.h; its weight type must be options.weight_type) and resolves every tensor the
// config calls for.
// Throws gemma4::Error naming the file and tensor on a missing tensor, wrong shape or dtype.
std::unique_ptr<ModelWeights> load_weights(const std::filesystem::path& model_dir,
                                           const WeightLoadOptions& options);

}  // namespace gemma4
