// Range checks of SamplingParams, so a bad request fails before it reaches the sampler.
#include <cmath>
#include <string>

#include "gemma4/error.h"
#include "gemma4/sampling.h"

namespace gemma4 {

namespace {

[[noreturn]] void reject(const std::string& field, const std::string& why) {
  throw Error("sampling parameter '" + field + "' " + why);
}

}  // namespace

void validate_sampling_params(const SamplingParams& params) {
  if (std::isnan(params.temperature) || params.temperature < 0.0f) {
    reject("temperature", "must be >= 0 (0 is greedy), got " + std::to_string(params.temperature));
  }
  if (std::isinf(params.temperature)) reject("temperature", "must be finite");
  if (std::isnan(params.top_p) || params.top_p < 0.0f) {
    reject("top_p", "must be in [0, 1] (>= 1 disables it), got " + std::to_string(params.top_p));
  }
  if (std::isnan(params.min_p) || params.min_p > 1.0f) {
    reject("min_p", "must be <= 1 (<= 0 disables it), got " + std::to_string(params.min_p));
  }
  if (!std::isfinite(params.repetition_penalty) || params.repetition_penalty <= 0.0f) {
    reject("repetition_penalty",
           "must be a finite value > 0 (1 disables it), got " +
               std::to_string(params.repetition_penalty));
  }
  if (!std::isfinite(params.presence_penalty)) reject("presence_penalty", "must be finite");
  if (!std::isfinite(params.frequency_penalty)) reject("frequency_penalty", "must be finite");
  if (params.penalty_last_n < 0) {
    reject("penalty_last_n", "must be >= 0 (0 means the whole context), got " +
                                 std::to_string(params.penalty_last_n));
  }
  for (size_t i = 0; i < params.logit_bias.size(); ++i) {
    const auto& [token, bias] = params.logit_bias[i];
    const std::string where = "logit_bias[" + std::to_string(i) + "]";
    if (token < 0) reject(where, "has negative token id " + std::to_string(token));
    // -inf bans a token; +inf would make the softmax undefined.
    if (std::isnan(bias) || bias == INFINITY) {
      reject(where, "for token " + std::to_string(token) + " must be a number or -inf");
    }
  }
}

}  // namespace gemma4
