// Block quantization: round-trip error bounds per weight type, activation quantization identical
// on both kernel paths, exact integer block dots, parallel conversion identical to serial.
#include "kernels/quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "gemma4/error.h"
#include "kernel_test_util.h"
#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"
#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"

namespace gemma4 {
namespace {

using testing::random_floats;

float block_amax(const float* x) {
  float m = 0.0f;
  for (int i = 0; i < 32; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// Round trip through a weight type; every element must be within `step_fraction` quantization
// steps (step = amax / levels) of the original, plus the f16 rounding of the scale (2^-11 relative,
// which moves the largest value by up to levels·2^-11 steps).
void check_round_trip(WeightType type, float levels, float step_fraction) {
  const int64_t rows = 5, cols = 256;
  auto src = random_floats(rows * cols, 21, -3.0f, 3.0f);
  src[7] = 0.0f;
  std::fill(src.begin() + 32, src.begin() + 64, 0.0f);  // an all-zero block
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), rows, cols, type);
  std::vector<float> out(cols);
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(w, r, out.data());
    for (int64_t b = 0; b < cols / 32; ++b) {
      const float* xb = src.data() + r * cols + b * 32;
      const float step = block_amax(xb) / levels;
      const float tol = step * step_fraction + block_amax(xb) * 1e-3f + 1e-30f;
      for (int i = 0; i < 32; ++i) {
        ASSERT_NEAR(out[b * 32 + i], xb[i], tol) << weight_type_name(type) << " row " << r << " col " << b * 32 + i;
      }
    }
  }
}

TEST(QuantRoundTrip, Q8_0WithinHalfAStep) { check_round_trip(WeightType::Q8_0, 127.0f, 0.5f); }

// Q4_0 maps the largest magnitude to -8, so the step is amax/8; the levels span [-8, 7], so values
// near the opposite extreme are clipped to 7 steps: up to one step of error there, half elsewhere.
TEST(QuantRoundTrip, Q4_0WithinOneStep) { check_round_trip(WeightType::Q4_0, 8.0f, 1.0f); }

TEST(QuantRoundTrip, FloatTypesWithinTheirPrecision) {
  const auto src = random_floats(3 * 40, 5, -100.0f, 100.0f);
  for (auto [type, rel] : {std::pair{WeightType::F32, 0.0f}, std::pair{WeightType::BF16, 1.0f / 256},
                           std::pair{WeightType::F16, 1.0f / 2048}}) {
    WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), 3, 40, type, true);
    std::vector<float> out(40);
    for (int r = 0; r < 3; ++r) {
      dequantize_row(w, r, out.data());
      for (int c = 0; c < 40; ++c) ASSERT_NEAR(out[c], src[r * 40 + c], std::fabs(src[r * 40 + c]) * rel);
    }
  }
}

TEST(QuantRoundTrip, ExtremeValueMapsExactlyForQ4_0) {
  std::vector<float> x(32, 0.5f);
  x[3] = -4.0f;  // largest magnitude -> q = 0 (i.e. -8 · d with d = 0.5)
  BlockQ4_0 block;
  quantize_row_q4_0(x.data(), 32, &block);
  std::vector<float> out(32);
  dequantize_row_q4_0(&block, 32, out.data());
  EXPECT_EQ(out[3], -4.0f);
  EXPECT_EQ(out[0], 0.5f);
}

TEST(QuantFormats, RowBytesAndBitsPerWeight) {
  EXPECT_EQ(row_bytes(WeightType::Q8_0, 1536), 48u * 34u);
  EXPECT_EQ(row_bytes(WeightType::Q4_0, 1536), 48u * 18u);
  EXPECT_LE(row_bytes(WeightType::Q4_0, 1536) * 8.0 / 1536, 4.5);
  EXPECT_EQ(row_bytes(WeightType::BF16, 7), 14u);
}

TEST(QuantFormats, ColumnsMustBeAMultipleOfTheBlock) {
  std::vector<float> src(3 * 48);
  EXPECT_THROW(make_weight_matrix(SourceType::F32, src.data(), 3, 48, WeightType::Q8_0), Error);
  EXPECT_THROW(make_weight_matrix(SourceType::F32, src.data(), 3, 48, WeightType::Q4_0), Error);
  EXPECT_NO_THROW(make_weight_matrix(SourceType::F32, src.data(), 3, 48, WeightType::F16));
}

TEST(QuantFormats, DequantizeRowOutOfRangeIsRejected) {
  std::vector<float> src(2 * 32), out(32);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), 2, 32, WeightType::Q8_0);
  EXPECT_THROW(dequantize_row(w, 2, out.data()), Error);
  EXPECT_THROW(dequantize_row(w, -1, out.data()), Error);
}

TEST(QuantBlocks, IntegerDotsAreExact) {
  const auto w = random_floats(64, 8, -1.0f, 1.0f);
  const auto a = random_floats(64, 9, -1.0f, 1.0f);
  BlockQ8_0 q8[2];
  BlockQ4_0 q4[2];
  quantize_row_q8_0(w.data(), 64, q8);
  quantize_row_q4_0(w.data(), 64, q4);
  QuantizedActivations xq;
  quantize_activations_portable(a.data(), 1, 64, 64, 0, xq);
  for (int b = 0; b < 2; ++b) {
    int32_t expect8 = 0, expect4 = 0;
    for (int i = 0; i < 32; ++i) {
      const int8_t ai = xq.quants[b * 32 + i];
      expect8 += q8[b].q[i] * ai;
      const int nib = i < 16 ? (q4[b].q[i] & 15) : (q4[b].q[i - 16] >> 4);
      expect4 += (nib - 8) * ai;
    }
    EXPECT_EQ(dot_block_q8_0(q8[b], xq.quants.data() + b * 32), expect8);
    EXPECT_EQ(dot_block_q4_0(q4[b], xq.quants.data() + b * 32), expect4);
  }
}

TEST(ActivationQuantization, BothPathsAreBitIdentical) {
  GEMMA4_REQUIRE_AVX2();
  const int64_t rows = 5, cols = 320, stride = 333;
  auto x = random_floats(rows * stride, 17, -5.0f, 5.0f);
  std::fill(x.begin(), x.begin() + 32, 0.0f);           // zero block: scale 0, quants 0
  x[32] = 127.0f;  // scale exactly 1, so the next values are exact rounding ties
  for (int i = 33; i < 64; ++i) x[i] = (i % 2 ? 1.0f : -1.0f) * (static_cast<float>(i - 33) + 0.5f);
  x[70] = 1e-30f;                                        // tiny magnitudes
  QuantizedActivations a, b;
  for (int32_t offset : {8, 128}) {
    quantize_activations_portable(x.data(), rows, stride, cols, offset, a);
    quantize_activations_avx2(x.data(), rows, stride, cols, offset, b);
    EXPECT_EQ(a.scales, b.scales);
    EXPECT_EQ(a.quants, b.quants);
    EXPECT_EQ(a.block_bias, b.block_bias) << "offset " << offset;
  }
  for (int8_t q : a.quants) ASSERT_GE(q, -127);
}

TEST(ActivationQuantization, RoundsToNearestWithinHalfAStep) {
  const auto x = random_floats(96, 23, -2.0f, 2.0f);
  QuantizedActivations a;
  quantize_activations_portable(x.data(), 1, 96, 96, 8, a);
  for (int i = 0; i < 96; ++i) {
    const float d = a.scales[i / 32];
    ASSERT_NEAR(d * a.quants[i], x[i], d * 0.5f * (1.0f + 1e-5f));
  }
  for (int b = 0; b < 3; ++b) {
    int32_t sum = 0;
    for (int i = 0; i < 32; ++i) sum += a.quants[32 * b + i];
    ASSERT_EQ(a.block_bias[b], -8 * sum);
  }
}

TEST(ParallelConversion, IdenticalToSerialForEveryType) {
  const int64_t rows = 203, cols = 96;
  const auto src = random_floats(rows * cols, 31);
  std::vector<uint16_t> src_bf16(rows * cols);
  for (size_t i = 0; i < src.size(); ++i) src_bf16[i] = f32_to_bf16(src[i]);
  ThreadPool pool(3);
  for (WeightType t : {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::Q8_0, WeightType::Q4_0}) {
    WeightMatrix serial = make_weight_matrix(SourceType::BF16, src_bf16.data(), rows, cols, t, true);
    WeightMatrix parallel = make_weight_matrix(SourceType::BF16, src_bf16.data(), rows, cols, t, true, &pool);
    ASSERT_EQ(serial.byte_size(), parallel.byte_size());
    EXPECT_EQ(0, std::memcmp(serial.data, parallel.data, serial.byte_size())) << weight_type_name(t);
  }
}

}  // namespace
}  // namespace gemma4
