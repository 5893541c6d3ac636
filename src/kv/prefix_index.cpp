#include "kv/prefix_index.h"

namespace gemma4 {

PrefixIndex::PrefixIndex(int64_t max_entries) {
  size_t capacity = 16;
  while (capacity < static_cast<size_t>(max_entries) * 2) capacity *= 2;
  slots_.resize(capacity);
  mask_ = capacity - 1;
}

size_t PrefixIndex::probe(uint64_t hash) const {
  size_t i = home(hash);
  while (slots_[i].block >= 0 && slots_[i].hash != hash) i = (i + 1) & mask_;
  return i;
}

int32_t PrefixIndex::find(uint64_t hash) const { return slots_[probe(hash)].block; }

bool PrefixIndex::insert(uint64_t hash, int32_t block) {
  const size_t i = probe(hash);
  if (slots_[i].block >= 0) return false;
  slots_[i] = {hash, block};
  ++size_;
  return true;
}

void PrefixIndex::erase(uint64_t hash, int32_t block) {
  size_t hole = probe(hash);
  if (slots_[hole].block != block) return;
  // Backward-shift deletion: move later entries of the run into the hole when their home slot
  // does not lie (cyclically) between the hole and where they are.
  for (size_t j = (hole + 1) & mask_; slots_[j].block >= 0; j = (j + 1) & mask_) {
    const size_t k = home(slots_[j].hash);
    const bool k_between = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
    if (!k_between) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  --size_;
}

}  // namespace gemma4
