#pragma once
// Allocation-free form of apply_penalties for the per-token sampling loop.
#include <cstdint>
#include <span>
#include <vector>

#include "gemma4/sampling.h"

namespace gemma4 {

bool penalties_enabled(const SamplingParams& params);

// Same contract as apply_penalties, with scratch reused across steps so a call costs O(context),
// not O(vocabulary): `counts` is a per-token occurrence counter that is all zero between calls,
// `distinct_tokens` lists the tokens counted in the current call.
void apply_penalties(std::span<float> logits, const SamplingParams& params,
                     std::span<const int32_t> context_tokens, std::vector<int32_t>& counts,
                     std::vector<int32_t>& distinct_tokens);

}  // namespace gemma4
