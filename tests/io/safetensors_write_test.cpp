// Writer tests: what write_safetensors produces must read back bit-exactly through the reader,
// alone and as shards of an indexed checkpoint.
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gemma4/error.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace gemma4::io {
namespace {

using ::testing::HasSubstr;
using gemma4::testing::TempDir;

// Distinct, position-dependent bytes for tensor `index` at byte `offset`.
uint8_t pattern(size_t index, size_t offset) { return static_cast<uint8_t>(index * 131 + offset * 7 + (offset >> 8)); }

void fill_pattern(size_t index, uint8_t* out, size_t nbytes) {
  for (size_t i = 0; i < nbytes; ++i) out[i] = pattern(index, i);
}

void expect_pattern(const TensorView& t, size_t index) {
  for (size_t i = 0; i < t.nbytes; ++i) {
    ASSERT_EQ(t.data[i], pattern(index, i)) << t.name << " byte " << i;
  }
}

std::vector<TensorSpec> float_specs() {
  return {
      {"f32.matrix", DType::F32, {3, 5}},     {"f16.vector", DType::F16, {7}},
      {"bf16.cube", DType::BF16, {2, 3, 4}},  {"f64.scalar", DType::F64, {}},
      {"f8e4m3.row", DType::F8_E4M3, {1, 9}}, {"f8e5m2.empty", DType::F8_E5M2, {0, 4}},
      {"bf16.big", DType::BF16, {300, 17}},
  };
}

TEST(SafetensorsWrite, RoundTripAllFloatDTypes) {
  TempDir tmp;
  const auto path = tmp.path() / "model.safetensors";
  const auto specs = float_specs();
  std::vector<size_t> fill_sizes;
  write_safetensors(
      path, specs,
      [&](size_t index, uint8_t* out, size_t nbytes) {
        fill_sizes.push_back(nbytes);
        fill_pattern(index, out, nbytes);
      },
      {{"format", "pt"}, {"note", "round trip"}});
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "model.safetensors.tmp"));

  // fill is called once per non-empty tensor with exactly its size.
  std::vector<size_t> expected_sizes;
  for (const TensorSpec& spec : specs) {
    if (tensor_nbytes(spec) > 0) expected_sizes.push_back(tensor_nbytes(spec));
  }
  EXPECT_EQ(fill_sizes, expected_sizes);

  const auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->metadata().at("note"), "round trip");
  const Checkpoint ckpt = Checkpoint::open(tmp.path());
  ASSERT_EQ(ckpt.names().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE(specs[i].name);
    const TensorView& t = ckpt.get(specs[i].name);
    EXPECT_EQ(t.dtype, specs[i].dtype);
    EXPECT_EQ(t.shape, specs[i].shape);
    EXPECT_EQ(t.nbytes, tensor_nbytes(specs[i]));
    expect_pattern(t, i);
  }
  // The data buffer starts 8-byte aligned, so the first tensor is aligned in the mapping.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ckpt.get("f32.matrix").data) % 8, 0u);
}

TEST(SafetensorsWrite, ChunkedMatchesWhole) {
  TempDir tmp;
  const auto specs = float_specs();
  write_safetensors(tmp.path() / "whole.safetensors", specs, fill_pattern);
  std::vector<std::pair<size_t, size_t>> chunks;  // (offset, len) of tensor 6
  write_safetensors_chunked(
      tmp.path() / "chunked.safetensors", specs,
      [&](size_t index, size_t offset, uint8_t* out, size_t len) {
        if (index == 6) chunks.emplace_back(offset, len);
        for (size_t i = 0; i < len; ++i) out[i] = pattern(index, offset + i);
      },
      {}, 1000);  // rounded up to 1000 (already a multiple of 8)
  std::ifstream a(tmp.path() / "whole.safetensors", std::ios::binary);
  std::ifstream b(tmp.path() / "chunked.safetensors", std::ios::binary);
  const std::string bytes_a((std::istreambuf_iterator<char>(a)), {});
  const std::string bytes_b((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(bytes_a, bytes_b);
  // 300 x 17 bf16 = 10200 bytes: ten full chunks and one of 200.
  ASSERT_EQ(chunks.size(), 11u);
  EXPECT_EQ(chunks[0], (std::pair<size_t, size_t>{0, 1000}));
  EXPECT_EQ(chunks[10], (std::pair<size_t, size_t>{10000, 200}));
}

TEST(SafetensorsWrite, ShardedCheckpointWithIndex) {
  TempDir tmp;
  const std::vector<TensorSpec> first = {{"model.a.weight", DType::BF16, {4, 4}}, {"model.b.weight", DType::F32, {3}}};
  const std::vector<TensorSpec> second = {{"model.c.weight", DType::F16, {2, 8}}, {"model.extra", DType::F32, {1}}};
  write_safetensors(tmp.path() / "model-00001-of-00002.safetensors", first, fill_pattern);
  write_safetensors(tmp.path() / "model-00002-of-00002.safetensors", second,
                    [](size_t i, uint8_t* out, size_t n) { fill_pattern(i + 10, out, n); });
  std::ofstream(tmp.path() / "model.safetensors.index.json") << R"({
    "metadata": {"total_size": 76},
    "weight_map": {
      "model.a.weight": "model-00001-of-00002.safetensors",
      "model.b.weight": "model-00001-of-00002.safetensors",
      "model.c.weight": "model-00002-of-00002.safetensors"
    }})";
  // A stray single-file checkpoint must be ignored in favour of the index.
  write_safetensors(tmp.path() / "model.safetensors", {{"stray", DType::F32, {1}}}, fill_pattern);

  const Checkpoint ckpt = Checkpoint::open(tmp.path());
  EXPECT_EQ(ckpt.find("stray"), nullptr);
  // Tensors present in a shard but absent from the map are still available.
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"model.a.weight", "model.b.weight", "model.c.weight", "model.extra"}));
  EXPECT_EQ(ckpt.get("model.c.weight").file, tmp.path() / "model-00002-of-00002.safetensors");
  EXPECT_EQ(ckpt.get("model.c.weight").shape, (std::vector<int64_t>{2, 8}));
  expect_pattern(ckpt.get("model.a.weight"), 0);
  expect_pattern(ckpt.get("model.b.weight"), 1);
  expect_pattern(ckpt.get("model.c.weight"), 10);
  ckpt.release(ckpt.get("model.c.weight"));
  expect_pattern(ckpt.get("model.c.weight"), 10);
}

TEST(SafetensorsWrite, RejectsBadSpecsAndCleansUp) {
  TempDir tmp;
  const auto path = tmp.path() / "x.safetensors";
  EXPECT_THROW(write_safetensors(path, {{"a", DType::F32, {1}}, {"a", DType::F32, {1}}}, fill_pattern), Error);
  EXPECT_THROW(write_safetensors(path, {{"n", DType::F32, {-2}}}, fill_pattern), Error);
  EXPECT_THROW(write_safetensors(path, {{"__metadata__", DType::F32, {1}}}, fill_pattern), Error);

  try {
    write_safetensors(tmp.path() / "no_such_dir" / "x.safetensors", {{"a", DType::F32, {1}}}, fill_pattern);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("no_such_dir"));
  }

  // A fill that throws leaves neither the final file nor the temporary one behind.
  EXPECT_THROW(write_safetensors(path, {{"a", DType::F32, {1}}},
                                 [](size_t, uint8_t*, size_t) { throw std::runtime_error("boom"); }),
               std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "x.safetensors.tmp"));
}

TEST(SafetensorsWrite, EmptyCheckpointIsValid) {
  TempDir tmp;
  write_safetensors(tmp.path() / "model.safetensors", {}, fill_pattern);
  const Checkpoint ckpt = Checkpoint::open(tmp.path());
  EXPECT_TRUE(ckpt.names().empty());
}

}  // namespace
}  // namespace gemma4::io
