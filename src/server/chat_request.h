#pragma once
// POST /v1/chat/completions: the request body validated and turned into what the engine needs
// (chat messages for the template, tools, thinking switch, generation parameters).
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/chat.h"
#include "server/generation_params.h"

namespace gemma4::server {

struct ChatRequest {
  GenerationParams gen;
  // Messages in the chat template's shape: parts checked (text only), assistant tool-call
  // arguments parsed from OpenAI's JSON strings into objects.
  nlohmann::json messages;
  nlohmann::json tools;  // null when there are none or tool_choice is "none"
  ChatOptions chat;
  // Text the answer is forced to begin with, appended to the prompt: "<|tool_call>call:" for
  // tool_choice "required", "<|tool_call>call:NAME{" for a named function. Without
  // grammar-constrained decoding this is how a call is made certain.
  std::string forced_prefix;
  bool parallel_tool_calls = true;
};

// Throws ApiError naming the parameter at fault.
// Takes the body by value: the messages are moved out of it, not copied (a prompt may be megabytes).
ChatRequest parse_chat_request(nlohmann::json body, const GenerationDefaults& defaults, int32_t vocab_size);

}  // namespace gemma4::server
