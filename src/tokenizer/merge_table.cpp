// MergeTable: the open-addressing (left, right) -> (rank, merged id) map used by BPE.
#include <algorithm>

#include "tokenizer/tokenizer_data.h"

namespace gemma4 {

void MergeTable::reserve(size_t count) {
  size_t capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  slots_.assign(capacity, Entry{});
  mask_ = capacity - 1;
  count_ = 0;
}

void MergeTable::insert(int32_t left, int32_t right, int32_t rank, int32_t merged_id) {
  if (slots_.empty() || (count_ + 1) * 2 > slots_.size()) {
    std::vector<Entry> old = std::move(slots_);
    reserve(std::max<size_t>(count_ + 1, old.size()));
    for (const Entry& entry : old) {
      if (entry.key != kEmptyKey) {
        insert(static_cast<int32_t>(entry.key >> 32), static_cast<int32_t>(entry.key & 0xffffffffu), entry.rank,
               entry.merged_id);
      }
    }
  }
  const uint64_t key = make_key(left, right);
  for (size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
    Entry& entry = slots_[slot];
    if (entry.key == kEmptyKey) {
      entry = Entry{key, rank, merged_id};
      ++count_;
      return;
    }
    if (entry.key == key) {
      entry.rank = rank;
      entry.merged_id = merged_id;
      return;
    }
  }
}

}  // namespace gemma4
