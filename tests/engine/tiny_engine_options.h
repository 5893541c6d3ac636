#pragma once
// What the engine tests share: engine options (tiny-a in float32, 2 threads, a 256-position
// context and a 64-token step budget, so a test's prompts span several steps) and requests.
#include "gemma4/engine.h"

namespace gemma4::testing {

inline EngineOptions tiny_engine_options(int parallel = 4) {
  EngineOptions o;
  o.dtype = "f32";
  o.kv_type = "f32";
  o.threads = 2;
  o.max_context = 256;
  o.parallel = parallel;
  o.step_tokens = 64;
  return o;
}

// A prompt of `length` tokens (BOS first) that differs with `salt`.
inline std::vector<int32_t> prompt_of(int length, int salt) {
  std::vector<int32_t> p = {2};
  for (int i = 1; i < length; ++i) p.push_back(static_cast<int32_t>(3 + (i * 31 + salt * 97) % 480));
  return p;
}

// Seeded sampling that runs to max_tokens (random weights: no stop tokens).
inline Request sampled(std::vector<int32_t> prompt, int64_t max_tokens, uint64_t seed) {
  Request r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 1.0f;
  r.sampling.top_k = 40;
  r.sampling.top_p = 0.95f;
  r.sampling.seed = seed;
  r.max_tokens = max_tokens;
  r.stop_token_ids = std::vector<int32_t>{};
  return r;
}

}  // namespace gemma4::testing
