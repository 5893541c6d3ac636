// gemma4 batch (offline JSONL generation on the serving engine) and gemma4 chat's handling of a
// full context: real processes, real files.
#include <gtest/gtest.h>

#include <cctype>

#include "cli/run_cli.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::run_cli;
using testing::RunResult;

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string tiny() { return testing::tiny_a_dir().string(); }

TEST(CliBatch, ParallelEightGivesExactlyWhatParallelOneGives) {
  testing::TempDir tmp;
  const auto input = tmp.path() / "in.jsonl";
  {
    std::ofstream in(input);
    for (int i = 0; i < 10; ++i) {
      nlohmann::json line = {{"id", i}, {"prompt", "Question number " + std::to_string(i) + ": what is " + std::string(i * 3, 'x') + "?"}};
      if (i % 3 == 0) line["temperature"] = 0;
      if (i % 4 == 1) line["seed"] = 1234 + i;
      if (i == 5) line = {{"id", "five"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 3}};
      in << line.dump() << "\n";
    }
  }
  RunResult one = run_cli("batch -m " + tiny() + " --dtype f32 --max-tokens 24 -i " + input.string() + " -o " +
                          (tmp.path() / "one.jsonl").string() + " --parallel 1");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  RunResult eight = run_cli("batch -m " + tiny() + " --dtype f32 --max-tokens 24 -i " + input.string() + " -o " +
                            (tmp.path() / "eight.jsonl").string() + " --parallel 8 --json " + (tmp.path() / "sum.json").string());
  ASSERT_EQ(eight.exit_code, 0) << eight.err;
  auto a = read_jsonl(tmp.path() / "one.jsonl"), b = read_jsonl(tmp.path() / "eight.jsonl");
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 10u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["tokens"], b[i]["tokens"]) << "line " << i + 1;
    EXPECT_EQ(a[i]["text"], b[i]["text"]);
    EXPECT_EQ(b[i]["id"], i == 5 ? nlohmann::json("five") : nlohmann::json(i));  // input order
    EXPECT_EQ(b[i]["usage"]["completion_tokens"].get<int>(), i == 5 ? 3 : 24);
    EXPECT_EQ(b[i]["finish_reason"], "length");
    EXPECT_EQ(b[i]["tokens"].size(), b[i]["usage"]["completion_tokens"].get<size_t>());
  }
  auto summary = testing::read_json(tmp.path() / "sum.json");
  EXPECT_EQ(summary["requests"], 10);
  EXPECT_EQ(summary["generated_tokens"], 9 * 24 + 3);
  for (const char* key : {"wall_s", "gen_tok_s", "prefill_tok_s"}) EXPECT_GT(summary[key].get<double>(), 0) << key;
}

// Speculative decoding (--draft, or "draft" per line) changes no greedy answer; the summary
// counts the drafts, and a bad "draft" is that line's error.
TEST(CliBatch, DraftsLeaveGreedyAnswersUnchangedAndAreCounted) {
  testing::TempDir tmp;
  const auto input = tmp.path() / "in.jsonl";
  {
    std::ofstream in(input);
    for (int i = 0; i < 4; ++i) {
      nlohmann::json line = {{"id", i}, {"prompt", "Repeat after me: one two three, one two three, one two " + std::to_string(i)},
                             {"temperature", 0}};
      if (i == 3) line["draft"] = 0;
      in << line.dump() << "\n";
    }
    in << nlohmann::json{{"id", 4}, {"prompt", "x"}, {"draft", 99}}.dump() << "\n";
  }
  auto run = [&](const std::string& name, const std::string& flags) {
    return run_cli("batch -m " + tiny() + " --dtype f32 --max-tokens 24 -i " + input.string() + " -o " +
                   (tmp.path() / (name + ".jsonl")).string() + " --json " + (tmp.path() / (name + ".json")).string() + " " +
                   flags);
  };
  RunResult plain = run("plain", "");
  RunResult drafted = run("drafted", "--draft 4 --parallel 4");
  EXPECT_EQ(plain.exit_code, 1);  // the bad line
  EXPECT_EQ(drafted.exit_code, 1);
  EXPECT_NE(drafted.err.find("line 5: \"draft\" must be an integer between 0 and 16"), std::string::npos) << drafted.err;
  auto a = read_jsonl(tmp.path() / "plain.jsonl"), b = read_jsonl(tmp.path() / "drafted.jsonl");
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a[i]["tokens"], b[i]["tokens"]) << "line " << i + 1;
    EXPECT_EQ(a[i]["text"], b[i]["text"]) << "line " << i + 1;
  }
  auto summary = testing::read_json(tmp.path() / "drafted.json");
  ASSERT_TRUE(summary.contains("drafted_tokens")) << summary.dump();
  EXPECT_GT(summary["drafted_tokens"].get<int64_t>(), 0);
  EXPECT_GE(summary["accepted_drafts"].get<int64_t>(), 0);
  EXPECT_LE(summary["accepted_drafts"].get<int64_t>(), summary["drafted_tokens"].get<int64_t>());
  EXPECT_FALSE(testing::read_json(tmp.path() / "plain.json").contains("drafted_tokens"));
}

TEST(CliBatch, ABadLineIsNamedAndTheOthersStillRun) {
  testing::TempDir tmp;
  const auto input = tmp.path() / "in.jsonl";
  std::ofstream(input) << "{\"id\": 1, \"prompt\": \"Hello\"}\n"
                          "{\"id\": 2, \"prompt\": \"Hello\", \"top_p\": \"high\"}\n"
                          "{\"id\": 3}\n"
                          "{not json\n"
                          "{\"id\": 5, \"prompt\": \"Bye\", \"stop\": [\"a\", 7]}\n"
                          "{\"id\": 6, \"prompt\": \"Bye\", \"temperature\": -2}\n"
                          "{\"id\": 7, \"prompt\": \"Again\"}\n";
  RunResult r = run_cli("batch -m " + tiny() + " --dtype f32 --max-tokens 4 -i " + input.string() + " -o " +
                        (tmp.path() / "out.jsonl").string());
  EXPECT_EQ(r.exit_code, 1);
  for (const char* where : {"line 2: \"top_p\" must be a number", "line 3: the line has neither", "line 4:",
                            "line 5: \"stop\" must be", "line 6: sampling parameter 'temperature'"})
    EXPECT_NE(r.err.find(where), std::string::npos) << where << "\n" << r.err;
  EXPECT_NE(r.err.find("error: 5 of 7 requests failed"), std::string::npos) << r.err;
  auto out = read_jsonl(tmp.path() / "out.jsonl");
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0]["usage"]["completion_tokens"], 4);
  EXPECT_TRUE(out[1].contains("error"));
  EXPECT_EQ(out[6]["usage"]["completion_tokens"], 4);
}

// A line's response_format or grammar constrains that line only; a bad one is that line's error.
TEST(CliBatch, EachLineMayNameItsOwnConstraint) {
  testing::TempDir tmp;
  const auto input = tmp.path() / "in.jsonl";
  const nlohmann::json tens = {{"type", "json_schema"},
      {"json_schema", {{"name", "n"}, {"schema", {{"type", "integer"}, {"multipleOf", 10}, {"minimum", 0}, {"maximum", 90}}}}}};
  {
    std::ofstream in(input);
    for (int seed = 1; seed <= 4; ++seed) {
      in << nlohmann::json{{"id", seed}, {"prompt", "x"}, {"max_tokens", 30}, {"temperature", 1}, {"seed", seed},
                           {"response_format", tens}}.dump() << "\n";
      in << nlohmann::json{{"id", 10 + seed}, {"prompt", "x"}, {"max_tokens", 30}, {"temperature", 1}, {"seed", seed},
                           {"grammar", "root ::= \"ab\" [0-9]"}}.dump() << "\n";
    }
    in << nlohmann::json{{"id", "bad"}, {"prompt", "x"}, {"grammar", "root ::= nope"}}.dump() << "\n";
  }
  const RunResult r = run_cli("batch -m " + tiny() + " --dtype f32 -i " + input.string() + " -o " +
                              (tmp.path() / "out.jsonl").string() + " --parallel 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 9: 'grammar'"), std::string::npos) << r.err;
  const auto out = read_jsonl(tmp.path() / "out.jsonl");
  ASSERT_EQ(out.size(), 9u);
  for (size_t i = 0; i < 8; ++i) {
    ASSERT_EQ(out[i]["finish_reason"], "stop") << out[i].dump();
    const std::string text = out[i]["text"];
    if (i % 2 == 0) {
      const int v = std::stoi(text);
      EXPECT_EQ(std::to_string(v), text);
      EXPECT_TRUE(v >= 0 && v <= 90 && v % 10 == 0) << text;
    } else {
      EXPECT_TRUE(text.size() == 3 && text.starts_with("ab") && std::isdigit(static_cast<unsigned char>(text[2]))) << text;
    }
  }
  EXPECT_NE(out[8]["error"].get<std::string>().find("rule 'nope'"), std::string::npos) << out[8].dump();
}

TEST(CliChat, AFullContextDropsTheOldestTurnsAndSaysSo) {
  RunResult r = run_cli("chat --model " + tiny() + " --dtype f32 --temperature 0 --max-tokens 8 --ctx 80",
                        "Tell me about the first thing\nAnd the second thing please\nAnd a third one now\n"
                        "One more question here\n/quit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("context full: dropped the"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("error:"), std::string::npos) << r.err;
  RunResult too_long = run_cli("chat --model " + tiny() + " --dtype f32 --max-tokens 8 --ctx 24",
                               std::string(200, 'a') + "\n/quit\n");
  EXPECT_EQ(too_long.exit_code, 0);
  EXPECT_NE(too_long.err.find("error: this message needs"), std::string::npos) << too_long.err;
  EXPECT_EQ(too_long.out.find("error"), std::string::npos) << too_long.out;  // errors go to stderr
}

}  // namespace
}  // namespace gemma4
