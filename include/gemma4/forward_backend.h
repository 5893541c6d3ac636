#pragma once
// A forward pass that runs outside the engine's own CPU kernels: the WebGPU backend of the
// browser build (src/wasm/js_forward_backend.cpp, web/webgpu/). Only the kernels move; the engine
// keeps the tokenizer, chat template, scheduler, sampler, grammar and the KV cache's bookkeeping
// (block tables, reference counts, the prefix cache). The backend holds the K/V storage of the same
// blocks, so block ids mean the same on both sides.
//
//   EngineOptions o;
//   o.forward_backend = std::make_shared<MyBackend>();  // the engine then reads only config.json
//   auto engine = Engine::open(dir, o);                  // of the weights; the backend has its own
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gemma4/config.h"

namespace gemma4 {

// The engine's KV pool: `sliding_blocks` / `full_blocks` blocks of `block_size` positions for the
// layers of each attention type that compute K/V (each such layer indexes the same block ids).
struct KvGeometry {
  int block_size = 16;
  int64_t sliding_blocks = 0;
  int64_t full_blocks = 0;
};

// Copy-on-write of a block the prefix cache shares: slots [0, slots) of every layer of the group,
// from block `src` to block `dst`.
struct KvBlockCopy {
  AttentionType group = AttentionType::Sliding;
  int32_t src = 0, dst = 0;
  int slots = 0;
};

// New tokens of one sequence at positions [start, start + tokens.size()).
struct BackendSegment {
  int64_t start = 0;
  std::span<const int32_t> tokens;
  int64_t logits_count = 0;  // the last `logits_count` rows want logits
  // The block of each block-sized span of positions [0, start + tokens.size()), per attention
  // type; -1 where a sliding block was released (outside every later query's window).
  std::span<const int32_t> sliding_table, full_table;
};

class ForwardBackend {
 public:
  virtual ~ForwardBackend() = default;
  // Called once, when the engine has sized its KV pool.
  virtual void allocate_kv(const KvGeometry& geometry) = 0;
  // One step: the copies first, in order, then every segment (their K/V written to the blocks of
  // their tables). Fills `logits` with [Σ logits_count, vocab] floats in segment order. Throws
  // gemma4::Error when the step cannot run (the engine fails the step's requests).
  virtual void forward(std::span<const KvBlockCopy> copies, std::span<const BackendSegment> segments,
                       std::vector<float>& logits) = 0;
};

}  // namespace gemma4
