#include "cli/flag_checks.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "gemma4/tokenizer.h"
#include "kernels/thread_pool.h"

namespace gemma4::cli {
namespace {

bool parse_integer(const std::string& text, int64_t& out) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, out);
  return error == std::errc() && stop == end && !text.empty();
}

bool parse_number(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* stop = nullptr;
  out = std::strtod(text.c_str(), &stop);
  return stop == text.c_str() + text.size() && std::isfinite(out);
}

std::string plain(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  const std::string range = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        int64_t v = 0;
        if (!parse_integer(text, v) || v < lo || v > hi) return "must be " + range + " (got '" + text + "')";
        return {};
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

CLI::Validator number_in(double lo, double hi) {
  const std::string range = "a number in [" + plain(lo) + ", " + plain(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        double v = 0;
        if (!parse_number(text, v) || v < lo || v > hi) return "must be " + range + " (got '" + text + "')";
        return {};
      },
      "FLOAT in [" + plain(lo) + ", " + plain(hi) + "]");
}

CLI::Validator number_at_least(double lo, bool exclusive) {
  const std::string range = std::string("a number ") + (exclusive ? "> " : ">= ") + plain(lo);
  return CLI::Validator(
      [lo, exclusive, range](std::string& text) -> std::string {
        double v = 0;
        if (!parse_number(text, v) || v < lo || (exclusive && v == lo))
          return "must be " + range + " (got '" + text + "')";
        return {};
      },
      std::string("FLOAT ") + (exclusive ? "> " : ">= ") + plain(lo));
}

std::string checked_utf8_input(std::string text, const std::string& what) {
  if (const auto bad = sanitize_utf8(text))
    std::fprintf(stderr, "warning: %s is not valid UTF-8 (first bad byte at offset %zu); invalid bytes were replaced with U+FFFD\n",
                 what.c_str(), *bad);
  return text;
}

CLI::Validator utf8_text(const std::string& what) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        text = checked_utf8_input(std::move(text), what);
        return {};
      },
      "");
}

CLI::Validator thread_count() {
  const int64_t limit = max_threads();
  return CLI::Validator(
      [limit](std::string& text) -> std::string {
        int64_t v = 0;
        if (parse_integer(text, v) && v >= 0 && v <= limit) return {};
        return "must be an integer in [0, " + std::to_string(limit) + "] (got '" + text +
               "'); 0 = all cores, and this machine has " + std::to_string(hardware_threads()) +
               " hardware threads";
      },
      "INT in [0, " + std::to_string(limit) + "]");
}

}  // namespace gemma4::cli
