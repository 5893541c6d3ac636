// The chat response assembly on scripted token streams: what a real model would send, cut at
// every possible place, without a model.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/chat_assembler.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

struct Assembled {
  std::string content, reasoning;
  std::vector<json> tool_deltas;  // the "tool_calls" entries, in order
  json message;
};

ChatAssemblerOptions numbered_ids(ChatAssemblerOptions options = {}) {
  auto counter = std::make_shared<int>(0);
  options.make_call_id = [counter] { return "call_" + std::to_string((*counter)++); };
  return options;
}

void collect(const std::vector<json>& deltas, Assembled& out) {
  for (const json& d : deltas) {
    ASSERT_EQ(d.size(), 1u) << "one kind per delta: " << d.dump();
    if (d.contains("content")) out.content += d["content"].get<std::string>();
    if (d.contains("reasoning_content")) out.reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("tool_calls")) {
      for (const json& c : d["tool_calls"]) out.tool_deltas.push_back(c);
    }
  }
}

// Feeds `pieces` (one per "token") and returns what a streaming client would see.
Assembled run(const std::vector<std::string>& pieces, ChatAssemblerOptions options = numbered_ids()) {
  ChatAssembler assembler(std::move(options));
  Assembled out;
  for (const std::string& piece : pieces) collect(assembler.push(piece), out);
  collect(assembler.finish(), out);
  out.message = assembler.message();
  return out;
}

// Every way of cutting `text` in two, plus one piece per byte.
std::vector<std::vector<std::string>> cuttings(const std::string& text) {
  std::vector<std::vector<std::string>> all;
  for (size_t cut = 0; cut <= text.size(); ++cut) all.push_back({text.substr(0, cut), text.substr(cut)});
  std::vector<std::string> bytes;
  for (const char c : text) bytes.emplace_back(1, c);
  all.push_back(bytes);
  return all;
}

TEST(ChatAssembler, PlainAnswerStreamsAsContent) {
  const Assembled out = run({"The", " capital", " is", " Paris."});
  EXPECT_EQ(out.content, "The capital is Paris.");
  EXPECT_EQ(out.reasoning, "");
  EXPECT_TRUE(out.tool_deltas.empty());
  EXPECT_EQ(out.message, json({{"role", "assistant"}, {"content", "The capital is Paris."}}));
}

TEST(ChatAssembler, CallSplitAcrossDeltasIsReportedOnceWithJsonArguments) {
  const std::string text = "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:3}<tool_call|>";
  for (const auto& pieces : cuttings(text)) {
    SCOPED_TRACE(pieces.size() == 2 ? "cut at " + std::to_string(pieces[0].size()) : "byte by byte");
    const Assembled out = run(pieces);
    EXPECT_EQ(out.content, "");
    ASSERT_EQ(out.tool_deltas.size(), 2u);
    // First delta: index, id, type, name and empty arguments; second: the arguments.
    EXPECT_EQ(out.tool_deltas[0], json::parse(R"({"index":0,"id":"call_0","type":"function",
                                                 "function":{"name":"get_weather","arguments":""}})"));
    EXPECT_EQ(out.tool_deltas[1]["index"], 0);
    EXPECT_FALSE(out.tool_deltas[1].contains("id"));
    EXPECT_EQ(json::parse(out.tool_deltas[1]["function"]["arguments"].get<std::string>()),
              json::parse(R"({"city":"Paris","days":3})"));
    EXPECT_TRUE(out.message["content"].is_null());
    ASSERT_EQ(out.message["tool_calls"].size(), 1u);
    EXPECT_EQ(out.message["tool_calls"][0]["function"]["name"], "get_weather");
    EXPECT_TRUE(out.message["tool_calls"][0]["function"]["arguments"].is_string());
  }
}

TEST(ChatAssembler, TwoCallsInOneAnswer) {
  const Assembled out = run({"Checking both.", "<|tool_call>", "call:get_weather{city:<|\"|>Paris<|\"|>}", "<tool_call|>",
                             "<|tool_call>", "call:get_time{zone:<|\"|>CET<|\"|>}", "<tool_call|>"});
  EXPECT_EQ(out.content, "Checking both.");
  ASSERT_EQ(out.tool_deltas.size(), 4u);
  EXPECT_EQ(out.tool_deltas[0]["index"], 0);
  EXPECT_EQ(out.tool_deltas[2]["index"], 1);
  EXPECT_EQ(out.tool_deltas[2]["id"], "call_1");
  EXPECT_EQ(out.tool_deltas[2]["function"]["name"], "get_time");
  ASSERT_EQ(out.message["tool_calls"].size(), 2u);
  EXPECT_EQ(out.message["content"], "Checking both.");
}

TEST(ChatAssembler, ParallelToolCallsOffKeepsTheFirstCall) {
  ChatAssemblerOptions options;
  options.parallel_tool_calls = false;
  const Assembled out = run({"<|tool_call>call:a{}<tool_call|><|tool_call>call:b{}<tool_call|>"}, numbered_ids(options));
  ASSERT_EQ(out.message["tool_calls"].size(), 1u);
  EXPECT_EQ(out.message["tool_calls"][0]["function"]["name"], "a");
  EXPECT_EQ(out.tool_deltas.size(), 2u);
}

TEST(ChatAssembler, MalformedCallIsReportedAsContentVerbatim) {
  const std::string bad = "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,,}<tool_call|>";
  for (const auto& pieces : cuttings(bad)) {
    const Assembled out = run(pieces);
    EXPECT_TRUE(out.tool_deltas.empty());
    EXPECT_EQ(out.content, bad);
    EXPECT_FALSE(out.message.contains("tool_calls"));
  }
  // A call the answer never closes (e.g. max_tokens) is shown as the text that was generated.
  const Assembled truncated = run({"<|tool_call>call:f{x:", "1"});
  EXPECT_TRUE(truncated.tool_deltas.empty());
  EXPECT_EQ(truncated.content, "<|tool_call>call:f{x:1");
}

TEST(ChatAssembler, ThoughtChannelThenCall) {
  const std::vector<std::string> tokens = {"<|channel>", "thought", "\n", "User", " wants", " weather", ".",
                                           "<channel|>", "<|tool_call>", "call", ":", "get_weather", "{",
                                           "city", ":", "<|\"|>", "Paris", "<|\"|>", "}", "<tool_call|>"};
  const Assembled out = run(tokens);
  EXPECT_EQ(out.reasoning, "User wants weather.");
  EXPECT_EQ(out.content, "");
  ASSERT_EQ(out.tool_deltas.size(), 2u);
  EXPECT_EQ(out.message["reasoning_content"], "User wants weather.");
  EXPECT_TRUE(out.message["content"].is_null());
  EXPECT_EQ(out.message["tool_calls"][0]["function"]["arguments"], R"({"city":"Paris"})");

  ChatAssembler counted(numbered_ids());
  for (const auto& t : tokens) counted.push(t);
  counted.finish();
  EXPECT_EQ(counted.reasoning_tokens(), 8);  // <|channel> through <channel|>
}

TEST(ChatAssembler, ReasoningNeverLeaksIntoContent) {
  ChatAssemblerOptions options;
  options.starts_in_reasoning = true;  // the prompt ended with <|channel>thought\n (after a tool result)
  const Assembled out = run({"The tool", " said 18C.", "<channel|>", "It is 18C in Paris."}, numbered_ids(options));
  EXPECT_EQ(out.reasoning, "The tool said 18C.");
  EXPECT_EQ(out.content, "It is 18C in Paris.");
}

TEST(ChatAssembler, ForcedPrefixCompletesANamedCall) {
  ChatAssemblerOptions options;
  options.forced_prefix = "<|tool_call>call:get_weather{";
  const Assembled out = run({"city:", "<|\"|>Oslo<|\"|>", "}", "<tool_call|>"}, numbered_ids(options));
  ASSERT_EQ(out.message["tool_calls"].size(), 1u);
  EXPECT_EQ(out.message["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(out.message["tool_calls"][0]["function"]["arguments"], R"({"city":"Oslo"})");
  EXPECT_EQ(out.content, "");
}

TEST(ChatAssembler, MarkerPrefixesAreHeldBackNotShown) {
  ChatAssembler assembler(numbered_ids());
  Assembled out;
  collect(assembler.push("a <|tool"), out);
  EXPECT_EQ(out.content, "a ");  // "<|tool" may begin a call: held back
  collect(assembler.push("box"), out);
  collect(assembler.finish(), out);
  EXPECT_EQ(out.content, "a <|toolbox");
}

TEST(ChatAssembler, RandomCallIdsAreDistinct) {
  const std::string a = random_call_id(), b = random_call_id();
  EXPECT_EQ(a.rfind("call_", 0), 0u);
  EXPECT_EQ(a.size(), 29u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace gemma4::server
