#pragma once
// What the HTTP layer needs from the serving engine, as an interface: the real Engine sits behind
// it in production (make_engine_backend), a scripted fake in the HTTP tests, so routes, streaming
// and cancellation can be tested without a model.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/chat.h"
#include "gemma4/engine.h"
#include "gemma4/sampling.h"
#include "gemma4/tokenizer.h"

namespace gemma4::server {

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string model_name() const = 0;
  virtual int64_t max_context() const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual const GenerationDefaults& defaults() const = 0;

  // The chat template's prompt text (throws gemma4::Error for conversations it cannot render).
  virtual std::string render_chat(const nlohmann::json& messages, const nlohmann::json& tools,
                                  const ChatOptions& options) const = 0;
  // Tokens of text with special-token strings recognised (no <bos> added).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // encode() that stops once the text is known to have more than max_tokens tokens
  // (Tokenizer::encode_at_most): prompts are checked against the context this way.
  virtual BoundedEncoding encode_at_most(std::string_view text, size_t max_tokens) const = 0;
  // Text of ids with special tokens written out; throws gemma4::Error for an id out of range.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;

  // Engine::submit: throws EngineError; the callback runs on the engine thread.
  virtual std::shared_ptr<RequestHandle> submit(Request request, TokenCallback on_token) = 0;
  virtual EngineStats stats() const = 0;
  // Stops accepting work and cancels what runs.
  virtual void shutdown() = 0;
};

std::shared_ptr<Backend> make_engine_backend(std::shared_ptr<Engine> engine);

}  // namespace gemma4::server
