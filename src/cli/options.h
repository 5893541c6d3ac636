#pragma once
// Parsing helpers shared by the CLI commands.
#include <cstdint>
#include <string>
#include <vector>

namespace gemma4::cli {

// "2,105, 2364" -> {2, 105, 2364}; throws gemma4::Error naming the bad entry.
std::vector<int32_t> parse_token_list(const std::string& text);

}  // namespace gemma4::cli
