// AVX2/FMA versions of the element-wise ops (kernels/ops.h); selected at run time.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>

#include "kernels/ops_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include "kernels/simd_math_avx2.h"

namespace gemma4 {

namespace {

using simd::hsum;

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace

double sum_squares_avx2(const float* x, int64_t n) {
  // Accumulated in double like the portable path, so a long row cannot lose precision.
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    acc0 = _mm256_fmadd_pd(lo, lo, acc0);
    acc1 = _mm256_fmadd_pd(hi, hi, acc1);
  }
  __m256d acc = _mm256_add_pd(acc0, acc1);
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
  double sum = _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  for (; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

void scale_by_weights_avx2(const float* x, const float* w, float inv, int64_t n, float* out) {
  const __m256 vinv = _mm256_set1_ps(inv);
  int64_t i = 0;
  if (w) {
    for (; i + 8 <= n; i += 8) {
      _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), _mm256_loadu_ps(w + i)));
    }
    for (; i < n; ++i) out[i] = x[i] * inv * w[i];
  } else {
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; ++i) out[i] = x[i] * inv;
  }
}

void apply_rope_avx2(float* x, int64_t head_dim, int64_t rotated_pairs, const float* cos,
                     const float* sin) {
  const int64_t half = head_dim / 2;
  int64_t i = 0;
  for (; i + 8 <= rotated_pairs; i += 8) {
    __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + half);
    __m256 c = _mm256_loadu_ps(cos + i), s = _mm256_loadu_ps(sin + i);
    _mm256_storeu_ps(x + i, _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)));
    _mm256_storeu_ps(x + i + half, _mm256_fmadd_ps(b, c, _mm256_mul_ps(a, s)));
  }
  for (; i < rotated_pairs; ++i) {
    float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

namespace {
__m256 gelu_tanh_ps(__m256 v) {
  const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
  const __m256 t = simd::tanh_ps(_mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), v3, v)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), t));
}

// Applies f to the last n % 8 values through one padded vector, so every element gets the vector
// formula wherever a call's range begins or ends (callers split rows at varying places).
template <class F>
void vector_tail(const float* x, int64_t n, float* out, F f) {
  const int64_t i = n / 8 * 8;
  if (i == n) return;
  alignas(32) float lane[8] = {};
  std::memcpy(lane, x + i, (n - i) * sizeof(float));
  _mm256_store_ps(lane, f(_mm256_load_ps(lane), i));
  std::memcpy(out + i, lane, (n - i) * sizeof(float));
}
}  // namespace

void gelu_tanh_mul_avx2(const float* gate, const float* up, int64_t n, float* out) {
  auto apply = [&](__m256 v, int64_t i) {
    const __m256 g = gelu_tanh_ps(v);
    if (!up) return g;
    alignas(32) float u[8] = {};
    std::memcpy(u, up + i, std::min<int64_t>(8, n - i) * sizeof(float));
    return _mm256_mul_ps(g, _mm256_load_ps(u));
  };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = gelu_tanh_ps(_mm256_loadu_ps(gate + i));
    if (up) g = _mm256_mul_ps(g, _mm256_loadu_ps(up + i));
    _mm256_storeu_ps(out + i, g);
  }
  vector_tail(gate, n, out, apply);
}

void softmax_avx2(float* x, int64_t n, float* max_out, float* sum_out) {
  if (n <= 0) return;
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  float m = hmax(vmax);
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  const __m256 vm = _mm256_set1_ps(m);
  __m256 vsum = _mm256_setzero_ps();
  double sum = 0.0;
  i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = simd::exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  sum += hsum(vsum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  if (max_out) *max_out = m;
  if (sum_out) *sum_out = static_cast<float>(sum);
  scale_avx2(x, static_cast<float>(1.0 / sum), n);
}

void softcap_avx2(float* x, int64_t n, float cap) {
  const __m256 vcap = _mm256_set1_ps(cap);
  const __m256 vinv = _mm256_set1_ps(1.0f / cap);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(x + i, _mm256_mul_ps(vcap, simd::tanh_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv))));
  }
  vector_tail(x, n, x, [&](__m256 v, int64_t) { return _mm256_mul_ps(vcap, simd::tanh_ps(_mm256_mul_ps(v, vinv))); });
}

void add_avx2(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] += x[i];
}

void scale_avx2(float* y, float s, int64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), vs));
  for (; i < n; ++i) y[i] *= s;
}

void mul_avx2(float* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] *= x[i];
}

float dot_f32_avx2(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace gemma4

#pragma GCC pop_options

#else  // not x86-64: kernel_path_supported(Avx2) is false, so none of these is ever called.

namespace gemma4 {
double sum_squares_avx2(const float*, int64_t) { std::abort(); }
void scale_by_weights_avx2(const float*, const float*, float, int64_t, float*) { std::abort(); }
void apply_rope_avx2(float*, int64_t, int64_t, const float*, const float*) { std::abort(); }
void gelu_tanh_mul_avx2(const float*, const float*, int64_t, float*) { std::abort(); }
void softmax_avx2(float*, int64_t, float*, float*) { std::abort(); }
void softcap_avx2(float*, int64_t, float) { std::abort(); }
void add_avx2(float*, const float*, int64_t) { std::abort(); }
void scale_avx2(float*, float, int64_t) { std::abort(); }
void mul_avx2(float*, const float*, int64_t) { std::abort(); }
float dot_f32_avx2(const float*, const float*, int64_t) { std::abort(); }
}  // namespace gemma4

#endif
