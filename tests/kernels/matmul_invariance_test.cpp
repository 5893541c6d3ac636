// Batch invariance of matmul: the serving engine batches unrelated sequences, so row t of
// y = matmul(W, x, n) must be bitwise the same whatever n is, wherever the row sits in the batch and
// however the rows of W are split over threads. Checked for every weight type on every kernel path
// (portable, AVX2, and AVX-512 VNNI where the CPU has it), bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/matmul.h"
#include "kernels/matmul_kernels.h"

namespace gemma4 {
namespace {

using testing::fnv1a;
using testing::integer_pattern;
using testing::random_floats;
using testing::ScopedKernelPath;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// One configuration of the SIMD paths: VNNI on or off (the latter is the AVX2 baseline).
struct PathChoice {
  KernelPath path;
  bool vnni;
  std::string name() const {
    if (path == KernelPath::Avx2 && vnni) return "avx512-vnni";
    return std::string(kernel_path_name(path));
  }
};

std::vector<PathChoice> available_paths() {
  std::vector<PathChoice> out{{KernelPath::Portable, false}};
  if (kernel_path_supported(KernelPath::Avx2)) {
    out.push_back({KernelPath::Avx2, false});
    if (vnni_supported()) out.push_back({KernelPath::Avx2, true});
  }
  for (KernelPath p : {KernelPath::Neon, KernelPath::Dotprod, KernelPath::I8mm, KernelPath::WasmSimd128})
    if (kernel_path_supported(p)) out.push_back({p, false});
  return out;
}

class ScopedVnni {
 public:
  explicit ScopedVnni(bool on) : previous_(set_vnni_enabled(on)) {}
  ~ScopedVnni() { set_vnni_enabled(previous_); }
  ScopedVnni(const ScopedVnni&) = delete;
  ScopedVnni& operator=(const ScopedVnni&) = delete;

 private:
  bool previous_;
};

class MatmulInvarianceTest : public ::testing::TestWithParam<WeightType> {};

// Every row of batches of n = 1..40 (and 64 + 7, past the token chunk) against the same activation
// row multiplied alone, with an odd row count and several thread counts.
TEST_P(MatmulInvarianceTest, EveryRowOfABatchEqualsTheRowAlone) {
  const WeightType type = GetParam();
  const int64_t rows = 45, cols = 160;  // 45: not a multiple of any row tile
  const int64_t max_n = 71;
  const auto src = random_floats(rows * cols, 5);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), rows, cols, type, true);
  const auto x = random_floats(max_n * cols, 6, -3.0f, 3.0f);
  for (const PathChoice& choice : available_paths()) {
    SCOPED_TRACE("path=" + choice.name());
    ScopedKernelPath scoped(choice.path);
    ScopedVnni vnni(choice.vnni);
    ThreadPool single(1);
    // Each row alone: the decode case.
    std::vector<float> alone(max_n * rows);
    for (int64_t t = 0; t < max_n; ++t) matmul(w, x.data() + t * cols, 1, alone.data() + t * rows, single);
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<int64_t> sizes;
      for (int64_t n = 2; n <= 40; ++n) sizes.push_back(n);
      sizes.push_back(max_n);
      for (int64_t n : sizes) {
        // The batch starts at a different activation row each time, so a row is checked at
        // several positions within its batch.
        const int64_t first = (n * 7 + threads) % (max_n - n + 1);
        std::vector<float> y(n * rows);
        matmul(w, x.data() + first * cols, n, y.data(), pool);
        for (int64_t t = 0; t < n; ++t)
          for (int64_t r = 0; r < rows; ++r)
            ASSERT_EQ(bits(y[t * rows + r]), bits(alone[(first + t) * rows + r]))
                << "threads=" << threads << " n=" << n << " token " << t << " (row " << first + t
                << ") output " << r;
      }
    }
  }
}

// Row sub-ranges (the engine splits the LM head and fused matrices this way) give the same bits
// as the whole matrix, whatever the range's alignment to the kernels' row tiles.
TEST_P(MatmulInvarianceTest, RowRangesEqualTheWholeMatrix) {
  const WeightType type = GetParam();
  const int64_t rows = 37, cols = 96, n = 9;
  const auto src = random_floats(rows * cols, 8);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), rows, cols, type, true);
  const auto x = random_floats(n * cols, 9, -2.0f, 2.0f);
  for (const PathChoice& choice : available_paths()) {
    SCOPED_TRACE("path=" + choice.name());
    ScopedKernelPath scoped(choice.path);
    ScopedVnni vnni(choice.vnni);
    ThreadPool pool(2);
    std::vector<float> whole(n * rows);
    matmul(w, x.data(), n, whole.data(), pool);
    for (int64_t begin : {0, 1, 3, 5, 30}) {
      for (int64_t end : {begin + 1, begin + 6, rows}) {
        if (end > rows) continue;
        std::vector<float> y(n * rows, 0.0f);
        matmul(w, x.data(), n, cols, y.data(), rows, pool, begin, end);
        for (int64_t t = 0; t < n; ++t)
          for (int64_t r = begin; r < end; ++r)
            ASSERT_EQ(bits(y[t * rows + r]), bits(whole[t * rows + r]))
                << "range [" << begin << ", " << end << ") token " << t << " output " << r;
      }
    }
  }
}

// Every path computes the arithmetic of quant_panels.h for the quantized types (exact integer block
// dots, then the same float steps), so portable, AVX2 and VNNI agree bit for bit; a process may
// pick any.
TEST_P(MatmulInvarianceTest, QuantizedPathsAgreeBitwise) {
  const WeightType type = GetParam();
  if (type != WeightType::Q8_0 && type != WeightType::Q4_0) GTEST_SKIP() << "float types: see matmul_test";
  const int64_t rows = 29, cols = 256;
  const auto src = random_floats(rows * cols, 10);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), rows, cols, type, true);
  ThreadPool pool(2);
  for (int64_t n : {1, 2, 3, 4, 5, 8, 11, 13, 33}) {
    const auto x = random_floats(n * cols, 11 + n, -4.0f, 4.0f);
    std::vector<float> reference(n * rows);
    {
      ScopedKernelPath scoped(KernelPath::Portable);
      matmul(w, x.data(), n, reference.data(), pool);
    }
    for (const PathChoice& choice : available_paths()) {
      SCOPED_TRACE("path=" + choice.name());
      ScopedKernelPath scoped(choice.path);
      ScopedVnni vnni(choice.vnni);
      std::vector<float> y(n * rows);
      matmul(w, x.data(), n, y.data(), pool);
      for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(bits(y[i]), bits(reference[i])) << "n=" << n << " index " << i;
    }
  }
}

// The quantized results are the same bits on every CPU architecture, not only on every path of
// one: the inputs below are built from integers (no library random numbers or libm), and the
// recorded hashes of the outputs were computed on x86-64 (AVX2, AVX-512 VNNI, portable) and are
// checked on AArch64 (NEON, dotprod, i8mm under qemu, portable) by the same test.
TEST(MatmulAcrossArchitectures, QuantizedResultsHaveTheRecordedBits) {
  const int64_t rows = 45, cols = 256, n = 7;
  const auto src = integer_pattern(rows * cols, 1, 1.0f / 1024);
  const auto x = integer_pattern(n * cols, 2, 1.0f / 256);
  const struct {
    WeightType type;
    uint64_t hash;
  } cases[] = {{WeightType::Q8_0, 0x0d5d76795de70cffull}, {WeightType::Q4_0, 0x7c93a0da8d8a7285ull}};
  ThreadPool pool(2);
  for (const auto& c : cases) {
    WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), rows, cols, c.type, true);
    for (const PathChoice& choice : available_paths()) {
      SCOPED_TRACE(std::string(weight_type_name(c.type)) + " path=" + choice.name());
      ScopedKernelPath scoped(choice.path);
      ScopedVnni vnni(choice.vnni);
      std::vector<float> y(n * rows);
      matmul(w, x.data(), n, y.data(), pool);
      EXPECT_EQ(fnv1a(y), c.hash) << std::hex << "0x" << fnv1a(y);
      EXPECT_NE(y[0], 0.0f);  // a real product, not an untouched output
    }
  }
}

const WeightType kAllTypes[] = {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::Q8_0,
                                WeightType::Q4_0};

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulInvarianceTest, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(weight_type_name(info.param)); });

}  // namespace
}  // namespace gemma4
