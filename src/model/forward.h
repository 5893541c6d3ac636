#pragma once
// The Gemma 4 forward pass over a batch of rows from one or many sequences: any mix of prefill
// chunks and single decode tokens, every weight type. Each row knows its sequence, its position
// and whether its logits are wanted; a row's result does not depend on the other rows in the
// batch (every kernel computes a row the same way whatever the batch holds).
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kv/kv_cache.h"
#include "model/weights.h"

namespace gemma4 {

// Reusable buffers, so decode steps do not allocate once they have grown.
struct ForwardScratch {
  std::vector<float> x, h, q, k, v, attn, o, gate, up, ple_inputs, ple_gate, ple_row, logits_in;
  std::vector<float> rope_cos[2], rope_sin[2];  // [rows][pairs] per attention type
  std::vector<int32_t> row_token;
  std::vector<int64_t> row_pos, row_src;
  std::vector<KvSequence*> row_seq;
  std::vector<uint8_t> row_wanted;
  // Attention works on blocks of up to kAttentionRowBlock rows of one sequence, so each cached K/V
  // row is brought in once for all of them.
  std::vector<float> scores;    // per thread: [block rows][group heads][split]
  std::vector<float> queries;   // per thread: a block's query heads side by side (when kv heads > 1)
  std::vector<float> partials;  // per attention task: [block rows][group heads][2 + head_dim]
  struct AttentionTask {
    int64_t row, rows, kv_head, begin, end, partial;
  };
  std::vector<AttentionTask> tasks;
  std::vector<int64_t> block_row0;        // per row block: its first row; one past the last row at the end
  std::vector<int64_t> block_task_first;  // per (row block, kv head): its first task; the task count at the end
};

// New tokens appended to one sequence at positions [seq->length(), seq->length() + n).
struct ForwardSegment {
  KvSequence* seq = nullptr;
  std::span<const int32_t> tokens;
  int64_t logits_count = 0;  // the last `logits_count` rows want logits (0: none, n: all)
};

// Wall time of one forward call by phase (accumulated over calls; ns). Filled only when
// ForwardOptions::profile is set, for the per-phase breakdown `gemma4 bench` reports.
struct ForwardProfile {
  enum Phase { Embed, QkvProj, Attention, OutProj, MlpGateUp, MlpDown, PerLayerInput, LmHead, kPhases };
  static constexpr const char* kNames[kPhases] = {"embed+ple+rope", "norm+q/k/v proj+rope+kv store",
                                                  "attention", "o proj+residual", "norm+gate/up proj+gelu",
                                                  "down proj+residual", "per-layer input", "final norm+lm head+softcap"};
  int64_t ns[kPhases] = {};
  int64_t calls = 0;
};

struct ForwardOptions {
  // Layers whose K/V are shared compute nothing the cache keeps, so rows without wanted logits
  // skip them entirely (exact: those rows' outputs are never read).
  bool skip_shared_layers_for_unneeded_rows = true;
  // Optional probe: called after the embedding (layer -1) and after each layer with the hidden
  // states of all rows still computed ([rows, hidden]). Used to locate regressions.
  std::function<void(int layer, const float* hidden, int64_t rows)> hidden_probe;
  ForwardProfile* profile = nullptr;
};

// Keys are split at multiples of kAttentionSplit (absolute positions) and each row's softmax runs
// over its visible part of each split, so a row's summation order depends only on its own position
// and window, never on the batch or on which rows share its block.
constexpr int64_t kAttentionSplit = 256;
constexpr int64_t kAttentionRowBlock = 4;

// Runs every segment, writes their K/V, commits the tokens to their sequences and writes the
// wanted logits ([Σ logits_count, vocab], segment order) to `logits`. Throws gemma4::Error for
// invalid token ids, a sequence given twice or an exhausted cache; no sequence's length changes
// then (blocks reserved for it stay reserved).
void forward_batch(const ModelWeights& weights, std::span<const ForwardSegment> segments,
                   const ForwardOptions& options, std::vector<float>& logits, ForwardScratch& scratch,
                   ThreadPool& pool);

// One sequence: forward_batch with a single segment.
void forward(const ModelWeights& weights, KvSequence& seq, std::span<const int32_t> tokens,
             int64_t logits_count, const ForwardOptions& options, std::vector<float>& logits,
             ForwardScratch& scratch, ThreadPool& pool);

}  // namespace gemma4
