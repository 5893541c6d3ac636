// Request validation: every field reaches the engine Request, every bad value is a 400 naming its
// parameter, fields the server cannot honour are refused rather than ignored.
#include <gtest/gtest.h>

#include <string>

#include "server/api_error.h"
#include "server/chat_request.h"
#include "server/completion_request.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

GenerationDefaults model_defaults() {
  GenerationDefaults d;
  d.sampling.temperature = 1.0f;
  d.sampling.top_k = 64;
  d.sampling.top_p = 0.95f;
  d.stop_token_ids = {1, 106};
  d.bos_token_id = 2;
  return d;
}

ChatRequest parse(const json& body) { return parse_chat_request(body, model_defaults(), 1000); }

json with_messages(json body) {
  body["messages"] = json::array({{{"role", "user"}, {"content", "Hi"}}});
  return body;
}

// The ApiError a body produces (fails the test when it parses).
ApiError error_of(const json& body) {
  try {
    parse(body);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << body.dump();
  return ApiError(0, "", "");
}

TEST(ChatRequestParsing, DefaultsComeFromTheModel) {
  const ChatRequest r = parse(with_messages({{"model", "m"}}));
  EXPECT_EQ(r.gen.model, "m");
  EXPECT_EQ(r.gen.request.sampling.top_k, 64);
  EXPECT_FLOAT_EQ(r.gen.request.sampling.top_p, 0.95f);
  EXPECT_FALSE(r.gen.max_tokens_given);
  EXPECT_FALSE(r.gen.seed);
  EXPECT_EQ(r.gen.n, 1);
  EXPECT_FALSE(r.gen.stream);
  EXPECT_FALSE(r.chat.enable_thinking);
  EXPECT_TRUE(r.tools.is_null());
}

TEST(ChatRequestParsing, EveryFieldReachesTheRequest) {
  const ChatRequest r = parse(with_messages(json::parse(R"({
    "temperature": 0, "top_p": 0.5, "top_k": 7, "min_p": 0.1, "seed": 42, "stop": ["\n\n", "END"],
    "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.1,
    "logit_bias": {"17": -100, "3": 2.5}, "logprobs": true, "top_logprobs": 3, "n": 2,
    "max_completion_tokens": 9, "max_tokens": 100, "stream": true, "stream_options": {"include_usage": true},
    "reasoning_effort": "high", "user": "ignored", "some_future_field": {"ignored": true}})")));
  const SamplingParams& s = r.gen.request.sampling;
  EXPECT_EQ(s.temperature, 0.0f);
  EXPECT_FLOAT_EQ(s.top_p, 0.5f);
  EXPECT_EQ(s.top_k, 7);
  EXPECT_FLOAT_EQ(s.min_p, 0.1f);
  EXPECT_FLOAT_EQ(s.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(s.repetition_penalty, 1.1f);
  ASSERT_EQ(s.logit_bias.size(), 2u);
  EXPECT_EQ(*r.gen.seed, 42u);
  EXPECT_EQ(r.gen.request.stop_strings, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_TRUE(r.gen.request.logprobs);
  EXPECT_EQ(r.gen.request.top_logprobs, 3);
  EXPECT_EQ(r.gen.n, 2);
  EXPECT_EQ(r.gen.request.max_tokens, 9);  // max_completion_tokens wins over max_tokens
  EXPECT_TRUE(r.gen.request.require_room_for_max_tokens);
  EXPECT_TRUE(r.gen.stream);
  EXPECT_TRUE(r.gen.include_usage);
  EXPECT_TRUE(r.chat.enable_thinking);
}

TEST(ChatRequestParsing, ThinkingSwitches) {
  EXPECT_FALSE(parse(with_messages({{"reasoning_effort", "none"}})).chat.enable_thinking);
  EXPECT_TRUE(parse(with_messages({{"chat_template_kwargs", {{"enable_thinking", true}}}})).chat.enable_thinking);
  EXPECT_FALSE(parse(with_messages({{"reasoning_effort", "high"}, {"chat_template_kwargs", {{"enable_thinking", false}}}}))
                   .chat.enable_thinking);
}

TEST(ChatRequestParsing, BadValuesNameTheirParameter) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"temperature", "hot"}}, "temperature"},
      {{{"temperature", 2.5}}, "temperature"},
      {{{"top_p", -0.1}}, "top_p"},
      {{{"top_k", 1.5}}, "top_k"},
      {{{"min_p", 2}}, "min_p"},
      {{{"seed", "x"}}, "seed"},
      {{{"presence_penalty", 3}}, "presence_penalty"},
      {{{"repetition_penalty", 0}}, "repetition_penalty"},
      {{{"max_tokens", 0}}, "max_tokens"},
      {{{"max_completion_tokens", -5}}, "max_completion_tokens"},
      {{{"n", 0}}, "n"},
      {{{"n", 100}}, "n"},
      {{{"stop", 5}}, "stop"},
      {{{"stop", json::array({"a", 1})}}, "stop"},
      {{{"logit_bias", {{"abc", 1}}}}, "logit_bias"},
      {{{"logit_bias", {{"5000", 1}}}}, "logit_bias"},
      {{{"logit_bias", {{"5", 101}}}}, "logit_bias.5"},
      {{{"logprobs", 1}}, "logprobs"},
      {{{"top_logprobs", 2}}, "top_logprobs"},  // without logprobs
      {{{"logprobs", true}, {"top_logprobs", 21}}, "top_logprobs"},
      {{{"stream", "yes"}}, "stream"},
      {{{"stream_options", {{"include_usage", true}}}}, "stream_options"},  // without stream
      {{{"stream", true}, {"stream_options", {{"include_usage", 1}}}}, "stream_options.include_usage"},
      {{{"reasoning_effort", "extreme"}}, "reasoning_effort"},
      {{{"tool_choice", "sometimes"}}, "tool_choice"},
      {{{"tool_choice", "required"}}, "tool_choice"},  // no tools
      {{{"tools", json::array({{{"type", "function"}}})}}, "tools[0].function.name"},
      {{{"response_format", {{"type", "json_schema"}}}}, "response_format"},
      {{{"response_format", {{"type", "xml"}}}}, "response_format"},
      {{{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", {{"type", "number"}, {"multipleOf", 2}}}}}}}}, "response_format"},
      {{{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", {{"$ref", "#/$defs/missing"}}}}}}}}, "response_format"},
      {{{"functions", json::array()}}, "functions"},
      {{{"audio", {{"voice", "x"}}}}, "audio"},
  };
  for (const auto& [fields, param] : cases) {
    json body = with_messages(fields);
    const ApiError e = error_of(body);
    EXPECT_EQ(e.status, 400) << body.dump();
    EXPECT_EQ(e.param, param) << body.dump() << " -> " << e.what();
    EXPECT_NE(std::string(e.what()).find(param.substr(0, param.find_first_of(".["))), std::string::npos) << e.what();
  }
}

TEST(ChatRequestParsing, ResponseFormatBecomesAGrammar) {
  EXPECT_EQ(parse(with_messages({{"response_format", {{"type", "text"}}}})).gen.request.grammar, nullptr);
  const auto object = parse(with_messages({{"response_format", {{"type", "json_object"}}}})).gen.request.grammar;
  ASSERT_NE(object, nullptr);
  EXPECT_TRUE(ByteMatcher(object).accept(R"({"a":1})"));
  EXPECT_FALSE(ByteMatcher(object).accept("[1]"));
  const json format = {{"type", "json_schema"},
                       {"json_schema", {{"name", "n"}, {"strict", true}, {"schema", {{"type", "integer"}}}}}};
  const auto schema = parse(with_messages({{"response_format", format}})).gen.request.grammar;
  ASSERT_NE(schema, nullptr);
  ByteMatcher m(schema);
  EXPECT_TRUE(m.accept("42") && m.can_end());
  EXPECT_FALSE(ByteMatcher(schema).accept("\"42\""));
  const ApiError e = error_of(with_messages({{"response_format", {{"type", "json_schema"},
      {"json_schema", {{"name", "n"}, {"schema", {{"type", "number"}, {"multipleOf", 2}}}}}}}}));
  EXPECT_EQ(e.code, "invalid_schema");
  EXPECT_NE(std::string(e.what()).find("'multipleOf'"), std::string::npos) << e.what();
}

// grammar (llama.cpp's field): GBNF text constrains the answer; "" is none; a bad grammar or one
// beside a response_format constraint is a 400 naming 'grammar'.
TEST(ChatRequestParsing, GrammarFieldBecomesAGrammar) {
  EXPECT_EQ(parse(with_messages({{"grammar", ""}})).gen.request.grammar, nullptr);
  const auto g = parse(with_messages({{"grammar", "root ::= \"yes\" | \"no\""}})).gen.request.grammar;
  ASSERT_NE(g, nullptr);
  ByteMatcher m(g);
  EXPECT_TRUE(m.accept("no") && m.can_end());
  EXPECT_FALSE(ByteMatcher(g).accept("maybe"));
  const ApiError bad = error_of(with_messages({{"grammar", "root ::= undefined_rule"}}));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.param, "grammar");
  EXPECT_EQ(bad.code, "invalid_grammar");
  EXPECT_NE(std::string(bad.what()).find("undefined_rule"), std::string::npos) << bad.what();
  const ApiError both = error_of(with_messages({{"grammar", "root ::= \"a\""}, {"response_format", {{"type", "json_object"}}}}));
  EXPECT_EQ(both.param, "grammar");
  EXPECT_EQ(error_of(with_messages({{"grammar", 5}})).param, "grammar");
}

// A tool with strict: true makes tool calls follow the Gemma 4 call grammar (docs/grammar.md).
TEST(ChatRequestParsing, StrictToolsBecomeAToolCallGrammar) {
  const json tools = json::parse(R"([{"type":"function","function":{"name":"get_weather","strict":true,
    "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}])");
  EXPECT_EQ(parse(with_messages({{"tools", json::parse(R"([{"type":"function","function":{"name":"f"}}])")}})).gen.request.grammar,
            nullptr);
  const auto grammar = parse(with_messages({{"tools", tools}})).gen.request.grammar;
  ASSERT_NE(grammar, nullptr);
  const std::string q = special_token_bytes("<|\"|>");
  ByteMatcher m(grammar);
  EXPECT_TRUE(m.accept("call:get_weather{city:" + q + "Oslo" + q + "}" + special_token_bytes("<tool_call|>")) && m.can_end());
  EXPECT_FALSE(ByteMatcher(grammar).accept("call:get_weather{town:"));
  // tool_choice naming the function: the prompt holds "<|tool_call>call:get_weather{", the grammar continues it.
  const auto named = parse(with_messages({{"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}}}))
                         .gen.request.grammar;
  ASSERT_NE(named, nullptr);
  const ApiError both = error_of(with_messages({{"tools", tools}, {"response_format", {{"type", "json_object"}}}}));
  EXPECT_EQ(both.param, "response_format");
  const ApiError bad = error_of(with_messages({{"tools", json::parse(R"([{"type":"function","function":{"name":"f","strict":true,
    "parameters":{"type":"object","properties":{"a":{"not":{}}}}}}])")}}));
  EXPECT_EQ(bad.param, "tools");
  EXPECT_EQ(bad.code, "invalid_schema");
}

TEST(ChatRequestParsing, MessagesAreChecked) {
  EXPECT_EQ(error_of(json::object()).param, "messages");
  EXPECT_EQ(error_of({{"messages", json::array()}}).param, "messages");
  EXPECT_EQ(error_of({{"messages", json::array({{{"role", "robot"}, {"content", "x"}}})}}).param, "messages[0].role");
  EXPECT_EQ(error_of({{"messages", json::array({{{"role", "user"}, {"content", 5}}})}}).param, "messages[0].content");
  const ApiError image = error_of({{"messages", json::parse(R"([{"role":"user","content":[
      {"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:x"}}]}])")}});
  EXPECT_EQ(image.param, "messages[0].content[1]");
  EXPECT_NE(std::string(image.what()).find("text-only"), std::string::npos);
}

TEST(ChatRequestParsing, AssistantToolCallArgumentsBecomeObjects) {
  const ChatRequest r = parse({{"messages", json::parse(R"([
      {"role":"user","content":"weather?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
        "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"18C"}])")}});
  EXPECT_EQ(r.messages[1]["tool_calls"][0]["function"]["arguments"], json({{"city", "Paris"}}));
  const ApiError e = error_of({{"messages", json::parse(R"([{"role":"assistant","tool_calls":[
      {"id":"c","type":"function","function":{"name":"f","arguments":"not json"}}]}])")}});
  EXPECT_EQ(e.param, "messages[0].tool_calls[0].function.arguments");
}

TEST(ChatRequestParsing, ToolChoice) {
  const json tools = json::parse(R"([{"type":"function","function":{"name":"get_weather","parameters":{}}}])");
  EXPECT_EQ(parse(with_messages({{"tools", tools}})).tools, tools);
  EXPECT_TRUE(parse(with_messages({{"tools", tools}, {"tool_choice", "none"}})).tools.is_null());
  EXPECT_EQ(parse(with_messages({{"tools", tools}, {"tool_choice", "required"}})).forced_prefix, "<|tool_call>call:");
  const ChatRequest named = parse(with_messages(
      {{"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
       {"parallel_tool_calls", false}}));
  EXPECT_EQ(named.forced_prefix, "<|tool_call>call:get_weather{");
  EXPECT_FALSE(named.parallel_tool_calls);
  EXPECT_EQ(error_of(with_messages({{"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}))
                .param,
            "tool_choice");
}

TEST(CompletionRequestParsing, PromptForms) {
  const GenerationDefaults d = model_defaults();
  EXPECT_EQ(*parse_completion_request({{"prompt", "Once"}}, d, 1000).prompt_text, "Once");
  EXPECT_EQ(*parse_completion_request({{"prompt", json::array({"Once"})}}, d, 1000).prompt_text, "Once");
  EXPECT_EQ(parse_completion_request({{"prompt", json::array({2, 5, 7})}}, d, 1000).prompt_tokens,
            (std::vector<int32_t>{2, 5, 7}));
  const CompletionRequest legacy = parse_completion_request({{"prompt", "x"}, {"logprobs", 2}}, d, 1000);
  EXPECT_TRUE(legacy.gen.request.logprobs);
  EXPECT_EQ(legacy.gen.request.top_logprobs, 2);
  const auto param_of = [&](const json& body) {
    try {
      parse_completion_request(body, d, 1000);
    } catch (const ApiError& e) {
      return e.param;
    }
    return std::string("accepted");
  };
  EXPECT_EQ(param_of(json::object()), "prompt");
  EXPECT_EQ(param_of({{"prompt", json::array({1, 5000})}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", json::array({"a", "b"})}}), "prompt");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"echo", true}}), "echo");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"best_of", 3}}), "best_of");
  EXPECT_EQ(param_of({{"prompt", "x"}, {"suffix", "y"}}), "suffix");
}

TEST(ApiErrors, EngineKindsMapToStatuses) {
  EXPECT_EQ(from_engine_error(EngineError(ErrorKind::BadRequest, "x")).status, 400);
  const ApiError overflow = from_engine_error(EngineError(ErrorKind::ContextOverflow, "x"));
  EXPECT_EQ(overflow.status, 400);
  EXPECT_EQ(overflow.code, "context_length_exceeded");
  const ApiError busy = from_engine_error(EngineError(ErrorKind::Overloaded, "x"));
  EXPECT_EQ(busy.status, 429);
  EXPECT_GT(busy.retry_after_seconds, 0);
  EXPECT_EQ(from_engine_error(EngineError(ErrorKind::ShuttingDown, "x")).status, 503);
  EXPECT_EQ(from_engine_error(EngineError(ErrorKind::ModelError, "x")).status, 500);
  const json body = error_body(invalid_request("bad", "temperature"));
  EXPECT_EQ(body, json::parse(R"({"error":{"message":"bad","type":"invalid_request_error","param":"temperature","code":null}})"));
}

}  // namespace
}  // namespace gemma4::server
