// gemma4::ForwardBackend: the engine's scheduler, prefix cache and sampler driving a forward pass
// that lives elsewhere (the WebGPU backend of the browser build). The backend here keeps *tokens*
// in the blocks instead of K/V rows and computes each wanted row from scratch with a Session over
// the history it reads back through the block tables. So its answers equal the CPU engine's only
// if every table the engine hands over is right: prefix-cache blocks shared between requests,
// sliding blocks released and taken back, copies of shared blocks, preemption.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>

#include "gemma4/engine.h"
#include "gemma4/model.h"
#include "test_util.h"
#include "tiny_engine_options.h"

namespace gemma4 {
namespace {

class TokenStoreBackend : public ForwardBackend {
 public:
  explicit TokenStoreBackend(std::shared_ptr<const Model> model) : model_(std::move(model)) {}

  void allocate_kv(const KvGeometry& g) override {
    geometry = g;
    ++allocations;
    slots_[0].assign(static_cast<size_t>(g.sliding_blocks * g.block_size), -1);
    slots_[1].assign(static_cast<size_t>(g.full_blocks * g.block_size), -1);
  }

  void forward(std::span<const KvBlockCopy> copies, std::span<const BackendSegment> segments,
               std::vector<float>& logits) override {
    if (fail) throw Error("the backend failed on purpose");
    ++steps;
    const int bs = geometry.block_size;
    for (const KvBlockCopy& c : copies) {
      auto& s = slots_[c.group == AttentionType::Full];
      std::copy_n(s.begin() + c.src * bs, c.slots, s.begin() + c.dst * bs);
      ++copies_done;
    }
    for (const BackendSegment& seg : segments)
      for (size_t t = 0; t < seg.tokens.size(); ++t) {
        const int64_t p = seg.start + static_cast<int64_t>(t);
        *slot(seg.full_table, 1, p) = seg.tokens[t];
        *slot(seg.sliding_table, 0, p) = seg.tokens[t];
      }
    const int64_t window = model_->config().sliding_window;
    for (const BackendSegment& seg : segments) {
      const int64_t end = seg.start + static_cast<int64_t>(seg.tokens.size());
      for (int64_t p = end - seg.logits_count; p < end; ++p) {
        std::vector<int32_t> history;
        for (int64_t q = 0; q <= p; ++q) {
          history.push_back(*slot(seg.full_table, 1, q));
          if (history.back() < 0) throw Error("position " + std::to_string(q) + " was never written");
        }
        for (int64_t q = std::max<int64_t>(0, p - window + 1); q <= p; ++q)
          if (*slot(seg.sliding_table, 0, q) != history[q])
            throw Error("sliding block table disagrees with the full one at position " + std::to_string(q));
        Session session(model_, {.max_context = p + 1, .kv_type = "f32"});
        std::vector<float> row;
        session.append(history, &row);
        logits.insert(logits.end(), row.begin(), row.end());
      }
    }
  }

  KvGeometry geometry;
  int allocations = 0, steps = 0, copies_done = 0;
  bool fail = false;

 private:
  int32_t* slot(std::span<const int32_t> table, int g, int64_t p) {
    const int bs = geometry.block_size;
    if (p / bs >= static_cast<int64_t>(table.size()) || table[p / bs] < 0)
      throw Error("no block for position " + std::to_string(p));
    if (table[p / bs] >= (g ? geometry.full_blocks : geometry.sliding_blocks))
      throw Error("block " + std::to_string(table[p / bs]) + " is outside the pool");
    return &slots_[g][static_cast<size_t>(table[p / bs]) * bs + p % bs];
  }
  std::shared_ptr<const Model> model_;
  std::vector<int32_t> slots_[2];
};

std::shared_ptr<const Model> tiny_model() {
  return Model::load(testing::tiny_a_dir(), {.dtype = "f32", .threads = 1, .weight_cache = false});
}

using testing::prompt_of;
using testing::sampled;

// Runs the requests at once on an engine and returns their tokens.
std::vector<std::vector<int32_t>> run_all(Engine& engine, const std::vector<Request>& requests) {
  std::vector<std::shared_ptr<RequestHandle>> handles;
  for (const Request& r : requests) handles.push_back(engine.submit(r));
  std::vector<std::vector<int32_t>> tokens;
  for (auto& h : handles) {
    RequestResult r = h->wait();
    EXPECT_FALSE(r.error) << r.error->what();
    tokens.push_back(r.tokens);
  }
  return tokens;
}

TEST(ForwardBackend, GreedyAnswerMatchesTheGoldenContinuation) {
  auto golden = testing::load_golden(testing::tiny_a_dir());
  auto backend = std::make_shared<TokenStoreBackend>(tiny_model());
  EngineOptions o = testing::tiny_engine_options(2);
  o.forward_backend = backend;
  auto engine = Engine::open(testing::tiny_a_dir(), o);
  EXPECT_EQ(backend->allocations, 1);
  EXPECT_EQ(backend->geometry.block_size, 16);
  EXPECT_GT(backend->geometry.sliding_blocks, 0);
  EXPECT_GT(backend->geometry.full_blocks, 0);
  Request r;
  r.prompt = golden.greedy_prompt;
  r.sampling.temperature = 0.0f;
  r.max_tokens = static_cast<int64_t>(golden.greedy_continuation.size());
  r.stop_token_ids = std::vector<int32_t>{};
  RequestResult result = engine->generate(r);
  EXPECT_EQ(result.tokens, golden.greedy_continuation);
  EXPECT_GT(backend->steps, 1);
}

// Shared prefixes (the prefix cache hands the same blocks to several requests), prompts past the
// sliding window, sampling, a pool small enough to preempt: the same tokens as the CPU kernels.
TEST(ForwardBackend, ConcurrentRequestsMatchTheCpuEngine) {
  std::vector<Request> requests;
  const std::vector<int32_t> shared = prompt_of(40, 1);
  for (int i = 0; i < 5; ++i) {
    std::vector<int32_t> p = shared;
    for (int j = 0; j <= i * 7; ++j) p.push_back(static_cast<int32_t>(10 + (i * 13 + j * 5) % 400));
    requests.push_back(sampled(p, 20 + i, 100 + i));
  }
  requests.push_back(sampled(prompt_of(90, 7), 12, 7));
  EngineOptions o = testing::tiny_engine_options(4);
  o.kv_budget_bytes = 0;
  auto cpu = Engine::open(testing::tiny_a_dir(), o);
  const auto expected = run_all(*cpu, requests);
  auto backend = std::make_shared<TokenStoreBackend>(tiny_model());
  o.forward_backend = backend;
  auto engine = Engine::open(testing::tiny_a_dir(), o);
  EXPECT_EQ(run_all(*engine, requests), expected);
  EXPECT_GT(engine->stats().prefix_cache_hits, 0);
  // Again, now from the prefix cache.
  EXPECT_EQ(run_all(*engine, requests), expected);
}

// Prompt-lookup drafts: rejected drafts truncate sequences, which copies shared blocks.
TEST(ForwardBackend, DraftsMatchTheCpuEngine) {
  std::vector<int32_t> repeating = {2};
  for (int k = 0; k < 6; ++k)
    for (int i = 0; i < 9; ++i) repeating.push_back(static_cast<int32_t>(20 + i));
  std::vector<Request> requests = {sampled(repeating, 30, 3), sampled(repeating, 30, 4)};
  requests[1].sampling.temperature = 0.0f;
  EngineOptions o = testing::tiny_engine_options(2);
  o.draft_tokens = 4;
  auto cpu = Engine::open(testing::tiny_a_dir(), o);
  const auto expected = run_all(*cpu, requests);
  EXPECT_GT(cpu->stats().drafted_tokens, 0);
  auto backend = std::make_shared<TokenStoreBackend>(tiny_model());
  o.forward_backend = backend;
  auto engine = Engine::open(testing::tiny_a_dir(), o);
  EXPECT_EQ(run_all(*engine, requests), expected);
  EXPECT_EQ(engine->stats().drafted_tokens, cpu->stats().drafted_tokens);
}

TEST(ForwardBackend, AFailedStepFailsItsRequestsAndTheEngineGoesOn) {
  auto backend = std::make_shared<TokenStoreBackend>(tiny_model());
  EngineOptions o = testing::tiny_engine_options(2);
  o.forward_backend = backend;
  auto engine = Engine::open(testing::tiny_a_dir(), o);
  backend->fail = true;
  RequestResult failed = engine->generate(sampled(prompt_of(20, 2), 5, 1));
  ASSERT_TRUE(failed.error);
  EXPECT_EQ(failed.error->kind(), ErrorKind::ModelError);
  EXPECT_NE(std::string(failed.error->what()).find("failed on purpose"), std::string::npos);
  backend->fail = false;
  RequestResult ok = engine->generate(sampled(prompt_of(20, 2), 5, 1));
  EXPECT_FALSE(ok.error);
  EXPECT_EQ(ok.completion_tokens, 5);
}

TEST(ForwardBackend, AConfigOnlyModelHoldsNoWeightsAndRunsNoSession) {
  auto model = Model::load(testing::tiny_a_dir(), {.dtype = "f32", .config_only = true});
  EXPECT_FALSE(model->has_weights());
  EXPECT_EQ(model->weight_bytes(), 0u);
  EXPECT_GT(model->config().num_layers, 0);
  EXPECT_THROW(Session(model, {}), Error);
}

}  // namespace
}  // namespace gemma4
