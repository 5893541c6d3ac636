#pragma once
// The Gemma 4 forward pass over a chunk of new tokens appended to one sequence's KV cache.
// One code path serves prefill (many tokens) and decode (one token) and every weight type.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kv/kv_cache.h"
#include "model/weights.h"

namespace gemma4 {

// Reusable activation buffers, so decode steps do not allocate.
struct ForwardScratch {
  std::vector<float> x, h, q, k, v, attn, o, gate, up, ple_inputs, ple_gate, logits_in;
  std::vector<float> scores;  // per thread: [threads][max context]
  std::vector<float> rope_cos, rope_sin;
};

struct ForwardOptions {
  // Rows (indices into the chunk) whose logits are wanted, ascending. Empty: none.
  std::vector<int64_t> logits_rows;
  // Layers whose K/V are shared compute nothing the cache keeps, so for rows without wanted
  // logits they can be skipped entirely (exact: those rows' outputs are never read).
  bool skip_shared_layers_for_unneeded_rows = true;
  // Optional probe: called after the embedding (layer -1) and after each layer with the hidden
  // states of all rows still computed ([rows, hidden]). Used to locate regressions.
  std::function<void(int layer, const float* hidden, int64_t rows)> hidden_probe;
};

// Appends `tokens` at positions [seq.length(), seq.length() + n) and writes the logits of the
// requested rows to `logits` ([logits_rows.size(), vocab]). Throws gemma4::Error for invalid
// token ids or an exhausted cache (the sequence is left unchanged then).
void forward(const ModelWeights& weights, KvSequence& seq, std::span<const int32_t> tokens,
             const ForwardOptions& options, std::vector<float>& logits, ForwardScratch& scratch,
             ThreadPool& pool);

}  // namespace gemma4
