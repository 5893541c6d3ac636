// OpenAI response objects, SSE framing, logprobs and the Prometheus exposition.
#include <gtest/gtest.h>

#include <string>

#include "server/choice_builder.h"
#include "server/metrics.h"
#include "server/openai_json.h"

namespace gemma4::server {
namespace {

std::string fake_text(int32_t token) { return "t" + std::to_string(token); }

TokenEvent token(int32_t id, std::string text, float logprob) {
  TokenEvent e;
  e.token = id;
  e.text = std::move(text);
  e.logprob = logprob;
  e.top = {{id, logprob}, {id + 1, logprob - 1}};
  return e;
}

TEST(OpenAiJson, UsageCarriesCachedAndReasoningTokens) {
  const json u = usage_json({10, 5, 4, 2});
  EXPECT_EQ(u["total_tokens"], 15);
  EXPECT_EQ(u["prompt_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(u["completion_tokens_details"]["reasoning_tokens"], 2);
}

TEST(OpenAiJson, SseFramingAndInvalidUtf8) {
  EXPECT_EQ(sse_event({{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
  // A lone byte token is not UTF-8 on its own; it must not make serialisation throw.
  EXPECT_EQ(to_json_text(json(std::string("\xE2"))), "\"\xEF\xBF\xBD\"");
}

TEST(OpenAiJson, HeaderIdsAreUnique) {
  const ResponseHeader a = new_response_header("chatcmpl-", "m"), b = new_response_header("chatcmpl-", "m");
  EXPECT_EQ(a.id.rfind("chatcmpl-", 0), 0u);
  EXPECT_NE(a.id, b.id);
  EXPECT_GT(a.created, 1700000000);
}

TEST(OpenAiJson, FinishReasons) {
  EXPECT_EQ(finish_reason_text(FinishReason::Stop, false), "stop");
  EXPECT_EQ(finish_reason_text(FinishReason::Length, false), "length");
  EXPECT_EQ(finish_reason_text(FinishReason::Length, true), "tool_calls");
}

TEST(OpenAiJson, ChatLogprobs) {
  const std::vector<TokenEvent> events = {token(5, "a", -0.5f)};
  const json lp = chat_logprobs(events, fake_text);
  ASSERT_EQ(lp["content"].size(), 1u);
  EXPECT_EQ(lp["content"][0]["token"], "t5");
  EXPECT_FLOAT_EQ(lp["content"][0]["logprob"].get<float>(), -0.5f);
  EXPECT_EQ(lp["content"][0]["bytes"], json::array({116, 53}));
  EXPECT_EQ(lp["content"][0]["top_logprobs"].size(), 2u);
}

TEST(ChoiceBuilders, ChatStreamOpensWithRoleAndEndsWithFinishReason) {
  auto choice = make_chat_choice(1, {}, /*logprobs=*/true, fake_text);
  const auto opening = choice->opening();
  ASSERT_EQ(opening.size(), 1u);
  EXPECT_EQ(opening[0]["delta"]["role"], "assistant");
  EXPECT_EQ(opening[0]["index"], 1);
  // A held-back token's logprob rides on the next chunk, so none is lost or duplicated.
  EXPECT_TRUE(choice->on_token(token(7, "a <", -0.1f)).size() == 1);
  const auto held = choice->on_token(token(8, "", -0.2f));
  EXPECT_TRUE(held.empty());
  const auto next = choice->on_token(token(9, "b", -0.3f));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0]["delta"]["content"], "<b");
  EXPECT_EQ(next[0]["logprobs"]["content"].size(), 2u);
  RequestResult result;
  result.finish = FinishReason::Length;
  const auto closing = choice->on_finish(result);
  ASSERT_FALSE(closing.empty());
  EXPECT_EQ(closing.back()["finish_reason"], "length");
  EXPECT_EQ(closing.back()["delta"], json::object());
  const json final_choice = choice->final_choice(result);
  EXPECT_EQ(final_choice["message"]["content"], "a <b");
}

TEST(ChoiceBuilders, TextChoiceOffsets) {
  auto choice = make_text_choice(0, true, fake_text);
  const auto first = choice->on_token(token(1, "He", -1));
  const auto second = choice->on_token(token(2, "llo", -2));
  EXPECT_EQ(first[0]["text"], "He");
  EXPECT_EQ(first[0]["logprobs"]["text_offset"], json::array({0}));
  EXPECT_EQ(second[0]["logprobs"]["text_offset"], json::array({2}));  // after "t1"
  RequestResult result;
  result.text = "Hello";
  result.logprobs = {token(1, "", -1), token(2, "", -2)};
  const json final_choice = choice->final_choice(result);
  EXPECT_EQ(final_choice["text"], "Hello");
  EXPECT_EQ(final_choice["logprobs"]["tokens"], json::array({"t1", "t2"}));
  EXPECT_EQ(final_choice["finish_reason"], "stop");
}

TEST(Metrics, HistogramIsCumulative) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = h.render("x_seconds", "help");
  EXPECT_NE(text.find("# TYPE x_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_sum 5.55\n"), std::string::npos);
}

TEST(Metrics, EngineStatsAndHttpCounts) {
  Metrics m;
  m.count_http_request(200);
  m.count_http_request(200);
  m.observe_time_to_first_token(0.02);
  EXPECT_NE(m.render(std::nullopt).find("gemma4_model_loaded 0\n"), std::string::npos);
  EngineStats s;
  s.running = 2;
  s.kv_blocks_used = 7;
  s.kv_blocks_total = 64;
  s.prefix_cache_hits = 3;
  const std::string text = m.render(s);
  EXPECT_NE(text.find("gemma4_model_loaded 1\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_requests_running 2\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_kv_blocks_used 7\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_kv_blocks_total 64\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_prefix_cache_hits_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_http_requests_total{code=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_time_to_first_token_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("gemma4_inter_token_latency_seconds_count 0\n"), std::string::npos);
}

}  // namespace
}  // namespace gemma4::server
