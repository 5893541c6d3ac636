// Paged KV cache bookkeeping: block tables, sliding-window release, limits, truncation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gemma4/error.h"
#include "kv/kv_cache.h"

namespace gemma4 {
namespace {

ModelConfig small_config() {
  // 4 layers: sliding, sliding, full, full; the last one KV-shared (reads layer 2).
  nlohmann::json doc = {{"num_hidden_layers", 4}, {"hidden_size", 16}, {"num_attention_heads", 2},
                        {"num_key_value_heads", 1}, {"head_dim", 8}, {"global_head_dim", 16},
                        {"sliding_window", 6}, {"num_kv_shared_layers", 1},
                        {"layer_types", {"sliding_attention", "sliding_attention", "full_attention", "full_attention"}}};
  return parse_model_config(doc);
}

TEST(KvPool, SizesStoragePerLayerAndSkipsSharedLayers) {
  ModelConfig c = small_config();
  KvPoolOptions o{KvType::F16, 4, 10, 3};
  KvPool pool(c, o);
  // sliding layers 0,1: 3 blocks x 2 (K,V) x 4 slots x (1 head x 8 dims) x 2 bytes; full layer 2: 10 x 2 x 4 x 16 x 2.
  EXPECT_EQ(pool.bytes(), 2u * (3 * 2 * 4 * 8 * 2) + (10 * 2 * 4 * 16 * 2));
  EXPECT_EQ(pool.free_blocks(AttentionType::Full), 10);
  EXPECT_EQ(pool.free_blocks(AttentionType::Sliding), 3);
}

// --ctx 2000000000 once ended in std::bad_alloc: a pool larger than the machine is a clear error.
TEST(KvPool, RefusesAPoolLargerThanTheMachine) {
  ModelConfig c = small_config();
  // Full layer: 2^31 - 1 blocks x 2 x 16 slots x 16 dims x 4 bytes, about 4 TiB.
  KvPoolOptions o{KvType::F32, 16, INT32_MAX, 1};
  try {
    KvPool pool(c, o);
    FAIL() << "expected gemma4::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the KV cache would need"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("MiB of memory; use a smaller context size"), std::string::npos) << e.what();
  }
}

TEST(KvSequence, SlidingBlocksReturnToPoolOutsideTheWindow) {
  ModelConfig c = small_config();
  KvPool pool(c, {KvType::F32, 4, 100, 100});
  KvSequence seq(pool, 100, c.sliding_window);
  for (int step = 0; step < 40; ++step) {
    seq.reserve(1);
    seq.commit(1);
    // The next query at `length` needs keys from length - 5 on: at most 3 blocks of 4 stay live.
    int64_t live = 100 - pool.free_blocks(AttentionType::Sliding);
    EXPECT_LE(live, 3) << "after " << seq.length() << " positions";
    EXPECT_GE(seq.block(AttentionType::Sliding, seq.length() - 1), 0);
    if (seq.length() > 5) {
      EXPECT_GE(seq.block(AttentionType::Sliding, seq.length() - 5), 0);
    }
  }
  EXPECT_EQ(100 - pool.free_blocks(AttentionType::Full), 10);  // full layers keep everything
  EXPECT_EQ(seq.block(AttentionType::Sliding, 0), -1);
  EXPECT_GE(seq.block(AttentionType::Full, 0), 0);
}

TEST(KvSequence, ContextLimitAndPoolExhaustionAreClearErrors) {
  ModelConfig c = small_config();
  KvPool pool(c, {KvType::F32, 4, 3, 10});
  KvSequence seq(pool, 16, c.sliding_window);
  EXPECT_THROW(
      {
        try {
          seq.reserve(17);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("context length exceeded"), std::string::npos);
          throw;
        }
      },
      Error);
  EXPECT_THROW(
      {
        try {
          seq.reserve(13);  // needs 4 full blocks, the pool has 3
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("out of full-attention blocks"), std::string::npos);
          throw;
        }
      },
      Error);
  // A failed reservation leaves the pool untouched.
  EXPECT_EQ(pool.free_blocks(AttentionType::Full), 3);
  EXPECT_EQ(pool.free_blocks(AttentionType::Sliding), 10);
}

TEST(KvSequence, SharedPoolServesSeveralSequencesAndReclaimsOnDestruction) {
  ModelConfig c = small_config();
  KvPool pool(c, kv_pool_options_for(c, KvType::F32, 32, 8, 2, 4));
  {
    KvSequence a(pool, 32, c.sliding_window), b(pool, 32, c.sliding_window);
    a.reserve(32);
    a.commit(32);
    b.reserve(32);
    b.commit(32);
    EXPECT_EQ(pool.free_blocks(AttentionType::Full), 0);
  }
  EXPECT_EQ(pool.free_blocks(AttentionType::Full), pool.total_blocks(AttentionType::Full));
  EXPECT_EQ(pool.free_blocks(AttentionType::Sliding), pool.total_blocks(AttentionType::Sliding));
}

TEST(KvSequence, TruncateWithinWindowAndRefuseBeyond) {
  ModelConfig c = small_config();
  KvPool pool(c, {KvType::F32, 4, 100, 100});
  KvSequence seq(pool, 100, c.sliding_window);
  seq.reserve(30);
  seq.commit(30);
  // Blocks holding positions < 24 were released: resuming at 29 needs keys from 24 on (fine),
  // resuming at 28 would need key 23 (gone).
  EXPECT_TRUE(seq.truncate(29));
  EXPECT_EQ(seq.length(), 29);
  EXPECT_FALSE(seq.truncate(28));
  EXPECT_EQ(seq.length(), 29);
  EXPECT_TRUE(seq.truncate(0));
  EXPECT_EQ(pool.free_blocks(AttentionType::Full), 100);
  EXPECT_EQ(pool.free_blocks(AttentionType::Sliding), 100);
}

std::vector<int32_t> tokens_of(int n, int salt) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(3 + (i * 7 + salt) % 90);
  return t;
}

// Writes a recognisable key row for every position so tests can see which block holds what.
void fill(KvSequence& seq, std::span<const int32_t> toks) {
  seq.reserve(static_cast<int64_t>(toks.size()));
  seq.commit(toks);
}

TEST(PrefixCache, FullBlocksAreSharedByReferenceAndCachedWhenReleased) {
  ModelConfig c = small_config();
  KvPool pool(c, {KvType::F32, 4, 20, 20});
  auto toks = tokens_of(10, 1);  // blocks [0,4) [4,8) full, [8,10) partial
  {
    KvSequence a(pool, 100, c.sliding_window);
    fill(a, toks);
    KvSequence b(pool, 100, c.sliding_window);
    EXPECT_EQ(b.attach_cached_prefix(toks, 9), 8);  // whole blocks only
    EXPECT_EQ(b.block(AttentionType::Full, 0), a.block(AttentionType::Full, 0));
    EXPECT_EQ(b.block(AttentionType::Full, 7), a.block(AttentionType::Full, 7));
    EXPECT_EQ(pool.ref_count(AttentionType::Full, a.block(AttentionType::Full, 0)), 2);
    EXPECT_EQ(b.tokens(), std::vector<int32_t>(toks.begin(), toks.begin() + 8));
    // A different token inside the second block stops the match after the first.
    auto other = toks;
    other[5] = 99;
    KvSequence d(pool, 100, c.sliding_window);
    EXPECT_EQ(d.attach_cached_prefix(other, 10), 4);
  }
  // Everything released: the two registered full blocks stay cached, the partial one is free.
  EXPECT_EQ(pool.cached_blocks(AttentionType::Full), 2);
  EXPECT_EQ(pool.available_blocks(AttentionType::Full), 20);
  KvSequence e(pool, 100, c.sliding_window);
  EXPECT_EQ(e.attach_cached_prefix(toks, 100), 8);
  EXPECT_EQ(pool.cached_blocks(AttentionType::Full), 0);
}

TEST(PrefixCache, EvictsLeastRecentlyUsedOnlyWhenNoFreeBlockIsLeft) {
  ModelConfig c = small_config();
  KvPool pool(c, {KvType::F32, 4, 4, 8});
  auto first = tokens_of(8, 1), second = tokens_of(8, 2);
  {
    KvSequence a(pool, 100, c.sliding_window);
    fill(a, first);
  }
  {
    KvSequence b(pool, 100, c.sliding_window);
    fill(b, second);
  }
  EXPECT_EQ(pool.cached_blocks(AttentionType::Full), 4);
  // A new 8-position sequence needs two blocks: the oldest cached ones (first's) go.
  {
    KvSequence n(pool, 100, c.sliding_window);
    fill(n, tokens_of(8, 3));
  }
  KvSequence probe1(pool, 100, c.sliding_window), probe2(pool, 100, c.sliding_window);
  EXPECT_EQ(probe1.attach_cached_prefix(first, 8), 0);
  EXPECT_EQ(probe2.attach_cached_prefix(second, 8), 8);
}

TEST(PrefixCache, SlidingBlocksOutsideTheWindowStayReusable) {
  ModelConfig c = small_config();  // window 6
  KvPool pool(c, {KvType::F32, 4, 40, 40});
  auto toks = tokens_of(40, 4);
  KvSequence a(pool, 100, c.sliding_window);
  fill(a, toks);
  EXPECT_EQ(a.block(AttentionType::Sliding, 3), -1);  // released by a
  // truncate() takes released sliding blocks back from the cache (the chat roll-back case).
  EXPECT_TRUE(a.truncate(13));
  EXPECT_EQ(a.length(), 13);
  EXPECT_GE(a.block(AttentionType::Sliding, 8), 0);
  // Another sequence diverging at position 21 resumes at 20: it needs sliding keys from 15 on.
  auto diverged = toks;
  diverged[21] = 1;
  KvSequence b(pool, 100, c.sliding_window);
  // Blocks a dropped when it truncated stay cached too: b reuses five whole blocks (positions 0..19),
  // including sliding blocks 3 and 4 that a released long ago.
  EXPECT_EQ(b.attach_cached_prefix(std::span<const int32_t>(diverged).first(30), 29), 20);
  EXPECT_GE(b.block(AttentionType::Sliding, 15), 0);
  EXPECT_EQ(b.block(AttentionType::Sliding, 11), -1);  // outside the window of a query at 20
}

TEST(PrefixCache, TruncatingIntoASharedBlockCopiesItFirst) {
  ModelConfig c = small_config();
  KvPool pool(c, {KvType::F32, 4, 10, 10});
  auto toks = tokens_of(8, 5);
  KvSequence a(pool, 100, c.sliding_window);
  fill(a, toks);
  float* row = reinterpret_cast<float*>(pool.keys(2, a.block(AttentionType::Full, 5), 1));
  row[0] = 42.0f;
  KvSequence b(pool, 100, c.sliding_window);
  ASSERT_EQ(b.attach_cached_prefix(toks, 8), 8);
  const int32_t shared = b.block(AttentionType::Full, 4);
  ASSERT_TRUE(b.truncate(6));
  EXPECT_NE(b.block(AttentionType::Full, 4), shared);  // b writes into its own copy from slot 2 on
  EXPECT_EQ(reinterpret_cast<float*>(pool.keys(2, b.block(AttentionType::Full, 4), 1))[0], 42.0f);
  EXPECT_EQ(a.block(AttentionType::Full, 4), shared);
  EXPECT_EQ(pool.ref_count(AttentionType::Full, shared), 1);
}

}  // namespace
}  // namespace gemma4
