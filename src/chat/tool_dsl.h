#pragma once
// Internal pieces of the tool DSL shared by the chat template and the output parser.
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4 {

inline constexpr std::string_view kDslQuote = "<|\"|>";

// `format_function_declaration` (CHAT_FORMAT.md §3.4) for one entry of `tools`, before strip().
// `tool_index` is used in error messages.
std::string format_function_declaration(const nlohmann::json& tool, size_t tool_index);

}  // namespace gemma4
