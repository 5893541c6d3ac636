// AVX2/FMA/F16C versions of the KV-row primitives (kernels/kv_ops.h); selected at run time.
// Attention calls kv_dot and kv_axpy once per (query head, cached position), on rows of 256 or 512.
#include <cstdlib>
#include <cstring>

#include "kernels/numeric.h"
#include "kernels/ops_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

#include "kernels/simd_math_avx2.h"

namespace gemma4 {

namespace {

using simd::hsum;

inline __m256 load8(const void* base, KvType type, int64_t i) {
  switch (type) {
    case KvType::F32: return _mm256_loadu_ps(static_cast<const float*>(base) + i);
    case KvType::F16:
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i)));
    case KvType::BF16: {
      __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + i));
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
  }
  return _mm256_setzero_ps();
}

inline float load1(const void* base, KvType type, int64_t i) {
  if (type == KvType::F32) return static_cast<const float*>(base)[i];
  uint16_t h;
  std::memcpy(&h, static_cast<const uint16_t*>(base) + i, 2);
  return type == KvType::F16 ? _cvtsh_ss(h) : bf16_to_f32(h);
}

template <KvType kType>
float dot_typed(const float* q, const void* k, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(k, kType, i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load8(k, kType, i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(k, kType, i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += q[i] * load1(k, kType, i);
  return sum;
}

template <KvType kType>
void axpy_typed(float a, const void* v, int64_t n, float* acc) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(va, load8(v, kType, i), _mm256_loadu_ps(acc + i)));
  }
  for (; i < n; ++i) acc[i] += a * load1(v, kType, i);
}

// Round-to-nearest-even f32 -> bf16 on 8 lanes, NaN kept quiet (same rule as f32_to_bf16).
inline __m128i to_bf16(__m256 v) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
  const __m256i quiet_nan = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
  const __m256 is_nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
  rounded = _mm256_blendv_epi8(rounded, quiet_nan, _mm256_castps_si256(is_nan));
  // Values are in [0, 0xffff], so the signed-saturating pack is exact; fix the lane order after.
  __m256i packed = _mm256_packus_epi32(rounded, rounded);
  packed = _mm256_permute4x64_epi64(packed, 0x08);
  return _mm256_castsi256_si128(packed);
}

// Four query heads against one row at a time, with dot_typed's two accumulators per head.
template <KvType kType>
void dot_four_heads(const float* q, const uint8_t* const* rows, int64_t len, int64_t n, float* scores) {
  for (int64_t t = 0; t < len; ++t) {
    __m256 acc0[4], acc1[4];
    for (int h = 0; h < 4; ++h) acc0[h] = acc1[h] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
      const __m256 k0 = load8(rows[t], kType, i), k1 = load8(rows[t], kType, i + 8);
      for (int h = 0; h < 4; ++h) {
        acc0[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * n + i), k0, acc0[h]);
        acc1[h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + h * n + i + 8), k1, acc1[h]);
      }
    }
    for (int h = 0; h < 4; ++h) scores[h * len + t] = hsum(_mm256_add_ps(acc0[h], acc1[h]));
  }
}

// Eight output columns of up to eight heads stay in registers while the rows stream past: the
// same fma per (row, head, column) as axpy_typed, in row order.
template <KvType kType, int H>
void axpy_heads_typed(const float* weights, const uint8_t* const* rows, int64_t len, int64_t n, float* out,
                      int64_t out_stride) {
  for (int64_t i = 0; i < n; i += 8) {
    __m256 acc[H];
    for (int h = 0; h < H; ++h) acc[h] = _mm256_loadu_ps(out + h * out_stride + i);
    for (int64_t t = 0; t < len; ++t) {
      const __m256 v = load8(rows[t], kType, i);
      for (int h = 0; h < H; ++h) acc[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(weights + h * len + t), v, acc[h]);
    }
    for (int h = 0; h < H; ++h) _mm256_storeu_ps(out + h * out_stride + i, acc[h]);
  }
}

template <KvType kType>
void dot_heads_typed(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, int64_t n,
                     float* scores) {
  int64_t h = 0;
  if (n % 16 == 0) {
    for (; h + 4 <= heads; h += 4) dot_four_heads<kType>(q + h * n, rows, len, n, scores + h * len);
  }
  for (; h < heads; ++h)
    for (int64_t t = 0; t < len; ++t) scores[h * len + t] = dot_typed<kType>(q + h * n, rows[t], n);
}

template <KvType kType>
void axpy_heads_dispatch(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, int64_t n,
                         float* out, int64_t out_stride) {
  int64_t h = 0;
  if (n % 8 == 0) {
    for (; h + 8 <= heads; h += 8)
      axpy_heads_typed<kType, 8>(weights + h * len, rows, len, n, out + h * out_stride, out_stride);
    for (; h + 4 <= heads; h += 4)
      axpy_heads_typed<kType, 4>(weights + h * len, rows, len, n, out + h * out_stride, out_stride);
  }
  for (; h < heads; ++h)
    for (int64_t t = 0; t < len; ++t) axpy_typed<kType>(weights[h * len + t], rows[t], n, out + h * out_stride);
}

}  // namespace

void kv_dot_heads_avx2(const float* q, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                       int64_t n, float* scores) {
  switch (type) {
    case KvType::F32: return dot_heads_typed<KvType::F32>(q, heads, rows, len, n, scores);
    case KvType::F16: return dot_heads_typed<KvType::F16>(q, heads, rows, len, n, scores);
    case KvType::BF16: return dot_heads_typed<KvType::BF16>(q, heads, rows, len, n, scores);
  }
}

void kv_axpy_heads_avx2(const float* weights, int64_t heads, const uint8_t* const* rows, int64_t len, KvType type,
                        int64_t n, float* out, int64_t out_stride) {
  switch (type) {
    case KvType::F32: return axpy_heads_dispatch<KvType::F32>(weights, heads, rows, len, n, out, out_stride);
    case KvType::F16: return axpy_heads_dispatch<KvType::F16>(weights, heads, rows, len, n, out, out_stride);
    case KvType::BF16: return axpy_heads_dispatch<KvType::BF16>(weights, heads, rows, len, n, out, out_stride);
  }
}

void kv_store_avx2(const float* src, int64_t n, KvType type, void* dst) {
  if (type == KvType::F32) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  auto* out = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(src + i);
    const __m128i h = type == KvType::F16 ? _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT) : to_bf16(v);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = type == KvType::F16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
}

float kv_dot_avx2(const float* q, const void* k, KvType type, int64_t n) {
  switch (type) {
    case KvType::F32: return dot_typed<KvType::F32>(q, k, n);
    case KvType::F16: return dot_typed<KvType::F16>(q, k, n);
    case KvType::BF16: return dot_typed<KvType::BF16>(q, k, n);
  }
  return 0.0f;
}

void kv_axpy_avx2(float a, const void* v, KvType type, int64_t n, float* acc) {
  switch (type) {
    case KvType::F32: return axpy_typed<KvType::F32>(a, v, n, acc);
    case KvType::F16: return axpy_typed<KvType::F16>(a, v, n, acc);
    case KvType::BF16: return axpy_typed<KvType::BF16>(a, v, n, acc);
  }
}

}  // namespace gemma4

#pragma GCC pop_options

#else  // not x86-64: kernel_path_supported(Avx2) is false, so none of these is ever called.

namespace gemma4 {
void kv_store_avx2(const float*, int64_t, KvType, void*) { std::abort(); }
float kv_dot_avx2(const float*, const void*, KvType, int64_t) { std::abort(); }
void kv_axpy_avx2(float, const void*, KvType, int64_t, float*) { std::abort(); }
void kv_dot_heads_avx2(const float*, int64_t, const uint8_t* const*, int64_t, KvType, int64_t, float*) { std::abort(); }
void kv_axpy_heads_avx2(const float*, int64_t, const uint8_t* const*, int64_t, KvType, int64_t, float*, int64_t) {
  std::abort();
}
}  // namespace gemma4

#endif
