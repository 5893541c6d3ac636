#pragma once
// One choice of a response, built from its token events: the chunk choices streamed as tokens
// arrive, and the whole choice for a non-streaming answer. Chat choices go through the
// ChatAssembler (reasoning, content, tool calls); text completions pass text through.
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/engine.h"
#include "server/chat_assembler.h"
#include "server/openai_json.h"

namespace gemma4::server {

class ChoiceBuilder {
 public:
  virtual ~ChoiceBuilder() = default;
  // Chunk choices to send before any token (the chat role delta).
  virtual std::vector<json> opening() { return {}; }
  // Chunk choices that one token made ready (maybe none while text is held back).
  virtual std::vector<json> on_token(const TokenEvent& event) = 0;
  // The closing chunk choices: held-back text, then one carrying finish_reason.
  virtual std::vector<json> on_finish(const RequestResult& result) = 0;
  // The whole choice of a non-streaming response; call after on_finish.
  virtual json final_choice(const RequestResult& result) const = 0;
  virtual int64_t reasoning_tokens() const { return 0; }
};

std::unique_ptr<ChoiceBuilder> make_chat_choice(int index, ChatAssemblerOptions options, bool logprobs,
                                                TokenText text_of);
std::unique_ptr<ChoiceBuilder> make_text_choice(int index, bool logprobs, TokenText text_of);

}  // namespace gemma4::server
