// Logit bias and the repetition / presence / frequency penalties (pipeline steps 1-3).
#include "sampling/penalties.h"

#include <string>

#include "gemma4/error.h"

namespace gemma4 {

void apply_logit_bias(std::span<float> logits,
                      std::span<const std::pair<int32_t, float>> logit_bias) {
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || static_cast<size_t>(token) >= logits.size()) {
      throw Error("logit_bias token id " + std::to_string(token) + " is outside the vocabulary of " +
                  std::to_string(logits.size()) + " tokens");
    }
    logits[static_cast<size_t>(token)] += bias;
  }
}

bool penalties_enabled(const SamplingParams& params) {
  return params.repetition_penalty != 1.0f || params.presence_penalty != 0.0f ||
         params.frequency_penalty != 0.0f;
}

void apply_penalties(std::span<float> logits, const SamplingParams& params,
                     std::span<const int32_t> context_tokens, std::vector<int32_t>& counts,
                     std::vector<int32_t>& distinct_tokens) {
  if (!penalties_enabled(params)) return;
  size_t first = 0;
  if (params.penalty_last_n > 0 &&
      context_tokens.size() > static_cast<size_t>(params.penalty_last_n)) {
    first = context_tokens.size() - static_cast<size_t>(params.penalty_last_n);
  }
  if (counts.size() < logits.size()) counts.resize(logits.size(), 0);
  distinct_tokens.clear();

  for (size_t pos = first; pos < context_tokens.size(); ++pos) {
    const int32_t token = context_tokens[pos];
    if (token < 0 || static_cast<size_t>(token) >= logits.size()) {
      // Leave the counter all-zero for the next call before reporting.
      for (int32_t seen : distinct_tokens) counts[static_cast<size_t>(seen)] = 0;
      distinct_tokens.clear();
      throw Error("context token " + std::to_string(token) + " at position " +
                  std::to_string(pos) + " is outside the vocabulary of " +
                  std::to_string(logits.size()) + " tokens");
    }
    if (counts[static_cast<size_t>(token)]++ == 0) distinct_tokens.push_back(token);
  }

  const float repetition = params.repetition_penalty;
  for (int32_t token : distinct_tokens) {
    int32_t& count = counts[static_cast<size_t>(token)];
    float& logit = logits[static_cast<size_t>(token)];
    if (repetition != 1.0f) logit = logit > 0.0f ? logit / repetition : logit * repetition;
    logit -= params.presence_penalty + params.frequency_penalty * static_cast<float>(count);
    count = 0;
  }
  distinct_tokens.clear();
}

void apply_penalties(std::span<float> logits, const SamplingParams& params,
                     std::span<const int32_t> context_tokens) {
  std::vector<int32_t> counts;
  std::vector<int32_t> distinct_tokens;
  apply_penalties(logits, params, context_tokens, counts, distinct_tokens);
}

}  // namespace gemma4
