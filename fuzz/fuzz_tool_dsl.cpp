// Fuzzes the tool-call value DSL: parse_dsl_value throws only gemma4::Error; parse_tool_call never
// throws; a value that parses, formatted again, parses back to the same value.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gemma4/chat.h"
#include "gemma4/output_parser.h"

namespace {

// Strings holding the <|"|> delimiter cannot be written back in the DSL (it has no escaping).
bool formattable(const nlohmann::json& v) {
  constexpr std::string_view kQuote = "<|\"|>";
  if (v.is_string()) return v.get_ref<const std::string&>().find(kQuote) == std::string::npos;
  if (v.is_object()) {
    for (const auto& [key, member] : v.items()) {
      if (key.find(kQuote) != std::string::npos || !formattable(member)) return false;
    }
  }
  if (v.is_array()) {
    for (const auto& member : v) {
      if (!formattable(member)) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gemma4;
  const std::string_view text = fuzz::as_text(data, size);
  (void)parse_tool_call(text);
  fuzz::expect_clean_error([&] {
    const nlohmann::json value = parse_dsl_value(text);
    if (!formattable(value)) return;
    const std::string again = format_dsl_value(value, /*quote_keys=*/true);
    const nlohmann::json reparsed = parse_dsl_value(again);
    if (reparsed != value) {
      std::fprintf(stderr, "DSL round trip: %s -> %s -> %s\n", value.dump().c_str(), again.c_str(),
                   reparsed.dump().c_str());
      std::abort();
    }
  });
  return 0;
}
