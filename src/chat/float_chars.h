#pragma once
// Floating-point <charconv> for the chat parsers. Emscripten's libc++ (3.1.6) has no float
// to_chars/from_chars, so there the same results come from the C library: the shortest %e form
// that reads back to the same double, and strtod over the characters from_chars accepts.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace gemma4::chat_text {

// Shortest round-trip digits in scientific form ("-1.2345e+03").
inline std::string shortest_scientific(double value) {
#if defined(__EMSCRIPTEN__)
  char buffer[64];
  for (int precision = 0; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
#else
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  return std::string(buffer, static_cast<size_t>(result.ptr - buffer));
#endif
}

// Parses all of `digits` as a decimal double (no hex, inf or nan, as from_chars's general format).
inline bool parse_double(std::string_view digits, double& out) {
#if defined(__EMSCRIPTEN__)
  if (digits.empty() || digits.find_first_not_of("0123456789+-.eE") != std::string_view::npos) return false;
  if (digits.front() == '+') return false;
  const std::string copy(digits);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
#else
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return error == std::errc() && end == digits.data() + digits.size();
#endif
}

}  // namespace gemma4::chat_text
