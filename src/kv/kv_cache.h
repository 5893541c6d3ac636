#pragma once
// Paged KV cache (the design of vLLM's and MLC-LLM's paged caches): fixed-size blocks of
// `block_size` positions come from one engine-wide pool, and each sequence maps its positions to
// blocks through a block table. Gemma 4 mixes two kinds of layers, so there are two block groups
// with their own tables: full-attention layers keep every position (up to the sequence's context
// limit), sliding layers keep only the window. Only layers that compute K/V own storage; a
// KV-shared layer reads the storage of its source layer.
//
// Automatic prefix caching (after vLLM): a block whose positions are all written is registered
// under a hash chain of the tokens up to and including it. Blocks are reference counted; a block
// nobody references but that holds a registered prefix is not freed but kept as "cached" and
// evicted least-recently-used only when a free block is needed. A new sequence first attaches the
// cached blocks of the longest prefix it shares with earlier ones. Sliding blocks that fall out
// of a live sequence's window go to the cache too, so a later request that diverges early (a chat
// turn after stripped reasoning) still finds them.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "gemma4/config.h"
#include "gemma4/forward_backend.h"
#include "kernels/kv_ops.h"
#include "kv/prefix_index.h"

namespace gemma4 {

struct KvPoolOptions {
  KvType type = KvType::F32;
  int block_size = 16;
  int64_t full_blocks = 0;     // blocks for full-attention layers (shared by all sequences)
  int64_t sliding_blocks = 0;  // blocks for sliding-window layers
  bool prefix_cache = true;    // register full blocks for reuse across sequences
  // Keep the K/V rows here. Off for a ForwardBackend, which holds the rows of the same blocks
  // itself: the pool then only keeps the books, and copies wait in take_copies().
  bool host_storage = true;
};

class KvPool {
 public:
  KvPool(const ModelConfig& config, const KvPoolOptions& options);

  int block_size() const { return block_size_; }
  KvType type() const { return type_; }
  bool prefix_cache() const { return prefix_cache_; }
  bool has_group(AttentionType g) const { return total_[index(g)] > 0; }
  // Blocks on the free list (never used or fully released, no cached content).
  int64_t free_blocks(AttentionType group) const { return static_cast<int64_t>(free_[index(group)].size()); }
  // Blocks that hold a cached prefix and nobody references (evictable).
  int64_t cached_blocks(AttentionType group) const { return lru_[index(group)].size; }
  // Blocks an allocation can get: free plus evictable cached ones.
  int64_t available_blocks(AttentionType group) const { return free_blocks(group) + cached_blocks(group); }
  int64_t total_blocks(AttentionType group) const { return total_[index(group)]; }
  size_t bytes() const { return bytes_; }
  // Bytes one block of the group occupies across all layers that own storage.
  size_t block_bytes(AttentionType group) const { return block_bytes_[index(group)]; }

  // Row of [kv_heads × head_dim] keys (or values) of `layer` at (block, slot).
  uint8_t* keys(int layer, int32_t block, int slot) { return row(layer, block, slot, 0); }
  uint8_t* values(int layer, int32_t block, int slot) { return row(layer, block, slot, 1); }
  const uint8_t* keys(int layer, int32_t block, int slot) const { return const_cast<KvPool*>(this)->row(layer, block, slot, 0); }
  const uint8_t* values(int layer, int32_t block, int slot) const { return const_cast<KvPool*>(this)->row(layer, block, slot, 1); }

  // A block with reference count 1: a free one, else the least recently used cached one
  // (evicted). Throws gemma4::Error when the group has neither.
  int32_t allocate(AttentionType group);
  // Adds a reference (a cached block stops being evictable).
  void retain(AttentionType group, int32_t block);
  // Drops a reference; at zero the block becomes cached (if registered) or free.
  void release(AttentionType group, int32_t block);
  int32_t ref_count(AttentionType group, int32_t block) const { return meta_[index(group)][block].refs; }
  // Someone else may read the block: another reference or a registered prefix.
  bool shared(AttentionType group, int32_t block) const {
    const BlockMeta& m = meta_[index(group)][block];
    return m.refs > 1 || m.registered;
  }

  // Prefix cache. `hash` identifies the tokens of a block and of everything before it; `tokens`
  // (block_size of them) and `parent` are kept to rule out hash collisions.
  void register_block(AttentionType group, int32_t block, uint64_t hash, uint64_t parent,
                      std::span<const int32_t> tokens);
  // The block registered under that prefix, or -1.
  int32_t lookup(AttentionType group, uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) const;
  // Copies slots [0, slots) of every layer from block `src` to block `dst` (copy-on-write).
  // Without host storage the copy is queued for the backend instead.
  void copy_slots(AttentionType group, int32_t src, int32_t dst, int slots);
  bool host_storage() const { return host_storage_; }
  // The queued copies, oldest first (the backend runs them before its next step).
  std::vector<KvBlockCopy> take_copies() { return std::move(pending_copies_); }

 private:
  static int index(AttentionType g) { return g == AttentionType::Full ? 1 : 0; }
  uint8_t* row(int layer, int32_t block, int slot, int kv);
  void evict(int g, int32_t block);

  struct LayerStorage {
    std::unique_ptr<uint8_t[]> data;  // [blocks][2 (K, V)][block_size][row_bytes]
    size_t row_bytes = 0;
  };
  struct BlockMeta {
    int32_t refs = 0;
    bool registered = false;
    uint64_t hash = 0, parent = 0;
    int32_t lru_prev = -1, lru_next = -1;  // neighbours in the LRU list while cached
  };
  // Cached blocks, least recently used first: a list threaded through BlockMeta, so caching and
  // evicting blocks never allocates.
  struct LruList {
    int32_t head = -1, tail = -1;
    int64_t size = 0;
  };
  void lru_push_back(int g, int32_t block);
  void lru_erase(int g, int32_t block);
  int block_size_;
  KvType type_;
  bool prefix_cache_;
  bool host_storage_;
  std::vector<KvBlockCopy> pending_copies_;
  std::vector<LayerStorage> layers_;  // empty storage for KV-shared layers
  std::vector<AttentionType> layer_group_;
  std::vector<int32_t> free_[2];
  LruList lru_[2];
  std::vector<BlockMeta> meta_[2];
  std::vector<int32_t> block_tokens_[2];  // [blocks][block_size] tokens of registered blocks
  PrefixIndex index_[2];  // prefix hash -> block
  int64_t total_[2] = {0, 0};
  size_t bytes_ = 0;
  size_t block_bytes_[2] = {0, 0};
};

// Hash of a block's tokens chained to the hash of everything before it.
uint64_t hash_block_tokens(uint64_t parent, std::span<const int32_t> tokens);

// One sequence's view of the pool: the tokens it holds and where their K/V live.
class KvSequence {
 public:
  // `max_context`: the most positions this sequence may hold; `sliding_window` of the model.
  KvSequence(KvPool& pool, int64_t max_context, int64_t sliding_window);
  ~KvSequence();
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  int64_t length() const { return length_; }
  int64_t max_context() const { return max_context_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }  // -1 where unknown
  KvPool& pool() { return pool_; }
  const KvPool& pool() const { return pool_; }

  // Attaches cached blocks for the longest prefix of `tokens` found in the pool's prefix cache,
  // at most `limit` positions and whole blocks only. The sequence must be empty. Returns the
  // positions reused.
  int64_t attach_cached_prefix(std::span<const int32_t> tokens, int64_t limit);

  // Blocks per group that reserve(n) would newly take from the pool.
  int64_t blocks_needed(AttentionType group, int64_t n) const;
  // Allocates blocks for positions [length, length + n). Throws gemma4::Error when the context
  // limit or the pool would be exceeded (nothing is changed then).
  void reserve(int64_t n);
  // Marks the next positions as written with these tokens (registering blocks that became full)
  // and releases sliding blocks no later query sees. commit(n) is the same with unknown tokens
  // (such blocks are never shared).
  void commit(std::span<const int32_t> tokens);
  void commit(int64_t n);
  // Forgets positions >= new_length. Sliding blocks needed to continue there that were already
  // released are taken back from the prefix cache; returns false (changing nothing) when one of
  // them is gone.
  bool truncate(int64_t new_length);
  // Releases every block.
  void clear();

  // Block holding `position` for the group (-1 when released or never allocated).
  int32_t block(AttentionType group, int64_t position) const;
  // Oldest position sliding layers can still read.
  int64_t sliding_start() const { return sliding_released_blocks_ * pool_.block_size(); }
  int64_t blocks_held(AttentionType group) const;

 private:
  // First sliding block a query at `position` reads.
  int64_t first_sliding_block_for(int64_t position) const;
  void release_sliding_before(int64_t position);
  void register_full_blocks();
  std::vector<int32_t>& table(AttentionType g) { return g == AttentionType::Full ? full_table_ : sliding_table_; }

  KvPool& pool_;
  int64_t max_context_;
  int64_t window_;
  int64_t length_ = 0;
  std::vector<int32_t> tokens_;
  std::vector<uint64_t> hashes_;  // prefix hash of each complete block with known tokens
  std::vector<int32_t> full_table_;
  std::vector<int32_t> sliding_table_;
  int64_t sliding_released_blocks_ = 0;  // leading sliding blocks no longer held
};

// Pool sizes for `num_sequences` sequences of up to `max_context` positions each, processed in
// chunks of at most `max_chunk` tokens.
KvPoolOptions kv_pool_options_for(const ModelConfig& config, KvType type, int64_t max_context,
                                  int64_t max_chunk, int num_sequences = 1, int block_size = 16);

// Sliding blocks one sequence holds at most: the window plus a chunk, rounded up, plus one.
int64_t sliding_blocks_per_sequence(const ModelConfig& config, int64_t max_context, int64_t max_chunk,
                                    int block_size);

}  // namespace gemma4
