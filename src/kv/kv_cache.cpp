#include "kv/kv_cache.h"

#include <algorithm>

#include "gemma4/error.h"

namespace gemma4 {

KvPool::KvPool(const ModelConfig& config, const KvPoolOptions& options)
    : block_size_(options.block_size), type_(options.type) {
  if (block_size_ <= 0) throw Error("KV cache block size must be positive");
  total_[0] = options.sliding_blocks;
  total_[1] = options.full_blocks;
  layers_.resize(config.num_layers);
  for (int i = 0; i < config.num_layers; ++i) {
    const LayerSpec& l = config.layers[i];
    if (l.kv_shared) continue;
    LayerStorage& s = layers_[i];
    s.row_bytes = static_cast<size_t>(l.num_kv_heads * l.head_dim) * kv_type_size(type_);
    size_t blocks = static_cast<size_t>(total_[index(l.type)]);
    size_t n = blocks * 2 * block_size_ * s.row_bytes;
    // Left uninitialised on purpose: untouched pages of a large context cost no memory.
    s.data.reset(new uint8_t[std::max<size_t>(n, 1)]);
    bytes_ += n;
  }
  for (int g = 0; g < 2; ++g) {
    free_[g].reserve(total_[g]);
    for (int64_t b = total_[g] - 1; b >= 0; --b) free_[g].push_back(static_cast<int32_t>(b));
  }
}

uint8_t* KvPool::row(int layer, int32_t block, int slot, int kv) {
  LayerStorage& s = layers_[layer];
  size_t offset = ((static_cast<size_t>(block) * 2 + kv) * block_size_ + slot) * s.row_bytes;
  return s.data.get() + offset;
}

int32_t KvPool::allocate(AttentionType group) {
  auto& list = free_[index(group)];
  if (list.empty())
    throw Error(std::string("KV cache pool is out of ") +
                (group == AttentionType::Full ? "full-attention" : "sliding-window") + " blocks (" +
                std::to_string(total_[index(group)]) + " blocks of " + std::to_string(block_size_) +
                " positions); use a larger context size or fewer concurrent sequences");
  int32_t b = list.back();
  list.pop_back();
  return b;
}

void KvPool::release(AttentionType group, int32_t block) { free_[index(group)].push_back(block); }

KvSequence::KvSequence(KvPool& pool, int64_t max_context, int64_t sliding_window)
    : pool_(pool), max_context_(max_context), window_(sliding_window) {}

KvSequence::~KvSequence() { truncate(0); }

int32_t KvSequence::block(AttentionType group, int64_t position) const {
  const auto& table = group == AttentionType::Full ? full_table_ : sliding_table_;
  int64_t b = position / pool_.block_size();
  if (b < 0 || b >= static_cast<int64_t>(table.size())) return -1;
  return table[b];
}

void KvSequence::reserve(int64_t n) {
  int64_t end = length_ + n;
  if (end > max_context_)
    throw Error("context length exceeded: " + std::to_string(end) + " positions requested but the limit is " +
                std::to_string(max_context_) + " (raise it with --ctx)");
  int64_t bs = pool_.block_size();
  int64_t need_blocks = (end + bs - 1) / bs;
  // Allocate both groups, undoing everything on failure so the sequence stays consistent.
  size_t full_before = full_table_.size(), sliding_before = sliding_table_.size();
  try {
    if (pool_.total_blocks(AttentionType::Full) > 0)
      while (static_cast<int64_t>(full_table_.size()) < need_blocks)
        full_table_.push_back(pool_.allocate(AttentionType::Full));
    if (pool_.total_blocks(AttentionType::Sliding) > 0)
      while (static_cast<int64_t>(sliding_table_.size()) < need_blocks)
        sliding_table_.push_back(pool_.allocate(AttentionType::Sliding));
  } catch (...) {
    while (full_table_.size() > full_before) {
      pool_.release(AttentionType::Full, full_table_.back());
      full_table_.pop_back();
    }
    while (sliding_table_.size() > sliding_before) {
      pool_.release(AttentionType::Sliding, sliding_table_.back());
      sliding_table_.pop_back();
    }
    throw;
  }
}

void KvSequence::commit(int64_t n) {
  length_ += n;
  // The next query is at position length_ and sees keys from length_ - window + 1 on.
  release_sliding_before(length_ - window_ + 1);
}

void KvSequence::release_sliding_before(int64_t position) {
  int64_t bs = pool_.block_size();
  while ((sliding_released_blocks_ + 1) * bs <= position &&
         sliding_released_blocks_ < static_cast<int64_t>(sliding_table_.size())) {
    int32_t& b = sliding_table_[sliding_released_blocks_];
    if (b >= 0) pool_.release(AttentionType::Sliding, b);
    b = -1;
    ++sliding_released_blocks_;
  }
}

bool KvSequence::truncate(int64_t new_length) {
  new_length = std::max<int64_t>(0, std::min(new_length, length_));
  // Continuing at new_length needs sliding keys from new_length - window + 1 on.
  if (new_length > 0 && std::max<int64_t>(0, new_length - window_ + 1) < sliding_start()) return false;
  int64_t bs = pool_.block_size();
  int64_t keep_blocks = (new_length + bs - 1) / bs;
  while (static_cast<int64_t>(full_table_.size()) > keep_blocks) {
    pool_.release(AttentionType::Full, full_table_.back());
    full_table_.pop_back();
  }
  while (static_cast<int64_t>(sliding_table_.size()) > keep_blocks) {
    if (sliding_table_.back() >= 0) pool_.release(AttentionType::Sliding, sliding_table_.back());
    sliding_table_.pop_back();
  }
  if (new_length == 0) sliding_released_blocks_ = 0;
  sliding_released_blocks_ = std::min<int64_t>(sliding_released_blocks_, sliding_table_.size());
  length_ = new_length;
  return true;
}

KvPoolOptions kv_pool_options_for(const ModelConfig& config, KvType type, int64_t max_context,
                                  int64_t max_chunk, int num_sequences, int block_size) {
  KvPoolOptions o;
  o.type = type;
  o.block_size = block_size;
  bool any_full = false, any_sliding = false;
  for (const auto& l : config.layers) {
    if (l.kv_shared) continue;
    (l.type == AttentionType::Full ? any_full : any_sliding) = true;
  }
  int64_t full_per_seq = (max_context + block_size - 1) / block_size;
  int64_t span = std::min(max_context, config.sliding_window + max_chunk);
  int64_t sliding_per_seq = (span + block_size - 1) / block_size + 1;
  o.full_blocks = any_full ? full_per_seq * num_sequences : 0;
  o.sliding_blocks = any_sliding ? sliding_per_seq * num_sequences : 0;
  return o;
}

}  // namespace gemma4
