// Bad input to the gemma4 binary, exactly as a user would type it: every case must end with one
// `error: ...` line on stderr naming the problem and exit code 1 (never a hang, a crash, a
// std::bad_alloc or CLI11's exit code 105 with a 309-digit bound).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "test_util.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

using testing::run_cli;
using testing::RunResult;

std::string tiny() { return testing::tiny_a_dir().string(); }

// The whole of stderr is one line "error: ...", containing `fragment`; the exit code is 1.
void expect_one_error_line(const RunResult& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  ASSERT_TRUE(r.err.starts_with("error: ")) << r.err;
  ASSERT_TRUE(r.err.ends_with("\n")) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line:\n" << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  EXPECT_LT(r.err.size(), 300u) << r.err;
}

RunResult run_tiny(const std::string& flags) {
  return run_cli("run -m " + tiny() + " --dtype f32 --max-tokens 2 " + flags + " hi");
}

TEST(CliErrors, UnknownKernelPathInTheEnvironment) {
  ::setenv("GEMMA4_KERNELS", "portable", 1);  // the portable path is called `scalar`
  const RunResult r = run_tiny("");
  ::unsetenv("GEMMA4_KERNELS");
  expect_one_error_line(r, "GEMMA4_KERNELS=portable names no kernel path (scalar, avx2");
}

TEST(CliErrors, ContextZero) {
  expect_one_error_line(run_tiny("--ctx 0"), "--ctx: must be an integer in [1, 16777216] (got '0')");
}

TEST(CliErrors, ContextAbsurd) {
  expect_one_error_line(run_tiny("--ctx 2000000000"), "--ctx: must be an integer in [1, 16777216] (got '2000000000')");
}

TEST(CliErrors, NegativeMaxTokens) {
  expect_one_error_line(run_tiny("--max-tokens -1"), "--max-tokens: must be an integer in [0, 2147483647] (got '-1')");
}

TEST(CliErrors, NegativeThreads) {
  expect_one_error_line(run_tiny("--threads -2"), "--threads: must be an integer in [0, ");
}

TEST(CliErrors, ThreadsFarAboveTheCores) {
  const RunResult r = run_tiny("--threads 100000");
  expect_one_error_line(r, "--threads: must be an integer in [0, ");
  EXPECT_NE(r.err.find("(got '100000')"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hardware threads"), std::string::npos) << r.err;
}

TEST(CliErrors, NegativeTopKIsAnErrorNotOff) {
  expect_one_error_line(run_tiny("--top-k -5"), "--top-k: must be an integer in [0, 2147483647] (got '-5')");
}

TEST(CliErrors, OtherSamplingFlags) {
  expect_one_error_line(run_tiny("--top-p 1.5"), "--top-p: must be a number in [0, 1] (got '1.5')");
  expect_one_error_line(run_tiny("--temperature -1"), "--temperature: must be a number >= 0 (got '-1')");
  expect_one_error_line(run_tiny("--repeat-penalty 0"), "--repeat-penalty: must be a number > 0 (got '0')");
  expect_one_error_line(run_tiny("--repeat-last-n -3"), "--repeat-last-n: must be an integer");
  expect_one_error_line(run_tiny("--threads abc"), "(got 'abc')");
}

TEST(CliErrors, StepTokensAndChunkOutOfRange) {
  expect_one_error_line(run_tiny("--step-tokens 0"), "--step-tokens: must be an integer in [1, 65536] (got '0')");
  expect_one_error_line(run_cli("serve -m " + tiny() + " --step-tokens 70000"),
                        "--step-tokens: must be an integer in [1, 65536] (got '70000')");
  expect_one_error_line(run_cli("bench --model " + tiny() + " --chunk 0"), "--chunk: must be an integer in [1, 65536] (got '0')");
}

TEST(CliErrors, DraftTokensOutOfRange) {
  expect_one_error_line(run_tiny("--draft -1"), "--draft: must be an integer in [0, 16] (got '-1')");
  expect_one_error_line(run_tiny("--draft 17"), "--draft: must be an integer in [0, 16] (got '17')");
  expect_one_error_line(run_cli("serve -m " + tiny() + " --draft 2.5"), "--draft: must be an integer in [0, 16] (got '2.5')");
}

TEST(CliErrors, ParseErrorsUseTheSameShape) {
  // (--model is optional: it defaults to the Hub id google/gemma-4-E2B-it.)
  expect_one_error_line(run_cli("run -m " + tiny()), "prompt is required");
  expect_one_error_line(run_cli("frobnicate"), "A subcommand is required");
  expect_one_error_line(run_cli("run -m " + tiny() + " hi --no-such-flag"), "--no-such-flag");
  expect_one_error_line(run_cli("logits --model " + tiny() + " --tokens 2 --out /dev/null --prefill-chunk 0"),
                        "--prefill-chunk: must be an integer in [1, ");
  expect_one_error_line(run_cli("bench --model " + tiny() + " --reps 0"), "--reps: must be an integer in [1, 1000]");
}

TEST(CliErrors, HelpStillExitsZero) {
  const RunResult r = run_cli("run --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--ctx"), std::string::npos);
}

TEST(CliErrors, ModelFileInsteadOfFolder) {
  expect_one_error_line(run_cli("run -m " + tiny() + "/model.safetensors hi"),
                        "model.safetensors is a file; --model takes the model folder");
}

// A copy of tiny-a (weights linked, not copied) whose JSON files a test may break.
class BrokenModel : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"config.json", "generation_config.json", "tokenizer.json"})
      fs::copy_file(testing::tiny_a_dir() / name, dir() / name);
    fs::create_symlink(fs::absolute(testing::tiny_a_dir() / "model.safetensors"), dir() / "model.safetensors");
  }
  fs::path dir() const { return tmp_.path(); }
  void edit(const std::string& file, const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json doc = testing::read_json(dir() / file);
    change(doc);
    std::ofstream(dir() / file) << doc.dump();
  }
  void set_raw(const std::string& file, const std::string& key, const std::string& raw_value) {
    // Numbers like 4e9 or 1e300 must reach the parser as written, not as nlohmann re-dumps them.
    nlohmann::json doc = testing::read_json(dir() / file);
    nlohmann::json& scope = doc.contains("text_config") ? doc["text_config"] : doc;
    scope[key] = "@@";
    std::string text = doc.dump();
    text.replace(text.find("\"@@\""), 4, raw_value);
    std::ofstream(dir() / file) << text;
  }
  RunResult run() { return run_cli("run -m " + dir().string() + " --dtype f32 --max-tokens 2 hi"); }

  testing::TempDir tmp_;
};

TEST_F(BrokenModel, IntactCopyRuns) {
  const RunResult r = run();
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(BrokenModel, HugeLayerCount) {
  set_raw("config.json", "num_hidden_layers", "4e9");
  expect_one_error_line(run(), "field 'num_hidden_layers' must be an integer in [1, 1024] (got 4000000000.0)");
}

TEST_F(BrokenModel, AstronomicalVocabulary) {
  set_raw("config.json", "vocab_size", "1e300");
  expect_one_error_line(run(), "field 'vocab_size' must be an integer in [1, 16777216]");
}

TEST_F(BrokenModel, StringInEosList) {
  edit("generation_config.json", [](nlohmann::json& d) { d["eos_token_id"] = {1, "106"}; });
  expect_one_error_line(run(), "generation_config.json: field 'eos_token_id[1]' must be an integer token id");
}

TEST_F(BrokenModel, NegativeTopKInGenerationConfig) {
  edit("generation_config.json", [](nlohmann::json& d) { d["top_k"] = -5; });
  expect_one_error_line(run(), "field 'top_k' must be >= 0");
}

TEST(CliInput, InvalidUtf8PromptIsReplacedWithAWarning) {
  // "h\xFFi" (printf in /bin/sh): one bad byte at offset 1; the answer is still generated.
  const RunResult r = run_cli("run -m " + tiny() + " --dtype f32 --max-tokens 2 --temperature 0 \"$(printf 'h\\377i')\"");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: the prompt is not valid UTF-8 (first bad byte at offset 1)"), std::string::npos)
      << r.err;
  const RunResult s = run_cli("run -m " + tiny() + " --dtype f32 --max-tokens 2 --system \"$(printf '\\303')\" hi");
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.err.find("warning: --system is not valid UTF-8 (first bad byte at offset 0)"), std::string::npos)
      << s.err;
  const RunResult c = run_cli("chat -m " + tiny() + " --dtype f32 --max-tokens 2 --temperature 0", "ok \xE2\x82\n");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.err.find("warning: the input line is not valid UTF-8 (first bad byte at offset 3)"), std::string::npos)
      << c.err;
}

// `gemma4 convert` and its model file, end to end: the file answers like the folder at its weight
// type (no --dtype needed), `gemma4 verify` passes it and names a changed byte, and every misuse
// is one error line.
TEST(CliModelFile, ConvertRunVerifyAndTheirErrors) {
  testing::TempDir tmp;
  const std::string file = (tmp.path() / "tiny-q4_0.g4w").string();
  const RunResult c = run_cli("convert -m " + tiny() + " --dtype q4_0 --out " + file);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.err.find("convert: wrote " + file), std::string::npos) << c.err;
  const std::string ask = " --max-tokens 8 --temperature 0 \"What is the capital of France?\"";
  const RunResult folder = run_cli("run -m " + tiny() + " --dtype q4_0" + ask);
  const RunResult converted = run_cli("run -m " + file + ask);
  ASSERT_EQ(converted.exit_code, 0) << converted.err;
  EXPECT_FALSE(converted.out.empty());
  EXPECT_EQ(converted.out, folder.out);
  const RunResult ok = run_cli("verify " + file);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok (q4_0, "), std::string::npos) << ok.out;

  expect_one_error_line(run_cli("run -m " + file + " --dtype q8_0 --max-tokens 2 hi"),
                        "holds q4_0 weights; load it with dtype q4_0");
  expect_one_error_line(run_cli("convert -m " + tiny() + " --dtype q5_0 --out " + file), "unknown dtype 'q5_0'");
  expect_one_error_line(run_cli("convert -m " + file + " --out " + file + ".2"), "is a model file already");
  expect_one_error_line(run_cli("convert -m " + tiny() + " --out /nonexistent-dir/x.g4w"), "cannot create /nonexistent-dir/x.g4w.tmp");
  expect_one_error_line(run_cli("verify " + tiny() + "/config.json"), "is not a gemma4 model file (.g4w)");
  expect_one_error_line(run_cli("verify " + file + ".missing"), "file not found");

  // A byte of the first blob, config.json (right after the header's page), changed.
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 10);
    f.put('#');
  }
  expect_one_error_line(run_cli("verify " + file), "'config.json' does not match its checksum");
  expect_one_error_line(run_cli("run -m " + file + " --max-tokens 2 hi"), "'config.json' does not match its checksum");
  fs::resize_file(file, fs::file_size(file) - 100);
  expect_one_error_line(run_cli("run -m " + file + " --max-tokens 2 hi"), "truncated or still downloading?");
}

}  // namespace
}  // namespace gemma4
