#pragma once
// Assembles one chat choice from the model's text as it streams: gemma4::OutputParser splits it into
// reasoning, content and tool calls, and this class turns that into OpenAI `delta` objects (for
// SSE chunks) and the final `message`. It sees only text, so it is tested on scripted streams.
//
// Rules: reasoning goes to `reasoning_content`, never into `content`; a tool call is announced in
// two deltas (index, id, type and name first, then the arguments as a JSON string); a call that
// does not parse is shown as content, verbatim, rather than dropped or half-reported.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gemma4/output_parser.h"

namespace gemma4::server {

struct ChatAssemblerOptions {
  bool starts_in_reasoning = false;  // the prompt ends inside a thought channel
  // Text the prompt already forced the answer to begin with (see ChatRequest::forced_prefix):
  // fed to the parser first, never shown.
  std::string forced_prefix;
  bool parallel_tool_calls = true;  // false: calls after the first are dropped
  std::function<std::string()> make_call_id;  // default: "call_" + 24 random characters
};

class ChatAssembler {
 public:
  explicit ChatAssembler(ChatAssemblerOptions options = {});

  // One generated token's text (any chunking works; a marker may span pushes). Returns the deltas
  // that became safe to show, in order; each is an OpenAI `choices[].delta` without `role`.
  std::vector<nlohmann::json> push(std::string_view text);
  // End of generation: releases held-back text, reports a truncated call.
  std::vector<nlohmann::json> finish();

  // {"role": "assistant", "content", ["reasoning_content"], ["tool_calls"]}.
  nlohmann::json message() const;
  bool has_tool_calls() const { return !tool_calls_.empty(); }
  // Pushes made inside the thought channel (markers included): one per token when fed per token.
  int64_t reasoning_tokens() const { return reasoning_tokens_; }

 private:
  void convert(std::vector<OutputEvent>&& events, std::vector<nlohmann::json>& deltas);
  void add_text(const char* field, const std::string& text, std::vector<nlohmann::json>& deltas);
  void add_call(const ToolCall& call, std::vector<nlohmann::json>& deltas);
  void track_thought_channel(std::string_view text);

  ChatAssemblerOptions options_;
  OutputParser parser_;
  std::string content_, reasoning_;
  nlohmann::json tool_calls_ = nlohmann::json::array();
  bool in_thought_ = false;
  int64_t reasoning_tokens_ = 0;
};

// A fresh tool-call id, "call_" + 24 characters of [A-Za-z0-9]. Thread-safe.
std::string random_call_id();

}  // namespace gemma4::server
