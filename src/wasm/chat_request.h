#pragma once
// An OpenAI-shaped chat completion request (as JSON text from the JS package) turned into the
// engine's Request: the prompt through the engine's chat template and tokenizer, the sampling
// parameters over the model's generation_config defaults.
#include <string>

#include "gemma4/engine.h"

namespace gemma4::wasm {

// A request the caller got wrong; the message names the field.
class RequestError : public Error {
 public:
  using Error::Error;
};

struct ChatRequest {
  Request request;
  bool stream = false;
};

// Throws RequestError for a malformed request, the engine's errors for prompts it refuses.
ChatRequest parse_chat_request(const std::string& json_text, const Engine& engine);

}  // namespace gemma4::wasm
