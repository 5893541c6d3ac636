// Vectorized ops and KV-row primitives against the portable path and against double-precision
// formulas, on odd lengths (vector body plus scalar tail).
#include "kernels/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/kv_ops.h"
#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"

namespace gemma4 {
namespace {

using testing::random_floats;
using testing::ScopedKernelPath;

const int64_t kLengths[] = {1, 7, 8, 17, 64, 256, 1539};

double gelu_reference(double v) {
  return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

// The kernel tiers: portable, AVX2, and the AVX2 path's AVX-512 forms (taken where the VNNI
// matmuls run).
// AArch64: the NEON forms, which every AArch64 path takes.
enum class Tier { Portable, Avx2, Avx512, Neon };

class OpsPathTest : public ::testing::TestWithParam<Tier> {
 protected:
  void SetUp() override {
    const KernelPath path = GetParam() == Tier::Portable ? KernelPath::Portable
                            : GetParam() == Tier::Neon   ? KernelPath::Neon
                                                         : KernelPath::Avx2;
    if (!kernel_path_supported(path)) GTEST_SKIP() << "path not supported on this CPU";
    scoped_ = std::make_unique<ScopedKernelPath>(path);
    vnni_before_ = set_vnni_enabled(GetParam() == Tier::Avx512);
    if (GetParam() == Tier::Avx512 && !vnni_supported()) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  }
  void TearDown() override { set_vnni_enabled(vnni_before_); }
  std::unique_ptr<ScopedKernelPath> scoped_;
  bool vnni_before_ = false;
};

TEST_P(OpsPathTest, GeluIsAccurateToOneMillionth) {
  // Dense sweep over the range where gelu is not trivially 0 or x, plus large magnitudes.
  std::vector<float> v;
  for (float x = -12.0f; x <= 12.0f; x += 0.0007f) v.push_back(x);
  for (float x : {-1e4f, -100.0f, 100.0f, 1e4f, 0.0f, -0.0f, 1e-20f}) v.push_back(x);
  std::vector<float> out(v.size()), ones(v.size(), 1.0f);
  gelu_tanh_mul(v.data(), ones.data(), static_cast<int64_t>(v.size()), out.data());
  std::vector<float> inplace = v;
  gelu_tanh_inplace(inplace.data(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) {
    const double ref = gelu_reference(v[i]);
    // 1e-6 absolute, or one float ulp of the result where that is larger (|x| > 8).
    const double tol = std::max(1e-6, std::fabs(ref) * 1.2e-7);
    ASSERT_NEAR(out[i], ref, tol) << "x = " << v[i];
    ASSERT_EQ(inplace[i], out[i]);
  }
}

TEST_P(OpsPathTest, GeluMulMultipliesByUp) {
  for (int64_t n : kLengths) {
    auto g = random_floats(n, 1, -4.0f, 4.0f), u = random_floats(n, 2);
    std::vector<float> out(n);
    gelu_tanh_mul(g.data(), u.data(), n, out.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(out[i], gelu_reference(g[i]) * u[i], 2e-6) << i;
    gelu_tanh_mul(g.data(), u.data(), n, g.data());  // aliasing out == gate
    EXPECT_EQ(g, out);
  }
}

TEST_P(OpsPathTest, RmsNormMatchesFormula) {
  for (int64_t n : kLengths) {
    auto x = random_floats(n, 3, -10.0f, 10.0f), w = random_floats(n, 4, 0.5f, 1.5f);
    double ss = 0;
    for (float v : x) ss += static_cast<double>(v) * v;
    const double inv = 1.0 / std::sqrt(ss / n + 1e-6);
    std::vector<float> out(n);
    rms_norm(x.data(), w.data(), n, 1e-6f, out.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(out[i], x[i] * inv * w[i], 1e-5 * std::fabs(x[i] * inv * w[i]) + 1e-7);
    rms_norm(x.data(), nullptr, n, 1e-6f, x.data());  // in place, no weight
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(x[i] * w[i], out[i], 1e-5 * std::fabs(out[i]) + 1e-7);
  }
}

TEST_P(OpsPathTest, RopeRotatesPairs) {
  for (int64_t head_dim : {8, 34, 256, 512}) {
    for (int64_t pairs : {head_dim / 2, head_dim / 4 + 1}) {
      auto x = random_floats(head_dim, 5);
      auto c = random_floats(pairs, 6), s = random_floats(pairs, 7);
      std::vector<float> y = x;
      apply_rope(y.data(), head_dim, pairs, c.data(), s.data());
      const int64_t half = head_dim / 2;
      for (int64_t i = 0; i < half; ++i) {
        if (i < pairs) {
          ASSERT_NEAR(y[i], x[i] * c[i] - x[i + half] * s[i], 1e-6);
          ASSERT_NEAR(y[i + half], x[i + half] * c[i] + x[i] * s[i], 1e-6);
        } else {
          ASSERT_EQ(y[i], x[i]);
          ASSERT_EQ(y[i + half], x[i + half]);
        }
      }
    }
  }
}

TEST_P(OpsPathTest, SoftmaxMatchesFormula) {
  for (int64_t n : kLengths) {
    auto x = random_floats(n, 8, -30.0f, 30.0f);
    if (n > 3) x[2] = -1e30f;  // far below the max: exactly 0
    double m = -1e300, sum = 0;
    for (float v : x) m = std::max<double>(m, v);
    for (float v : x) sum += std::exp(v - m);
    std::vector<float> y = x;
    softmax_inplace(y.data(), n);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double ref = std::exp(x[i] - m) / sum;
      // x - max is rounded to float first: relative error up to |x - max|·2^-24 on top of exp's.
      ASSERT_NEAR(y[i], ref, ref * (1e-6 + std::fabs(x[i] - m) * 1.2e-7) + 1e-30) << i;
      total += y[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST_P(OpsPathTest, SoftcapAndElementwise) {
  for (int64_t n : kLengths) {
    auto x = random_floats(n, 9, -100.0f, 100.0f), z = random_floats(n, 10);
    std::vector<float> y = x;
    softcap_inplace(y.data(), n, 30.0f);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], 30.0 * std::tanh(x[i] / 30.0), 4e-6) << x[i];
    y = x;
    add_inplace(y.data(), z.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] + z[i]);
    y = x;
    mul_inplace(y.data(), z.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] * z[i]);
    y = x;
    scale_inplace(y.data(), 0.25f, n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] * 0.25f);
    double dot = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      dot += static_cast<double>(x[i]) * z[i];
      mag += std::fabs(static_cast<double>(x[i]) * z[i]);
    }
    ASSERT_NEAR(dot_f32(x.data(), z.data(), n), dot, 1e-5 * mag);
  }
}

// Callers split rows at places that depend on the batch (matmul chunks, thread counts): an
// element's GELU or soft-cap must not depend on where its call's range begins or ends.
TEST_P(OpsPathTest, ElementResultsDoNotDependOnTheCallsRange) {
  const int64_t n = 45;
  const auto gate = random_floats(n, 21, -6.0f, 6.0f), up = random_floats(n, 22);
  const auto logits = random_floats(n, 23, -90.0f, 90.0f);
  std::vector<float> whole_gelu(n), whole_cap = logits;
  gelu_tanh_mul(gate.data(), up.data(), n, whole_gelu.data());
  softcap_inplace(whole_cap.data(), n, 30.0f);
  for (int64_t begin = 0; begin < n; begin += 3) {
    for (int64_t end = begin + 1; end <= n; end += 5) {
      std::vector<float> part(end - begin), cap(logits.begin() + begin, logits.begin() + end);
      gelu_tanh_mul(gate.data() + begin, up.data() + begin, end - begin, part.data());
      softcap_inplace(cap.data(), end - begin, 30.0f);
      for (int64_t i = begin; i < end; ++i) {
        ASSERT_EQ(part[i - begin], whole_gelu[i]) << "gelu element " << i << " in [" << begin << ", " << end << ")";
        ASSERT_EQ(cap[i - begin], whole_cap[i]) << "softcap element " << i << " in [" << begin << ", " << end << ")";
      }
    }
  }
}

TEST_P(OpsPathTest, KvStoreDotAxpyForEveryType) {
  for (KvType type : {KvType::F32, KvType::F16, KvType::BF16}) {
    for (int64_t n : {1, 7, 17, 256, 512}) {
      SCOPED_TRACE(std::string(kv_type_name(type)) + " n=" + std::to_string(n));
      auto src = random_floats(n, 11, -3.0f, 3.0f);
      auto q = random_floats(n, 12);
      std::vector<uint8_t> row(n * kv_type_size(type));
      kv_store(src.data(), n, type, row.data());
      // The stored row must decode to exactly the scalar conversion of src.
      std::vector<float> stored(n);
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, row.data() + 2 * i, 2);
        stored[i] = type == KvType::F32   ? reinterpret_cast<const float*>(row.data())[i]
                    : type == KvType::F16 ? f16_to_f32(h)
                                          : bf16_to_f32(h);
        const float expect = type == KvType::F32   ? src[i]
                             : type == KvType::F16 ? f16_to_f32(f32_to_f16(src[i]))
                                                   : bf16_to_f32(f32_to_bf16(src[i]));
        ASSERT_EQ(stored[i], expect) << i;
      }
      double dot = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        dot += static_cast<double>(q[i]) * stored[i];
        mag += std::fabs(static_cast<double>(q[i]) * stored[i]);
      }
      ASSERT_NEAR(kv_dot(q.data(), row.data(), type, n), dot, 1e-6 * mag + 1e-30);
      std::vector<float> acc = q;
      kv_axpy(0.75f, row.data(), type, n, acc.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(acc[i], q[i] + 0.75 * stored[i], 1e-6);
    }
  }
}

// Attention's grouped forms give exactly the bits of one kv_dot / kv_axpy per (head, row), so
// batching heads changes no result (batch invariance of attention rests on it).
TEST_P(OpsPathTest, KvHeadsEqualOneAtATimeBitwise) {
  for (KvType type : {KvType::F32, KvType::F16, KvType::BF16}) {
    for (int64_t n : {40, 48, 256, 512}) {  // 48: whole 16-lane steps, not whole 32s
      for (int64_t heads : {1, 3, 4, 8}) {
        SCOPED_TRACE(std::string(kv_type_name(type)) + " n=" + std::to_string(n) + " heads=" + std::to_string(heads));
        const int64_t len = 37;
        const auto values = random_floats(len * n, 71 + n, -2.0f, 2.0f);
        std::vector<uint8_t> cache(len * n * kv_type_size(type));
        kv_store(values.data(), len * n, type, cache.data());
        std::vector<const uint8_t*> rows(len);
        for (int64_t t = 0; t < len; ++t) rows[t] = cache.data() + (len - 1 - t) * n * kv_type_size(type);
        const auto q = random_floats(heads * n, 72 + heads, -1.0f, 1.0f);
        std::vector<float> scores(heads * len);
        kv_dot_heads(q.data(), heads, rows.data(), len, type, n, scores.data());
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t t = 0; t < len; ++t)
            ASSERT_EQ(scores[h * len + t], kv_dot(q.data() + h * n, rows[t], type, n)) << "head " << h << " row " << t;
        const int64_t stride = n + 2;
        const auto start = random_floats(heads * stride, 73, -1.0f, 1.0f);
        std::vector<float> grouped = start, single = start;
        kv_axpy_heads(scores.data(), heads, rows.data(), len, type, n, grouped.data(), stride);
        for (int64_t t = 0; t < len; ++t)
          for (int64_t h = 0; h < heads; ++h) kv_axpy(scores[h * len + t], rows[t], type, n, single.data() + h * stride);
        for (size_t i = 0; i < grouped.size(); ++i) ASSERT_EQ(grouped[i], single[i]) << "index " << i;
      }
    }
  }
}

TEST_P(OpsPathTest, KvStoreSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> src = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e-7f, 70000.0f,
                            1.0f + std::ldexp(1.0f, -8), 1.0f + std::ldexp(1.0f, -11), -1e-40f};
  const int64_t n = static_cast<int64_t>(src.size());
  for (KvType type : {KvType::F16, KvType::BF16}) {
    std::vector<uint16_t> row(n);
    kv_store(src.data(), n, type, row.data());
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t expect = type == KvType::F16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
      if (std::isnan(src[i])) {
        const float back = type == KvType::F16 ? f16_to_f32(row[i]) : bf16_to_f32(row[i]);
        ASSERT_TRUE(std::isnan(back));
      } else {
        ASSERT_EQ(row[i], expect) << kv_type_name(type) << " value " << src[i];
      }
    }
  }
}

std::string tier_name(const ::testing::TestParamInfo<Tier>& info) {
  switch (info.param) {
    case Tier::Portable: return "portable";
    case Tier::Avx2: return "avx2";
    case Tier::Avx512: return "avx512";
    case Tier::Neon: return "neon";
  }
  return "?";
}

INSTANTIATE_TEST_SUITE_P(Paths, OpsPathTest, ::testing::Values(Tier::Portable, Tier::Avx2, Tier::Avx512, Tier::Neon),
                         tier_name);

TEST(OpsAgreement, SimdPathsMatchPortableClosely) {
  for (KernelPath path : testing::simd_kernel_paths()) {
  SCOPED_TRACE(std::string(kernel_path_name(path)));
  const int64_t n = 1537;
  auto x = random_floats(n, 13, -6.0f, 6.0f), w = random_floats(n, 14);
  std::vector<float> a(n), b(n);
  {
    ScopedKernelPath p(KernelPath::Portable);
    rms_norm(x.data(), w.data(), n, 1e-6f, a.data());
  }
  {
    ScopedKernelPath p(path);
    rms_norm(x.data(), w.data(), n, 1e-6f, b.data());
  }
  // Both sum squares in double; the single float scale may differ in its last bit only.
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], 2.5e-7 * std::fabs(a[i]) + 1e-30);
  }
}

// The NEON RoPE and attention weighted sums do the portable operations element by element.
TEST(OpsAgreement, NeonRopeAndKvAxpyGivePortableBits) {
  if (!kernel_path_supported(KernelPath::Neon)) GTEST_SKIP() << "not an AArch64 CPU";
  const int64_t head_dim = 256, pairs = 64, n = 259;
  const auto x = random_floats(head_dim, 21), c = random_floats(pairs, 22), s = random_floats(pairs, 23);
  const auto v = random_floats(n, 24), acc0 = random_floats(n, 25);
  std::vector<float> rope[2], acc[2];
  for (int i = 0; i < 2; ++i) {
    ScopedKernelPath p(i == 0 ? KernelPath::Portable : KernelPath::Neon);
    rope[i] = x;
    apply_rope(rope[i].data(), head_dim, pairs, c.data(), s.data());
    acc[i] = acc0;
    kv_axpy(0.37f, v.data(), KvType::F32, n, acc[i].data());
  }
  EXPECT_EQ(rope[0], rope[1]);
  EXPECT_EQ(acc[0], acc[1]);
}

// GELU, soft-cap and softmax give the same bits on the AVX2 path and on every AArch64 path (the NEON
// forms repeat the AVX2 operations in their order): the hashes were recorded on x86-64 (AVX2) and
// are checked under qemu-aarch64 by the same test. Softmax's length is a multiple of 8, so no
// element takes the scalar libm tail, whose exp may differ between C libraries.
TEST(OpsAcrossArchitectures, GeluSoftcapAndSoftmaxHaveTheRecordedBits) {
  const auto gate = testing::integer_pattern(1003, 31, 1.0f / 128);  // -7.8 .. 7.8, a 3-value tail
  const auto up = testing::integer_pattern(1003, 32, 1.0f / 1000);
  const auto logits = testing::integer_pattern(1003, 33, 1.0f / 10);  // -100 .. 100
  const auto scores = testing::integer_pattern(1024, 34, 1.0f / 50);
  const uint64_t kGelu = 0x36e5c21c6e74dd40ull, kSoftcap = 0x84d53a74615d6ab0ull, kSoftmax = 0xd0f677a34e7aa275ull;
  for (KernelPath path : testing::simd_kernel_paths()) {
    SCOPED_TRACE(std::string(kernel_path_name(path)));
    ScopedKernelPath scoped(path);
    std::vector<float> g(gate.size()), c = logits, p = scores;
    gelu_tanh_mul(gate.data(), up.data(), static_cast<int64_t>(g.size()), g.data());
    softcap_inplace(c.data(), static_cast<int64_t>(c.size()), 30.0f);
    softmax_inplace(p.data(), static_cast<int64_t>(p.size()));
    EXPECT_EQ(testing::fnv1a(g), kGelu) << std::hex << "0x" << testing::fnv1a(g);
    EXPECT_EQ(testing::fnv1a(c), kSoftcap) << std::hex << "0x" << testing::fnv1a(c);
    EXPECT_EQ(testing::fnv1a(p), kSoftmax) << std::hex << "0x" << testing::fnv1a(p);
  }
}

}  // namespace
}  // namespace gemma4
