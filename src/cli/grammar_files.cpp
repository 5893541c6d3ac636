#include "cli/grammar_files.h"

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"

namespace gemma4::cli {

std::shared_ptr<const Grammar> compile_grammar_files(const GrammarFiles& f) {
  if (f.json_object) return compile_any_json_object();
  if (!f.grammar.empty()) {
    std::ifstream in(f.grammar, std::ios::binary);
    if (!in) throw Error("--grammar: cannot read " + f.grammar);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
      return compile_gbnf(text);
    } catch (const GrammarError& e) {
      throw Error("--grammar: " + f.grammar + ": " + e.what());
    }
  }
  if (f.json_schema.empty()) return nullptr;
  std::ifstream in(f.json_schema);
  if (!in) throw Error("--json-schema: cannot read " + f.json_schema);
  nlohmann::json schema;
  try {
    schema = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error("--json-schema: " + f.json_schema + " is not JSON: " + e.what());
  }
  try {
    return compile_json_schema(schema);
  } catch (const GrammarError& e) {
    throw Error("--json-schema: " + f.json_schema + ": " + e.what());
  }
}

}  // namespace gemma4::cli
