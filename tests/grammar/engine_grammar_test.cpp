// End to end on tiny-a (random weights, so only the constraint makes the output valid): sampled
// answers under a schema always parse and validate, end with a stop token once complete, and a
// request's answer does not depend on what is batched with it or on speculative drafts.
#include <gtest/gtest.h>

#include "engine/tiny_engine_options.h"
#include "gemma4/engine.h"
#include "grammar/schema_validator.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using nlohmann::json;

const json& person_schema() {
  static const json s = json::parse(R"({"type":"object","properties":{
    "name":{"type":"string","maxLength":8},"age":{"type":"integer"},
    "tags":{"type":"array","items":{"enum":["x","y"]},"maxItems":2},"ok":{"type":"boolean"}},
    "required":["name","age","ok"],"additionalProperties":false})");
  return s;
}

Request grammar_request(const Engine& engine, std::shared_ptr<const Grammar> grammar, uint64_t seed) {
  Request r;
  r.prompt = engine.tokenizer().encode("<bos><|turn>user\nGive me JSON<turn|>\n<|turn>model\n");
  r.sampling.temperature = 1.0f;
  r.sampling.top_k = 0;
  r.sampling.top_p = 1.0f;
  r.sampling.seed = seed;
  r.max_tokens = 200;
  r.grammar = std::move(grammar);
  return r;
}

TEST(EngineGrammar, SampledAnswersAlwaysValidate) {
  auto engine = Engine::open(testing::tiny_a_dir(), testing::tiny_engine_options(8));
  const auto grammar = compile_json_schema(person_schema());
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (uint64_t seed = 0; seed < 16; ++seed) handles.push_back(engine->submit(grammar_request(*engine, grammar, seed)));
  int stopped = 0;
  for (auto& h : handles) {
    const RequestResult r = h->wait();
    ASSERT_FALSE(r.error) << r.error->what();
    if (r.finish != FinishReason::Stop) continue;  // max_tokens may cut a long string short
    ++stopped;
    json v;
    ASSERT_NO_THROW(v = json::parse(r.text)) << r.text;
    EXPECT_TRUE(testing::validates(v, person_schema(), person_schema())) << r.text;
  }
  EXPECT_GE(stopped, 8);
}

TEST(EngineGrammar, JsonObjectAlwaysParses) {
  auto engine = Engine::open(testing::tiny_a_dir(), testing::tiny_engine_options(8));
  const auto grammar = compile_any_json_object();
  int stopped = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const RequestResult r = engine->generate(grammar_request(*engine, grammar, seed));
    if (r.finish != FinishReason::Stop) continue;
    ++stopped;
    json v;
    ASSERT_NO_THROW(v = json::parse(r.text)) << r.text;
    EXPECT_TRUE(v.is_object());
  }
  EXPECT_GE(stopped, 1);
}

TEST(EngineGrammar, BatchInvariantAndDraftInvariant) {
  const auto grammar = compile_json_schema(person_schema());
  // Drafts on in both runs: the speculative rule samples the same distribution, not the same draws.
  std::vector<std::vector<int32_t>> alone;
  {
    auto one = testing::tiny_engine_options(1);
    one.draft_tokens = 4;
    auto engine = Engine::open(testing::tiny_a_dir(), one);
    for (uint64_t seed = 0; seed < 4; ++seed) alone.push_back(engine->generate(grammar_request(*engine, grammar, seed)).tokens);
  }
  auto options = testing::tiny_engine_options(8);
  options.draft_tokens = 4;
  auto engine = Engine::open(testing::tiny_a_dir(), options);
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    handles.push_back(engine->submit(grammar_request(*engine, grammar, seed)));
    Request plain = grammar_request(*engine, nullptr, seed + 100);  // unconstrained neighbours
    plain.max_tokens = 30;
    handles.push_back(engine->submit(std::move(plain)));
  }
  for (uint64_t seed = 0; seed < 4; ++seed) EXPECT_EQ(handles[seed * 2]->wait().tokens, alone[seed]) << seed;
}

}  // namespace
}  // namespace gemma4
