#include "kv/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <string>

#include <unistd.h>

#include "gemma4/error.h"

namespace gemma4 {

namespace {

const char* group_name(AttentionType g) { return g == AttentionType::Full ? "full-attention" : "sliding-window"; }

uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Bytes the pool will reserve, in double so absurd sizes cannot overflow.
double pool_bytes(const ModelConfig& config, const KvPoolOptions& o) {
  double bytes = 0;
  for (const LayerSpec& l : config.layers) {
    if (l.kv_shared) continue;
    const double blocks = static_cast<double>(l.type == AttentionType::Full ? o.full_blocks : o.sliding_blocks);
    bytes += blocks * 2 * o.block_size * static_cast<double>(l.num_kv_heads * l.head_dim) * kv_type_size(o.type);
  }
  return bytes;
}

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
}

}  // namespace

uint64_t hash_block_tokens(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = mix64(parent ^ 0x9e3779b97f4a7c15ULL);
  for (int32_t t : tokens) h = mix64(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(t)) + 0x632be59bd9b4e019ULL));
  return h;
}

// ---- KvPool ------------------------------------------------------------------------------------

KvPool::KvPool(const ModelConfig& config, const KvPoolOptions& options)
    : block_size_(options.block_size), type_(options.type), prefix_cache_(options.prefix_cache),
      host_storage_(options.host_storage) {
  if (block_size_ <= 0) throw Error("KV cache block size must be positive");
  if (options.full_blocks < 0 || options.sliding_blocks < 0 || options.full_blocks > INT32_MAX ||
      options.sliding_blocks > INT32_MAX)
    throw Error("KV cache block counts must be between 0 and 2^31");
  // A pool larger than the machine's memory can only fail (std::bad_alloc) or thrash: say so.
  if (const double need = pool_bytes(config, options), have = physical_memory_bytes();
      host_storage_ && have > 0 && need > have)
    throw Error("the KV cache would need " + std::to_string(static_cast<int64_t>(need / (1 << 20))) +
                " MiB but this machine has " + std::to_string(static_cast<int64_t>(have / (1 << 20))) +
                " MiB of memory; use a smaller context size");
  total_[0] = options.sliding_blocks;
  total_[1] = options.full_blocks;
  layers_.resize(config.num_layers);
  layer_group_.resize(config.num_layers);
  for (int i = 0; i < config.num_layers; ++i) {
    const LayerSpec& l = config.layers[i];
    layer_group_[i] = l.type;
    if (l.kv_shared) continue;
    LayerStorage& s = layers_[i];
    s.row_bytes = static_cast<size_t>(l.num_kv_heads * l.head_dim) * kv_type_size(type_);
    block_bytes_[index(l.type)] += 2 * block_size_ * s.row_bytes;
    size_t blocks = static_cast<size_t>(total_[index(l.type)]);
    size_t n = blocks * 2 * block_size_ * s.row_bytes;
    if (!host_storage_) continue;
    // Left uninitialised on purpose: untouched pages of a large pool cost no memory.
    s.data.reset(new uint8_t[std::max<size_t>(n, 1)]);
    bytes_ += n;
  }
  for (int g = 0; g < 2; ++g) {
    free_[g].reserve(total_[g]);
    for (int64_t b = total_[g] - 1; b >= 0; --b) free_[g].push_back(static_cast<int32_t>(b));
    meta_[g].resize(total_[g]);
    if (prefix_cache_) {
      block_tokens_[g].assign(static_cast<size_t>(total_[g]) * block_size_, -1);
      index_[g] = PrefixIndex(total_[g]);
    }
  }
}

uint8_t* KvPool::row(int layer, int32_t block, int slot, int kv) {
  LayerStorage& s = layers_[layer];
  size_t offset = ((static_cast<size_t>(block) * 2 + kv) * block_size_ + slot) * s.row_bytes;
  return s.data.get() + offset;
}

int32_t KvPool::allocate(AttentionType group) {
  const int g = index(group);
  int32_t b;
  if (!free_[g].empty()) {
    b = free_[g].back();
    free_[g].pop_back();
  } else if (lru_[g].head >= 0) {
    b = lru_[g].head;
    evict(g, b);
  } else {
    throw Error(std::string("KV cache pool is out of ") + group_name(group) + " blocks (" +
                std::to_string(total_[g]) + " blocks of " + std::to_string(block_size_) +
                " positions); use a larger context size or fewer concurrent sequences");
  }
  meta_[g][b].refs = 1;
  return b;
}

void KvPool::evict(int g, int32_t block) {
  BlockMeta& m = meta_[g][block];
  lru_erase(g, block);
  index_[g].erase(m.hash, block);
  m.registered = false;
}

void KvPool::lru_push_back(int g, int32_t block) {
  BlockMeta& m = meta_[g][block];
  m.lru_prev = lru_[g].tail;
  m.lru_next = -1;
  if (lru_[g].tail >= 0) meta_[g][lru_[g].tail].lru_next = block;
  else lru_[g].head = block;
  lru_[g].tail = block;
  ++lru_[g].size;
}

void KvPool::lru_erase(int g, int32_t block) {
  BlockMeta& m = meta_[g][block];
  if (m.lru_prev >= 0) meta_[g][m.lru_prev].lru_next = m.lru_next;
  else lru_[g].head = m.lru_next;
  if (m.lru_next >= 0) meta_[g][m.lru_next].lru_prev = m.lru_prev;
  else lru_[g].tail = m.lru_prev;
  m.lru_prev = m.lru_next = -1;
  --lru_[g].size;
}

void KvPool::retain(AttentionType group, int32_t block) {
  const int g = index(group);
  BlockMeta& m = meta_[g][block];
  if (m.refs == 0) lru_erase(g, block);
  ++m.refs;
}

void KvPool::release(AttentionType group, int32_t block) {
  const int g = index(group);
  BlockMeta& m = meta_[g][block];
  if (m.refs <= 0) throw Error("KV cache: block released more often than it was taken");
  if (--m.refs > 0) return;
  if (m.registered) {
    lru_push_back(g, block);
  } else {
    free_[g].push_back(block);
  }
}

void KvPool::register_block(AttentionType group, int32_t block, uint64_t hash, uint64_t parent,
                            std::span<const int32_t> tokens) {
  if (!prefix_cache_) return;
  const int g = index(group);
  BlockMeta& m = meta_[g][block];
  if (m.registered) return;
  if (!index_[g].insert(hash, block)) return;  // another block already holds this prefix
  m.registered = true;
  m.hash = hash;
  m.parent = parent;
  std::copy(tokens.begin(), tokens.end(), block_tokens_[g].begin() + static_cast<size_t>(block) * block_size_);
}

int32_t KvPool::lookup(AttentionType group, uint64_t hash, uint64_t parent, std::span<const int32_t> tokens) const {
  if (!prefix_cache_) return -1;
  const int g = index(group);
  const int32_t block = index_[g].find(hash);
  if (block < 0) return -1;
  const BlockMeta& m = meta_[g][block];
  const int32_t* stored = block_tokens_[g].data() + static_cast<size_t>(block) * block_size_;
  if (m.parent != parent || !std::equal(tokens.begin(), tokens.end(), stored)) return -1;
  return block;
}

void KvPool::copy_slots(AttentionType group, int32_t src, int32_t dst, int slots) {
  if (!host_storage_) {
    pending_copies_.push_back({group, src, dst, slots});
    return;
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layer_group_[i] != group || !layers_[i].data || layers_[i].row_bytes == 0) continue;
    for (int kv = 0; kv < 2; ++kv)
      std::memcpy(row(static_cast<int>(i), dst, 0, kv), row(static_cast<int>(i), src, 0, kv),
                  static_cast<size_t>(slots) * layers_[i].row_bytes);
  }
}

// ---- KvSequence --------------------------------------------------------------------------------

KvSequence::KvSequence(KvPool& pool, int64_t max_context, int64_t sliding_window)
    : pool_(pool), max_context_(max_context), window_(sliding_window) {
  // Sized once, so committing tokens while decoding never reallocates.
  const int64_t blocks = max_context / pool.block_size() + 1;
  tokens_.reserve(static_cast<size_t>(max_context));
  hashes_.reserve(static_cast<size_t>(blocks));
  full_table_.reserve(static_cast<size_t>(blocks));
  sliding_table_.reserve(static_cast<size_t>(blocks));
}

KvSequence::~KvSequence() { clear(); }

int32_t KvSequence::block(AttentionType group, int64_t position) const {
  const auto& t = group == AttentionType::Full ? full_table_ : sliding_table_;
  int64_t b = position / pool_.block_size();
  if (position < 0 || b >= static_cast<int64_t>(t.size())) return -1;
  return t[b];
}

int64_t KvSequence::blocks_held(AttentionType group) const {
  const auto& t = group == AttentionType::Full ? full_table_ : sliding_table_;
  return std::count_if(t.begin(), t.end(), [](int32_t b) { return b >= 0; });
}

int64_t KvSequence::first_sliding_block_for(int64_t position) const {
  return std::max<int64_t>(0, position - window_ + 1) / pool_.block_size();
}

int64_t KvSequence::blocks_needed(AttentionType group, int64_t n) const {
  if (!pool_.has_group(group)) return 0;
  const int64_t bs = pool_.block_size();
  const int64_t want = (length_ + n + bs - 1) / bs;
  const auto& t = group == AttentionType::Full ? full_table_ : sliding_table_;
  return std::max<int64_t>(0, want - static_cast<int64_t>(t.size()));
}

void KvSequence::reserve(int64_t n) {
  const int64_t end = length_ + n;
  if (end > max_context_)
    throw Error("context length exceeded: " + std::to_string(end) + " positions requested but the limit is " +
                std::to_string(max_context_));
  const int64_t bs = pool_.block_size();
  const int64_t want = (end + bs - 1) / bs;
  for (AttentionType g : {AttentionType::Full, AttentionType::Sliding}) {
    if (blocks_needed(g, n) > pool_.available_blocks(g))
      throw Error(std::string("KV cache pool is out of ") + group_name(g) + " blocks (" +
                  std::to_string(pool_.total_blocks(g)) + " blocks of " + std::to_string(bs) +
                  " positions); use a larger context size or fewer concurrent sequences");
  }
  for (AttentionType g : {AttentionType::Full, AttentionType::Sliding}) {
    if (!pool_.has_group(g)) continue;
    auto& t = table(g);
    while (static_cast<int64_t>(t.size()) < want) t.push_back(pool_.allocate(g));
  }
}

void KvSequence::commit(std::span<const int32_t> tokens) {
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  length_ += static_cast<int64_t>(tokens.size());
  register_full_blocks();
  release_sliding_before(length_);
}

void KvSequence::commit(int64_t n) {
  std::vector<int32_t> unknown(static_cast<size_t>(std::max<int64_t>(0, n)), -1);
  commit(unknown);
}

void KvSequence::register_full_blocks() {
  const int64_t bs = pool_.block_size();
  while (static_cast<int64_t>(hashes_.size()) < length_ / bs) {
    const int64_t b = static_cast<int64_t>(hashes_.size());
    std::span<const int32_t> toks(tokens_.data() + b * bs, bs);
    if (std::find(toks.begin(), toks.end(), -1) != toks.end()) return;  // unknown tokens: not shareable
    const uint64_t parent = b > 0 ? hashes_[b - 1] : 0;
    const uint64_t h = hash_block_tokens(parent, toks);
    hashes_.push_back(h);
    if (b < static_cast<int64_t>(full_table_.size()) && full_table_[b] >= 0)
      pool_.register_block(AttentionType::Full, full_table_[b], h, parent, toks);
    if (b < static_cast<int64_t>(sliding_table_.size()) && sliding_table_[b] >= 0)
      pool_.register_block(AttentionType::Sliding, sliding_table_[b], h, parent, toks);
  }
}

void KvSequence::release_sliding_before(int64_t query_position) {
  const int64_t first = first_sliding_block_for(query_position);
  while (sliding_released_blocks_ < first && sliding_released_blocks_ < static_cast<int64_t>(sliding_table_.size())) {
    int32_t& b = sliding_table_[sliding_released_blocks_];
    if (b >= 0) pool_.release(AttentionType::Sliding, b);
    b = -1;
    ++sliding_released_blocks_;
  }
}

int64_t KvSequence::attach_cached_prefix(std::span<const int32_t> tokens, int64_t limit) {
  if (length_ != 0 || !full_table_.empty() || !sliding_table_.empty())
    throw Error("KV cache: a cached prefix can only be attached to an empty sequence");
  if (!pool_.prefix_cache()) return 0;
  const int64_t bs = pool_.block_size();
  const int64_t max_blocks = std::min({limit, static_cast<int64_t>(tokens.size()), max_context_}) / bs;
  const bool has_full = pool_.has_group(AttentionType::Full);
  const bool has_sliding = pool_.has_group(AttentionType::Sliding);
  std::vector<uint64_t> hashes;
  std::vector<int32_t> full, sliding;
  for (int64_t b = 0; b < max_blocks; ++b) {
    std::span<const int32_t> toks = tokens.subspan(b * bs, bs);
    const uint64_t parent = b > 0 ? hashes[b - 1] : 0;
    const uint64_t h = hash_block_tokens(parent, toks);
    const int32_t fb = has_full ? pool_.lookup(AttentionType::Full, h, parent, toks) : -1;
    if (has_full && fb < 0) break;
    hashes.push_back(h);
    full.push_back(fb);
    sliding.push_back(has_sliding ? pool_.lookup(AttentionType::Sliding, h, parent, toks) : -1);
  }
  // The longest k whose sliding blocks cover the window a query at position k * bs reads.
  int64_t k = static_cast<int64_t>(hashes.size());
  if (has_sliding) {
    for (; k > 0; --k) {
      bool ok = true;
      for (int64_t b = first_sliding_block_for(k * bs); b < k && ok; ++b) ok = sliding[b] >= 0;
      if (ok) break;
    }
  }
  if (k == 0) return 0;
  const int64_t first = has_sliding ? first_sliding_block_for(k * bs) : 0;
  for (int64_t b = 0; b < k; ++b) {
    if (has_full) {
      pool_.retain(AttentionType::Full, full[b]);
      full_table_.push_back(full[b]);
    }
    if (has_sliding) {
      int32_t sb = b >= first ? sliding[b] : -1;
      if (sb >= 0) pool_.retain(AttentionType::Sliding, sb);
      sliding_table_.push_back(sb);
    }
  }
  sliding_released_blocks_ = has_sliding ? first : 0;
  hashes_.assign(hashes.begin(), hashes.begin() + k);
  tokens_.assign(tokens.begin(), tokens.begin() + k * bs);
  length_ = k * bs;
  return length_;
}

bool KvSequence::truncate(int64_t new_length) {
  new_length = std::max<int64_t>(0, std::min(new_length, length_));
  if (new_length == length_) return true;
  if (new_length == 0) {
    clear();
    return true;
  }
  const int64_t bs = pool_.block_size();
  const int64_t keep_blocks = (new_length + bs - 1) / bs;
  // Sliding blocks a query at new_length reads that were released already: take them back from
  // the prefix cache, or give up without changing anything.
  std::vector<std::pair<int64_t, int32_t>> regained;
  if (pool_.has_group(AttentionType::Sliding)) {
    for (int64_t b = first_sliding_block_for(new_length); b < keep_blocks; ++b) {
      if (sliding_table_[b] >= 0) continue;
      int32_t found = -1;
      if (b < static_cast<int64_t>(hashes_.size())) {
        const uint64_t parent = b > 0 ? hashes_[b - 1] : 0;
        found = pool_.lookup(AttentionType::Sliding, hashes_[b], parent,
                             std::span<const int32_t>(tokens_.data() + b * bs, bs));
      }
      if (found < 0) {
        for (auto& [rb, blk] : regained) pool_.release(AttentionType::Sliding, blk);
        return false;
      }
      pool_.retain(AttentionType::Sliding, found);
      regained.emplace_back(b, found);
    }
  }
  for (auto& [b, blk] : regained) sliding_table_[b] = blk;
  for (AttentionType g : {AttentionType::Full, AttentionType::Sliding}) {
    auto& t = table(g);
    while (static_cast<int64_t>(t.size()) > keep_blocks) {
      if (t.back() >= 0) pool_.release(g, t.back());
      t.pop_back();
    }
    // The last kept block will be written again from slot new_length % bs on: never in place
    // when someone else may read it (shared or registered in the prefix cache).
    const int slots = static_cast<int>(new_length % bs);
    if (slots != 0 && !t.empty() && t.back() >= 0 && pool_.shared(g, t.back())) {
      const int32_t old = t.back();
      const int32_t fresh = pool_.allocate(g);
      pool_.copy_slots(g, old, fresh, slots);
      pool_.release(g, old);
      t.back() = fresh;
    }
  }
  if (pool_.has_group(AttentionType::Sliding))
    sliding_released_blocks_ = std::min<int64_t>(first_sliding_block_for(new_length), sliding_table_.size());
  hashes_.resize(std::min<int64_t>(static_cast<int64_t>(hashes_.size()), new_length / bs));
  tokens_.resize(new_length);
  length_ = new_length;
  return true;
}

void KvSequence::clear() {
  for (AttentionType g : {AttentionType::Full, AttentionType::Sliding}) {
    auto& t = table(g);
    for (int32_t b : t)
      if (b >= 0) pool_.release(g, b);
    t.clear();
  }
  sliding_released_blocks_ = 0;
  hashes_.clear();
  tokens_.clear();
  length_ = 0;
}

// ---- sizing ------------------------------------------------------------------------------------

int64_t sliding_blocks_per_sequence(const ModelConfig& config, int64_t max_context, int64_t max_chunk,
                                    int block_size) {
  int64_t span = std::min(max_context, config.sliding_window + max_chunk);
  return (span + block_size - 1) / block_size + 1;
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
  o.full_blocks = any_full ? full_per_seq * num_sequences : 0;
  o.sliding_blocks = any_sliding ? sliding_blocks_per_sequence(config, max_context, max_chunk, block_size) * num_sequences : 0;
  return o;
}

}  // namespace gemma4
