// AVX-512 versions of the KV-row primitives (kernels/kv_ops.h), used on the machines that take the
// VNNI matmul path (vnni_supported()): attention's dot products and weighted sums at 16 lanes, so
// a long context costs half the instructions of the AVX2 forms. Within this path the grouped forms
// keep exactly the bits of the one-at-a-time calls (each head's accumulators, and each output
// column's fma order, are those of kv_dot / kv_axpy here).
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/numeric.h"
#include "kernels/ops_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq")
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace gemma4 {

namespace {

inline __m512 load16(const void* base, KvType type, int64_t i) {
  switch (type) {
    case KvType::F32: return _mm512_loadu_ps(static_cast<const float*>(base) + i);
    case KvType::F16:
      return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + i)));
    case KvType::BF16: {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(base) + i));
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
  }
  return _mm512_setzero_ps();
}

inline float load1(const void* base, KvType type, int64_t i) {
  if (type == KvType::F32) return static_cast<const float*>(base)[i];
  uint16_t h;
  std::memcpy(&h, static_cast<const uint16_t*>(base) + i, 2);
  return type == KvType::F16 ? _cvtsh_ss(h) : bf16_to_f32(h);
}

// A fixed reduction tree (halves, then quarters...), so the sum's bits do not depend on the compiler.
inline float hsum16(__m512 v) {
  const __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  const __m128 c = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(c, _mm_movehdup_ps(c)));
}

// One 16-lane accumulator over 16-element steps, then a scalar tail (the grouped form below keeps
// this order per head and row).
template <KvType kType>
float dot_typed(const float* q, const void* k, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16(k, kType, i), acc);
  float sum = hsum16(acc);
  for (; i < n; ++i) sum = std::fma(q[i], load1(k, kType, i), sum);
  return sum;
}

// Per output column: acc = fma(a, v, acc), whatever the vector width, so every path of this file
// (and the grouped form) gives the same bits.
template <KvType kType>
void axpy_typed(float a, const void* v, int64_t n, float* acc) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(acc + i, _mm512_fmadd_ps(va, load16(v, kType, i), _mm512_loadu_ps(acc + i)));
  for (; i < n; ++i) acc[i] = std::fma(a, load1(v, kType, i), acc[i]);
}

// H query heads against K rows at once (rows[0..K)), so each load of a query serves all K; per
// head and row the accumulation of dot_typed (n a multiple of 16).
template <KvType kType, int H, int K>
void dot_heads_rows(const float* q, const uint8_t* const* rows, int64_t n, float* scores, int64_t len) {
  __m512 acc[K][H];
  for (int r = 0; r < K; ++r)
    for (int h = 0; h < H; ++h) acc[r][h] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    __m512 k[K];
    for (int r = 0; r < K; ++r) k[r] = load16(rows[r], kType, i);
    for (int h = 0; h < H; ++h) {
      const __m512 qh = _mm512_loadu_ps(q + h * n + i);
      for (int r = 0; r < K; ++r) acc[r][h] = _mm512_fmadd_ps(qh, k[r], acc[r][h]);
    }
  }
  for (int h = 0; h < H; ++h)
    for (int r = 0; r < K; ++r) scores[h * len + r] = hsum16(acc[r][h]);
}

// Rows in pairs (H = 8: 16 accumulators), an odd last one alone.
template <KvType kType, int H>
void dot_heads_block(const float* q, const uint8_t* const* rows, int64_t len, int64_t n, float* scores) {
  int64_t t = 0;
  for (; t + 2 <= len; t += 2) dot_heads_rows<kType, H, 2>(q, rows + t, n, scores + t, len);
  if (t < len) dot_heads_rows<kType, H, 1>(q, rows + t, n, scores + t, len);
}

// Sixteen output columns of H heads stay in registers while the rows stream past (n a multiple of 16).
template <KvType kType, int H>
void axpy_heads_block(const float* weights, const uint8_t* const* rows, int64_t len, int64_t n, float* out,
                      int64_t out_stride) {
  for (int64_t i = 0; i < n; i += 16) {
    __m512 acc[H];
    for (int h = 0; h < H; ++h) acc[h] = _mm512_loadu_ps(out + h * out_stride + i);
    for (int64_t t = 0; t < len; ++t) {
      const __m512 v = load16(rows[t], kType, i);
      for (int h = 0; h < H; ++h) acc[h] = _mm512_fmadd_ps(_mm512_set1_ps(weights[h * len + t]), v, acc[h]);
    }
    for (int h = 0; h < H; ++h) _mm512_storeu_ps(out + h * out_stride + i, acc[h]);
  }
}

template <KvType kType>
void dot_heads_typed(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, int64_t n,
                     float* scores) {
  int64_t h = 0;
  if (n % 16 == 0) {
    for (; h + 8 <= heads; h += 8) dot_heads_block<kType, 8>(q + h * n, rows, len, n, scores + h * len);
    for (; h + 4 <= heads; h += 4) dot_heads_block<kType, 4>(q + h * n, rows, len, n, scores + h * len);
  }
  for (; h < heads; ++h)
    for (int64_t t = 0; t < len; ++t) scores[h * len + t] = dot_typed<kType>(q + h * n, rows[t], n);
}

template <KvType kType>
void axpy_heads_typed(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, int64_t n,
                      float* out, int64_t out_stride) {
  int64_t h = 0;
  if (n % 16 == 0) {
    for (; h + 8 <= heads; h += 8)
      axpy_heads_block<kType, 8>(weights + h * len, rows, len, n, out + h * out_stride, out_stride);
    for (; h + 4 <= heads; h += 4)
      axpy_heads_block<kType, 4>(weights + h * len, rows, len, n, out + h * out_stride, out_stride);
  }
  for (; h < heads; ++h)
    for (int64_t t = 0; t < len; ++t) axpy_typed<kType>(weights[h * len + t], rows[t], n, out + h * out_stride);
}

}  // namespace

float kv_dot_avx512(const float* q, const void* k, KvType type, int64_t n) {
  switch (type) {
    case KvType::F32: return dot_typed<KvType::F32>(q, k, n);
    case KvType::F16: return dot_typed<KvType::F16>(q, k, n);
    case KvType::BF16: return dot_typed<KvType::BF16>(q, k, n);
  }
  return 0.0f;
}

void kv_axpy_avx512(float a, const void* v, KvType type, int64_t n, float* acc) {
  switch (type) {
    case KvType::F32: return axpy_typed<KvType::F32>(a, v, n, acc);
    case KvType::F16: return axpy_typed<KvType::F16>(a, v, n, acc);
    case KvType::BF16: return axpy_typed<KvType::BF16>(a, v, n, acc);
  }
}

void kv_dot_heads_avx512(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                         int64_t n, float* scores) {
  switch (type) {
    case KvType::F32: return dot_heads_typed<KvType::F32>(q, heads, rows, len, n, scores);
    case KvType::F16: return dot_heads_typed<KvType::F16>(q, heads, rows, len, n, scores);
    case KvType::BF16: return dot_heads_typed<KvType::BF16>(q, heads, rows, len, n, scores);
  }
}

void kv_axpy_heads_avx512(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                          int64_t n, float* out, int64_t out_stride) {
  switch (type) {
    case KvType::F32: return axpy_heads_typed<KvType::F32>(weights, heads, rows, len, n, out, out_stride);
    case KvType::F16: return axpy_heads_typed<KvType::F16>(weights, heads, rows, len, n, out, out_stride);
    case KvType::BF16: return axpy_heads_typed<KvType::BF16>(weights, heads, rows, len, n, out, out_stride);
  }
}

}  // namespace gemma4

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#pragma GCC pop_options

#else  // not x86-64: vnni_supported() is false, so none of these is ever called.

namespace gemma4 {
float kv_dot_avx512(const float*, const void*, KvType, int64_t) { std::abort(); }
void kv_axpy_avx512(float, const void*, KvType, int64_t, float*) { std::abort(); }
void kv_dot_heads_avx512(const float*, int64_t, const uint8_t* const*, int64_t, KvType, int64_t, float*) { std::abort(); }
void kv_axpy_heads_avx512(const float*, int64_t, const uint8_t* const*, int64_t, KvType, int64_t, float*, int64_t) {
  std::abort();
}
}  // namespace gemma4

#endif
