#include "server/completion_request.h"

#include "server/api_error.h"
#include "server/json_fields.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

std::vector<int32_t> token_ids(const json& array, int32_t vocab_size) {
  std::vector<int32_t> ids;
  for (const json& id : array) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size) {
      throw invalid_request("'prompt' token ids must be integers in [0, " + std::to_string(vocab_size) + ")", "prompt");
    }
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

void parse_prompt(const json& body, int32_t vocab_size, CompletionRequest& r) {
  const auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) throw invalid_request("'prompt' is required", "prompt");
  const json* prompt = &*it;
  if (prompt->is_array() && prompt->size() == 1 && ((*prompt)[0].is_string() || (*prompt)[0].is_array())) {
    prompt = &(*prompt)[0];  // a batch of one
  }
  if (prompt->is_string()) {
    r.prompt_text = prompt->get<std::string>();
    return;
  }
  if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    r.prompt_tokens = token_ids(*prompt, vocab_size);
    return;
  }
  if (prompt->is_array() && prompt->size() > 1) {
    throw invalid_request("'prompt' holds several prompts; send one prompt per request", "prompt");
  }
  throw invalid_request("'prompt' must be a string or an array of token ids", "prompt");
}

}  // namespace

CompletionRequest parse_completion_request(const json& body, const GenerationDefaults& defaults, int32_t vocab_size) {
  if (!body.is_object()) throw invalid_request("the request body must be a JSON object");
  if (fields::boolean(body, "echo").value_or(false)) throw unsupported_field("echo", "the prompt is not echoed");
  if (fields::integer(body, "best_of", 1, kMaxChoices).value_or(1) > 1) {
    throw unsupported_field("best_of", "use 'n' to get several completions");
  }
  if (!fields::string(body, "suffix").value_or("").empty()) {
    throw unsupported_field("suffix", "this model does not fill in the middle");
  }
  CompletionRequest r;
  r.gen = parse_generation_params(body, defaults, vocab_size, /*legacy_logprobs=*/true);
  parse_prompt(body, vocab_size, r);
  return r;
}

}  // namespace gemma4::server
