#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gemma4/chat.h"
#include "gemma4/error.h"
#include "gemma4/tokenizer.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;
const std::string kData = GEMMA4_TEST_DATA;

const Tokenizer& official_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(kData + "/tokenizer/tokenizer.json");
  return tokenizer;
}

json read_json(const std::string& path) {
  std::ifstream file(path);
  return json::parse(file);
}

ChatOptions options_of(const json& input) {
  ChatOptions options;
  options.add_generation_prompt = input.value("add_generation_prompt", true);
  options.enable_thinking = input.value("enable_thinking", false);
  options.preserve_thinking = input.value("preserve_thinking", false);
  return options;
}

std::string render(const json& messages, const json& tools = nullptr, ChatOptions options = {}) {
  return render_chat(messages, tools, options);
}

TEST(ChatTemplate, EveryExampleMatchesTextAndIds) {
  const json examples = read_json(kData + "/tokenizer/examples.json");
  ASSERT_GE(examples.size(), 9u);
  for (const json& example : examples) {
    const json& input = example["input"];
    const std::string text =
        render_chat(input["messages"], input.contains("tools") ? input["tools"] : json(nullptr), options_of(input));
    EXPECT_EQ(text, example["rendered"].get<std::string>()) << example["title"];
    EXPECT_EQ(official_tokenizer().encode(text), example["ids"].get<std::vector<int32_t>>()) << example["title"];
  }
}

TEST(ChatTemplate, TinyModelGoldenPromptIds) {
  const json manifest = read_json(kData + "/tiny-a/golden/manifest.json");
  const Tokenizer tiny = Tokenizer::load(kData + "/tiny-a");
  const json messages = json::array({{{"role", "user"}, {"content", "What is the capital of France? Answer in one word."}}});
  EXPECT_EQ(tiny.encode(render(messages)), manifest["greedy"]["prompt"].get<std::vector<int32_t>>());
}

TEST(ChatTemplate, StripsThinkingFromModelHistory) {
  const json messages = json::array({{{"role", "user"}, {"content", "q"}},
                                     {{"role", "assistant"}, {"content", "  a<|channel>x<channel|>b  <|channel>y"}},
                                     {{"role", "user"}, {"content", "  next \t"}}});
  EXPECT_EQ(render(messages), "<bos><|turn>user\nq<turn|>\n<|turn>model\nab<turn|>\n<|turn>user\nnext<turn|>\n<|turn>model\n");
}

TEST(ChatTemplate, ReasoningKeptOnlyAfterLastUser) {
  const json call = {{"id", "c1"}, {"function", {{"name", "f"}, {"arguments", {{"x", 1}}}}}};
  const json messages = json::array({{{"role", "user"}, {"content", "q"}},
                                     {{"role", "assistant"}, {"reasoning_content", "think"}, {"tool_calls", {call}}},
                                     {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "ok"}}});
  ChatOptions thinking;
  thinking.enable_thinking = true;
  EXPECT_EQ(render(messages, nullptr, thinking),
            "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nq<turn|>\n<|turn>model\n"
            "<|channel>thought\nthink\n<channel|><|tool_call>call:f{x:1}<tool_call|>"
            "<|tool_response>response:f{value:<|\"|>ok<|\"|>}<tool_response|><|channel>thought\n");
  json later = messages;
  later.push_back({{"role", "assistant"}, {"content", "done"}});
  later.push_back({{"role", "user"}, {"content", "more"}});
  const std::string history = render(later);
  EXPECT_EQ(history.find("think\n"), std::string::npos);
  ChatOptions preserve;
  preserve.preserve_thinking = true;
  EXPECT_NE(render(later, nullptr, preserve).find("<|channel>thought\nthink\n<channel|>"), std::string::npos);
}

TEST(ChatTemplate, PendingToolCallLeavesResponseOpen) {
  const json messages = json::array(
      {{{"role", "user"}, {"content", "q"}},
       {{"role", "assistant"}, {"tool_calls", {{{"function", {{"name", "f"}, {"arguments", nullptr}}}}}}}});
  EXPECT_EQ(render(messages), "<bos><|turn>user\nq<turn|>\n<|turn>model\n<|tool_call>call:f{}<tool_call|><|tool_response>");
}

TEST(ChatTemplate, ConsecutiveAssistantMessagesShareATurn) {
  const json messages = json::array({{{"role", "user"}, {"content", "q"}},
                                     {{"role", "assistant"}, {"content", "one"}},
                                     {{"role", "assistant"}, {"content", "two"}}});
  EXPECT_EQ(render(messages, nullptr, ChatOptions{false, false, false}),
            "<bos><|turn>user\nq<turn|>\n<|turn>model\nonetwo<turn|>\n");
}

TEST(ChatTemplate, ContentPartsAndSystemParts) {
  const json messages = json::array(
      {{{"role", "developer"}, {"content", {{{"type", "text"}, {"text", " A "}}, {{"type", "text"}, {"text", "B"}}}}},
       {{"role", "user"},
        {"content", {{{"type", "text"}, {"text", " look "}}, {{"type", "image"}}, {{"type", "input_audio"}}}}}});
  EXPECT_EQ(render(messages), "<bos><|turn>system\nA B <turn|>\n<|turn>user\nlook<|image|><|audio|><turn|>\n<|turn>model\n");
}

TEST(ChatTemplate, ToolDeclarationsWithNestedParameters) {
  const json tools = json::parse(R"([{"type":"function","function":{"name":"search","description":"Find",
    "parameters":{"type":"object","properties":{
      "tags":{"type":"array","items":{"type":"string"},"description":"Tags"},
      "mode":{"type":"string","enum":["fast","exact"]},
      "Filter":{"type":"object","properties":{"max":{"type":"integer","nullable":true}},"required":["max"]}},
    "required":["mode"]}}}])");
  const std::string text = render(json::array({{{"role", "user"}, {"content", "hi"}}}), tools);
  EXPECT_EQ(text,
            "<bos><|turn>system\n<|tool>declaration:search{description:<|\"|>Find<|\"|>,parameters:{properties:{"
            "Filter:{properties:{max:{nullable:true,type:<|\"|>INTEGER<|\"|>}},required:[<|\"|>max<|\"|>],type:<|\"|>OBJECT<|\"|>},"
            "mode:{enum:[<|\"|>fast<|\"|>,<|\"|>exact<|\"|>],type:<|\"|>STRING<|\"|>},"
            "tags:{description:<|\"|>Tags<|\"|>,items:{type:<|\"|>STRING<|\"|>},type:<|\"|>ARRAY<|\"|>}},"
            "required:[<|\"|>mode<|\"|>],type:<|\"|>OBJECT<|\"|>}}<tool|><turn|>\n<|turn>user\nhi<turn|>\n<|turn>model\n");
}

TEST(ChatTemplate, RefusesInvalidConversations) {
  const json user = {{"role", "user"}, {"content", "q"}};
  const json string_arguments = json::array(
      {user, {{"role", "assistant"}, {"tool_calls", {{{"function", {{"name", "f"}, {"arguments", "{\"x\":1}"}}}}}}}});
  try {
    render(string_arguments);
    FAIL() << "string arguments accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("were passed as a JSON string"), std::string::npos);
  }
  EXPECT_THROW(render(json::object()), Error);
  EXPECT_THROW(render(json::array({{{"content", "no role"}}})), Error);
  EXPECT_THROW(render(json::array({{{"role", 7}, {"content", "x"}}})), Error);
  EXPECT_THROW(render(json::array({"just a string"})), Error);
  EXPECT_THROW(render(json::array({{{"role", "user"}, {"content", 5}}})), Error);
  EXPECT_THROW(render(json::array({user}), json::array({{{"type", "function"}}})), Error);
  EXPECT_THROW(render(json::array({user}), json::object()), Error);
  EXPECT_THROW(render(json::array({user, {{"role", "assistant"}, {"tool_calls", {{{"function", {{"arguments", {}}}}}}}}})),
               Error);
}

TEST(ToolDsl, FormatsValuesLikePython) {
  EXPECT_EQ(format_dsl_value(json::parse("42"), false), "42");
  EXPECT_EQ(format_dsl_value(json::parse("1.0"), false), "1.0");
  EXPECT_EQ(format_dsl_value(json::parse("1234.5"), false), "1234.5");
  EXPECT_EQ(format_dsl_value(json::parse("0.0001"), false), "0.0001");
  EXPECT_EQ(format_dsl_value(json::parse("0.00001"), false), "1e-05");
  EXPECT_EQ(format_dsl_value(json::parse("1e16"), false), "1e+16");
  EXPECT_EQ(format_dsl_value(json::parse("1e15"), false), "1000000000000000.0");
  EXPECT_EQ(format_dsl_value(json::parse("-0.0"), false), "-0.0");
  EXPECT_EQ(format_dsl_value(json::parse("1.5e-7"), false), "1.5e-07");
  EXPECT_EQ(format_dsl_value(json::parse(R"({"b":[true,null],"A":"x"})"), false), "{A:<|\"|>x<|\"|>,b:[true,null]}");
  EXPECT_EQ(format_dsl_value(json::parse(R"({"k":"v"})"), true), "{<|\"|>k<|\"|>:<|\"|>v<|\"|>}");
}

TEST(ToolDsl, ParsesWhatItFormats) {
  const json value = json::parse(R"({"city":"Paris, \"FR\"","n":3,"x":1.0,"list":[1,"a",{"deep":false}],"none":null})");
  const json parsed = parse_dsl_value(format_dsl_value(value, false));
  EXPECT_EQ(parsed, value);
  EXPECT_TRUE(parsed["x"].is_number_float());
  EXPECT_TRUE(parsed["n"].is_number_integer());
  EXPECT_EQ(parse_dsl_value("{ a : bare word , b:\"json\"}"), json::parse(R"({"a":"bare word","b":"json"})"));
  EXPECT_THROW(parse_dsl_value("{a:<|\"|>open"), Error);
  EXPECT_THROW(parse_dsl_value("{a:1"), Error);
  EXPECT_THROW(parse_dsl_value("{a:1}}"), Error);
  EXPECT_THROW(parse_dsl_value(std::string(1000, '[')), Error);
}

}  // namespace
}  // namespace gemma4
