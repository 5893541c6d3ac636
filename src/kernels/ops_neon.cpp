// AArch64 NEON forms of the element-wise ops (kernels/ops.h) shared by every AArch64 tier: RMSNorm
// (sum of squares in double, then the scale), RoPE, add / scale / multiply, the float dot product,
// GELU, soft-cap and softmax.
// RoPE, the scaling and the element-wise ops do the portable path's IEEE operations element by
// element (no fused multiply-add), so they give its bits; the sums only differ in their order.
// GELU, soft-cap and softmax follow the AVX2 forms operation for operation (simd_math_neon.h), so
// they give the AVX2 path's bits: an x86-64 and an ARM machine agree on them.
#include "kernels/ops_kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "kernels/simd_math_neon.h"

namespace gemma4 {

namespace {

float32x4_t gelu_tanh_f32x4(float32x4_t v) {
  const float32x4_t v3 = vmulq_f32(vmulq_f32(v, v), v);
  const float32x4_t inner = vfmaq_f32(v, vdupq_n_f32(0.044715f), v3);
  const float32x4_t t = simd::tanh_f32x4(vmulq_f32(vdupq_n_f32(0.7978845608028654f), inner));
  return vmulq_f32(vmulq_f32(vdupq_n_f32(0.5f), v), vaddq_f32(vdupq_n_f32(1.0f), t));
}

// Applies f to the last n % 4 values through one padded vector, so every element gets the vector
// formula wherever a call's range begins or ends (callers split rows at varying places).
template <class F>
void vector_tail(const float* x, int64_t n, float* out, F f) {
  const int64_t i = n / 4 * 4;
  if (i == n) return;
  float lane[4] = {};
  std::memcpy(lane, x + i, (n - i) * sizeof(float));
  vst1q_f32(lane, f(vld1q_f32(lane), i));
  std::memcpy(out + i, lane, (n - i) * sizeof(float));
}

// The AVX2 path's horizontal sum of its 8 lanes (lo: lanes 0-3, hi: 4-7), in its order.
float hsum8(float32x4_t lo, float32x4_t hi) {
  const float32x4_t s = vaddq_f32(lo, hi);                       // lane i + lane i+4
  const float32x2_t t = vadd_f32(vget_low_f32(s), vget_high_f32(s));  // (s0+s2, s1+s3)
  return vget_lane_f32(t, 0) + vget_lane_f32(t, 1);
}

}  // namespace

void gelu_tanh_mul_neon(const float* gate, const float* up, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t g = gelu_tanh_f32x4(vld1q_f32(gate + i));
    if (up) g = vmulq_f32(g, vld1q_f32(up + i));
    vst1q_f32(out + i, g);
  }
  vector_tail(gate, n, out, [&](float32x4_t v, int64_t at) {
    const float32x4_t g = gelu_tanh_f32x4(v);
    if (!up) return g;
    float u[4] = {};
    std::memcpy(u, up + at, (n - at) * sizeof(float));
    return vmulq_f32(g, vld1q_f32(u));
  });
}

void softcap_neon(float* x, int64_t n, float cap) {
  const float32x4_t vcap = vdupq_n_f32(cap), vinv = vdupq_n_f32(1.0f / cap);
  auto capped = [&](float32x4_t v, int64_t) { return vmulq_f32(vcap, simd::tanh_f32x4(vmulq_f32(v, vinv))); };
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(x + i, capped(vld1q_f32(x + i), i));
  vector_tail(x, n, x, capped);
}

void softmax_neon(float* x, int64_t n, float* max_out, float* sum_out) {
  if (n <= 0) return;
  // Eight values a step in two registers, as the AVX2 form does in one: the same sums in the same order.
  float32x4_t max_lo = vdupq_n_f32(-INFINITY), max_hi = max_lo;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    max_lo = vmaxq_f32(max_lo, vld1q_f32(x + i));
    max_hi = vmaxq_f32(max_hi, vld1q_f32(x + i + 4));
  }
  float m = vmaxvq_f32(vmaxq_f32(max_lo, max_hi));
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  const float32x4_t vm = vdupq_n_f32(m);
  float32x4_t sum_lo = vdupq_n_f32(0.0f), sum_hi = sum_lo;
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t e_lo = simd::exp_f32x4(vsubq_f32(vld1q_f32(x + i), vm));
    const float32x4_t e_hi = simd::exp_f32x4(vsubq_f32(vld1q_f32(x + i + 4), vm));
    vst1q_f32(x + i, e_lo);
    vst1q_f32(x + i + 4, e_hi);
    sum_lo = vaddq_f32(sum_lo, e_lo);
    sum_hi = vaddq_f32(sum_hi, e_hi);
  }
  double sum = hsum8(sum_lo, sum_hi);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  if (max_out) *max_out = m;
  if (sum_out) *sum_out = static_cast<float>(sum);
  scale_neon(x, static_cast<float>(1.0 / sum), n);
}

double sum_squares_neon(const float* x, int64_t n) {
  // Products of two floats are exact in double, so only the summation order differs.
  float64x2_t acc[4] = {vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0)};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int h = 0; h < 2; ++h) {
      const float32x4_t v = vld1q_f32(x + i + 4 * h);
      const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
      acc[2 * h] = vfmaq_f64(acc[2 * h], lo, lo);
      acc[2 * h + 1] = vfmaq_f64(acc[2 * h + 1], hi, hi);
    }
  }
  double ss = vaddvq_f64(vaddq_f64(vaddq_f64(acc[0], acc[1]), vaddq_f64(acc[2], acc[3])));
  for (; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  return ss;
}

void scale_by_weights_neon(const float* x, const float* w, float inv, int64_t n, float* out) {
  const float32x4_t s = vdupq_n_f32(inv);
  int64_t i = 0;
  if (w) {
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, vmulq_f32(vmulq_f32(vld1q_f32(x + i), s), vld1q_f32(w + i)));
    for (; i < n; ++i) out[i] = x[i] * inv * w[i];
  } else {
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, vmulq_f32(vld1q_f32(x + i), s));
    for (; i < n; ++i) out[i] = x[i] * inv;
  }
}

void apply_rope_neon(float* x, int64_t head_dim, int64_t rotated_pairs, const float* cos, const float* sin) {
  const int64_t half = head_dim / 2;
  int64_t i = 0;
  for (; i + 4 <= rotated_pairs; i += 4) {
    const float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + half);
    const float32x4_t c = vld1q_f32(cos + i), s = vld1q_f32(sin + i);
    vst1q_f32(x + i, vsubq_f32(vmulq_f32(a, c), vmulq_f32(b, s)));
    vst1q_f32(x + i + half, vaddq_f32(vmulq_f32(b, c), vmulq_f32(a, s)));
  }
  for (; i < rotated_pairs; ++i) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

void add_neon(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
  for (; i < n; ++i) y[i] += x[i];
}

void scale_neon(float* y, float s, int64_t n) {
  const float32x4_t v = vdupq_n_f32(s);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_f32(vld1q_f32(y + i), v));
  for (; i < n; ++i) y[i] *= s;
}

void mul_neon(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_f32(vld1q_f32(y + i), vld1q_f32(x + i)));
  for (; i < n; ++i) y[i] *= x[i];
}

float dot_f32_neon(const float* a, const float* b, int64_t n) {
  float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 4; ++k) acc[k] = vfmaq_f32(acc[k], vld1q_f32(a + i + 4 * k), vld1q_f32(b + i + 4 * k));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace gemma4

#else  // not AArch64: never selected; the portable forms keep the symbols defined.

#include <cmath>
#include <cstdlib>

namespace gemma4 {
double sum_squares_neon(const float* x, int64_t n) { return sum_squares_portable(x, n); }
void scale_by_weights_neon(const float* x, const float* w, float inv, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = w ? x[i] * inv * w[i] : x[i] * inv;
}
void apply_rope_neon(float* x, int64_t head_dim, int64_t rotated_pairs, const float* cos, const float* sin) {
  for (int64_t i = 0; i < rotated_pairs; ++i) {
    const float a = x[i], b = x[i + head_dim / 2];
    x[i] = a * cos[i] - b * sin[i];
    x[i + head_dim / 2] = b * cos[i] + a * sin[i];
  }
}
void add_neon(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}
void scale_neon(float* y, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= s;
}
void mul_neon(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] *= x[i];
}
float dot_f32_neon(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}
void gelu_tanh_mul_neon(const float*, const float*, int64_t, float*) { std::abort(); }
void softcap_neon(float*, int64_t, float) { std::abort(); }
void softmax_neon(float*, int64_t, float*, float*) { std::abort(); }
}  // namespace gemma4

#endif
