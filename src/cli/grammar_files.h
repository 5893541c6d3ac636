#pragma once
// The constraint named on the command line, compiled: `--json-object`, `--grammar FILE` (GBNF)
// or `--json-schema FILE`. Shared by run/chat/batch (generation_flags) and `gemma4 grammar`.
#include <memory>
#include <string>

#include "gemma4/grammar.h"

namespace gemma4::cli {

struct GrammarFiles {
  bool json_object = false;
  std::string grammar;      // GBNF file
  std::string json_schema;  // JSON Schema file
};

// Null when none is named; gemma4::Error naming the flag, the file and the problem otherwise.
std::shared_ptr<const Grammar> compile_grammar_files(const GrammarFiles& files);

}  // namespace gemma4::cli
