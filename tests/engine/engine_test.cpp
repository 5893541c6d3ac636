// gemma4::Engine: continuous batching, prefix cache, preemption, cancellation, errors, checks of
// the model folder. All on tiny-a (random weights, real mechanics).
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "gemma4/engine.h"
#include "test_util.h"
#include "tiny_engine_options.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;

EngineOptions tiny_options(int parallel = 4) { return testing::tiny_engine_options(parallel); }

using testing::prompt_of;
using testing::sampled;

int64_t used_blocks(const Engine& e) { return e.stats().kv_blocks_used; }

TEST(Engine, GreedyAnswerMatchesTheGoldenContinuation) {
  auto golden = testing::load_golden(testing::tiny_a_dir());
  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options());
  Request r;
  r.prompt = golden.greedy_prompt;
  r.sampling.temperature = 0.0f;
  r.max_tokens = static_cast<int64_t>(golden.greedy_continuation.size());
  r.stop_token_ids = std::vector<int32_t>{};
  std::vector<int32_t> streamed;
  RequestResult result = engine->generate(r, [&](const TokenEvent& e) {
    if (e.token >= 0) streamed.push_back(e.token);
    return true;
  });
  EXPECT_EQ(result.tokens, golden.greedy_continuation);
  EXPECT_EQ(streamed, golden.greedy_continuation);
  EXPECT_EQ(result.finish, FinishReason::Length);
  EXPECT_EQ(result.text, engine->tokenizer().decode(golden.greedy_continuation));
}

// Eight different requests at once give exactly what each gives alone.
TEST(Engine, ConcurrentRequestsEqualTheSameRequestsRunAlone) {
  std::vector<std::vector<int32_t>> solo;
  {
    auto engine = Engine::open(testing::tiny_a_dir(), tiny_options(1));
    for (int i = 0; i < 8; ++i) solo.push_back(engine->generate(sampled(prompt_of(10 + 9 * i, i), 20, 100 + i)).tokens);
  }
  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options(8));
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (int i = 0; i < 8; ++i) handles.push_back(engine->submit(sampled(prompt_of(10 + 9 * i, i), 20, 100 + i)));
  for (int i = 0; i < 8; ++i) {
    RequestResult r = handles[i]->wait();
    EXPECT_EQ(r.tokens, solo[i]) << "request " << i;
    EXPECT_EQ(r.completion_tokens, 20);
  }
  EXPECT_GT(engine->stats().steps, 0);
  EXPECT_EQ(engine->stats().running, 0);
}

TEST(Engine, PrefixCacheServesALaterRequestWithTheSamePrefix) {
  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options());
  std::vector<int32_t> shared = prompt_of(70, 3);
  RequestResult first = engine->generate(sampled(shared, 5, 1));
  EXPECT_EQ(first.cached_tokens, 0);
  std::vector<int32_t> longer = shared;
  longer.insert(longer.end(), {40, 41, 42, 43, 44});
  RequestResult second = engine->generate(sampled(longer, 12, 9));
  EXPECT_EQ(second.cached_tokens, 64);  // whole blocks of 16
  EXPECT_EQ(engine->stats().prefix_cache_hits, 1);

  auto fresh_options = tiny_options();
  fresh_options.prefix_cache = false;
  auto fresh = Engine::open(testing::tiny_a_dir(), fresh_options);
  RequestResult recomputed = fresh->generate(sampled(longer, 12, 9));
  EXPECT_EQ(recomputed.cached_tokens, 0);
  EXPECT_EQ(second.tokens, recomputed.tokens);
}

// A chat turn whose re-rendered history differs from what was generated (stripped reasoning)
// reuses everything up to the divergence, although the sliding window (8 positions in tiny-a)
// moved far past it during the first answer.
TEST(Engine, ReuseAfterDivergenceBehindTheSlidingWindow) {
  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options(1));
  std::vector<int32_t> turn1 = prompt_of(50, 5);
  RequestResult answer = engine->generate(sampled(turn1, 40, 4));
  ASSERT_EQ(answer.completion_tokens, 40);
  std::vector<int32_t> turn2 = turn1;
  turn2.insert(turn2.end(), {106, 107, 10});  // the answer replaced by something else
  for (int i = 0; i < 30; ++i) turn2.push_back(static_cast<int32_t>(20 + i));
  RequestResult next = engine->generate(sampled(turn2, 6, 5));
  EXPECT_EQ(next.cached_tokens, 48);  // 50 shared tokens: three whole blocks
  auto fresh_options = tiny_options(1);
  fresh_options.prefix_cache = false;
  auto fresh = Engine::open(testing::tiny_a_dir(), fresh_options);
  EXPECT_EQ(fresh->generate(sampled(turn2, 6, 5)).tokens, next.tokens);
}

TEST(Engine, PreemptionUnderATightKvBudgetKeepsEveryAnswerIntact) {
  std::vector<std::vector<int32_t>> solo;
  {
    auto engine = Engine::open(testing::tiny_a_dir(), tiny_options(1));
    for (int i = 0; i < 4; ++i) solo.push_back(engine->generate(sampled(prompt_of(60, 20 + i), 60, 7 + i)).tokens);
  }
  auto options = tiny_options(4);
  options.prefix_cache = false;
  options.kv_budget_bytes = 1;  // less than one request is refused
  try {
    Engine::open(testing::tiny_a_dir(), options);
    FAIL() << "a 1-byte KV budget must be refused";
  } catch (const EngineError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadRequest);
    EXPECT_NE(std::string(e.what()).find("less than one request"), std::string::npos) << e.what();
  }
  options.max_context = 128;
  // Room for about 1.5 requests of 128 positions (tiny-a owns K/V in 2 full layers of 32 dims and 4
  // sliding layers of 16, f32): four requests of 120 positions must take turns.
  options.kv_budget_bytes = 2 * 128 * (2 * 32 + 4 * 16) * 4 * 3 / 2;
  auto engine = Engine::open(testing::tiny_a_dir(), options);
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (int i = 0; i < 4; ++i) handles.push_back(engine->submit(sampled(prompt_of(60, 20 + i), 60, 7 + i)));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(handles[i]->wait().tokens, solo[i]) << "request " << i;
  EXPECT_GT(engine->stats().preemptions, 0);
  EXPECT_EQ(used_blocks(*engine), 0);
}

TEST(Engine, CancellationFromTheCallbackOrTheHandleFreesEveryBlock) {
  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options(1));
  int seen = 0;
  RequestResult r = engine->generate(sampled(prompt_of(30, 1), 100, 1), [&](const TokenEvent&) { return ++seen < 3; });
  EXPECT_EQ(r.finish, FinishReason::Cancelled);
  EXPECT_EQ(r.completion_tokens, 3);

  // A running request and one queued behind it (parallel 1), both cancelled through their handles
  // from this thread. The running one holds the engine at its second token until both cancels are
  // in, so the test does not depend on how fast the machine is.
  std::atomic<int> tokens{0};
  std::atomic<bool> cancels_sent{false};
  auto running = engine->submit(sampled(prompt_of(200, 2), 50, 1), [&](const TokenEvent&) {
    if (++tokens == 2)
      while (!cancels_sent.load()) std::this_thread::yield();
    return true;
  });
  auto queued = engine->submit(sampled(prompt_of(20, 3), 50, 1));
  while (tokens.load() < 2) std::this_thread::yield();
  queued->cancel();
  running->cancel();
  cancels_sent = true;
  RequestResult run = running->wait();
  EXPECT_EQ(run.finish, FinishReason::Cancelled);
  EXPECT_EQ(run.completion_tokens, 2);
  RequestResult q = queued->wait();
  EXPECT_EQ(q.finish, FinishReason::Cancelled);
  EXPECT_EQ(q.completion_tokens, 0);
  EXPECT_EQ(used_blocks(*engine), 0);
  EXPECT_EQ(engine->stats().requests_cancelled, 3);
}

TEST(Engine, CancellingDuringALongPrefillStopsWithinAStep) {
  auto options = tiny_options(2);
  options.step_tokens = 8;  // a 240-token prompt takes more than 30 steps
  auto engine = Engine::open(testing::tiny_a_dir(), options);
  // The engine's thread waits inside a first one-token request's callback until both requests
  // below are queued, so they start in the same step however this thread is scheduled (without it
  // a descheduled test thread let the long prefill finish alone first).
  std::promise<void> both_queued;
  std::shared_future<void> released = both_queued.get_future().share();
  auto gate = engine->submit(sampled(prompt_of(2, 6), 1, 1), [released](const TokenEvent& e) {
    if (e.token >= 0) released.wait();
    return true;
  });
  auto long_prompt = engine->submit(sampled(prompt_of(240, 4), 10, 1));
  // A short request decoding beside it cancels the long one at its third token, i.e. a few steps
  // into the long prefill, from the engine's own thread.
  std::atomic<int> seen{0};
  auto beside_handle = engine->submit(sampled(prompt_of(2, 5), 6, 1), [&](const TokenEvent& e) {
    if (e.token >= 0 && ++seen == 3) long_prompt->cancel();
    return true;
  });
  both_queued.set_value();
  EXPECT_EQ(gate->wait().completion_tokens, 1);
  RequestResult beside = beside_handle->wait();
  RequestResult r = long_prompt->wait();
  EXPECT_EQ(r.finish, FinishReason::Cancelled);
  EXPECT_EQ(r.completion_tokens, 0);
  EXPECT_EQ(beside.completion_tokens, 6);
  EXPECT_LT(engine->stats().steps, 12);
  EXPECT_EQ(used_blocks(*engine), 0);
}

TEST(Engine, StopStringsLogprobsAndMaxTokensZero) {
  auto engine = Engine::open(testing::tiny_a_dir(), tiny_options());
  Request r = sampled(prompt_of(12, 1), 8, 3);
  r.logprobs = true;
  r.top_logprobs = 3;
  RequestResult full = engine->generate(r);
  ASSERT_EQ(full.logprobs.size(), 8u);
  for (const auto& lp : full.logprobs) {
    EXPECT_LE(lp.logprob, 0.0f);
    ASSERT_EQ(lp.top.size(), 3u);
    EXPECT_GE(lp.top[0].logprob, lp.top[1].logprob);
    EXPECT_GE(lp.top[0].logprob, lp.logprob);
  }
  ASSERT_GT(full.text.size(), 4u);
  Request cut = sampled(prompt_of(12, 1), 8, 3);
  cut.stop_strings = {full.text.substr(2, 2)};
  RequestResult stopped = engine->generate(cut);
  EXPECT_EQ(stopped.finish, FinishReason::Stop);
  EXPECT_EQ(stopped.stop_string, cut.stop_strings[0]);
  EXPECT_EQ(stopped.text, full.text.substr(0, full.text.find(cut.stop_strings[0])));

  Request none = sampled(prompt_of(12, 1), 0, 3);
  RequestResult empty = engine->generate(none);
  EXPECT_EQ(empty.finish, FinishReason::Length);
  EXPECT_EQ(empty.completion_tokens, 0);
}

TEST(Engine, EndsWithLengthWhenTheContextFills) {
  auto options = tiny_options(1);
  options.max_context = 40;
  auto engine = Engine::open(testing::tiny_a_dir(), options);
  RequestResult r = engine->generate(sampled(prompt_of(30, 1), 100, 3));
  EXPECT_EQ(r.finish, FinishReason::Length);
  EXPECT_EQ(r.completion_tokens, 11);  // positions 30..39 hold 10 fed tokens, the 11th is never fed
}

ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const EngineError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no EngineError thrown";
  return ErrorKind::Cancelled;
}

TEST(Engine, BadRequestsAreTypedErrors) {
  auto options = tiny_options(1);
  options.max_context = 64;
  options.max_queue = 0;
  auto engine = Engine::open(testing::tiny_a_dir(), options);
  EXPECT_EQ(kind_of([&] { engine->submit(sampled(prompt_of(65, 1), 1, 1)); }), ErrorKind::ContextOverflow);
  Request room = sampled(prompt_of(40, 1), 30, 1);
  room.require_room_for_max_tokens = true;
  EXPECT_EQ(kind_of([&] { engine->submit(room); }), ErrorKind::ContextOverflow);
  EXPECT_EQ(kind_of([&] { engine->submit(sampled({}, 1, 1)); }), ErrorKind::BadRequest);
  EXPECT_EQ(kind_of([&] { engine->submit(sampled({2, 9999}, 1, 1)); }), ErrorKind::BadRequest);
  Request bad_temp = sampled(prompt_of(5, 1), 1, 1);
  bad_temp.sampling.temperature = -1;
  EXPECT_EQ(kind_of([&] { engine->submit(bad_temp); }), ErrorKind::BadRequest);
  Request bad_top = sampled(prompt_of(5, 1), 1, 1);
  bad_top.logprobs = true;
  bad_top.top_logprobs = 21;
  EXPECT_EQ(kind_of([&] { engine->submit(bad_top); }), ErrorKind::BadRequest);
  // The queue holds nothing beyond the one running request.
  std::atomic<bool> release{false};
  auto busy = engine->submit(sampled(prompt_of(5, 1), 30, 1), [&](const TokenEvent&) {
    while (!release.load()) std::this_thread::yield();
    return true;
  });
  EXPECT_EQ(kind_of([&] { engine->submit(sampled(prompt_of(5, 2), 1, 1)); }), ErrorKind::Overloaded);
  release = true;
  busy->wait();
  engine->shutdown();
  EXPECT_EQ(kind_of([&] { engine->submit(sampled(prompt_of(5, 2), 1, 1)); }), ErrorKind::ShuttingDown);
}

// A copy of tiny-a with one file changed.
fs::path copy_of_tiny_a(const testing::TempDir& tmp) {
  fs::path dir = tmp.path() / "model";
  fs::create_directories(dir);
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"})
    fs::copy_file(testing::tiny_a_dir() / f, dir / f);
  return dir;
}

TEST(Engine, OpenCrossChecksTheModelFolder) {
  {
    auto options = tiny_options();
    options.max_context = 5000;  // tiny-a has 4096 positions
    EXPECT_EQ(kind_of([&] { Engine::open(testing::tiny_a_dir(), options); }), ErrorKind::BadRequest);
    options.allow_long_context = true;
    auto engine = Engine::open(testing::tiny_a_dir(), options);
    ASSERT_EQ(engine->warnings().size(), 1u);
    EXPECT_NE(engine->warnings()[0].find("max_position_embeddings"), std::string::npos);
  }
  {
    testing::TempDir tmp;
    fs::path dir = copy_of_tiny_a(tmp);
    auto doc = testing::read_json(dir / "generation_config.json");
    doc["eos_token_id"] = {1, 9999};
    std::ofstream(dir / "generation_config.json") << doc.dump();
    try {
      Engine::open(dir, tiny_options());
      FAIL();
    } catch (const EngineError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::ModelError);
      EXPECT_NE(std::string(e.what()).find("9999"), std::string::npos) << e.what();
    }
  }
  {
    testing::TempDir tmp;
    fs::path dir = copy_of_tiny_a(tmp);
    auto doc = testing::read_json(dir / "tokenizer.json");
    for (int id = 512; id < 520; ++id)  // ids past the model's 512
      doc["added_tokens"].push_back({{"id", id}, {"content", "<extra" + std::to_string(id) + ">"}, {"single_word", false},
                                     {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", true}});
    std::ofstream(dir / "tokenizer.json") << doc.dump();
    try {
      Engine::open(dir, tiny_options());
      FAIL();
    } catch (const EngineError& e) {
      EXPECT_EQ(e.kind(), ErrorKind::ModelError);
      EXPECT_NE(std::string(e.what()).find("vocabulary"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(kind_of([&] { Engine::open(testing::data_dir() / "no-such-model", tiny_options()); }), ErrorKind::ModelError);
}

}  // namespace
}  // namespace gemma4
