#include "kernels/ops.h"

#include <cmath>

#include "kernels/cpu_dispatch.h"
#include "kernels/ops_kernels.h"

namespace gemma4 {

namespace {

bool use_avx2() { return active_kernel_path() == KernelPath::Avx2; }
bool use_neon() { return is_arm_path(active_kernel_path()); }

inline float gelu_tanh(float v) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
}

}  // namespace

double sum_squares_portable(const float* x, int64_t n) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  return ss;
}

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  if (n <= 0) return;
  const bool simd = use_avx2(), neon = use_neon();
  const double ss = simd ? sum_squares_avx2(x, n) : neon ? sum_squares_neon(x, n) : sum_squares_portable(x, n);
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
  if (simd) {
    scale_by_weights_avx2(x, w, inv, n, out);
  } else if (neon) {
    scale_by_weights_neon(x, w, inv, n, out);
  } else if (w) {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv;
  }
}

void apply_rope(float* x, int64_t head_dim, int64_t rotated_pairs, const float* cos,
                const float* sin) {
  if (use_avx2()) return apply_rope_avx2(x, head_dim, rotated_pairs, cos, sin);
  if (use_neon()) return apply_rope_neon(x, head_dim, rotated_pairs, cos, sin);
  int64_t half = head_dim / 2;
  for (int64_t i = 0; i < rotated_pairs; ++i) {
    float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out) {
  if (use_avx2()) return gelu_tanh_mul_avx2(gate, up, n, out);
  if (use_neon()) return gelu_tanh_mul_neon(gate, up, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh(gate[i]) * up[i];
}

void gelu_tanh_inplace(float* x, int64_t n) {
  if (use_avx2()) return gelu_tanh_mul_avx2(x, nullptr, n, x);
  if (use_neon()) return gelu_tanh_mul_neon(x, nullptr, n, x);
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh(x[i]);
}

void softmax_inplace(float* x, int64_t n, float* max_out, float* sum_out) {
  if (n <= 0) return;
  if (use_avx2()) return softmax_avx2(x, n, max_out, sum_out);
  if (use_neon()) return softmax_neon(x, n, max_out, sum_out);
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  if (max_out) *max_out = m;
  if (sum_out) *sum_out = static_cast<float>(sum);
  float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void add_inplace(float* y, const float* x, int64_t n) {
  if (use_avx2()) return add_avx2(y, x, n);
  if (use_neon()) return add_neon(y, x, n);
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void scale_inplace(float* y, float s, int64_t n) {
  if (use_avx2()) return scale_avx2(y, s, n);
  if (use_neon()) return scale_neon(y, s, n);
  for (int64_t i = 0; i < n; ++i) y[i] *= s;
}

void mul_inplace(float* y, const float* x, int64_t n) {
  if (use_avx2()) return mul_avx2(y, x, n);
  if (use_neon()) return mul_neon(y, x, n);
  for (int64_t i = 0; i < n; ++i) y[i] *= x[i];
}

void softcap_inplace(float* x, int64_t n, float cap) {
  if (use_avx2()) return softcap_avx2(x, n, cap);
  if (use_neon()) return softcap_neon(x, n, cap);
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

float dot_f32(const float* a, const float* b, int64_t n) {
  if (use_avx2()) return dot_f32_avx2(a, b, n);
  if (use_neon()) return dot_f32_neon(a, b, n);
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

}  // namespace gemma4
