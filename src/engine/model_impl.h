#pragma once
// What lies behind the public Model and Session handles.
#include <memory>
#include <vector>

#include "gemma4/model.h"
#include "kernels/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/weights.h"

namespace gemma4 {

struct ModelImpl {
  std::filesystem::path dir;
  std::unique_ptr<ModelWeights> weights;
  std::unique_ptr<ThreadPool> pool;
};

struct SessionImpl {
  SessionOptions options;
  std::unique_ptr<KvPool> kv_pool;
  std::unique_ptr<KvSequence> sequence;
  ForwardScratch scratch;
  ForwardProfile profile;
  std::vector<float> unwanted_logits;  // stays empty: prefill chunks whose logits nobody asked for
};

}  // namespace gemma4
