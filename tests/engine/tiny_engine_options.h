#pragma once
// Engine options the engine tests share: tiny-a in float32, 2 threads, a 256-position context and
// a 64-token step budget, so a test's prompts span several steps.
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

}  // namespace gemma4::testing
