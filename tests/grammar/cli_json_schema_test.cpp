// `gemma4 run --json-schema FILE`: the printed answer validates; a schema the compiler refuses is
// one `error:` line naming the keyword and exit 1.
#include <gtest/gtest.h>

#include <fstream>

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
  const std::string file = write_temp("gemma4_cli_bad_schema.json", R"({"type":"string","pattern":"^a"})");
  const auto r = run_cli("run --model " + testing::tiny_a_dir().string() + " --dtype f32 --json-schema " + file + " hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("'pattern'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gemma4
