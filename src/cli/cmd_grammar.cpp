// gemma4 grammar: compiles a constraint as run/chat/batch/serve would (--schema FILE, --grammar
// FILE, --json-object) and walks a text through it token by token, as the engine would have
// generated it. A contract (for tests and for users asking "could this answer have come out?"):
//
//   gemma4 grammar --model DIR --schema FILE.json (--text FILE | --json-text FILE) [--bench]
//   -> {"accepted": bool, "complete": bool, "position": N, "error": null | "..."}
//
// Only the model folder's tokenizer is read. `position` is the first rejected token (or the number
// of tokens); exit code 0 when the text is accepted and complete, else 1 with the error also as
// an `error:` line on stderr. --json-text reads a
// JSON value and checks it written compactly (as the constraint writes JSON). --bench adds the
// compile time and the per-token mask time (mean, p50, p99). Without a text it only compiles.
// A schema or grammar the compiler refuses is one `error:` line, as in `run`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/grammar_files.h"
#include "cli/model_source.h"
#include "gemma4/error.h"
#include "gemma4/grammar.h"
#include "gemma4/tokenizer.h"

namespace gemma4::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string read_file(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(flag + ": cannot read " + path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string compact_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file("--json-text", path)).dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error("--json-text: " + path + " is not JSON: " + e.what());
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

nlohmann::json walk(const std::shared_ptr<const Grammar>& grammar, const Tokenizer& tokenizer, const std::string& text,
                    bool bench) {
  const std::vector<int32_t> ids = tokenizer.encode(text);
  TokenMatcher matcher(grammar, build_token_trie(tokenizer));
  TokenMask allowed(static_cast<size_t>(tokenizer.vocab_size()));
  std::vector<double> mask_us;
  nlohmann::json out = {{"accepted", true}, {"complete", false}, {"position", ids.size()}, {"error", nullptr}};
  for (size_t i = 0; i < ids.size(); ++i) {
    if (bench) {
      const auto start = Clock::now();
      matcher.fill_mask(allowed, {});
      mask_us.push_back(ms_since(start) * 1000.0);
    }
    if (matcher.accept_token(ids[i])) continue;
    const int32_t id = ids[i];
    out["accepted"] = false;
    out["position"] = i;
    out["error"] = "token " + std::to_string(i) + " (id " + std::to_string(id) + ", " +
                   nlohmann::json(tokenizer.decode(std::span(&id, 1))).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                   ") is not allowed after " +
                   nlohmann::json(tokenizer.decode(std::span(ids.data(), i))).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    break;
  }
  if (out["accepted"] == true) {
    out["complete"] = matcher.can_end();
    if (!matcher.can_end()) out["error"] = "the text ends before the constraint is complete";
  }
  if (bench) {
    double sum = 0;
    for (double v : mask_us) sum += v;
    out["tokens"] = ids.size();
    out["mask_us"] = {{"mean", mask_us.empty() ? 0.0 : sum / static_cast<double>(mask_us.size())},
                      {"p50", percentile(mask_us, 0.5)}, {"p99", percentile(mask_us, 0.99)}};
  }
  return out;
}

}  // namespace

void add_grammar_command(CLI::App& app) {
  struct Args {
    std::string model;
    GrammarFiles files;
    std::string text, json_text;
    bool bench = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("grammar", "Walk a text through a JSON Schema or GBNF grammar, token by token");
  add_model_option(*cmd, args->model, "--model");
  auto* schema = cmd->add_option("--schema,--json-schema", args->files.json_schema, "The JSON Schema in FILE (docs/grammar.md)");
  auto* object = cmd->add_flag("--json-object", args->files.json_object, "Any JSON object")->excludes(schema);
  auto* gbnf = cmd->add_option("--grammar", args->files.grammar, "The GBNF grammar in FILE (docs/grammar.md)")
                   ->excludes(schema)
                   ->excludes(object);
  auto* text = cmd->add_option("--text", args->text, "The text to check, from FILE");
  cmd->add_option("--json-text", args->json_text, "A JSON value from FILE, checked as written compactly")->excludes(text);
  cmd->add_flag("--bench", args->bench, "Also print the compile time and the per-token mask time");
  cmd->callback([args, schema, object, gbnf] {
    if (schema->count() + object->count() + gbnf->count() == 0)
      throw Error("grammar needs --schema FILE, --grammar FILE or --json-object");
    const auto start = Clock::now();
    const auto grammar = compile_grammar_files(args->files);
    const double compile_ms = ms_since(start);
    nlohmann::json out;
    if (args->text.empty() && args->json_text.empty()) {
      out = {{"compiled", true}};
    } else {
      const std::string text = args->json_text.empty() ? read_file("--text", args->text) : compact_json(args->json_text);
      out = walk(grammar, Tokenizer::load(model_folder(args->model)), text, args->bench);
    }
    if (args->bench) out["compile_ms"] = compile_ms;
    std::printf("%s\n", out.dump().c_str());
    // A text the constraint refuses is also the usual one `error:` line (and exit code 1).
    if (out.contains("complete") && out["complete"] != true) throw Error(out["error"].get<std::string>());
  });
}

}  // namespace gemma4::cli
