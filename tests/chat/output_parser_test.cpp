#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "gemma4/output_parser.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;

const std::string kFull =
    "<|channel>thought\nThe user wants weather.<channel|>Let me check. <|tool_call>call:get_weather{"
    "location:<|\"|>Paris <tool_call|> {x}<|\"|>,days:3,unit:null}<tool_call|>Done é<turn|>ignored";

// Feeds `text` in chunks ending at the given cut points and returns the aggregate.
ParsedOutput feed_with_cuts(const std::string& text, size_t first_cut, size_t second_cut) {
  OutputParser parser;
  std::string reasoning, content;
  size_t calls = 0;
  const auto take = [&](const std::vector<OutputEvent>& events) {
    for (const auto& event : events) {
      if (event.kind == OutputEventKind::reasoning) reasoning += event.text;
      if (event.kind == OutputEventKind::content) content += event.text;
      if (event.kind == OutputEventKind::tool_call) ++calls;
    }
  };
  take(parser.push(text.substr(0, first_cut)));
  take(parser.push(text.substr(first_cut, second_cut - first_cut)));
  take(parser.push(text.substr(second_cut)));
  take(parser.finish());
  EXPECT_EQ(reasoning, parser.result().reasoning);
  EXPECT_EQ(content, parser.result().content);
  EXPECT_EQ(calls, parser.result().tool_calls.size());
  return parser.result();
}

void expect_full_parse(const ParsedOutput& out) {
  EXPECT_EQ(out.reasoning, "The user wants weather.");
  EXPECT_EQ(out.content, "Let me check. Done é");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].name, "get_weather");
  EXPECT_EQ(out.tool_calls[0].error, "");
  EXPECT_EQ(out.tool_calls[0].arguments, json::parse(R"({"location":"Paris <tool_call|> {x}","days":3,"unit":null})"));
}

TEST(OutputParser, WholeText) { expect_full_parse(parse_output(kFull)); }

TEST(OutputParser, EveryPairOfChunkBoundaries) {
  for (size_t a = 0; a <= kFull.size(); ++a) {
    for (size_t b = a; b <= kFull.size(); b += 3) {
      SCOPED_TRACE("cuts " + std::to_string(a) + "," + std::to_string(b));
      expect_full_parse(feed_with_cuts(kFull, a, b));
    }
  }
}

TEST(OutputParser, ByteByByteNeverEmitsPartialMarkers) {
  OutputParser parser;
  for (const char c : kFull) {
    for (const auto& event : parser.push(std::string(1, c))) {
      EXPECT_EQ(event.text.find('<'), std::string::npos) << "marker text leaked: " << event.text;
    }
  }
  parser.finish();
  expect_full_parse(parser.result());
  EXPECT_TRUE(parser.stopped());
}

TEST(OutputParser, PlainAnswerAndStopMarkers) {
  EXPECT_EQ(parse_output("Paris.").content, "Paris.");
  EXPECT_EQ(parse_output("Paris.<turn|>more").content, "Paris.");
  EXPECT_EQ(parse_output("Paris.<eos>").content, "Paris.");
  EXPECT_EQ(parse_output("a < b <tur").content, "a < b <tur");  // a held prefix is released at the end
  EXPECT_EQ(parse_output("x<channel|>y").content, "xy");      // stray close tag dropped
}

TEST(OutputParser, ReasoningPrefilledByThePrompt) {
  const ParsedOutput out = parse_output("still thinking<channel|>answer", OutputParserOptions{true});
  EXPECT_EQ(out.reasoning, "still thinking");
  EXPECT_EQ(out.content, "answer");
}

TEST(OutputParser, SeveralCallsThenToolResponseStop) {
  const ParsedOutput out =
      parse_output("<|tool_call>call:a{}<tool_call|><|tool_call>call:b{k:[1,2.5]}<tool_call|><|tool_response>");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].name, "a");
  EXPECT_EQ(out.tool_calls[0].arguments, json::object());
  EXPECT_EQ(out.tool_calls[1].arguments, json::parse(R"({"k":[1,2.5]})"));
  EXPECT_EQ(out.content, "");
}

TEST(OutputParser, MalformedAndTruncatedCallsReportErrors) {
  ParsedOutput out = parse_output("<|tool_call>call:f{x:<|\"|>unterminated");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_NE(out.tool_calls[0].error, "");
  out = parse_output("<|tool_call>nonsense<tool_call|>after");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_NE(out.tool_calls[0].error, "");
  EXPECT_EQ(out.tool_calls[0].raw, "nonsense");
  EXPECT_EQ(out.content, "after");
  out = parse_output("<|tool_call>call:f{x:1<turn|>");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_NE(out.tool_calls[0].error, "");
  out = parse_output("<|tool_call>call:{}<tool_call|>");
  EXPECT_NE(out.tool_calls.at(0).error, "");
  out = parse_output("<|tool_call>call:f[1]<tool_call|>");
  EXPECT_NE(out.tool_calls.at(0).error, "");
  out = parse_output("<|channel>thought");  // truncated header
  EXPECT_EQ(out.reasoning, "");
}

TEST(OutputParser, RandomGarbageNeverCrashes) {
  const std::string alphabet[] = {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>", "call:f{",
                                  "}", "{", ":", ",", "[", "]", "x", "\n", "<", "|", ">", "thought", "é", "<turn|>"};
  uint32_t seed = 12345;
  const auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const int pieces = static_cast<int>(next() % 40);
    for (int i = 0; i < pieces; ++i) text += alphabet[next() % std::size(alphabet)];
    OutputParser parser;
    for (size_t pos = 0; pos < text.size();) {
      const size_t length = 1 + next() % 7;
      parser.push(std::string_view(text).substr(pos, length));
      pos += length;
    }
    parser.finish();
    EXPECT_TRUE(parser.finish().empty());
    EXPECT_TRUE(parser.push("more").empty());
  }
}

// Found by fuzz/fuzz_output_parser: a channel header longer than the 64-byte limit whose end (a
// newline or a marker) only arrives later was reasoning when streamed but dropped when parsed
// whole. The decision now depends on the first 64 bytes alone, so every split agrees.
TEST(OutputParser, LongChannelHeaderGivesTheSameResultHoweverItIsSplit) {
  const std::string name(70, 't');
  for (const std::string& text : {"<|channel>" + name + "<turn|>", "<|channel>" + name + "\nmore<channel|>done",
                                   "<|channel>" + std::string(60, 'x') + "<channel|>answer"}) {
    const ParsedOutput whole = parse_output(text);
    OutputParser parser;
    for (char c : text) parser.push(std::string_view(&c, 1));
    parser.finish();
    EXPECT_EQ(parser.result().reasoning, whole.reasoning) << text;
    EXPECT_EQ(parser.result().content, whole.content) << text;
  }
  EXPECT_EQ(parse_output("<|channel>" + name + "<turn|>").reasoning, name);  // too long for a name
  EXPECT_EQ(parse_output("<|channel>" + std::string(60, 'x') + "<channel|>answer").content, "answer");
}

}  // namespace
}  // namespace gemma4
