// matmul: every weight type on both kernel paths against a double-precision reference, with odd
// shapes (rows not a multiple of the 4-row tile, token counts around the tile and chunk sizes),
// strides, row sub-ranges and thread counts.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gemma4/error.h"
#include "kernel_test_util.h"
#include "kernels/numeric.h"
#include "kernels/quant.h"

namespace gemma4 {
namespace {

using testing::random_floats;
using testing::ScopedKernelPath;

constexpr float kUntouched = 12345.0f;

struct Shape {
  int64_t rows, cols, n;
};

std::string describe(WeightType t, const Shape& s) {
  return std::string(weight_type_name(t)) + " rows=" + std::to_string(s.rows) +
         " cols=" + std::to_string(s.cols) + " n=" + std::to_string(s.n);
}

// What the kernels must compute: for float types the exact products of the (decoded) weights with
// x; for quantized types the products with x quantized exactly as the kernels quantize it.
// Also returns Σ|terms| per output, the scale that float rounding errors are relative to.
void reference(const WeightMatrix& w, const std::vector<float>& x, int64_t n, int64_t x_stride,
               std::vector<double>& y, std::vector<double>& magnitude) {
  y.assign(n * w.rows, 0.0);
  magnitude.assign(n * w.rows, 0.0);
  std::vector<float> row(w.cols);
  std::vector<float> xs(n * w.cols);
  if (w.type == WeightType::Q8_0 || w.type == WeightType::Q4_0) {
    QuantizedActivations xq;
    quantize_activations_portable(x.data(), n, x_stride, w.cols, 0, xq);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < w.cols; ++c)
        xs[t * w.cols + c] = xq.row_scales(t)[c / 32] * static_cast<float>(xq.row_quants(t)[c]);
  } else {
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < w.cols; ++c) xs[t * w.cols + c] = x[t * x_stride + c];
  }
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w, r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double acc = 0.0, mag = 0.0;
      for (int64_t c = 0; c < w.cols; ++c) {
        double term = static_cast<double>(row[c]) * xs[t * w.cols + c];
        acc += term;
        mag += std::fabs(term);
      }
      y[t * w.rows + r] = acc;
      magnitude[t * w.rows + r] = mag;
    }
  }
}

void check_matmul(WeightType type, const Shape& s, KernelPath path, int threads, int64_t row_begin = 0,
                  int64_t row_end = -1) {
  SCOPED_TRACE(describe(type, s) + " path=" + std::string(kernel_path_name(path)) +
               " threads=" + std::to_string(threads));
  ScopedKernelPath scoped(path);
  const auto src = random_floats(s.rows * s.cols, 7 + s.rows * 31 + s.cols);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), s.rows, s.cols, type, true);
  const int64_t x_stride = s.cols + 5;  // not a multiple of 8: unaligned rows
  const int64_t y_stride = s.rows + 3;
  const auto x = random_floats(s.n * x_stride, 99 + s.n, -2.0f, 2.0f);
  std::vector<float> y(s.n * y_stride, kUntouched);
  ThreadPool pool(threads);
  matmul(w, x.data(), s.n, x_stride, y.data(), y_stride, pool, row_begin, row_end);

  std::vector<double> ref, magnitude;
  reference(w, x, s.n, x_stride, ref, magnitude);
  const int64_t end = row_end < 0 ? s.rows : row_end;
  for (int64_t t = 0; t < s.n; ++t) {
    for (int64_t r = 0; r < s.rows; ++r) {
      const float got = y[t * y_stride + r];
      if (r < row_begin || r >= end) {
        ASSERT_EQ(got, kUntouched) << "row " << r << " outside the range was written";
        continue;
      }
      // Float32 accumulation of cols terms: error well below 1e-5 of Σ|terms| for these sizes
      // (a few ulp growing with sqrt(cols)); both paths use the same (quantized) operands.
      const double tol = 1e-5 * magnitude[t * s.rows + r] + 1e-30;
      ASSERT_NEAR(got, ref[t * s.rows + r], tol) << "token " << t << " row " << r;
    }
    for (int64_t r = s.rows; r < y_stride; ++r) ASSERT_EQ(y[t * y_stride + r], kUntouched);
  }
}

const WeightType kAllTypes[] = {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::Q8_0,
                                WeightType::Q4_0};

class MatmulTest : public ::testing::TestWithParam<WeightType> {};

TEST_P(MatmulTest, PortablePathMatchesReference) {
  for (int64_t n : {1, 3, 17, 64})
    for (int64_t cols : {96, 160}) check_matmul(GetParam(), {37, cols, n}, KernelPath::Portable, 2);
}

TEST_P(MatmulTest, SimdPathsMatchReference) {
  for (KernelPath path : testing::simd_kernel_paths())
    for (int64_t n : {1, 2, 3, 4, 5, 17, 64, 70})
      for (int64_t cols : {32, 96, 160}) check_matmul(GetParam(), {37, cols, n}, path, 2);
}

TEST_P(MatmulTest, SimdPathsAgreeWithPortable) {
  for (KernelPath path : testing::simd_kernel_paths()) {
  SCOPED_TRACE(std::string(kernel_path_name(path)));
  const Shape s{29, 256, 5};
  const auto src = random_floats(s.rows * s.cols, 3);
  const auto x = random_floats(s.n * s.cols, 4, -3.0f, 3.0f);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), s.rows, s.cols, GetParam(), true);
  ThreadPool pool(1);
  std::vector<float> y_portable(s.n * s.rows), y_avx2(s.n * s.rows);
  {
    ScopedKernelPath p(KernelPath::Portable);
    matmul(w, x.data(), s.n, y_portable.data(), pool);
  }
  {
    ScopedKernelPath p(path);
    matmul(w, x.data(), s.n, y_avx2.data(), pool);
  }
  for (size_t i = 0; i < y_avx2.size(); ++i) {
    // Same operands, different summation order: relative 1e-5 of the result scale (Σ|y| / count
    // is ~ sqrt(cols) times a term, larger than the rounding of a 256-term sum).
    ASSERT_NEAR(y_avx2[i], y_portable[i], 1e-5 * (std::fabs(y_portable[i]) + 1.0f)) << i;
  }
  }
}

TEST_P(MatmulTest, RowSubRangesOnly) {
  for (KernelPath path : kAllKernelPaths) {
    if (!kernel_path_supported(path)) continue;
    check_matmul(GetParam(), {37, 64, 3}, path, 3, 5, 22);
    check_matmul(GetParam(), {37, 64, 1}, path, 2, 36, 37);
    check_matmul(GetParam(), {37, 64, 2}, path, 1, 0, 4);
  }
}

TEST_P(MatmulTest, ThreadCountsGiveSameResult) {
  for (KernelPath path : kAllKernelPaths) {
    if (!kernel_path_supported(path)) continue;
    ScopedKernelPath scoped(path);
    const Shape s{301, 128, 3};
    const auto src = random_floats(s.rows * s.cols, 11);
    const auto x = random_floats(s.n * s.cols, 12);
    WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), s.rows, s.cols, GetParam(), true);
    std::vector<float> first;
    for (int threads : {1, 2, 5}) {
      ThreadPool pool(threads);
      std::vector<float> y(s.n * s.rows);
      matmul(w, x.data(), s.n, y.data(), pool);
      if (first.empty()) {
        first = y;
      } else {
        // Each output is computed by one thread with a fixed order: results are bit-identical.
        ASSERT_EQ(y, first) << "threads=" << threads;
      }
    }
  }
}

// Rows computed together: the y_i of separate matmul() calls, bit for bit, and every row handed to
// the epilogue exactly once, after its rows of every matrix were written.
TEST_P(MatmulTest, RowsTogetherEqualSeparateMatmulsAndCoverEveryRowOnce) {
  for (KernelPath path : kAllKernelPaths) {
    if (!kernel_path_supported(path)) continue;
    ScopedKernelPath scoped(path);
    for (int threads : {1, 3}) {
      for (int64_t n : {1, 5}) {
        const Shape s{301, 96, n};
        const auto a = random_floats(s.rows * s.cols, 31), b = random_floats(s.rows * s.cols, 32);
        const auto x = random_floats(s.n * s.cols, 33);
        WeightMatrix wa = make_weight_matrix(SourceType::F32, a.data(), s.rows, s.cols, GetParam(), true);
        WeightMatrix wb = make_weight_matrix(SourceType::F32, b.data(), s.rows, s.cols, GetParam(), true);
        ThreadPool pool(threads);
        std::vector<float> ya(s.n * s.rows), yb(s.n * s.rows), want_a(s.n * s.rows), want_b(s.n * s.rows);
        matmul(wa, x.data(), s.n, want_a.data(), pool);
        matmul(wb, x.data(), s.n, want_b.data(), pool);
        std::vector<int> seen(s.rows, 0);
        std::vector<float> sums(s.n * s.rows);
        const MatmulTarget targets[] = {{&wa, ya.data()}, {&wb, yb.data()}};
        matmul_rows_together(targets, x.data(), s.n, pool, [&](int64_t begin, int64_t end) {
          for (int64_t r = begin; r < end; ++r) {
            ++seen[r];
            for (int64_t t = 0; t < s.n; ++t) sums[t * s.rows + r] = ya[t * s.rows + r] + yb[t * s.rows + r];
          }
        });
        ASSERT_EQ(ya, want_a) << "threads " << threads << " n " << n;
        ASSERT_EQ(yb, want_b) << "threads " << threads << " n " << n;
        for (int64_t r = 0; r < s.rows; ++r) {
          ASSERT_EQ(seen[r], 1) << "row " << r;
          for (int64_t t = 0; t < s.n; ++t) ASSERT_EQ(sums[t * s.rows + r], want_a[t * s.rows + r] + want_b[t * s.rows + r]);
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatmulTest, ::testing::ValuesIn(kAllTypes),
                         [](const auto& info) { return std::string(weight_type_name(info.param)); });

TEST(MatmulFloatTest, ColumnsNotAMultipleOfTheVectorWidth) {
  for (WeightType t : {WeightType::F32, WeightType::BF16, WeightType::F16}) {
    for (KernelPath path : kAllKernelPaths) {
      if (!kernel_path_supported(path)) continue;
      check_matmul(t, {13, 45, 4}, path, 2);
      check_matmul(t, {6, 7, 1}, path, 1);
    }
  }
}

TEST(MatmulFloatTest, BF16AndF16SourcesStayInTheirTypeWithoutCopy) {
  std::vector<uint16_t> bf16(64), f16(64);
  for (int i = 0; i < 64; ++i) {
    bf16[i] = f32_to_bf16(0.25f * (i - 32));
    f16[i] = f32_to_f16(0.25f * (i - 32));
  }
  WeightMatrix wb = make_weight_matrix(SourceType::BF16, bf16.data(), 2, 32, WeightType::BF16);
  WeightMatrix wh = make_weight_matrix(SourceType::F16, f16.data(), 2, 32, WeightType::F16);
  EXPECT_EQ(wb.data, bf16.data());
  EXPECT_EQ(wh.data, f16.data());
  std::vector<float> x(32, 1.0f), yb(2), yh(2);
  ThreadPool pool(1);
  matmul(wb, x.data(), 1, yb.data(), pool);
  matmul(wh, x.data(), 1, yh.data(), pool);
  // Row 0 holds -8 .. -0.25, row 1 holds 0 .. 7.75 (exact in both formats).
  EXPECT_FLOAT_EQ(yb[0], -132.0f);
  EXPECT_FLOAT_EQ(yb[1], 124.0f);
  EXPECT_FLOAT_EQ(yh[0], -132.0f);
  EXPECT_FLOAT_EQ(yh[1], 124.0f);
}

TEST(MatmulErrorTest, RowsTogetherRejectsMatricesOfDifferentShapes) {
  const auto a = random_floats(16 * 64, 1), b = random_floats(32 * 64, 2);
  WeightMatrix wa = make_weight_matrix(SourceType::F32, a.data(), 16, 64, WeightType::Q8_0, true);
  WeightMatrix wb = make_weight_matrix(SourceType::F32, b.data(), 32, 64, WeightType::Q8_0, true);
  std::vector<float> x(64, 1.0f), ya(16), yb(32);
  ThreadPool pool(1);
  const MatmulTarget targets[] = {{&wa, ya.data()}, {&wb, yb.data()}};
  EXPECT_THROW(matmul_rows_together(targets, x.data(), 1, pool, [](int64_t, int64_t) {}), Error);
}

TEST(MatmulErrorTest, RowRangeOutsideTheMatrixIsRejected) {
  const auto src = random_floats(8 * 32, 1);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), 8, 32, WeightType::F32);
  std::vector<float> x(32), y(16);
  ThreadPool pool(1);
  EXPECT_THROW(matmul(w, x.data(), 1, 32, y.data(), 8, pool, 0, 9), Error);
  EXPECT_THROW(matmul(w, x.data(), 1, 32, y.data(), 8, pool, -1, 4), Error);
  EXPECT_THROW(matmul(w, x.data(), 1, 32, y.data(), 8, pool, 5, 4), Error);
  EXPECT_NO_THROW(matmul(w, x.data(), 1, 32, y.data(), 8, pool, 4, 4));
}

}  // namespace
}  // namespace gemma4
