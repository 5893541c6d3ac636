// generate(): stop tokens, stop strings across token boundaries, limits, cancellation, prefix reuse.
#include <gtest/gtest.h>

#include "gemma4/error.h"
#include "gemma4/generate.h"
#include "test_util.h"

namespace gemma4 {
namespace {

class Generate : public ::testing::Test {
 protected:
  void SetUp() override {
    golden_ = testing::load_golden(testing::tiny_a_dir());
    model_ = Model::load(testing::tiny_a_dir(), {.dtype = "f32", .threads = 2});
    tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::load(testing::tiny_a_dir()));
  }
  GenerateRequest greedy(int64_t max_tokens) const {
    GenerateRequest r;
    r.prompt = golden_.greedy_prompt;
    r.sampling.temperature = 0.0f;
    r.max_tokens = max_tokens;
    r.stop_token_ids = {1, 106, 50};
    return r;
  }
  testing::GoldenFixture golden_;
  std::shared_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
};

TEST_F(Generate, GreedyMatchesGoldenContinuationAndStreamsItsText) {
  Session session(model_, {.max_context = 128});
  std::string streamed;
  std::vector<int32_t> streamed_tokens;
  auto r = generate(session, *tokenizer_, greedy(32), [&](const StreamEvent& e) {
    streamed += e.text;
    if (e.token >= 0) streamed_tokens.push_back(e.token);
    return true;
  });
  EXPECT_EQ(r.tokens, golden_.greedy_continuation);
  EXPECT_EQ(streamed_tokens, golden_.greedy_continuation);
  EXPECT_EQ(r.finish, FinishReason::Length);
  EXPECT_EQ(streamed, tokenizer_->decode(golden_.greedy_continuation));
  EXPECT_EQ(r.text, streamed);
  EXPECT_EQ(r.prompt_tokens, 24);
  EXPECT_EQ(r.completion_tokens, 32);
}

TEST_F(Generate, StopTokenEndsWithStopAndIsNotEmitted) {
  Session session(model_, {.max_context = 128});
  auto req = greedy(32);
  req.stop_token_ids.push_back(golden_.greedy_continuation[4]);  // the first non-newline token
  auto r = generate(session, *tokenizer_, req);
  EXPECT_EQ(r.finish, FinishReason::Stop);
  EXPECT_EQ(r.stop_token, golden_.greedy_continuation[4]);
  EXPECT_EQ(r.tokens, std::vector<int32_t>(golden_.greedy_continuation.begin(), golden_.greedy_continuation.begin() + 4));
}

TEST_F(Generate, StopStringSpanningTokensIsCutAndNeverLeaks) {
  Session session(model_, {.max_context = 128});
  std::string full = tokenizer_->decode(golden_.greedy_continuation);
  // A stop string that starts inside one token's text and ends inside a later token's.
  size_t at = full.find_first_not_of('\n');
  ASSERT_NE(at, std::string::npos);
  std::string stop = full.substr(at - 1, 3);
  auto req = greedy(32);
  req.stop_strings = {stop};
  std::string streamed;
  auto r = generate(session, *tokenizer_, req, [&](const StreamEvent& e) {
    streamed += e.text;
    return true;
  });
  EXPECT_EQ(r.finish, FinishReason::Stop);
  EXPECT_EQ(streamed, full.substr(0, at - 1));
  EXPECT_EQ(r.text, streamed);
}

TEST_F(Generate, MaxTokensZeroAndContextLimitEndWithLength) {
  Session session(model_, {.max_context = 128});
  auto r = generate(session, *tokenizer_, greedy(0));
  EXPECT_EQ(r.finish, FinishReason::Length);
  EXPECT_TRUE(r.tokens.empty());

  Session small(model_, {.max_context = 28});  // prompt 24 + room for 4 more
  r = generate(small, *tokenizer_, greedy(32));
  EXPECT_EQ(r.finish, FinishReason::Length);
  EXPECT_EQ(r.tokens.size(), 5u);  // the 5th token is sampled from the last cached position
  EXPECT_EQ(small.length(), 28);

  Session tiny(model_, {.max_context = 10});
  EXPECT_THROW(generate(tiny, *tokenizer_, greedy(4)), Error);
}

TEST_F(Generate, CallbackReturningFalseCancels) {
  Session session(model_, {.max_context = 128});
  int seen = 0;
  auto r = generate(session, *tokenizer_, greedy(32), [&](const StreamEvent&) { return ++seen < 3; });
  EXPECT_EQ(r.finish, FinishReason::Cancelled);
  EXPECT_EQ(r.tokens.size(), 3u);
}

TEST_F(Generate, CachedPrefixIsReusedAndGivesTheSameAnswer) {
  Session warm(model_, {.max_context = 256});
  auto first = generate(warm, *tokenizer_, greedy(6));
  const int64_t warm_length = warm.length();
  EXPECT_EQ(warm_length, 24 + 6);
  // Next turn: the previous prompt + answer + more text, as a chat would send.
  auto req = greedy(8);
  req.prompt.insert(req.prompt.end(), first.tokens.begin(), first.tokens.end());
  req.prompt.insert(req.prompt.end(), {106, 107, 105, 188, 107});
  auto reused = generate(warm, *tokenizer_, req);
  EXPECT_EQ(reused.cached_prompt_tokens, warm_length);  // everything the cache held
  Session cold(model_, {.max_context = 256});
  auto fresh = generate(cold, *tokenizer_, req);
  EXPECT_EQ(fresh.cached_prompt_tokens, 0);
  EXPECT_EQ(reused.tokens, fresh.tokens);
}

TEST_F(Generate, SameSeedSameSample) {
  auto req = greedy(16);
  req.sampling.temperature = 1.0f;
  req.sampling.top_k = 0;
  req.sampling.top_p = 1.0f;
  req.sampling.seed = 1234;
  Session a(model_, {.max_context = 128}), b(model_, {.max_context = 128});
  auto ra = generate(a, *tokenizer_, req);
  auto rb = generate(b, *tokenizer_, req);
  EXPECT_EQ(ra.tokens, rb.tokens);
  EXPECT_EQ(ra.tokens.size(), 16u);
}

}  // namespace
}  // namespace gemma4
