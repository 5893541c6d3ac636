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

// `gemma4 grammar`: what `run --json-schema` printed is a text the same schema matches; other texts
// are one error line naming the byte where they leave it, or saying that they stop short.
TEST(CliGrammarCommand, ChecksTextsAgainstTheConstraint) {
  const std::string schema = write_temp("gemma4_cli_grammar_command.json",
      R"({"type":"object","properties":{"n":{"type":"integer","multipleOf":5,"minimum":0,"maximum":50}},"required":["n"]})");
  const auto run = run_cli("run --model " + testing::tiny_a_dir().string() + " --dtype f32 --max-tokens 40 --seed 7 --json-schema " +
                           schema + " \"JSON please\"");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string answer = write_temp("gemma4_cli_grammar_answer.txt", run.out.substr(0, run.out.find_last_not_of('\n') + 1));
  const auto ok = run_cli("grammar --json-schema " + schema + " --check " + answer);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, answer + ": matches\n");
  EXPECT_EQ(run_cli("grammar --json-schema " + schema).out, "the grammar compiles\n");

  const auto wrong = run_cli("grammar --json-schema " + schema + " --check -", R"({"n":17})");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.err, "error: standard input: byte 6 (\"7\") leaves the grammar, after \"{\\\"n\\\":1\"\n");
  const auto short_text = run_cli("grammar --json-schema " + schema + " --check -", R"({"n":15)");
  EXPECT_EQ(short_text.exit_code, 1);
  EXPECT_NE(short_text.err.find("ends before the grammar is complete"), std::string::npos) << short_text.err;
  const auto none = run_cli("grammar --check -", "{}");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "error: grammar needs --json-schema FILE, --grammar FILE or --json-object\n");
  const auto gbnf = write_temp("gemma4_cli_grammar_command.gbnf", "root ::= \"a\" [0-9]+\n");
  EXPECT_EQ(run_cli("grammar --grammar " + gbnf + " --check -", "a42").exit_code, 0);
  EXPECT_EQ(run_cli("grammar --grammar " + gbnf + " --check -", "b42").exit_code, 1);
}

}  // namespace
}  // namespace gemma4
