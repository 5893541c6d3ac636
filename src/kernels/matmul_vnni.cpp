// AVX-512 VNNI variant of the Q4_0 prefill GEMM. vpdpbusd (here in its 256-bit AVX512VL form, which
// keeps the core at AVX2 clocks) does the u8 × s8 four-way dot product into int32 that AVX2 needs
// maddubs + madd for: one instruction fewer per (weight row, token, block) in the inner loop.
// Chosen at run time only when the CPU has AVX512VL + AVX512VNNI; the AVX2 path is the baseline.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")


namespace gemma4 {

namespace {

// A private copy of simd::hsum: shared inline helpers compiled here would carry AVX-512 encodings
// into a COMDAT the linker may pick for the AVX2-only translation units.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Output rows r .. r + R from packed rows first .. first + R, activation rows t .. t + T.
// Same arithmetic as the AVX2 tile: (a + 128)·(q - 8) per block, the 128·Σ(q - 8) bias removed at
// the end; int32 block sums are exact, so results equal the AVX2 path's up to float summation order.
template <int R, int T>
void q4_packed_tile_vnni(const MatmulProblem& p, const PackedQ4Tile& packed, int first, int64_t r, int64_t t) {
  const int64_t blocks = p.w->cols / 32;
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  const int8_t* aq[T];
  const float* as[T];
  for (int j = 0; j < T; ++j) {
    aq[j] = p.xq->row_quants(t + j);
    as[j] = p.xq->row_scales(t + j);
  }
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i a[T];
    __m256 ad[T];
    for (int j = 0; j < T; ++j) {
      a[j] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(aq[j] + b * 32)), bias);
      ad[j] = _mm256_broadcast_ss(as[j] + b);
    }
    for (int i = 0; i < R; ++i) {
      const int64_t k = (first + i) * blocks + b;
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed.weights.data() + k * 32));
      const __m256 wd = _mm256_broadcast_ss(packed.scales.data() + k);
      for (int j = 0; j < T; ++j) {
        const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), a[j], w);
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(wd, ad[j]), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    const float* offsets = packed.offsets.data() + (first + i) * blocks;
    for (int j = 0; j < T; ++j) {
      __m256 bias_acc = _mm256_setzero_ps();
      int64_t b = 0;
      for (; b + 8 <= blocks; b += 8)
        bias_acc = _mm256_fmadd_ps(_mm256_loadu_ps(offsets + b), _mm256_loadu_ps(as[j] + b), bias_acc);
      float correction = hsum(bias_acc);
      for (; b < blocks; ++b) correction += offsets[b] * as[j][b];
      p.y[(t + j) * p.y_stride + r + i] = hsum(acc[i][j]) - correction;
    }
  }
}

}  // namespace

void q4_gemm_vnni(const MatmulProblem& p, int64_t r0, int64_t r1) {
  constexpr int kTokens = 3;
  constexpr int64_t kTokenChunk = 64;
  PackedQ4Tile& packed = packed_q4_scratch(p.w->cols / 32);
  for (int64_t t0 = 0; t0 < p.n; t0 += kTokenChunk) {
    const int64_t t1 = p.n < t0 + kTokenChunk ? p.n : t0 + kTokenChunk;
    for (int64_t r = r0; r < r1; r += kMatmulRowTile) {
      const int rows = static_cast<int>(r1 - r < kMatmulRowTile ? r1 - r : kMatmulRowTile);
      pack_q4_rows_avx2(p, r, rows, packed);
      if (rows == kMatmulRowTile) {
        int64_t t = t0;
        for (; t + kTokens <= t1; t += kTokens) q4_packed_tile_vnni<kMatmulRowTile, kTokens>(p, packed, 0, r, t);
        for (; t < t1; ++t) q4_packed_tile_vnni<kMatmulRowTile, 1>(p, packed, 0, r, t);
      } else {
        for (int i = 0; i < rows; ++i)
          for (int64_t t = t0; t < t1; ++t) q4_packed_tile_vnni<1, 1>(p, packed, i, r + i, t);
      }
    }
  }
}

}  // namespace gemma4

#pragma GCC pop_options

namespace gemma4 {
bool vnni_supported() {
  // GEMMA4_KERNELS=avx2 keeps to the AVX2 baseline on a VNNI machine (for comparisons).
  static const bool supported = [] {
    const char* forced = std::getenv("GEMMA4_KERNELS");
    if (forced && std::string(forced) == "avx2") return false;
    return __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }();
  return supported;
}
}  // namespace gemma4

#else
namespace gemma4 {
void q4_gemm_vnni(const MatmulProblem&, int64_t, int64_t) {}
bool vnni_supported() { return false; }
}  // namespace gemma4
#endif
