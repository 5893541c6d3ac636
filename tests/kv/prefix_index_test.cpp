// The prefix cache's allocation-free hash index behaves like a map under any mix of inserts and
// erases, including long probe runs that wrap around the table (backward-shift deletion).
#include "kv/prefix_index.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace gemma4 {
namespace {

TEST(PrefixIndex, AgreesWithAMapUnderRandomInsertsAndErases) {
  for (int64_t capacity : {1, 8, 100}) {
    PrefixIndex index(capacity);
    std::unordered_map<uint64_t, int32_t> reference;
    std::mt19937_64 rng(static_cast<uint64_t>(capacity));
    // Few distinct hash values (some sharing home slots) so runs form, wrap and get shifted.
    auto random_hash = [&] { return (rng() % (3 * static_cast<uint64_t>(capacity) + 5)) << 33; };
    for (int step = 0; step < 20000; ++step) {
      const uint64_t h = random_hash();
      if (rng() % 2 == 0 && static_cast<int64_t>(reference.size()) < capacity) {
        const int32_t block = static_cast<int32_t>(rng() % 1000);
        const bool stored = index.insert(h, block);
        ASSERT_EQ(stored, reference.count(h) == 0) << "step " << step;
        if (stored) reference[h] = block;
      } else if (auto it = reference.find(h); it != reference.end()) {
        index.erase(h, it->second + 1);  // a different block under that hash: kept
        ASSERT_EQ(index.find(h), it->second);
        index.erase(h, it->second);
        reference.erase(it);
      }
      ASSERT_EQ(index.size(), static_cast<int64_t>(reference.size()));
      for (const auto& [hash, block] : reference) ASSERT_EQ(index.find(hash), block) << "step " << step;
      ASSERT_EQ(index.find(random_hash() | 1), -1);
    }
  }
}

}  // namespace
}  // namespace gemma4
