// AArch64 NEON forms of the element-wise ops (kernels/ops.h) shared by every AArch64 tier: RMSNorm
// (sum of squares in double, then the scale), RoPE, add / scale / multiply, the float dot product.
// RoPE, the scaling and the element-wise ops do the portable path's IEEE operations element by
// element (no fused multiply-add), so they give its bits; the sums only differ in their order.
// GELU, soft-cap and softmax take the portable kernels on AArch64 (no NEON tanh/exp yet).
#include "kernels/ops_kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace gemma4 {

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
}  // namespace gemma4

#endif
