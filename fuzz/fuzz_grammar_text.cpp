// Fuzzes the grammar text parsers. An input starting with "gbnf\n" is GBNF grammar text up to a
// line "---", then candidate strings one per line; otherwise the first line is a regular
// expression (JSON Schema `pattern`) and the other lines are candidates. Compilation either
// succeeds or raises a GrammarError with a message; a pattern string the matcher accepts as
// complete is a JSON string; and the matcher never accepts a prefix that nothing can complete
// (no dead ends for the sampler).
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gemma4/grammar.h"

namespace {

void check_no_dead_end(const gemma4::ByteMatcher& m) {
  if (m.can_end()) return;
  for (int b = 0; b < 256; ++b)
    if (gemma4::ByteMatcher(m).accept(std::string(1, static_cast<char>(b)))) return;
  std::abort();
}

void check_candidate(const std::shared_ptr<const gemma4::Grammar>& grammar, const std::string& text, bool json_string) {
  gemma4::ByteMatcher m(grammar);
  for (char c : text) {
    if (!m.accept(std::string(1, c))) return;
    check_no_dead_end(m);
  }
  if (!json_string || !m.can_end()) return;
  const nlohmann::json v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded() || !v.is_string()) std::abort();
}

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  if (size > 4096) return 0;
  const std::string_view text = fuzz::as_text(data, size);
  if (text.starts_with("gbnf\n")) {
    const size_t split = text.find("\n---\n");
    const std::string_view grammar_text = text.substr(5, split == std::string_view::npos ? std::string_view::npos : split - 5);
    const std::vector<std::string> candidates =
        split == std::string_view::npos ? std::vector<std::string>{} : lines(text.substr(split + 5));
    fuzz::expect_clean_error([&] {
      const auto grammar = compile_gbnf(grammar_text);
      for (const std::string& c : candidates) check_candidate(grammar, c, false);
    });
    return 0;
  }
  const std::vector<std::string> parts = lines(text);
  fuzz::expect_clean_error([&] {
    const auto grammar = compile_json_schema(nlohmann::json{{"type", "string"}, {"pattern", parts[0]}});
    for (size_t i = 1; i < parts.size(); ++i) check_candidate(grammar, "\"" + parts[i] + "\"", true);
  });
  return 0;
}
