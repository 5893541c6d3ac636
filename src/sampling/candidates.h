#pragma once
// Steps 4-7 of the sampling pipeline (temperature, top-k, top-p, min-p) without sorting the whole
// vocabulary: top-k keeps a k-entry heap, top-p alone sorts only the tokens above a probability
// cutoff that is lowered until it holds the nucleus and then finds the nucleus boundary by
// selection on probability mass (expected linear time), min-p alone is a single threshold pass.
#include <cstdint>
#include <span>
#include <vector>

#include "gemma4/sampling.h"

namespace gemma4 {

struct ScoredToken {
  float logit;
  int32_t token;
};

// Buffers one sequence's sampling steps reuse, so a step allocates nothing after the first.
struct SamplerScratch {
  std::vector<float> dense_weights;
  std::vector<TokenProbability> pool;
  std::vector<ScoredToken> heap;
  std::vector<float> selection;
  std::vector<double> block_sums;
  std::vector<int32_t> token_counts;     // per-token context occurrences, zero between steps
  std::vector<int32_t> distinct_tokens;  // tokens counted in the current step
};

// The tokens left for the draw with unnormalised weights exp((logit - max) / temperature), so the
// most likely token weighs exactly 1. After top-k: a short list (`pool`, most likely first, ties
// -> lower id). Without top-k: every token's weight in `dense_weights` (0 = excluded), walked in id
// order. Either order is fixed by the inputs alone, so seeded draws repeat on every platform.
struct CandidateSet {
  bool dense = false;
  double total_weight = 0.0;  // sum of the weights that remain
};

// Sum of weights in a fixed order, the same on every platform.
double sum_weights(std::span<const float> weights);

// Requires !params.greedy(). Throws gemma4::Error when no token has a finite logit.
CandidateSet select_candidates(std::span<const float> logits, const SamplingParams& params,
                               SamplerScratch& scratch);

}  // namespace gemma4
