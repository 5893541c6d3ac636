#pragma once
// Paged KV cache (the design of vLLM's and MLC-LLM's paged caches): fixed-size blocks of
// `block_size` positions come from a pool, and each sequence maps its positions to blocks through
// a block table. Gemma 4 mixes two kinds of layers, so there are two block groups with their own
// tables: full-attention layers keep every position (up to the sequence's context limit), sliding
// layers keep only the window and hand blocks that fall out of it back to the pool. Only layers
// that compute K/V own storage; a KV-shared layer reads the storage of its source layer.
#include <cstdint>
#include <memory>
#include <vector>

#include "gemma4/config.h"
#include "kernels/kv_ops.h"

namespace gemma4 {

struct KvPoolOptions {
  KvType type = KvType::F32;
  int block_size = 16;
  int64_t full_blocks = 0;     // blocks for full-attention layers (shared by all sequences)
  int64_t sliding_blocks = 0;  // blocks for sliding-window layers
};

class KvPool {
 public:
  KvPool(const ModelConfig& config, const KvPoolOptions& options);

  int block_size() const { return block_size_; }
  KvType type() const { return type_; }
  int64_t free_blocks(AttentionType group) const { return free_[index(group)].size(); }
  int64_t total_blocks(AttentionType group) const { return total_[index(group)]; }
  size_t bytes() const { return bytes_; }

  // Row of [kv_heads × head_dim] keys (or values) of `layer` at (block, slot).
  uint8_t* keys(int layer, int32_t block, int slot) { return row(layer, block, slot, 0); }
  uint8_t* values(int layer, int32_t block, int slot) { return row(layer, block, slot, 1); }
  const uint8_t* keys(int layer, int32_t block, int slot) const { return const_cast<KvPool*>(this)->row(layer, block, slot, 0); }
  const uint8_t* values(int layer, int32_t block, int slot) const { return const_cast<KvPool*>(this)->row(layer, block, slot, 1); }

  // Throws gemma4::Error when the group has no free block.
  int32_t allocate(AttentionType group);
  void release(AttentionType group, int32_t block);

 private:
  static int index(AttentionType g) { return g == AttentionType::Full ? 1 : 0; }
  uint8_t* row(int layer, int32_t block, int slot, int kv);

  struct LayerStorage {
    std::unique_ptr<uint8_t[]> data;  // [blocks][2 (K, V)][block_size][row_bytes]
    size_t row_bytes = 0;
  };
  int block_size_;
  KvType type_;
  std::vector<LayerStorage> layers_;  // empty storage for KV-shared layers
  std::vector<int32_t> free_[2];
  int64_t total_[2] = {0, 0};
  size_t bytes_ = 0;
};

// One sequence's view of the pool: how many positions are cached and where they live.
class KvSequence {
 public:
  // `max_context`: the most positions this sequence may hold; `sliding_window` of the model.
  KvSequence(KvPool& pool, int64_t max_context, int64_t sliding_window);
  ~KvSequence();
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  int64_t length() const { return length_; }
  int64_t max_context() const { return max_context_; }
  KvPool& pool() { return pool_; }
  const KvPool& pool() const { return pool_; }

  // Allocates blocks for positions [length, length + n). Throws gemma4::Error when the context
  // limit or the pool would be exceeded (nothing is changed then).
  void reserve(int64_t n);
  // Marks positions [length, length + n) as written and frees sliding blocks no later query sees.
  void commit(int64_t n);
  // Forgets positions >= new_length. Returns false (and changes nothing) when sliding-window
  // blocks needed to continue from new_length were already released.
  bool truncate(int64_t new_length);
  void clear() { truncate(0); }

  // Block holding `position` for the group (-1 when released or never allocated).
  int32_t block(AttentionType group, int64_t position) const;
  // Oldest position sliding layers can still read.
  int64_t sliding_start() const { return sliding_released_blocks_ * pool_.block_size(); }

 private:
  void release_sliding_before(int64_t position);

  KvPool& pool_;
  int64_t max_context_;
  int64_t window_;
  int64_t length_ = 0;
  std::vector<int32_t> full_table_;
  std::vector<int32_t> sliding_table_;
  int64_t sliding_released_blocks_ = 0;  // leading sliding blocks already returned to the pool
};

// Pool sizes for `num_sequences` sequences of up to `max_context` positions each, processed in
// chunks of at most `max_chunk` tokens.
KvPoolOptions kv_pool_options_for(const ModelConfig& config, KvType type, int64_t max_context,
                                  int64_t max_chunk, int num_sequences = 1, int block_size = 16);

}  // namespace gemma4
