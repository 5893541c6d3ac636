// Layer-by-layer comparison with the reference hidden states: when logits drift, this names the
// first layer that went wrong.
#include <gtest/gtest.h>

#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/weights.h"
#include "test_util.h"

namespace gemma4 {
namespace {

void check_hidden_states(const std::filesystem::path& dir, const std::string& seq_name, int64_t chunk) {
  auto golden = testing::load_golden(dir);
  const testing::GoldenSequence* seq = nullptr;
  for (const auto& s : golden.sequences)
    if (s.name == seq_name) seq = &s;
  ASSERT_NE(seq, nullptr);
  ASSERT_FALSE(seq->hidden_file.empty());
  std::vector<float> expected = testing::read_f32_file(seq->hidden_file);

  auto weights = load_weights(dir, {});
  const ModelConfig& c = weights->config;
  const int64_t T = static_cast<int64_t>(seq->ids.size()), H = c.hidden_size;
  ASSERT_EQ(expected.size(), static_cast<size_t>((c.num_layers + 1) * T * H));

  ThreadPool pool(2);
  KvPool kv(c, kv_pool_options_for(c, KvType::F32, T, chunk));
  KvSequence sequence(kv, T, c.sliding_window);
  ForwardScratch scratch;
  std::vector<float> logits;
  std::vector<double> worst(c.num_layers + 1, 0.0);
  for (int64_t begin = 0; begin < T; begin += chunk) {
    int64_t n = std::min(chunk, T - begin);
    ForwardOptions opt;
    opt.skip_shared_layers_for_unneeded_rows = false;
    opt.hidden_probe = [&](int layer, const float* hidden, int64_t rows) {
      ASSERT_EQ(rows, n);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t d = 0; d < H; ++d) {
          double want = expected[((layer + 1) * T + begin + r) * H + d];
          worst[layer + 1] = std::max(worst[layer + 1], std::abs(want - hidden[r * H + d]));
        }
    };
    forward(*weights, sequence, std::span<const int32_t>(seq->ids).subspan(begin, n), 0, opt, logits, scratch, pool);
  }
  for (int l = 0; l <= c.num_layers; ++l)
    EXPECT_LE(worst[l], 1e-3) << (l == 0 ? std::string("embedding") : "layer " + std::to_string(l - 1))
                              << " (chunk " << chunk << ") is the first place to look";
}

TEST(HiddenStates, TinyAWindowPrefill) { check_hidden_states(testing::tiny_a_dir(), "window", 40); }
TEST(HiddenStates, TinyAWindowDecode) { check_hidden_states(testing::tiny_a_dir(), "window", 1); }
TEST(HiddenStates, FixturesLongSequence) {
  for (const char* name : {"flat-gqa", "kv-eq", "sharded"})
    check_hidden_states(testing::data_dir() / "fixtures" / name, "long", 7);
}

}  // namespace
}  // namespace gemma4
