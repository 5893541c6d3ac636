// End-to-end tests of the gemma4 binary on tiny-a: real processes, real files, checked output.
#include <gtest/gtest.h>

#include <regex>

#include "gemma4/tokenizer.h"
#include "cli/run_cli.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::run_cli;
using testing::RunResult;

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

std::string tiny() { return testing::tiny_a_dir().string(); }

TEST(CliLogits, MatchesGoldenForEveryChunkSize) {
  auto golden = testing::load_golden(testing::tiny_a_dir());
  const auto& seq = golden.sequences[1];  // "window": longer than the sliding window
  for (int chunk : {1, 3, 7, 16, 40}) {
    testing::TempDir tmp;
    auto out = tmp.path() / "logits.f32";
    RunResult r = run_cli("logits --model " + tiny() + " --tokens " + join_ids(seq.ids) + " --prefill-chunk " +
                          std::to_string(chunk) + " --out " + out.string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto logits = testing::read_f32_file(out);
    ASSERT_EQ(logits.size(), seq.logits.size());
    EXPECT_LE(testing::max_abs_diff(logits, seq.logits), 1e-3) << "chunk " << chunk;
  }
}

TEST(CliLogits, BadInputGivesOneLineErrorAndNonZeroExit) {
  RunResult r = run_cli("logits --model /no/such/model --tokens 1,2 --out /tmp/x.f32");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  r = run_cli("logits --model " + tiny() + " --tokens 1,,2 --out /tmp/x.f32");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("empty entry at position 1"), std::string::npos) << r.err;
  r = run_cli("logits --model " + tiny() + " --tokens 1,9999 --out /tmp/x.f32");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("token id 9999 at position 1"), std::string::npos) << r.err;
  r = run_cli("logits --model " + tiny() + " --tokens 1 --out /tmp/x.f32 --dtype q9");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("q9"), std::string::npos) << r.err;
  r = run_cli("logits --model " + tiny() + " --tokens 1 --out /tmp/x.f32 --bogus-flag");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bogus-flag"), std::string::npos) << r.err;
}

TEST(CliRun, GreedyAnswerIsTheGoldenContinuation) {
  auto golden = testing::load_golden(testing::tiny_a_dir());
  Tokenizer tok = Tokenizer::load(testing::tiny_a_dir());
  // The manifest's greedy prompt is this question rendered as one user turn.
  RunResult r = run_cli("run --model " + tiny() + " --dtype f32 --temperature 0 --max-tokens 32 --verbose "
                        "\"What is the capital of France? Answer in one word.\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, tok.decode(golden.greedy_continuation) + "\n");
  EXPECT_NE(r.err.find("prompt 24 tokens"), std::string::npos) << r.err;  // same prompt as the manifest's
  EXPECT_NE(r.err.find("| length"), std::string::npos) << r.err;
}

TEST(CliRun, UserErrorsAreActionable) {
  RunResult r = run_cli("run --model /no/such/model hi");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/no/such/model"), std::string::npos) << r.err;
  testing::TempDir empty;
  r = run_cli("run --model " + empty.path().string() + " hi");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("tokenizer.json"), std::string::npos) << r.err;
  r = run_cli("run --model " + tiny() + " --top-p 3 hi");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("top-p"), std::string::npos) << r.err;
}

TEST(CliChat, ReusesTheCacheAcrossTurnsAndHandlesCommands) {
  RunResult r = run_cli("chat --model " + tiny() + " --dtype f32 --temperature 0 --max-tokens 4 --verbose",
                        "Hello\nHow are you\n/stats\n/reset\n/think on\nHi\n/think maybe\n/nope\n/quit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Each answer reports "prompt N tokens (M cached)": the first turn prefills everything, the
  // second reuses the whole first exchange from the KV cache.
  std::regex stat(R"(prompt (\d+) tokens \((\d+) cached\))");
  std::vector<std::pair<int, int>> turns;
  for (std::sregex_iterator it(r.err.begin(), r.err.end(), stat), end; it != end; ++it)
    turns.emplace_back(std::stoi((*it)[1]), std::stoi((*it)[2]));
  ASSERT_EQ(turns.size(), 3u) << r.err;
  EXPECT_EQ(turns[0].second, 0);
  EXPECT_GT(turns[1].second, turns[0].first - 1);  // everything up to the first answer is reused
  EXPECT_LT(turns[1].second, turns[1].first);
  EXPECT_NE(r.out.find("context: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(conversation reset)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(thinking on)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("usage: /think on|off"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown command /nope"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gemma4
