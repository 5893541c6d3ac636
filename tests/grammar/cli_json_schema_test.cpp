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

}  // namespace
}  // namespace gemma4
