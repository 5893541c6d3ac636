// Strict tool calls in Gemma 4's syntax: the byte grammar accepts exactly the calls the template
// writes (bare keys, <|"|> strings) for the declared tools; on the real vocabulary the text is free
// until <|tool_call>, and every constrained call parses with the chat output parser and validates
// against its tool's parameter schema; on tiny-a (random weights) generated calls do the same.
#include <gtest/gtest.h>

#include <random>

#include "engine/tiny_engine_options.h"
#include "gemma4/engine.h"
#include "gemma4/grammar.h"
#include "gemma4/output_parser.h"
#include "grammar/schema_validator.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using nlohmann::json;

const json& tools() {
  static const json t = json::parse(R"([
    {"type":"function","function":{"name":"get_weather","strict":true,"parameters":{"type":"object",
      "properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7},
        "unit":{"enum":["celsius","fahrenheit"]},"detail":{"type":"object","properties":{"hourly":{"type":"boolean"},
        "fields":{"type":"array","items":{"type":"string","format":"date"},"maxItems":2}},"required":["hourly"]}},
      "required":["city","days"],"additionalProperties":false}}},
    {"type":"function","function":{"name":"ping","strict":true,"parameters":{"type":"object","properties":{}}}},
    {"type":"function","function":{"name":"free_form","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}}])");
  return t;
}

const json* parameters_of(const std::string& name) {
  for (const json& t : tools())
    if (t["function"]["name"] == name)
      return t["function"].value("strict", false) ? &t["function"]["parameters"] : nullptr;
  return nullptr;
}

std::string q(const std::string& s) { return special_token_bytes("<|\"|>") + s + special_token_bytes("<|\"|>"); }
const std::string kClose = special_token_bytes("<tool_call|>");

bool accepts(const std::string& text) {
  static const auto g = compile_tool_calls(tools());
  ByteMatcher m(g);
  return m.accept(text) && m.can_end();
}

TEST(GrammarToolCalls, TheTemplateSyntaxForDeclaredTools) {
  EXPECT_TRUE(accepts("call:get_weather{city:" + q("Paris") + ",days:3}" + kClose));
  EXPECT_TRUE(accepts("call:get_weather{city:" + q("Oslo") + ",days:7,detail:{fields:[" + q("2024-01-31") +
                      "],hourly:true},unit:" + q("celsius") + "}" + kClose));
  EXPECT_TRUE(accepts("call:ping{}" + kClose));
  EXPECT_TRUE(accepts("call:free_form{anything:[1,{k:" + q("v") + "}]}" + kClose));  // not strict: any object
  EXPECT_FALSE(accepts("call:get_weather{city:" + q("Paris") + ",days:8}" + kClose));     // maximum
  EXPECT_FALSE(accepts("call:get_weather{days:3}" + kClose));                             // required city
  EXPECT_FALSE(accepts("call:get_weather{city:\"Paris\",days:3}" + kClose));              // a JSON string
  EXPECT_FALSE(accepts("call:get_weather{\"city\":" + q("Paris") + ",days:3}" + kClose)); // a JSON key
  EXPECT_FALSE(accepts("call:get_weather{city:" + q("a<|b") + ",days:3}" + kClose));     // "<|" inside a string
  EXPECT_FALSE(accepts("call:get_weather{city:" + q("Paris") + ",days:3,x:1}" + kClose)); // extra property
  EXPECT_FALSE(accepts("call:get_time{}" + kClose));                                       // unknown tool
  EXPECT_FALSE(accepts("call:ping{}"));                                                     // not closed
  EXPECT_FALSE(accepts("call:ping{}<tool_call|>"));  // the closing token as text is not the token
}

TEST(GrammarToolCalls, BadToolsAreErrors) {
  EXPECT_THROW(compile_tool_calls(json::array()), GrammarError);
  EXPECT_THROW(compile_tool_calls(json::parse(R"([{"type":"function","function":{"name":"a b","strict":true}}])")), GrammarError);
  EXPECT_THROW(compile_tool_calls(json::parse(
                   R"([{"type":"function","function":{"name":"f","strict":true,"parameters":{"type":"string"}}}])")),
               GrammarError);
  EXPECT_THROW(compile_tool_calls(json::parse(
                   R"([{"type":"function","function":{"name":"f","strict":true,"parameters":{"type":"object","properties":{"a":{"not":{}}}}}}])")),
               GrammarError);
}

// The parsed call names a declared tool and a strict tool's arguments validate.
void expect_valid_calls(const std::string& text, size_t at_least) {
  const ParsedOutput out = parse_output(text);
  size_t complete = 0;
  for (const ToolCall& call : out.tool_calls) {
    if (call.error.find("not terminated") != std::string::npos) continue;  // cut by max_tokens
    ASSERT_TRUE(call.error.empty()) << call.error << " in " << text;
    ++complete;
    bool declared = false;
    for (const json& t : tools()) declared = declared || t["function"]["name"] == call.name;
    EXPECT_TRUE(declared) << call.name;
    if (const json* schema = parameters_of(call.name))
      EXPECT_TRUE(testing::validates(call.arguments, *schema, *schema)) << call.arguments.dump() << " from " << text;
  }
  EXPECT_GE(complete, at_least) << text;
}

TEST(GrammarToolCalls, RandomWalksOnRealVocabularyParseAndValidate) {
  static const Tokenizer tok = Tokenizer::load(testing::data_dir() / "tokenizer");
  const auto trie = build_token_trie(tok);
  const auto grammar = compile_tool_calls(tools());
  const int32_t open = *tok.token_id("<|tool_call>");
  const int32_t quote = *tok.token_id("<|\"|>");
  ASSERT_TRUE(tok.is_special(quote));
  TokenMask allowed(static_cast<size_t>(tok.vocab_size()));
  const std::vector<int32_t> ends = {1, 106};
  int finished = 0;
  for (int walk = 0; walk < 12; ++walk) {
    std::mt19937 rng(static_cast<uint32_t>(walk));
    TokenMatcher m(grammar, trie);
    m.fill_mask(allowed, ends);  // free before the call: every token
    size_t free_count = 0;
    for (size_t id = 0; id < allowed.size(); ++id) free_count += allowed[id];
    EXPECT_EQ(free_count, static_cast<size_t>(tok.vocab_size()));
    std::vector<int32_t> out = tok.encode("Let me check.", false);
    for (int32_t id : out) ASSERT_TRUE(m.accept_token(id));
    ASSERT_TRUE(m.accept_token(open));
    out.push_back(open);
    ASSERT_TRUE(m.active());
    for (int step = 0; step < 300 && m.active(); ++step) {
      m.fill_mask(allowed, ends);
      EXPECT_FALSE(allowed[1]) << "a stop token inside a call";
      std::vector<int32_t> ids, short_ids;
      for (size_t id = 0; id < allowed.size(); ++id) {
        if (!allowed[id]) continue;
        ids.push_back(static_cast<int32_t>(id));
        if (tok.is_special(static_cast<int32_t>(id)) || tok.decode(std::vector<int32_t>{static_cast<int32_t>(id)}).size() <= 1)
          short_ids.push_back(static_cast<int32_t>(id));
      }
      ASSERT_FALSE(ids.empty()) << tok.decode(out);
      const auto& from = (rng() % 4 != 0 && !short_ids.empty()) ? short_ids : ids;
      const int32_t pick = from[rng() % from.size()];
      ASSERT_TRUE(m.accept_token(pick));
      out.push_back(pick);
    }
    if (m.active()) continue;  // a long string; the walk ran out of steps
    m.fill_mask(allowed, ends);  // free again after the call
    EXPECT_TRUE(allowed[1]);
    expect_valid_calls(tok.decode(out), 1);
    ++finished;
  }
  EXPECT_GE(finished, 4);
}

TEST(GrammarToolCalls, TinyModelCallsParseAndValidate) {
  auto engine = Engine::open(testing::tiny_a_dir(), testing::tiny_engine_options(8));
  const auto grammar = compile_tool_calls(tools());
  const int32_t open = *engine->tokenizer().token_id("<|tool_call>");
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    Request r;
    r.prompt = engine->tokenizer().encode("<bos><|turn>user\nWeather?<turn|>\n<|turn>model\n");
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1.0f;
    r.sampling.seed = seed;
    r.sampling.logit_bias = {{open, 30.0f}};  // random weights would rarely open a call
    r.max_tokens = 120;
    r.grammar = grammar;
    handles.push_back(engine->submit(std::move(r)));
  }
  for (auto& h : handles) {
    const RequestResult r = h->wait();
    ASSERT_FALSE(r.error) << r.error->what();
    expect_valid_calls(engine->tokenizer().decode(r.tokens), 1);
  }
}

}  // namespace
}  // namespace gemma4
