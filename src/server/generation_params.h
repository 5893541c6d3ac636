#pragma once
// The request fields chat and text completions share (sampling, limits, stops, logprobs, n,
// streaming), validated and turned into an engine Request without its prompt.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/engine.h"
#include "gemma4/grammar.h"
#include "gemma4/sampling.h"

namespace gemma4::server {

struct GenerationParams {
  std::string model;                // as requested; empty when the client sent none
  Request request;                  // everything but the prompt; sampling starts at the model's defaults
  std::optional<uint64_t> seed;     // nullopt: the server draws one
  bool max_tokens_given = false;    // the client set max_tokens / max_completion_tokens
  int n = 1;                        // choices; choice i samples with seed + i
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
};

constexpr int kMaxChoices = 16;
constexpr int kMaxStopStrings = 16;
constexpr int kMaxTopLogprobs = 20;

// Throws ApiError (400 naming the parameter) for wrong types, out-of-range values and fields this
// server does not implement. `vocab_size` bounds logit_bias token ids. `legacy_logprobs`: the
// /v1/completions form, where `logprobs` is the number of alternatives rather than a boolean.
GenerationParams parse_generation_params(const nlohmann::json& body, const GenerationDefaults& defaults,
                                         int32_t vocab_size, bool legacy_logprobs = false);

// The constraint a request names: `response_format` (json_object, json_schema) or `grammar`
// (GBNF); null for none. Throws ApiError naming the parameter. Also read by `gemma4 batch`.
std::shared_ptr<const Grammar> parse_constraint(const nlohmann::json& body);

// Fields OpenAI defines that this server cannot honour yet: a 400 naming the field, never a silent
// ignore. Shared by both endpoints.
void reject_unsupported_fields(const nlohmann::json& body);

}  // namespace gemma4::server
