// Sampler: runs the pipeline documented in gemma4/sampling.h and draws with a seeded mt19937_64.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "gemma4/error.h"
#include "gemma4/sampling.h"
#include "sampling/candidates.h"
#include "sampling/penalties.h"

namespace gemma4 {

namespace {

void check_vocabulary(std::span<const float> logits) {
  if (logits.empty()) throw Error("cannot sample from an empty logits vector");
  if (logits.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw Error("logits vector of " + std::to_string(logits.size()) +
                " entries exceeds the int32 token id range");
  }
}

// Uniform in [0, 1) from the top 53 bits: std::uniform_real_distribution's algorithm is
// implementation-defined, this is the same on every platform.
double uniform_unit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// The first candidate whose running weight passes u * total. Rounding can leave the running sum a
// hair short of the target, hence the fall back to the last candidate that can be drawn.
int32_t draw_from_pool(std::span<const TokenProbability> pool, double total, double u) {
  const double target = u * total;
  double cumulative = 0.0;
  int32_t last_drawable = -1;
  for (const TokenProbability& candidate : pool) {
    if (candidate.probability <= 0.0) continue;
    cumulative += candidate.probability;
    last_drawable = candidate.token;
    if (cumulative > target) return candidate.token;
  }
  return last_drawable;
}

// Same walk as draw_from_pool over every token's weight, skipping whole blocks by their sums
// (each block is summed in a fixed order, so the result is the same everywhere).
int32_t draw_from_dense(std::span<const float> weights, double u,
                        std::vector<double>& block_sums) {
  constexpr size_t kBlock = 1024;
  const size_t blocks = (weights.size() + kBlock - 1) / kBlock;
  block_sums.resize(blocks);
  double total = 0.0;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t begin = b * kBlock;
    block_sums[b] = sum_weights(weights.subspan(begin, std::min(kBlock, weights.size() - begin)));
    total += block_sums[b];
  }
  const double target = u * total;
  double cumulative = 0.0;
  int32_t last_drawable = -1;
  for (size_t b = 0; b < blocks; ++b) {
    if (block_sums[b] <= 0.0) continue;
    const size_t end = std::min(weights.size(), (b + 1) * kBlock);
    if (cumulative + block_sums[b] <= target && b + 1 < blocks) {
      cumulative += block_sums[b];
      continue;
    }
    // The target falls in this block; if rounding says otherwise, its last drawable token it is.
    for (size_t i = b * kBlock; i < end; ++i) {
      if (weights[i] <= 0.0f) continue;
      cumulative += weights[i];
      last_drawable = static_cast<int32_t>(i);
      if (cumulative > target) return last_drawable;
    }
    return last_drawable;
  }
  return last_drawable;
}

}  // namespace

int32_t argmax_token(std::span<const float> logits) {
  check_vocabulary(logits);
  size_t best = 0;
  while (best < logits.size() && std::isnan(logits[best])) ++best;
  if (best == logits.size()) throw Error("cannot pick the argmax: every logit is NaN");
  float best_logit = logits[best];
  // Strictly greater keeps the lowest id on ties and never picks NaN; the branch is rarely taken,
  // so this runs at about one compare per token.
  for (size_t i = best + 1; i < logits.size(); ++i) {
    if (logits[i] > best_logit) {
      best_logit = logits[i];
      best = i;
    }
  }
  return static_cast<int32_t>(best);
}

std::vector<TokenProbability> filtered_distribution(std::span<const float> logits,
                                                    const SamplingParams& params) {
  validate_sampling_params(params);
  check_vocabulary(logits);
  if (params.greedy()) return {{argmax_token(logits), 1.0}};
  SamplerScratch scratch;
  const CandidateSet set = select_candidates(logits, params, scratch);
  std::vector<TokenProbability>& pool = scratch.pool;
  if (set.dense) {
    pool.clear();
    for (size_t i = 0; i < scratch.dense_weights.size(); ++i) {
      const float weight = scratch.dense_weights[i];
      if (weight > 0.0f) pool.push_back({static_cast<int32_t>(i), weight});
    }
  }
  std::sort(pool.begin(), pool.end(), [](const TokenProbability& a, const TokenProbability& b) {
    return a.probability > b.probability || (a.probability == b.probability && a.token < b.token);
  });
  for (TokenProbability& candidate : pool) candidate.probability /= set.total_weight;
  return pool;
}

Sampler::Sampler(SamplingParams params)
    : params_(std::move(params)), rng_(params_.seed), scratch_(std::make_unique<SamplerScratch>()) {
  validate_sampling_params(params_);
}

Sampler::~Sampler() = default;
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

void Sampler::reset(uint64_t seed) {
  params_.seed = seed;
  rng_.seed(seed);
}

// Steps 1-3 of the pipeline, in place.
void Sampler::adjust_logits(std::span<float> logits, std::span<const int32_t> context_tokens) {
  check_vocabulary(logits);
  if (!params_.logit_bias.empty()) apply_logit_bias(logits, params_.logit_bias);
  if (penalties_enabled(params_)) {
    apply_penalties(logits, params_, context_tokens, scratch_->token_counts,
                    scratch_->distinct_tokens);
  }
}

int32_t Sampler::draw(const CandidateSet& set, double u) {
  const int32_t token = set.dense ? draw_from_dense(scratch_->dense_weights, u, scratch_->block_sums)
                                  : draw_from_pool(scratch_->pool, set.total_weight, u);
  if (token < 0) throw Error("cannot sample: no token has a non-zero probability");
  return token;
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> context_tokens) {
  adjust_logits(logits, context_tokens);
  if (params_.greedy()) return argmax_token(logits);
  const CandidateSet set = select_candidates(logits, params_, *scratch_);
  return draw(set, uniform_unit(rng_));
}

int32_t Sampler::sample_given_draft(std::span<float> logits, std::span<const int32_t> context_tokens,
                                    int32_t draft) {
  adjust_logits(logits, context_tokens);
  if (params_.greedy()) return argmax_token(logits);
  CandidateSet set = select_candidates(logits, params_, *scratch_);
  // The draft's weight in the set (0 when it was filtered out), and where it sits.
  double weight = 0.0;
  TokenProbability* in_pool = nullptr;
  if (set.dense) {
    if (draft >= 0 && static_cast<size_t>(draft) < scratch_->dense_weights.size())
      weight = scratch_->dense_weights[static_cast<size_t>(draft)];
  } else {
    for (TokenProbability& candidate : scratch_->pool)
      if (candidate.token == draft) in_pool = &candidate;
    if (in_pool) weight = in_pool->probability;
  }
  // Accept with probability p(draft) = min(1, p / q) for q = 1 on the draft.
  if (weight > 0.0 && uniform_unit(rng_) * set.total_weight < weight) return draft;
  if (weight > 0.0) {
    // Rejected: the residual max(0, p - q) renormalised, i.e. p without the draft.
    if (set.dense) scratch_->dense_weights[static_cast<size_t>(draft)] = 0.0f;
    else in_pool->probability = 0.0;
    set.total_weight -= weight;
    if (!(set.total_weight > 0.0)) return draft;  // rounding: the draft held all the mass
  }
  return draw(set, uniform_unit(rng_));
}

}  // namespace gemma4
