#pragma once
// Gemma 4 chat template (google/gemma-4-E2B-it, version 2026-07-09), reimplemented in C++ per
// docs/CHAT_FORMAT.md §3: system turn with the thinking switch and tool declarations, user /
// assistant / tool messages in OpenAI / Hugging Face shape, previous thinking stripped, tool calls
// and tool responses in Gemma's value DSL, and the generation prompt.
//
// The result is the prompt *text*; tokenize it with Tokenizer::encode(text, /*parse_special=*/true)
// (it starts with the text "<bos>", which encodes to id 2).
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4 {

struct ChatOptions {
  bool add_generation_prompt = true;
  bool enable_thinking = false;    // writes <|think|> at the top of the system turn
  bool preserve_thinking = false;  // keep reasoning of earlier tool-calling assistant messages
};

// `messages`: array of {"role", "content" (string, array of parts, or null), optional
// "reasoning"/"reasoning_content", "tool_calls", "tool_responses", "tool_call_id", "name"}.
// `tools`: array of {"type":"function","function":{name, description, parameters, response}} or null.
// Throws gemma4::Error on conversations the official template refuses or cannot render (e.g. tool
// call arguments given as a JSON string, a message without a role, a tool without a function).
std::string render_chat(const nlohmann::json& messages, const nlohmann::json& tools, const ChatOptions& options);

// Gemma's value DSL (`format_argument`, §3.5): strings as <|"|>…<|"|> without escaping, mappings
// with keys sorted case-insensitively (quoted with <|"|> when quote_keys), numbers as Python prints them.
std::string format_dsl_value(const nlohmann::json& value, bool quote_keys);

// Parses a DSL value as written by the model (e.g. the `{…}` of a tool call) back into JSON.
// Integers stay integers and floats stay floats. Throws gemma4::Error with the byte position on
// malformed input.
nlohmann::json parse_dsl_value(std::string_view text);

}  // namespace gemma4
