#include "engine/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace gemma4 {

void token_logprobs(std::span<const float> logits, int32_t token, int top, TokenEvent& out,
                    std::vector<int32_t>& scratch) {
  float m = -INFINITY;
  for (float v : logits) m = std::max(m, v);
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - m);
  const double log_z = m + std::log(sum);
  auto logprob = [&](int32_t id) { return static_cast<float>(logits[id] - log_z); };
  out.logprob = token >= 0 && token < static_cast<int32_t>(logits.size()) ? logprob(token) : -INFINITY;
  out.top.clear();
  if (top <= 0) return;
  const int64_t k = std::min<int64_t>(top, static_cast<int64_t>(logits.size()));
  scratch.resize(logits.size());
  std::iota(scratch.begin(), scratch.end(), 0);
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(scratch.begin(), scratch.begin() + k, scratch.end(), better);
  for (int64_t i = 0; i < k; ++i) out.top.push_back({scratch[i], logprob(scratch[i])});
}

}  // namespace gemma4
