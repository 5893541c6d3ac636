#pragma once
// Log-probabilities of tokens under the model's own distribution (log-softmax of the logits as the
// model produced them, before any sampling transform), as OpenAI's `logprobs` reports them.
#include <cstdint>
#include <span>
#include <vector>

#include "gemma4/engine.h"

namespace gemma4 {

// log p(token) and the `top` most likely tokens (most likely first, ties -> lower id).
// `scratch` is reused between calls.
void token_logprobs(std::span<const float> logits, int32_t token, int top, TokenEvent& out,
                    std::vector<int32_t>& scratch);

}  // namespace gemma4
