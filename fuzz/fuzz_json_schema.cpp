// Fuzzes the JSON Schema compiler and the byte matcher: any JSON document either compiles or
// raises a GrammarError with a message; text the matcher accepts as a complete value always
// parses as JSON (and, for json_object, as an object).
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gemma4/grammar.h"

namespace {

void check_sound(const std::shared_ptr<const gemma4::Grammar>& grammar, const std::string& text, bool object) {
  gemma4::ByteMatcher m(grammar);
  if (!m.accept(text) || !m.can_end()) return;
  const nlohmann::json v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded() || (object && !v.is_object())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const auto text = std::string(fuzz::as_text(data, size));
  static const auto any_object = compile_any_json_object();
  check_sound(any_object, text, /*object=*/true);
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  fuzz::expect_clean_error([&] {
    const auto grammar = compile_json_schema(doc);
    check_sound(grammar, doc.dump(), /*object=*/false);
    if (doc.contains("examples") && doc["examples"].is_array())
      for (const auto& e : doc["examples"]) check_sound(grammar, e.dump(), /*object=*/false);
  });
  return 0;
}
