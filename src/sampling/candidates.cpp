// Candidate selection for sampling; see candidates.h for the strategy.
#include "sampling/candidates.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "gemma4/error.h"
#include "sampling/portable_exp.h"

namespace gemma4 {

namespace {

// Higher logit first; equal logits prefer the lower id, so results never depend on the scan order.
bool ranks_higher(const ScoredToken& a, const ScoredToken& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

bool top_k_enabled(const SamplingParams& params, size_t vocab) {
  return params.top_k > 0 && static_cast<size_t>(params.top_k) < vocab;
}
bool top_p_enabled(const SamplingParams& params) { return params.top_p < 1.0f; }
bool min_p_enabled(const SamplingParams& params) { return params.min_p > 0.0f; }

// The k best tokens by ranks_higher, best first. NaN and -inf logits never qualify. A heap whose
// front is its worst member: most tokens cost one comparison against that front.
void collect_top_k(std::span<const float> logits, size_t k, std::vector<ScoredToken>& heap) {
  heap.clear();
  heap.reserve(k);
  size_t i = 0;
  for (; i < logits.size() && heap.size() < k; ++i) {
    const float logit = logits[i];
    if (std::isnan(logit) || logit == -INFINITY) continue;
    heap.push_back({logit, static_cast<int32_t>(i)});
    std::push_heap(heap.begin(), heap.end(), ranks_higher);
  }
  // Later ids lose ties, so only a strictly larger logit displaces the worst member (NaN never does).
  for (; i < logits.size(); ++i) {
    if (logits[i] > heap.front().logit) {
      std::pop_heap(heap.begin(), heap.end(), ranks_higher);
      heap.back() = {logits[i], static_cast<int32_t>(i)};
      std::push_heap(heap.begin(), heap.end(), ranks_higher);
    }
  }
  std::sort(heap.begin(), heap.end(), ranks_higher);
}

float max_logit(std::span<const float> logits) {
  float best = -INFINITY;
  for (float logit : logits) best = logit > best ? logit : best;  // NaN never wins
  return best;
}

// Keeps the shortest prefix of `pool` (most likely first) whose weight reaches `needed`
// (top_p times the weight of the whole distribution); returns the weight kept.
double truncate_to_nucleus(std::vector<TokenProbability>& pool, double needed) {
  double cumulative = 0.0;
  for (size_t i = 0; i < pool.size(); ++i) {
    cumulative += pool[i].probability;
    if (cumulative >= needed) {
      pool.resize(i + 1);
      return cumulative;
    }
  }
  return cumulative;  // rounding kept the sum just below: the whole pool is the nucleus
}

// Weights are relative to the most likely token (weight 1), so min-p is a plain threshold.
double drop_below_min_p(std::vector<TokenProbability>& pool, float min_p) {
  std::erase_if(pool, [&](const TokenProbability& t) { return t.probability < min_p; });
  double total = 0.0;
  for (const auto& t : pool) total += t.probability;
  return total;
}

// Every token whose logit is +inf, equally likely (at most top_k of them, lowest ids first).
CandidateSet infinite_candidates(std::span<const float> logits, const SamplingParams& params,
                                 std::vector<TokenProbability>& pool) {
  pool.clear();
  const size_t limit =
      top_k_enabled(params, logits.size()) ? static_cast<size_t>(params.top_k) : logits.size();
  for (size_t i = 0; i < logits.size() && pool.size() < limit; ++i) {
    if (logits[i] == INFINITY) pool.push_back({static_cast<int32_t>(i), 1.0});
  }
  return {false, static_cast<double>(pool.size())};
}

// First cutoffs tried for the nucleus, relative to the top weight; real LLM distributions almost
// always reach top_p within the first, flat ones fall through to collecting every token.
constexpr double kNucleusCutoffs[] = {1e-3, 1e-7, 1e-15, 0.0};

// The least likely token of the nucleus: its weight, and how many tokens of exactly that weight
// the nucleus takes (the lowest ids among them).
struct NucleusBoundary {
  float weight;
  size_t ties;
};

// Quickselect on mass over positive weights (reordered in place): the boundary of the shortest
// heaviest-first prefix whose weight reaches `needed`. Pivots come from a fixed hash of the range,
// so the result (and its rounding) is the same everywhere and sorted input is not a worst case.
NucleusBoundary find_nucleus_boundary(std::vector<float>& weights, double needed) {
  size_t lo = 0;
  size_t hi = weights.size();
  double above = 0.0;  // weight of the tokens heavier than everything in [lo, hi)
  uint64_t mix = 0x9e3779b97f4a7c15ull;
  while (true) {
    mix = (mix ^ (lo + 0x632be59bd9b4e019ull * hi)) * 0xbf58476d1ce4e5b9ull;
    const float pivot = weights[lo + static_cast<size_t>((mix >> 17) % (hi - lo))];
    // Three-way partition: [lo, heavy_end) > pivot, [heavy_end, equal_end) == pivot, rest < pivot.
    size_t heavy_end = lo, equal_end = lo, light_begin = hi;
    double heavier = 0.0;
    while (equal_end < light_begin) {
      const float weight = weights[equal_end];
      if (weight > pivot) {
        heavier += weight;
        std::swap(weights[heavy_end++], weights[equal_end++]);
      } else if (weight == pivot) {
        ++equal_end;
      } else {
        std::swap(weights[equal_end], weights[--light_begin]);
      }
    }
    if (heavy_end > lo && above + heavier >= needed) {
      hi = heavy_end;
      continue;
    }
    double cumulative = above + heavier;
    for (size_t ties = 1; ties <= equal_end - heavy_end; ++ties) {
      cumulative += pivot;
      if (cumulative >= needed) return {pivot, ties};
    }
    // Rounding can leave the total a hair below `needed`: then everything is the nucleus.
    if (equal_end == hi) return {pivot, equal_end - heavy_end};
    above = cumulative;
    lo = equal_end;
  }
}

}  // namespace

// Sum in a fixed order (four interleaved partial sums, then combined): the same value everywhere,
// and independent partial sums keep the adds from serialising.
double sum_weights(std::span<const float> weights) {
  double partial[4] = {0.0, 0.0, 0.0, 0.0};
  size_t i = 0;
  for (; i + 4 <= weights.size(); i += 4) {
    for (size_t lane = 0; lane < 4; ++lane) partial[lane] += weights[i + lane];
  }
  for (; i < weights.size(); ++i) partial[0] += weights[i];
  return (partial[0] + partial[1]) + (partial[2] + partial[3]);
}

CandidateSet select_candidates(std::span<const float> logits, const SamplingParams& params,
                               SamplerScratch& scratch) {
  std::vector<float>& dense_weights = scratch.dense_weights;
  std::vector<TokenProbability>& pool = scratch.pool;
  auto no_finite_logit = [&] {
    return Error("cannot sample: none of the " + std::to_string(logits.size()) +
                 " logits is finite (all are NaN or -inf)");
  };
  const float inverse_temperature = 1.0f / params.temperature;

  if (top_k_enabled(params, logits.size())) {
    std::vector<ScoredToken>& heap = scratch.heap;
    collect_top_k(logits, static_cast<size_t>(params.top_k), heap);
    if (heap.empty()) throw no_finite_logit();
    const float top = heap.front().logit;
    if (top == INFINITY) return infinite_candidates(logits, params, pool);
    pool.clear();
    double total = 0.0;
    for (const ScoredToken& scored : heap) {
      const double weight = portable_exp((scored.logit - top) * inverse_temperature);
      if (weight == 0.0) break;  // underflow: this and every later token cannot be drawn
      pool.push_back({scored.token, weight});
      total += weight;
    }
    if (top_p_enabled(params)) {
      total = truncate_to_nucleus(pool, static_cast<double>(params.top_p) * total);
    }
    if (min_p_enabled(params)) total = drop_below_min_p(pool, params.min_p);
    return {false, total};
  }

  const float top = max_logit(logits);
  if (top == -INFINITY) throw no_finite_logit();
  if (top == INFINITY) return infinite_candidates(logits, params, pool);
  dense_weights.resize(logits.size());
  const float min_weight = min_p_enabled(params) && !top_p_enabled(params) ? params.min_p : 0.0f;
  float* weights = dense_weights.data();
  const float* values = logits.data();
  for (size_t i = 0; i < logits.size(); ++i) {  // element-wise only, so it vectorises
    const float scaled = (values[i] - top) * inverse_temperature;
    const float exp_scaled = portable_exp(scaled);             // computed even for NaN: no branch
    const float weight = scaled != scaled ? 0.0f : exp_scaled;  // NaN logits weigh 0
    weights[i] = weight < min_weight ? 0.0f : weight;
  }
  const double total = sum_weights(dense_weights);
  if (!top_p_enabled(params)) return {true, total};

  const double needed = static_cast<double>(params.top_p) * total;
  std::vector<float>& selection = scratch.selection;
  for (double cutoff : kNucleusCutoffs) {
    selection.clear();
    double collected = 0.0;
    for (const float weight : dense_weights) {
      if (weight > 0.0f && weight >= cutoff) {
        selection.push_back(weight);
        collected += weight;
      }
    }
    // Every token left out weighs less than every token collected, so once the collected mass
    // reaches top_p the nucleus lies inside the collection.
    if (collected >= needed || cutoff == 0.0) break;
  }
  const NucleusBoundary boundary = find_nucleus_boundary(selection, needed);
  // Zero every weight outside the nucleus (and below min-p); ties at the boundary weight keep
  // their lowest ids, as in a stable sort.
  const float min_weight_in_nucleus = min_p_enabled(params) ? params.min_p : 0.0f;
  size_t ties_left = boundary.ties;
  for (float& weight : dense_weights) {
    if (weight > boundary.weight) {
      if (weight < min_weight_in_nucleus) weight = 0.0f;
    } else if (weight == boundary.weight && ties_left > 0) {
      --ties_left;
      if (weight < min_weight_in_nucleus) weight = 0.0f;
    } else {
      weight = 0.0f;
    }
  }
  return {true, sum_weights(dense_weights)};
}

}  // namespace gemma4
