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

}  // namespace

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
}  // namespace gemma4

#endif
