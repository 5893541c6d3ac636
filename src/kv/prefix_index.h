#pragma once
// The prefix cache's hash → block map: open addressing with linear probing in one array sized when
// the pool is made (twice the block count), so registering and evicting blocks while sequences
// decode never allocates. Erase shifts the following entries back, so there are no tombstones.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gemma4 {

class PrefixIndex {
 public:
  // Room for `max_entries` entries (a pool's block count).
  explicit PrefixIndex(int64_t max_entries = 0);

  // The block stored under `hash`, or -1.
  int32_t find(uint64_t hash) const;
  // Stores `block` under `hash` unless the hash is present already; returns whether it stored.
  bool insert(uint64_t hash, int32_t block);
  // Removes `hash` if it maps to `block`.
  void erase(uint64_t hash, int32_t block);
  int64_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    int32_t block = -1;  // -1: empty
  };
  size_t home(uint64_t hash) const { return static_cast<size_t>((hash ^ (hash >> 31)) & mask_); }
  // The slot holding `hash`, or the empty slot where it would go.
  size_t probe(uint64_t hash) const;

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int64_t size_ = 0;
};

}  // namespace gemma4
