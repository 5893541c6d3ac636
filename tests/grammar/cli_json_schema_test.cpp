// `gemma4 run --json-schema FILE`: the printed answer validates; a schema the compiler refuses is
// one `error:` line naming the keyword and exit 1.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include "cli/run_cli.h"
#include "grammar/schema_validator.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using nlohmann::json;
using testing::run_cli;

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(CliJsonSchema, AnswerValidates) {
  const json schema = json::parse(R"({"type":"object","properties":{"n":{"type":"integer"},
      "s":{"type":"string","maxLength":6}},"required":["n","s"],"additionalProperties":false})");
  const std::string file = write_temp("gemma4_cli_schema_test.json", schema.dump());
  for (int seed = 1; seed <= 3; ++seed) {
    const auto r = run_cli("run --model " + testing::tiny_a_dir().string() + " --dtype f32 --max-tokens 120 --seed " +
                           std::to_string(seed) + " --json-schema " + file + " \"JSON please\"");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
    json v;
    ASSERT_NO_THROW(v = json::parse(text)) << r.out;
    EXPECT_TRUE(testing::validates(v, schema, schema)) << r.out;
  }
}

TEST(CliJsonSchema, UnsupportedKeywordIsOneErrorLine) {
  const std::string file = write_temp("gemma4_cli_bad_schema.json", R"({"type":"number","multipleOf":3})");
  const auto r = run_cli("run --model " + testing::tiny_a_dir().string() + " --dtype f32 --json-schema " + file + " hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("'multipleOf'"), std::string::npos) << r.err;
}

// `--grammar FILE` (GBNF): the answer is in the grammar's language (checked with std::regex).
TEST(CliGrammar, AnswerFollowsTheGrammar) {
  const std::string file = write_temp("gemma4_cli_grammar_test.gbnf",
                                      "# a key and a number\nroot ::= \"{\" key \":\" num \"}\"\n"
                                      "key ::= [a-z]{1,6}\nnum ::= \"-\"? [1-9] [0-9]{0,3}\n");
  const std::regex language(R"(\{[a-z]{1,6}:-?[1-9][0-9]{0,3}\})");
  for (int seed = 1; seed <= 3; ++seed) {
    const auto r = run_cli("run --model " + testing::tiny_a_dir().string() + " --dtype f32 --max-tokens 60 --seed " +
                           std::to_string(seed) + " --grammar " + file + " \"go\"");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string text = r.out.substr(0, r.out.find_last_not_of('\n') + 1);
    EXPECT_TRUE(std::regex_match(text, language)) << r.out;
  }
}

TEST(CliGrammar, BadGrammarIsOneErrorLine) {
  const std::string file = write_temp("gemma4_cli_bad_grammar.gbnf", "root ::= item\n");
  const auto r = run_cli("run --model " + testing::tiny_a_dir().string() + " --dtype f32 --grammar " + file + " hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("'item'"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// `gemma4 grammar` (a contract): what `run --json-schema` printed walks through the same schema token
// by token; other texts report the first refused token, or that they stop short.
json grammar_line(const testing::RunResult& r) {
  const std::string line = r.out.substr(0, r.out.find('\n'));
  return json::parse(line);
}

TEST(CliGrammarCommand, WalksTextsThroughTheConstraint) {
  const std::string tiny = " --model " + testing::tiny_a_dir().string();
  const std::string schema = write_temp("gemma4_cli_grammar_command.json",
      R"({"type":"object","properties":{"n":{"type":"integer","multipleOf":5,"minimum":0,"maximum":50}},"required":["n"]})");
  const auto run = run_cli("run" + tiny + " --dtype f32 --max-tokens 40 --seed 7 --json-schema " + schema + " \"JSON please\"");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string answer = write_temp("gemma4_cli_grammar_answer.txt", run.out.substr(0, run.out.find_last_not_of('\n') + 1));
  const auto ok = run_cli("grammar" + tiny + " --schema " + schema + " --text " + answer);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(grammar_line(ok), json::parse(R"({"accepted":true,"complete":true,"error":null,"position":)" +
                                          std::to_string(json::parse(run_cli("tokenize" + tiny + " --text-file " + answer).out).size()) + "}"));

  const auto wrong = run_cli("grammar" + tiny + " --schema " + schema + " --text " + write_temp("gemma4_g_wrong.txt", R"({"n":17})"));
  EXPECT_EQ(wrong.exit_code, 1);
  const json w = grammar_line(wrong);
  EXPECT_EQ(w["accepted"], false);
  EXPECT_EQ(w["complete"], false);
  EXPECT_NE(w["error"].get<std::string>().find("\"7\") is not allowed after"), std::string::npos) << w.dump();
  EXPECT_EQ(wrong.err, "error: " + w["error"].get<std::string>() + "\n");

  const auto short_text = run_cli("grammar" + tiny + " --schema " + schema + " --text " + write_temp("gemma4_g_short.txt", R"({"n":15)"));
  EXPECT_EQ(short_text.exit_code, 1);
  EXPECT_EQ(grammar_line(short_text)["accepted"], true);
  EXPECT_EQ(grammar_line(short_text)["complete"], false);

  // --json-text: a value written with spaces is checked as the constraint writes it (compactly).
  const auto spaced = run_cli("grammar" + tiny + " --schema " + schema + " --json-text " + write_temp("gemma4_g_spaced.json", "{ \"n\" : 45 }\n") + " --bench");
  EXPECT_EQ(spaced.exit_code, 0) << spaced.err;
  const json b = grammar_line(spaced);
  EXPECT_EQ(b["complete"], true);
  EXPECT_TRUE(b.contains("compile_ms") && b["mask_us"].contains("p99")) << b.dump();

  EXPECT_EQ(grammar_line(run_cli("grammar --schema " + schema)), json::parse(R"({"compiled":true})"));
  const auto none = run_cli("grammar" + tiny + " --text " + answer);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "error: grammar needs --schema FILE, --grammar FILE or --json-object\n");
  const auto refused = run_cli("grammar --schema " + write_temp("gemma4_g_bad.json", R"({"type":"integer","multipleOf":7})"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("'multipleOf' 7"), std::string::npos) << refused.err;
  const auto gbnf = write_temp("gemma4_cli_grammar_command.gbnf", "root ::= \"a\" [0-9]+\n");
  EXPECT_EQ(run_cli("grammar" + tiny + " --grammar " + gbnf + " --text " + write_temp("gemma4_g_a.txt", "a42")).exit_code, 0);
  EXPECT_EQ(run_cli("grammar" + tiny + " --grammar " + gbnf + " --text " + write_temp("gemma4_g_b.txt", "b42")).exit_code, 1);
}

}  // namespace
}  // namespace gemma4
