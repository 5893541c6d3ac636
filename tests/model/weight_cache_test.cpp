// The converted-weight cache: written on the first load, mapped on the next, rebuilt when stale,
// truncated or foreign, and never changing a logit.
#include <gtest/gtest.h>

#include <fstream>

#include "gemma4/model.h"
#include "model/weight_cache.h"
#include "test_util.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class WeightCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(testing::tiny_a_dir(), model.path(), fs::copy_options::recursive);
  }
  std::shared_ptr<Model> load(const std::string& dtype, bool use_cache = true) {
    return Model::load(model.path(), {.dtype = dtype, .threads = 2, .weight_cache = use_cache,
                                      .weight_cache_dir = cache.path()});
  }
  WeightCache::State state(WeightType type) { return WeightCache(model.path(), type, cache.path()).state(); }
  fs::path cache_file(WeightType type) { return WeightCache(model.path(), type, cache.path()).file(); }
  static std::vector<float> logits(const std::shared_ptr<Model>& m) {
    const testing::GoldenFixture golden = testing::load_golden(testing::tiny_a_dir());
    Session session(m, {.max_context = 256, .kv_type = "f32"});
    std::vector<float> out;
    session.append_all_logits(golden.sequences[0].ids, 7, out);
    return out;
  }

  TempDir model, cache;
};

TEST_F(WeightCacheTest, FirstLoadWritesSecondLoadMapsWithEqualLogits) {
  for (const char* dtype : {"q4_0", "q8_0"}) {
    SCOPED_TRACE(dtype);
    const WeightType type = *parse_weight_type(dtype);
    EXPECT_EQ(state(type), WeightCache::State::Missing);
    const std::vector<float> uncached = logits(load(dtype, /*use_cache=*/false));
    EXPECT_EQ(state(type), WeightCache::State::Missing);  // --no-weight-cache writes nothing
    const std::vector<float> first = logits(load(dtype));
    EXPECT_EQ(state(type), WeightCache::State::Hit);
    const auto mtime = fs::last_write_time(cache_file(type));
    auto second_model = load(dtype);
    EXPECT_EQ(fs::last_write_time(cache_file(type)), mtime);  // reused, not rewritten
    EXPECT_EQ(second_model->weight_bytes(), load(dtype, false)->weight_bytes());
    const std::vector<float> second = logits(second_model);
    EXPECT_EQ(first, uncached);
    EXPECT_EQ(second, uncached);
  }
}

TEST_F(WeightCacheTest, FloatTypesAreNotCached) {
  load("f16");
  load("f32");
  EXPECT_EQ(state(WeightType::F16), WeightCache::State::Missing);
  EXPECT_EQ(state(WeightType::F32), WeightCache::State::Missing);
}

TEST_F(WeightCacheTest, ChangedCheckpointMakesTheCacheStale) {
  const std::vector<float> before = logits(load("q8_0"));
  ASSERT_EQ(state(WeightType::Q8_0), WeightCache::State::Hit);
  const fs::path weights = model.path() / "model.safetensors";
  fs::last_write_time(weights, fs::last_write_time(weights) + std::chrono::seconds(5));
  EXPECT_EQ(state(WeightType::Q8_0), WeightCache::State::Stale);
  EXPECT_EQ(logits(load("q8_0")), before);
  EXPECT_EQ(state(WeightType::Q8_0), WeightCache::State::Hit);  // rebuilt
}

TEST_F(WeightCacheTest, TruncatedOrForeignFilesAreRebuilt) {
  const std::vector<float> reference = logits(load("q4_0", false));
  load("q4_0");
  const fs::path file = cache_file(WeightType::Q4_0);
  const auto size = fs::file_size(file);

  fs::resize_file(file, size - 100);
  EXPECT_EQ(state(WeightType::Q4_0), WeightCache::State::Invalid);
  EXPECT_EQ(logits(load("q4_0")), reference);
  EXPECT_EQ(fs::file_size(file), size);

  std::ofstream(file, std::ios::binary | std::ios::trunc) << std::string(5000, 'x');
  EXPECT_EQ(state(WeightType::Q4_0), WeightCache::State::Invalid);
  EXPECT_EQ(logits(load("q4_0")), reference);

  {  // a flipped byte in the index (at the end of the file) is caught by its checksum
    std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) - 20));
    f.put('#');
  }
  EXPECT_EQ(state(WeightType::Q4_0), WeightCache::State::Invalid);

  load("q8_0");  // another type's valid file under this name: its key differs
  fs::copy_file(cache_file(WeightType::Q8_0), file, fs::copy_options::overwrite_existing);
  EXPECT_EQ(state(WeightType::Q4_0), WeightCache::State::Stale);
  EXPECT_EQ(logits(load("q4_0")), reference);
  EXPECT_EQ(state(WeightType::Q4_0), WeightCache::State::Hit);
}

TEST_F(WeightCacheTest, UnwritableCacheDirectoryStillLoads) {
  const fs::path blocked = cache.path() / "file-not-dir";
  std::ofstream(blocked) << "x";
  auto m = Model::load(model.path(), {.dtype = "q8_0", .threads = 1, .weight_cache_dir = blocked});
  EXPECT_EQ(m->config().hidden_size, 64);
}

}  // namespace
}  // namespace gemma4
