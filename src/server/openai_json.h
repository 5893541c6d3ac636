#pragma once
// OpenAI response objects: chat.completion, chat.completion.chunk, text_completion, usage,
// logprobs, and the SSE framing of chunks. Pure functions of their inputs.
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/engine.h"

namespace gemma4::server {

using json = nlohmann::json;

// Identifies a response: id ("chatcmpl-…", "cmpl-…"), creation time, model name.
struct ResponseHeader {
  std::string id;
  int64_t created = 0;
  std::string model;
};
ResponseHeader new_response_header(const std::string& id_prefix, const std::string& model);

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0, reasoning_tokens = 0;
};
json usage_json(const Usage& usage);

// "stop", "length" or "tool_calls" (a choice that made calls finishes with "tool_calls").
std::string finish_reason_text(FinishReason finish, bool made_tool_calls);

json chat_completion(const ResponseHeader& h, json choices, const Usage& usage);
json chat_chunk(const ResponseHeader& h, json choices);  // choices: [] for the usage chunk
json chat_chunk_choice(int index, json delta, json finish_reason = nullptr, json logprobs = nullptr);

json text_completion(const ResponseHeader& h, json choices, const Usage& usage);
json text_completion_chunk(const ResponseHeader& h, json choices);
json text_choice(int index, const std::string& text, json finish_reason = nullptr, json logprobs = nullptr);

// JSON text as sent; invalid UTF-8 (a lone byte token) becomes U+FFFD instead of failing.
std::string to_json_text(const json& object);

// "data: {json}\n\n" and the closing "data: [DONE]\n\n".
std::string sse_event(const json& object);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// The text of one token, for logprobs.
using TokenText = std::function<std::string(int32_t token)>;

// Chat logprobs: {"content": [{token, logprob, bytes, top_logprobs: [...]}, ...]}.
json chat_logprobs(std::span<const TokenEvent> events, const TokenText& text_of);
// Legacy completion logprobs: {tokens, token_logprobs, top_logprobs, text_offset}; offsets start
// at `text_offset`.
json completion_logprobs(std::span<const TokenEvent> events, const TokenText& text_of, int64_t text_offset);

}  // namespace gemma4::server
