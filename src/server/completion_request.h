#pragma once
// POST /v1/completions (raw text in, raw text out): the prompt as text or token ids, plus the
// shared generation parameters.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/generation_params.h"

namespace gemma4::server {

struct CompletionRequest {
  GenerationParams gen;
  std::optional<std::string> prompt_text;  // set when the prompt is text
  std::vector<int32_t> prompt_tokens;      // set when the prompt is token ids
};

// Accepts `prompt` as a string, an array of one string, an array of token ids, or an array of one
// such array. Throws ApiError naming the parameter at fault.
CompletionRequest parse_completion_request(const nlohmann::json& body, const GenerationDefaults& defaults,
                                           int32_t vocab_size);

}  // namespace gemma4::server
