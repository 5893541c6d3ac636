// The float32 path against logits computed by the reference (Hugging Face Gemma4ForCausalLM in
// float64): tiny-a from shared fixtures and the extra configurations under tests/data/fixtures.
#include <gtest/gtest.h>

#include "gemma4/model.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using testing::GoldenFixture;
using testing::load_golden;

constexpr double kTolerance = 1e-3;

std::vector<std::string> fixture_names() { return {"tiny-a", "flat-gqa", "kv-eq", "sharded"}; }

std::filesystem::path fixture_dir(const std::string& name) {
  return name == "tiny-a" ? testing::tiny_a_dir() : testing::data_dir() / "fixtures" / name;
}

struct ChunkCase {
  std::string fixture;
  int64_t chunk;  // 0: whole sequence at once
};

class GoldenLogits : public ::testing::TestWithParam<ChunkCase> {};

TEST_P(GoldenLogits, MatchesReferenceForEveryPosition) {
  const ChunkCase& p = GetParam();
  GoldenFixture golden = load_golden(fixture_dir(p.fixture));
  auto model = Model::load(golden.dir, {.dtype = "f32", .threads = 2});
  for (const auto& seq : golden.sequences) {
    int64_t T = static_cast<int64_t>(seq.ids.size());
    int64_t chunk = p.chunk == 0 ? T : p.chunk;
    Session session(model, {.max_context = T, .max_chunk = chunk});
    std::vector<float> logits;
    session.append_all_logits(seq.ids, chunk, logits);
    ASSERT_EQ(logits.size(), seq.logits.size()) << seq.name;
    double diff = testing::max_abs_diff(logits, seq.logits);
    EXPECT_LE(diff, kTolerance) << p.fixture << "/" << seq.name << " chunk " << chunk;
  }
}

std::vector<ChunkCase> chunk_cases() {
  std::vector<ChunkCase> cases;
  for (const auto& f : fixture_names())
    for (int64_t chunk : {1, 3, 7, 16, 0}) cases.push_back({f, chunk});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, GoldenLogits, ::testing::ValuesIn(chunk_cases()),
                         [](const auto& info) {
                           std::string name = info.param.fixture + "_chunk" + std::to_string(info.param.chunk);
                           for (char& ch : name)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

class GoldenGreedy : public ::testing::TestWithParam<std::string> {};

int32_t argmax(const std::vector<float>& v) {
  int32_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = static_cast<int32_t>(i);
  return best;
}

TEST_P(GoldenGreedy, ContinuationIsIdentical) {
  GoldenFixture golden = load_golden(fixture_dir(GetParam()));
  ASSERT_FALSE(golden.greedy_prompt.empty());
  auto model = Model::load(golden.dir, {.dtype = "f32", .threads = 2});
  Session session(model, {.max_context = 256});
  std::vector<float> logits;
  session.append(golden.greedy_prompt, &logits);
  std::vector<int32_t> produced;
  for (size_t i = 0; i < golden.greedy_continuation.size(); ++i) {
    int32_t next = argmax(logits);
    produced.push_back(next);
    session.append(std::span<const int32_t>(&next, 1), &logits);
  }
  EXPECT_EQ(produced, golden.greedy_continuation);
}

INSTANTIATE_TEST_SUITE_P(AllFixtures, GoldenGreedy, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

// Skipping the KV-shared layers for rows without wanted logits must not change the last row.
TEST(SharedLayerSkip, LastLogitsIdenticalWithAndWithoutSkip) {
  for (const auto& name : fixture_names()) {
    GoldenFixture golden = load_golden(fixture_dir(name));
    auto model = Model::load(golden.dir, {.dtype = "f32", .threads = 2});
    const auto& seq = golden.sequences.back();
    int64_t T = static_cast<int64_t>(seq.ids.size());
    std::vector<float> with_skip, without_skip;
    Session a(model, {.max_context = T, .max_chunk = T, .skip_shared_layers = true});
    a.append(seq.ids, &with_skip);
    Session b(model, {.max_context = T, .max_chunk = T, .skip_shared_layers = false});
    b.append(seq.ids, &without_skip);
    EXPECT_LE(testing::max_abs_diff(with_skip, without_skip), 1e-5) << name;
    std::vector<float> golden_last(seq.logits.end() - seq.vocab, seq.logits.end());
    EXPECT_LE(testing::max_abs_diff(with_skip, golden_last), kTolerance) << name;
  }
}

}  // namespace
}  // namespace gemma4
