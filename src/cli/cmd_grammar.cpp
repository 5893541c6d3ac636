// gemma4 grammar: compiles a constraint as run/chat/batch/serve would (--json-schema FILE,
// --grammar FILE, --json-object) and checks texts against it: why a schema is refused, or whether
// a given answer is one the constraint allows. Prints "FILE: matches" per text; the first text that
// does not match is one `error:` line (where it leaves the grammar) and exit code 1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/grammar_files.h"
#include "gemma4/error.h"
#include "gemma4/grammar.h"

namespace gemma4::cli {

namespace {

std::string read_text(const std::string& path) {
  if (path == "-") return std::string((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("--check: cannot read " + path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Up to 24 bytes before `end`, as a JSON string (escapes keep the error on one line).
std::string context_before(const std::string& text, size_t end) {
  const size_t from = end > 24 ? end - 24 : 0;
  return nlohmann::json(text.substr(from, end - from)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Feeds the text byte by byte, so a rejection names the byte.
void check_text(const std::shared_ptr<const Grammar>& grammar, const std::string& name, const std::string& text) {
  ByteMatcher m(grammar);
  for (size_t i = 0; i < text.size(); ++i) {
    if (m.accept(std::string_view(text).substr(i, 1))) continue;
    throw Error(name + ": byte " + std::to_string(i) + " (" +
                nlohmann::json(text.substr(i, 1)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                ") leaves the grammar, after " + context_before(text, i));
  }
  if (!m.can_end())
    throw Error(name + ": the text ends before the grammar is complete, after " + context_before(text, text.size()));
}

}  // namespace

void add_grammar_command(CLI::App& app) {
  struct Args {
    GrammarFiles files;
    std::vector<std::string> check;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("grammar", "Compile a JSON Schema or GBNF grammar and check texts against it");
  auto* schema = cmd->add_option("--json-schema", args->files.json_schema, "The JSON Schema in FILE (docs/grammar.md)");
  auto* object = cmd->add_flag("--json-object", args->files.json_object, "Any JSON object")->excludes(schema);
  auto* gbnf = cmd->add_option("--grammar", args->files.grammar, "The GBNF grammar in FILE (docs/grammar.md)")
                   ->excludes(schema)
                   ->excludes(object);
  cmd->add_option("--check", args->check, "A text FILE ('-': standard input) that must match (repeatable)");
  cmd->callback([args, schema, object, gbnf] {
    if (schema->count() + object->count() + gbnf->count() == 0)
      throw Error("grammar needs --json-schema FILE, --grammar FILE or --json-object");
    const auto grammar = compile_grammar_files(args->files);
    if (args->check.empty()) {
      std::printf("the grammar compiles\n");
      return;
    }
    for (const auto& path : args->check) {
      const std::string name = path == "-" ? "standard input" : path;
      check_text(grammar, name, read_text(path));
      std::printf("%s: matches\n", name.c_str());
    }
  });
}

}  // namespace gemma4::cli
