#include <algorithm>

#include "engine/model_impl.h"
#include "gemma4/error.h"
#include "model/weight_cache.h"

namespace gemma4 {

Model::Model(std::unique_ptr<ModelImpl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<Model> Model::load(const std::filesystem::path& dir, const ModelOptions& options) {
  auto type = parse_weight_type(options.dtype);
  if (!type)
    throw Error("unknown dtype '" + options.dtype + "' (choose f32, bf16, f16, q8_0 or q4_0)");
  if (options.threads < 0) throw Error("thread count must be positive");
  auto impl = std::make_unique<ModelImpl>();
  impl->dir = dir;
  if (options.config_only) {
    impl->weights = std::make_unique<ModelWeights>();
    impl->weights->config = load_model_config(dir);
    impl->weights->weight_type = *type;
    impl->pool = std::make_unique<ThreadPool>(1);
    return std::shared_ptr<Model>(new Model(std::move(impl)));
  }
  impl->pool = std::make_unique<ThreadPool>(options.threads > 0 ? options.threads : hardware_threads());
  WeightLoadOptions wo;
  wo.weight_type = *type;
  wo.pool = impl->pool.get();
  wo.progress = options.progress;
  impl->weights = options.weight_cache ? load_weights_cached(dir, wo, options.weight_cache_dir) : load_weights(dir, wo);
  return std::shared_ptr<Model>(new Model(std::move(impl)));
}

bool Model::has_weights() const { return !impl_->weights->layers.empty(); }
const ModelConfig& Model::config() const { return impl_->weights->config; }
const std::filesystem::path& Model::dir() const { return impl_->dir; }
std::string Model::dtype() const { return std::string(weight_type_name(impl_->weights->weight_type)); }
int Model::threads() const { return impl_->pool->size(); }
double Model::load_seconds() const { return impl_->weights->load_seconds; }

size_t Model::weight_bytes() const {
  const ModelWeights& w = *impl_->weights;
  size_t total = 0;
  auto add = [&](const WeightMatrix& m) {
    if (m.owner) total += m.byte_size();
  };
  add(w.lm_head);
  add(w.per_layer_model_projection);
  for (const auto& l : w.layers) {
    for (const WeightMatrix* m : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj,
                                  &l.down_proj, &l.per_layer_input_gate, &l.per_layer_projection})
      add(*m);
  }
  return total;
}

}  // namespace gemma4
