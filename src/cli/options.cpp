#include "cli/options.h"

#include <cctype>
#include <charconv>

#include "gemma4/error.h"

namespace gemma4::cli {

std::vector<int32_t> parse_token_list(const std::string& text) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  int index = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    size_t b = item.find_first_not_of(" \t\n"), e = item.find_last_not_of(" \t\n");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty()) {
      if (comma == text.size() && pos == text.size() && index > 0)
        throw Error("token list ends with a comma");
      if (!(text.empty() && index == 0)) throw Error("empty entry at position " + std::to_string(index) + " of the token list");
      break;
    }
    int32_t v = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || ptr != item.data() + item.size() || v < 0)
      throw Error("token list entry " + std::to_string(index) + " ('" + item + "') is not a non-negative integer");
    ids.push_back(v);
    ++index;
    pos = comma + 1;
    if (comma == text.size()) break;
  }
  return ids;
}

}  // namespace gemma4::cli
