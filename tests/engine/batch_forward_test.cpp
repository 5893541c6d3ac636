// The batched forward pass: rows of several sequences in one call (mixed prefill chunks and
// decode tokens, different lengths, across the sliding window) give each sequence its golden
// logits, and a row's logits do not depend on what else is in the batch.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "kernels/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/weights.h"
#include "test_util.h"

namespace gemma4 {
namespace {

TEST(BatchForward, MixedBatchesReproduceEverySequencesGoldenLogits) {
  auto golden = testing::load_golden(testing::tiny_a_dir());
  auto weights = load_weights(testing::tiny_a_dir(), {});
  const ModelConfig& c = weights->config;
  const int64_t V = c.vocab_size;
  ThreadPool pool(2);
  const int n = static_cast<int>(golden.sequences.size());
  ASSERT_GE(n, 3);
  KvPool kv(c, kv_pool_options_for(c, KvType::F32, 256, 64, n));
  std::vector<std::unique_ptr<KvSequence>> seqs;
  for (int i = 0; i < n; ++i) seqs.push_back(std::make_unique<KvSequence>(kv, 256, c.sliding_window));
  // Each sequence advances with its own chunk pattern, so every step mixes prefill and decode rows.
  const std::vector<std::vector<int64_t>> patterns = {{5, 1, 1, 7}, {1}, {3, 11, 1, 2}};
  std::vector<size_t> step_of(n, 0);
  ForwardScratch scratch;
  std::vector<float> logits;
  double worst = 0;
  for (int step = 0; step < 200; ++step) {
    std::vector<ForwardSegment> segments;
    std::vector<int> which;
    for (int i = 0; i < n; ++i) {
      const auto& ids = golden.sequences[i].ids;
      const int64_t at = seqs[i]->length();
      if (at >= static_cast<int64_t>(ids.size())) continue;
      const auto& pat = patterns[i % patterns.size()];
      const int64_t take = std::min<int64_t>(pat[step_of[i]++ % pat.size()], static_cast<int64_t>(ids.size()) - at);
      segments.push_back({seqs[i].get(), std::span<const int32_t>(ids).subspan(at, take), take});
      which.push_back(i);
    }
    if (segments.empty()) break;
    std::vector<int64_t> starts;
    for (const auto& s : segments) starts.push_back(s.seq->length());
    forward_batch(*weights, segments, {}, logits, scratch, pool);
    int64_t row = 0;
    for (size_t s = 0; s < segments.size(); ++s) {
      const auto& g = golden.sequences[which[s]];
      for (int64_t t = 0; t < static_cast<int64_t>(segments[s].tokens.size()); ++t, ++row)
        for (int64_t v = 0; v < V; ++v)
          worst = std::max(worst, static_cast<double>(std::abs(logits[row * V + v] - g.logits[(starts[s] + t) * V + v])));
    }
  }
  for (int i = 0; i < n; ++i) EXPECT_EQ(seqs[i]->length(), static_cast<int64_t>(golden.sequences[i].ids.size()));
  EXPECT_LE(worst, 1e-3);
}

// Logits of one sequence fed with a fixed chunk schedule, alone or next to 7 other sequences doing
// random mixes of prefill and decode.
std::vector<float> logits_of_probe(const ModelWeights& w, const std::vector<int32_t>& probe, int companions,
                                   uint32_t seed) {
  const ModelConfig& c = w.config;
  ThreadPool pool(2);
  KvPool kv(c, kv_pool_options_for(c, KvType::F16, 512, 64, companions + 1));
  KvSequence target(kv, 512, c.sliding_window);
  std::vector<std::unique_ptr<KvSequence>> others;
  for (int i = 0; i < companions; ++i) others.push_back(std::make_unique<KvSequence>(kv, 512, c.sliding_window));
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> other_tokens(companions);
  ForwardScratch scratch;
  std::vector<float> out, logits;
  const std::vector<int64_t> schedule = {9, 1, 1, 4, 1, 1, 1, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  int64_t at = 0;
  for (int64_t take : schedule) {
    take = std::min<int64_t>(take, static_cast<int64_t>(probe.size()) - at);
    if (take <= 0) break;
    std::vector<ForwardSegment> segments;
    const size_t probe_slot = companions ? rng() % (companions + 1) : 0;
    for (int i = 0; i < companions; ++i) {
      auto& toks = other_tokens[i];
      toks.resize(1 + rng() % 12);
      for (auto& t : toks) t = static_cast<int32_t>(3 + rng() % 400);
      if (others[i]->length() + static_cast<int64_t>(toks.size()) > 500) others[i]->clear();
      segments.push_back({others[i].get(), toks, static_cast<int64_t>(rng() % (toks.size() + 1))});
    }
    segments.insert(segments.begin() + probe_slot, ForwardSegment{&target, std::span<const int32_t>(probe).subspan(at, take), take});
    forward_batch(w, segments, {}, logits, scratch, pool);
    int64_t row = 0;
    for (size_t s = 0; s < segments.size(); ++s) {
      if (s == probe_slot)
        out.insert(out.end(), logits.begin() + row * c.vocab_size, logits.begin() + (row + take) * c.vocab_size);
      row += segments[s].logits_count;
    }
    at += take;
  }
  return out;
}

class BatchInvariance : public ::testing::TestWithParam<const char*> {};

TEST_P(BatchInvariance, ARowsLogitsDoNotDependOnTheRestOfTheBatch) {
  WeightLoadOptions o;
  o.weight_type = *parse_weight_type(GetParam());
  auto weights = load_weights(testing::tiny_a_dir(), o);
  std::vector<int32_t> probe;
  for (int i = 0; i < 40; ++i) probe.push_back(static_cast<int32_t>(2 + (i * 37) % 500));
  std::vector<float> alone = logits_of_probe(*weights, probe, 0, 1);
  for (uint32_t seed : {7u, 8u}) {
    std::vector<float> crowded = logits_of_probe(*weights, probe, 7, seed);
    ASSERT_EQ(alone.size(), crowded.size());
    if (std::string(GetParam()) == "f32") {
      EXPECT_LE(testing::max_abs_diff(alone, crowded), 1e-5);
    } else {
      // Quantized weight types: bit-identical.
      EXPECT_EQ(std::memcmp(alone.data(), crowded.data(), alone.size() * sizeof(float)), 0)
          << "max |d| = " << testing::max_abs_diff(alone, crowded);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(WeightTypes, BatchInvariance, ::testing::Values("f32", "bf16", "q8_0", "q4_0"));

// Every logit of a 40-token prompt fed with the given chunk sizes (cycled).
std::vector<float> logits_with_chunks(const ModelWeights& w, const std::vector<int32_t>& prompt,
                                      const std::vector<int64_t>& chunks) {
  ThreadPool pool(2);
  KvPool kv(w.config, kv_pool_options_for(w.config, KvType::F16, 64, 64, 1));
  KvSequence seq(kv, 64, w.config.sliding_window);
  ForwardScratch scratch;
  std::vector<float> out, logits;
  for (size_t at = 0, i = 0; at < prompt.size(); ++i) {
    const int64_t take = std::min<int64_t>(chunks[i % chunks.size()], static_cast<int64_t>(prompt.size() - at));
    forward(w, seq, std::span<const int32_t>(prompt).subspan(at, take), take, {}, logits, scratch, pool);
    out.insert(out.end(), logits.begin(), logits.end());
    at += take;
  }
  return out;
}

// Attention groups the rows of a chunk into blocks that share each K/V read; a row's logits must
// not depend on which rows it was grouped with (nor on the chunking): bit for bit with quantized
// weights, on a model with one KV head (queries used in place) and one with two (gathered).
TEST(ChunkInvariance, ARowsLogitsDoNotDependOnHowThePromptWasChunked) {
  for (const auto& dir : {testing::tiny_a_dir(), testing::data_dir() / "fixtures" / "flat-gqa"}) {
    SCOPED_TRACE(dir.string());
    WeightLoadOptions o;
    o.weight_type = WeightType::Q8_0;
    auto weights = load_weights(dir, o);
    std::vector<int32_t> prompt;
    for (int i = 0; i < 40; ++i) prompt.push_back(static_cast<int32_t>(2 + (i * 37) % 200));
    const std::vector<float> whole = logits_with_chunks(*weights, prompt, {40});
    for (const std::vector<int64_t>& chunks : std::vector<std::vector<int64_t>>{{1}, {3, 5, 2}, {7}}) {
      const std::vector<float> chunked = logits_with_chunks(*weights, prompt, chunks);
      ASSERT_EQ(whole.size(), chunked.size());
      EXPECT_EQ(std::memcmp(whole.data(), chunked.data(), whole.size() * sizeof(float)), 0)
          << "chunk " << chunks[0] << ": max |d| = " << testing::max_abs_diff(whole, chunked);
    }
  }
}

}  // namespace
}  // namespace gemma4
