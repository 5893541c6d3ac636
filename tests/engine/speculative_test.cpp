// Speculative decoding by prompt lookup in the engine (EngineOptions::draft_tokens): greedy answers
// are the plain ones token for token, sampled answers keep their distribution, the KV cache holds
// only accepted tokens, and stops, max_tokens and cancellation land where plain decoding puts them.
// All on tiny-a (random weights; a logit bias steers it towards tokens of the prompt where the
// drafts need to be right).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

#include "engine/engine_impl.h"
#include "gemma4/engine.h"
#include "test_util.h"
#include "tiny_engine_options.h"

namespace gemma4 {
namespace {

using Tokens = std::vector<int32_t>;

EngineOptions tiny_options(int parallel, int draft) {
  EngineOptions o = testing::tiny_engine_options(parallel);
  o.draft_tokens = draft;
  return o;
}

// Text that repeats: a 12-token phrase three times, then its start again.
Tokens repeating_prompt(int salt) {
  Tokens phrase;
  for (int i = 0; i < 12; ++i) phrase.push_back(static_cast<int32_t>(3 + (i * 37 + salt * 101) % 480));
  Tokens p = {2};
  for (int r = 0; r < 3; ++r) p.insert(p.end(), phrase.begin(), phrase.end());
  p.insert(p.end(), phrase.begin(), phrase.begin() + 4);
  return p;
}

// No token twice.
Tokens plain_prompt(int length, int salt) {
  Tokens p = {2};
  for (int i = 1; i < length; ++i) p.push_back(static_cast<int32_t>(3 + (i * 31 + salt * 97) % 480));
  return p;
}

Request greedy(Tokens prompt, int64_t max_tokens) {
  Request r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  r.stop_token_ids = Tokens{};  // random weights: run to max_tokens
  return r;
}

// The phrase's tokens get a large equal bias, so the model's choice among them (its own
// distribution, renormalised) is what the drafts, copied from the phrase, are checked against.
void steer_to_phrase(Request& r, int salt) {
  for (int i = 0; i < 12; ++i) r.sampling.logit_bias.emplace_back(static_cast<int32_t>(3 + (i * 37 + salt * 101) % 480), 40.0f);
}

struct Outcome {
  std::vector<RequestResult> results;
  EngineStats stats;
};

// Every request at once on one engine (`parallel` of them running together).
Outcome run_all(const std::vector<Request>& requests, int parallel, int draft, bool prefix_cache = true) {
  auto options = tiny_options(parallel, draft);
  options.prefix_cache = prefix_cache;
  options.max_queue = static_cast<int64_t>(requests.size());
  auto engine = Engine::open(testing::tiny_a_dir(), options);
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (const Request& r : requests) handles.push_back(engine->submit(r));
  Outcome run;
  for (auto& h : handles) run.results.push_back(h->wait());
  run.stats = engine->stats();
  EXPECT_EQ(run.stats.kv_blocks_used, 0) << "blocks leaked";
  return run;
}

std::vector<Request> greedy_mix() {
  std::vector<Request> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(greedy(repeating_prompt(i), 40));
  for (int i = 0; i < 4; ++i) requests.push_back(greedy(plain_prompt(20 + 7 * i, i), 40));
  Request steered = greedy(repeating_prompt(9), 40);
  steer_to_phrase(steered, 9);
  requests.push_back(steered);
  return requests;
}

TEST(Speculative, GreedyTokensAreThePlainOnesAloneAndWithSevenCompanions) {
  const std::vector<Request> requests = greedy_mix();
  const Outcome plain = run_all(requests, 1, 0);
  EXPECT_EQ(plain.stats.drafted_tokens, 0);
  const Outcome alone = run_all(requests, 1, 4);
  const Outcome crowded = run_all(requests, 8, 4);
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(alone.results[i].tokens, plain.results[i].tokens) << "request " << i << " alone";
    EXPECT_EQ(crowded.results[i].tokens, plain.results[i].tokens) << "request " << i << " among 8";
    EXPECT_EQ(alone.results[i].text, plain.results[i].text);
    EXPECT_EQ(alone.results[i].finish, FinishReason::Length);
    EXPECT_EQ(alone.results[i].completion_tokens, 40);
  }
  for (const Outcome* r : {&alone, &crowded}) {
    EXPECT_GT(r->stats.drafted_tokens, 0);
    EXPECT_GT(r->stats.accepted_drafts, 0);
    EXPECT_LE(r->stats.accepted_drafts, r->stats.drafted_tokens);
    // Accepted drafts are tokens that needed no step of their own.
    EXPECT_LT(r->stats.steps, plain.stats.steps);
  }
  int64_t accepted = 0;
  for (const auto& r : alone.results) accepted += r.accepted_drafts;
  EXPECT_EQ(accepted, alone.stats.accepted_drafts);
  std::printf("greedy, draft 4: %lld of %lld drafts accepted, %lld steps (plain: %lld)\n",
              static_cast<long long>(alone.stats.accepted_drafts), static_cast<long long>(alone.stats.drafted_tokens),
              static_cast<long long>(alone.stats.steps), static_cast<long long>(plain.stats.steps));
}

// Without a prefix cache, rejected rows cannot take released sliding blocks back, so drafts stop
// short of the window's next block; answers are still the plain ones. A tight pool forces
// preemptions in the middle of speculative runs too.
TEST(Speculative, GreedyTokensUnchangedWithoutPrefixCacheAndUnderPreemption) {
  const std::vector<Request> requests = greedy_mix();
  const Outcome plain = run_all(requests, 1, 0);
  const Outcome uncached = run_all(requests, 8, 4, /*prefix_cache=*/false);
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(uncached.results[i].tokens, plain.results[i].tokens) << i;
  EXPECT_GT(uncached.stats.accepted_drafts, 0);

  auto options = tiny_options(4, 4);
  options.max_context = 128;
  options.kv_budget_bytes = 2 * 128 * (2 * 32 + 4 * 16) * 4 * 3 / 2;  // about 1.5 requests (see engine_test)
  auto engine = Engine::open(testing::tiny_a_dir(), options);
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (size_t i = 0; i < 4; ++i) handles.push_back(engine->submit(greedy(repeating_prompt(static_cast<int>(i)), 80)));
  const Outcome long_plain = [&] {
    std::vector<Request> r;
    for (int i = 0; i < 4; ++i) r.push_back(greedy(repeating_prompt(i), 80));
    return run_all(r, 1, 0);
  }();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(handles[i]->wait().tokens, long_plain.results[i].tokens) << i;
  EXPECT_GT(engine->stats().preemptions, 0);
  EXPECT_GT(engine->stats().accepted_drafts, 0);
  EXPECT_EQ(engine->stats().kv_blocks_used, 0);
}

// After every step each running request's KV sequence holds exactly its committed tokens: the
// prompt and generated tokens before the pending one, never a rejected draft, and no more blocks
// than those positions need.
TEST(Speculative, TheKvCacheHoldsOnlyAcceptedTokens) {
  auto options = tiny_options(8, 4);
  EngineImpl impl(testing::tiny_a_dir(), options);
  int64_t checked = 0, decode_checks = 0;
  std::string failure;
  impl.after_step = [&](std::span<const std::unique_ptr<RequestState>> running) {
    for (const auto& r : running) {
      const KvSequence& seq = *r->sequence;
      const int64_t length = seq.length();
      ++checked;
      if (length > static_cast<int64_t>(r->context.size()) - 1 && failure.empty())
        failure = "sequence holds " + std::to_string(length) + " positions for " + std::to_string(r->context.size()) +
                  " context tokens";
      if (r->pending() == 1) ++decode_checks;
      for (int64_t p = 0; p < length && failure.empty(); ++p)
        if (seq.tokens()[p] != r->context[p]) failure = "position " + std::to_string(p) + " holds another token";
      const int64_t blocks = (length + 15) / 16;
      if (seq.blocks_held(AttentionType::Full) != blocks && failure.empty())
        failure = "holds " + std::to_string(seq.blocks_held(AttentionType::Full)) + " full blocks for " +
                  std::to_string(length) + " positions";
    }
  };
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (const Request& r : greedy_mix()) handles.push_back(impl.submit(r, {}));
  for (int i = 0; i < 4; ++i) {
    Request r = greedy(repeating_prompt(20 + i), 30);
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 4;
    r.sampling.seed = static_cast<uint64_t>(i);
    steer_to_phrase(r, 20 + i);
    handles.push_back(impl.submit(r, {}));
  }
  for (auto& h : handles) h->wait();
  EXPECT_TRUE(failure.empty()) << failure;
  EXPECT_GT(decode_checks, 50);
  const EngineStats stats = impl.stats();
  EXPECT_GT(stats.accepted_drafts, 0);
  EXPECT_LT(stats.accepted_drafts, stats.drafted_tokens);  // some were rejected and dropped
  EXPECT_EQ(stats.kv_blocks_used, 0);
  EXPECT_GT(checked, 0);
}

// max_tokens, stop tokens and stop strings inside an accepted run end the request exactly where
// plain decoding ends it; a callback that cancels mid-run gets no token after it.
TEST(Speculative, StopsMaxTokensAndCancellationInsideAnAcceptedRun) {
  Request base = greedy(repeating_prompt(9), 40);
  steer_to_phrase(base, 9);
  const Outcome reference = run_all({base}, 1, 0);
  const Tokens full = reference.results[0].tokens;
  ASSERT_EQ(full.size(), 40u);

  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options(1, 6));
  for (int64_t n = 1; n <= 14; ++n) {
    Request r = base;
    r.max_tokens = n;
    RequestResult got = engine->generate(r);
    EXPECT_EQ(got.tokens, Tokens(full.begin(), full.begin() + n)) << "max_tokens " << n;
    EXPECT_EQ(got.finish, FinishReason::Length);
  }
  EXPECT_GT(engine->stats().accepted_drafts, 0);

  for (size_t at : {3u, 7u, 12u}) {
    // A stop token: the first occurrence of full[at] ends the answer before it.
    Request r = base;
    r.stop_token_ids = Tokens{full[at]};
    const size_t first = static_cast<size_t>(std::find(full.begin(), full.end(), full[at]) - full.begin());
    RequestResult got = engine->generate(r);
    EXPECT_EQ(got.tokens, Tokens(full.begin(), full.begin() + first)) << "stop token at " << at;
    EXPECT_EQ(got.finish, FinishReason::Stop);
    EXPECT_EQ(got.stop_token, full[at]);

    // A cancelling callback: the answer ends at the token that returned false.
    Request c = base;
    size_t seen = 0;
    RequestResult cancelled = engine->generate(c, [&](const TokenEvent& e) { return e.token < 0 || ++seen < at; });
    EXPECT_EQ(cancelled.finish, FinishReason::Cancelled);
    EXPECT_EQ(cancelled.tokens, Tokens(full.begin(), full.begin() + at)) << "cancelled at " << at;
    EXPECT_EQ(seen, at);
  }

  // A stop string: text the same as plain decoding's, cut at the same place.
  const std::string text = reference.results[0].text;
  ASSERT_GT(text.size(), 12u);
  for (size_t at : {5u, 9u}) {
    Request r = base;
    r.stop_strings = {text.substr(at, 3)};
    Outcome plain = run_all({r}, 1, 0);
    RequestResult got = engine->generate(r);
    EXPECT_EQ(got.text, plain.results[0].text);
    EXPECT_EQ(got.tokens, plain.results[0].tokens);
    EXPECT_EQ(got.finish, FinishReason::Stop);
  }

  // Cancelling through the handle while drafts are accepted frees everything.
  Request endless = base;
  endless.max_tokens = 200;
  std::shared_ptr<RequestHandle> handle;
  std::atomic<int> tokens{0};
  handle = engine->submit(endless, [&](const TokenEvent&) {
    ++tokens;
    return true;
  });
  while (tokens.load() < 10 && !handle->done()) std::this_thread::yield();
  handle->cancel();
  EXPECT_EQ(handle->wait().finish, FinishReason::Cancelled);
  EXPECT_EQ(engine->stats().kv_blocks_used, 0);
  EXPECT_EQ(engine->stats().running, 0);
}

TEST(Speculative, DraftCountsAreValidated) {
  auto options = tiny_options(1, kMaxDraftTokens + 1);
  EXPECT_THROW(Engine::open(testing::tiny_a_dir(), options), EngineError);
  options.draft_tokens = -1;
  EXPECT_THROW(Engine::open(testing::tiny_a_dir(), options), EngineError);
  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options(1, 0));
  Request r = greedy(plain_prompt(8, 1), 4);
  r.draft_tokens = kMaxDraftTokens + 1;
  try {
    engine->submit(r);
    FAIL() << "draft_tokens above the limit must be refused";
  } catch (const EngineError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadRequest);
  }
  // A request may turn drafts on in an engine that has them off (and the other way round).
  Request on = greedy(repeating_prompt(9), 20);
  steer_to_phrase(on, 9);
  on.draft_tokens = 4;
  RequestResult with = engine->generate(on);
  EXPECT_GT(with.drafted_tokens, 0);
  on.draft_tokens = 0;
  RequestResult without = engine->generate(on);
  EXPECT_EQ(without.drafted_tokens, 0);
  EXPECT_EQ(with.tokens, without.tokens);
}

// ---- the sampled distribution -------------------------------------------------------------------

// Two-sample chi-square over the categories both runs saw (rare ones pooled); true when the
// samples differ at significance 1e-4 (Wilson-Hilferty approximation of the quantile).
bool distributions_differ(const std::map<Tokens, int>& a, const std::map<Tokens, int>& b, double* statistic) {
  std::map<Tokens, std::pair<double, double>> both;
  for (const auto& [k, n] : a) both[k].first += n;
  for (const auto& [k, n] : b) both[k].second += n;
  double chi = 0, rare_a = 0, rare_b = 0;
  int categories = 0;
  for (const auto& [k, n] : both) {
    if (n.first + n.second < 20) {
      rare_a += n.first;
      rare_b += n.second;
      continue;
    }
    chi += (n.first - n.second) * (n.first - n.second) / (n.first + n.second);
    ++categories;
  }
  if (rare_a + rare_b > 0) {
    chi += (rare_a - rare_b) * (rare_a - rare_b) / (rare_a + rare_b);
    ++categories;
  }
  const double df = std::max(1, categories - 1), z = 3.719;  // upper 1e-4 point of N(0, 1)
  const double critical = df * std::pow(1 - 2 / (9 * df) + z * std::sqrt(2 / (9 * df)), 3);
  *statistic = chi / critical;
  return chi > critical;
}

// The same request under many seeds, with and without drafts: the first tokens (each position,
// and consecutive pairs) must be distributed alike. The logit bias keeps the model on the
// phrase's tokens, so drafts are proposed at every step, and about 40% are accepted. Checked to
// fail with a broken rule: accepting every draft (chi-square 50-210 x the critical value) or
// letting a rejected draft be drawn again (2-14 x).
TEST(Speculative, SampledTokensKeepTheirDistribution) {
  constexpr int kSeeds = 3000, kTokens = 5;
  auto requests = [&] {
    std::vector<Request> all;
    for (int s = 0; s < kSeeds; ++s) {
      Request r = greedy(repeating_prompt(11), kTokens);
      r.sampling.temperature = 4.0f;  // tiny-a's logits are far apart: this makes rejections common
      r.sampling.top_k = 6;
      r.sampling.top_p = 0.97f;
      r.sampling.repetition_penalty = 1.1f;
      r.sampling.seed = 1000 + static_cast<uint64_t>(s);
      steer_to_phrase(r, 11);
      all.push_back(r);
    }
    return all;
  }();
  const Outcome plain = run_all(requests, 8, 0);
  const Outcome drafted = run_all(requests, 8, 4);
  EXPECT_GT(drafted.stats.accepted_drafts, drafted.stats.drafted_tokens / 10);
  EXPECT_LT(drafted.stats.accepted_drafts, drafted.stats.drafted_tokens);
  std::printf("sampled, draft 4: %lld of %lld drafts accepted, %lld preemptions\n", static_cast<long long>(drafted.stats.accepted_drafts),
              static_cast<long long>(drafted.stats.drafted_tokens), static_cast<long long>(drafted.stats.preemptions));
  for (int first = 0; first < kTokens; ++first) {
    for (int span : {1, 2}) {
      if (first + span > kTokens) continue;
      std::map<Tokens, int> a, b;
      for (int s = 0; s < kSeeds; ++s) {
        const Tokens& ta = plain.results[s].tokens;
        const Tokens& tb = drafted.results[s].tokens;
        ASSERT_EQ(ta.size(), static_cast<size_t>(kTokens));
        ASSERT_EQ(tb.size(), static_cast<size_t>(kTokens));
        ++a[Tokens(ta.begin() + first, ta.begin() + first + span)];
        ++b[Tokens(tb.begin() + first, tb.begin() + first + span)];
      }
      double statistic = 0;
      EXPECT_FALSE(distributions_differ(a, b, &statistic))
          << "tokens " << first << ".." << first + span - 1 << ": chi-square " << statistic << " x the critical value";
      std::printf("tokens %d..%d: chi-square %.2f x the critical value\n", first, first + span - 1, statistic);
    }
  }
}

// Sampled answers with drafts on depend on the seed and the tokens only: every token is drawn
// against the draft its own context proposes, so neither the number of drafts a step checks
// (--draft, the step budget, the batch) nor the companions change them.
TEST(Speculative, SampledAnswersWithDraftsDependOnlyOnTheSeed) {
  std::vector<Request> requests;
  for (int s = 0; s < 24; ++s) {
    Request r = greedy(s % 2 ? repeating_prompt(s) : plain_prompt(15 + s, s), 24);
    r.sampling.temperature = 4.0f;
    r.sampling.top_k = 6;
    r.sampling.seed = 500 + static_cast<uint64_t>(s);
    if (s % 2) steer_to_phrase(r, s);
    requests.push_back(r);
  }
  const Outcome reference = run_all(requests, 1, 1);
  auto tight = tiny_options(8, 4);
  tight.step_tokens = 10;  // 8 decode rows leave 2 draft rows for the whole batch
  tight.max_queue = 64;
  for (const auto& options : {tiny_options(8, 4), tiny_options(3, 16), tight}) {
    auto engine = Engine::open(testing::tiny_a_dir(), options);
    std::vector<std::shared_ptr<RequestHandle>> handles;
    for (const Request& r : requests) handles.push_back(engine->submit(r));
    for (size_t i = 0; i < requests.size(); ++i)
      EXPECT_EQ(handles[i]->wait().tokens, reference.results[i].tokens)
          << "request " << i << ", parallel " << options.parallel << ", draft " << options.draft_tokens
          << ", step tokens " << options.step_tokens;
    EXPECT_GT(engine->stats().accepted_drafts, 0);
  }
}

}  // namespace
}  // namespace gemma4
