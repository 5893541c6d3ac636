// AVX-512 VNNI kernels for the quantized weight types. vpdpbusd (here in its 256-bit AVX512VL form,
// which keeps the core at AVX2 clocks and gives 32 vector registers for wider tiles) does the
// u8 × s8 four-way dot product into int32 that AVX2 needs maddubs + madd for, and its accumulator
// input adds the int32 lane bias for free. The lane sums are exact, and the float operations after
// them are the AVX2 kernels' (quant.h, batch invariance), so both paths give the same bits.
// Chosen at run time only when the CPU has AVX512VL + AVX512VNNI; the AVX2 path is the baseline.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")

namespace gemma4 {

namespace {

#ifndef GEMMA4_PREFETCH_BYTES
#define GEMMA4_PREFETCH_BYTES 8192
#endif
constexpr int64_t kPrefetchBytes = GEMMA4_PREFETCH_BYTES;
constexpr int64_t kTokenChunk = 64;  // activation rows kept hot in L2 while weight tiles stream
constexpr int kTokenTile = 4;        // 4 weight rows × 4 tokens: 16 accumulators of 32 registers

// A private copy of simd::hsum (same operations, so the same bits): shared inline helpers compiled
// here would carry AVX-512 encodings into a COMDAT the linker may pick for the AVX2-only units.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

struct VnniQ8_0 {
  using Block = BlockQ8_0;
  // The signed weights, and -128·Σw per lane: the activations enter vpdpbusd as the unsigned a + 128.
  struct Weights {
    __m256i q;
    __m256i neg_bias;
  };
  struct Acts {
    __m256i biased;  // a + 128 as unsigned bytes (flipping the sign bit adds 128)
  };
  static Weights unpack(const Block& b) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.q));
    // |w| <= 127, so -w is an int8 too.
    const __m256i neg = _mm256_sub_epi8(_mm256_setzero_si256(), q);
    return {q, _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(static_cast<char>(0x80)), neg)};
  }
  static Acts acts(const int8_t* a, const int32_t*) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
    return {_mm256_xor_si256(v, _mm256_set1_epi8(static_cast<char>(0x80)))};
  }
  static __m256i lane_sums(const Weights& w, const Acts& a) { return _mm256_dpbusd_epi32(w.neg_bias, a.biased, w.q); }
  static constexpr bool kNeedsBias = false;
};

struct VnniQ4_0 {
  using Block = BlockQ4_0;
  struct Weights {
    __m256i nibbles;  // weights 0..31 of the block, unsigned 0..15
  };
  struct Acts {
    __m256i q;
    __m256i bias;  // -8·Σa per lane
  };
  static Weights unpack(const Block& b) {
    const __m256i bytes = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.q)));
    const __m256i shifted = _mm256_srlv_epi32(bytes, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    return {_mm256_and_si256(shifted, _mm256_set1_epi8(0x0f))};
  }
  static Acts acts(const int8_t* a, const int32_t* bias) {
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias))};
  }
  static __m256i lane_sums(const Weights& w, const Acts& a) { return _mm256_dpbusd_epi32(a.bias, w.nibbles, a.q); }
  static constexpr bool kNeedsBias = true;
};

template <class Block, int R>
inline __m256 row_scales(const Block* const* rows, int64_t b) {
  __m128i h = _mm_cvtsi32_si128(rows[0][b].d);
  if constexpr (R > 1) h = _mm_insert_epi16(h, rows[1][b].d, 1);
  if constexpr (R > 2) h = _mm_insert_epi16(h, rows[2][b].d, 2);
  if constexpr (R > 3) h = _mm_insert_epi16(h, rows[3][b].d, 3);
  static_assert(R <= 4);
  return _mm256_castps128_ps256(_mm_cvtph_ps(h));
}

// R weight rows × T activation rows, all blocks: the float operations of the AVX2 quant_tile.
// `prefetch`: this tile is the first pass over its weight rows (later token tiles find them cached).
template <class Q, int R, int T>
void tile(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch) {
  using Block = typename Q::Block;
  const int64_t blocks = p.w->cols / 32;
  const Block* wrow[R];
  for (int i = 0; i < R; ++i) wrow[i] = static_cast<const Block*>(p.w->data) + (r + i) * blocks;
  const int8_t* aq[T];
  const float* as[T];
  const int32_t* ab[T];
  for (int j = 0; j < T; ++j) {
    aq[j] = p.xq->row_quants(t + j);
    as[j] = p.xq->row_scales(t + j);
    ab[j] = Q::kNeedsBias ? p.xq->row_lane_bias(t + j) : nullptr;
  }
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    if (prefetch) {
      for (int i = 0; i < R; ++i)
        _mm_prefetch(reinterpret_cast<const char*>(wrow[i] + b) + kPrefetchBytes, _MM_HINT_T0);
    }
    typename Q::Weights w[R];
    for (int i = 0; i < R; ++i) w[i] = Q::unpack(wrow[i][b]);
    const __m256 wd = row_scales<Block, R>(wrow, b);
    for (int j = 0; j < T; ++j) {
      const typename Q::Acts a = Q::acts(aq[j] + b * 32, Q::kNeedsBias ? ab[j] + b * 8 : nullptr);
      const __m256 scales = _mm256_mul_ps(wd, _mm256_set1_ps(as[j][b]));
      for (int i = 0; i < R; ++i) {
        const __m256 scale = _mm256_permutevar8x32_ps(scales, _mm256_set1_epi32(i));
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Q::lane_sums(w[i], a)), scale, acc[i][j]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) p.y[(t + j) * p.y_stride + r + i] = hsum(acc[i][j]);
}

// Tokens [t0, t1) against R rows at r: full token tiles, then one tile for the remainder.
template <class Q, int R>
void tokens(const MatmulProblem& p, int64_t r, int64_t t0, int64_t t1) {
  int64_t t = t0;
  for (; t + kTokenTile <= t1; t += kTokenTile) tile<Q, R, kTokenTile>(p, r, t, t == t0);
  switch (t1 - t) {
    case 3: tile<Q, R, 3>(p, r, t, t == t0); break;
    case 2: tile<Q, R, 2>(p, r, t, t == t0); break;
    case 1: tile<Q, R, 1>(p, r, t, t == t0); break;
    default: break;
  }
}

template <class Q>
void rows(const MatmulProblem& p, int64_t r0, int64_t r1) {
  for (int64_t t0 = 0; t0 < p.n; t0 += kTokenChunk) {
    const int64_t t1 = std::min(p.n, t0 + kTokenChunk);
    int64_t r = r0;
    for (; r + kMatmulRowTile <= r1; r += kMatmulRowTile) tokens<Q, kMatmulRowTile>(p, r, t0, t1);
    for (; r < r1; ++r) tokens<Q, 1>(p, r, t0, t1);
  }
}

}  // namespace

void quant_rows_vnni(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    rows<VnniQ8_0>(p, r0, r1);
  } else {
    rows<VnniQ4_0>(p, r0, r1);
  }
}

}  // namespace gemma4

#pragma GCC pop_options

namespace gemma4 {
namespace {
bool cpu_has_vnni() { return __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"); }
std::atomic<bool>& vnni_on() {
  // GEMMA4_KERNELS=avx2 keeps to the AVX2 baseline on a VNNI machine (for comparisons).
  static std::atomic<bool> on{[] {
    const char* forced = std::getenv("GEMMA4_KERNELS");
    if (forced && std::string(forced) == "avx2") return false;
    return cpu_has_vnni();
  }()};
  return on;
}
}  // namespace
bool vnni_supported() { return vnni_on().load(std::memory_order_relaxed); }
bool set_vnni_enabled(bool on) { return vnni_on().exchange(on && cpu_has_vnni(), std::memory_order_relaxed); }
}  // namespace gemma4

#else
namespace gemma4 {
void quant_rows_vnni(const MatmulProblem&, int64_t, int64_t) {}
bool vnni_supported() { return false; }
bool set_vnni_enabled(bool) { return false; }
}  // namespace gemma4
#endif
