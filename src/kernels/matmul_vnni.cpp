// AVX-512 VNNI kernels for the quantized weight types. vpdpbusd does the u8 × s8 four-way dot
// product into int32 that AVX2 needs maddubs + madd for, and its accumulator input adds the int32
// lane bias for free. A 512-bit register holds one block of two weight rows (rows i and i + 1 in the
// low and high 256 bits), so every lane does exactly what the AVX2 kernel's lane does for its row:
// the lane sums are exact and the float operations after them are the AVX2 kernels' (quant.h, batch
// invariance), so both paths give the same bits while VNNI does twice the work per instruction.
// Chosen at run time only when the CPU has AVX512VL + AVX512VNNI; the AVX2 path is the baseline.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "kernels/matmul_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() as the masked-off source, which its own
// flow analysis then reports as "used uninitialized" (a false positive in the system headers).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace gemma4 {

namespace {

#ifndef GEMMA4_PREFETCH_BYTES
#define GEMMA4_PREFETCH_BYTES 8192
#endif
constexpr int64_t kPrefetchBytes = GEMMA4_PREFETCH_BYTES;
constexpr int64_t kTokenChunk = 64;  // activation rows kept hot in L2 while weight tiles stream
constexpr int kTokenTile = 4;        // 2 row pairs × 4 tokens: 8 accumulators of 32 registers
#ifndef GEMMA4_VNNI_WIDE_TILE
#define GEMMA4_VNNI_WIDE_TILE 8
#endif
constexpr int kWideTokenTile = GEMMA4_VNNI_WIDE_TILE;  // prefill: 16 accumulators, weights reused 8x

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

// ---- two rows per 512-bit register ----------------------------------------------------------

// Both 256-bit halves of a zmm from two 256-bit values.
inline __m512i pair(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

struct PairQ8_0 {
  using Block = BlockQ8_0;
  using Single = VnniQ8_0;
  struct Weights {
    __m512i q;
    __m512i neg_bias;
  };
  struct Acts {
    __m512i biased;
  };
  static Weights unpack(const Block& b0, const Block& b1) {
    const __m512i q = pair(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0.q)),
                           _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1.q)));
    const __m512i neg = _mm512_sub_epi8(_mm512_setzero_si512(), q);
    return {q, _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(0x80)), neg)};
  }
  static Acts acts(const int8_t* a, const int32_t*) {
    const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)));
    return {_mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)))};
  }
  static __m512i lane_sums(const Weights& w, const Acts& a) { return _mm512_dpbusd_epi32(w.neg_bias, a.biased, w.q); }
  static constexpr bool kNeedsBias = false;
};

struct PairQ4_0 {
  using Block = BlockQ4_0;
  using Single = VnniQ4_0;
  struct Weights {
    __m512i nibbles;
  };
  struct Acts {
    __m512i q;
    __m512i bias;
  };
  static Weights unpack(const Block& b0, const Block& b1) {
    const __m512i bytes =
        pair(_mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b0.q))),
             _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b1.q))));
    const __m512i shifted =
        _mm512_srlv_epi32(bytes, _mm512_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0, 4, 4, 4, 4));
    return {_mm512_and_si512(shifted, _mm512_set1_epi8(0x0f))};
  }
  static Acts acts(const int8_t* a, const int32_t* bias) {
    return {_mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a))),
            _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias)))};
  }
  static __m512i lane_sums(const Weights& w, const Acts& a) { return _mm512_dpbusd_epi32(a.bias, w.nibbles, a.q); }
  static constexpr bool kNeedsBias = true;
};

// The f16 scales of block b of rows i (low half) and i + 1 (high half), eight copies each.
template <class Block>
inline __m512 pair_scales(const Block* row0, const Block* row1, int64_t b) {
  const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<short>(row0[b].d))),
                                            _mm_set1_epi16(static_cast<short>(row1[b].d)), 1);
  return _mm512_cvtph_ps(h);
}

// 2P weight rows (P pairs) × T activation rows, all blocks.
template <class Q, int P, int T>
void pair_tile(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch) {
  using Block = typename Q::Block;
  const int64_t blocks = p.w->cols / 32;
  const Block* wrow[2 * P];
  for (int i = 0; i < 2 * P; ++i) wrow[i] = static_cast<const Block*>(p.w->data) + (r + i) * blocks;
  const int8_t* aq[T];
  const float* as[T];
  const int32_t* ab[T];
  for (int j = 0; j < T; ++j) {
    aq[j] = p.xq->row_quants(t + j);
    as[j] = p.xq->row_scales(t + j);
    ab[j] = Q::kNeedsBias ? p.xq->row_lane_bias(t + j) : nullptr;
  }
  __m512 acc[P][T];
  for (int k = 0; k < P; ++k)
    for (int j = 0; j < T; ++j) acc[k][j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    if (prefetch) {
      for (int i = 0; i < 2 * P; ++i)
        _mm_prefetch(reinterpret_cast<const char*>(wrow[i] + b) + kPrefetchBytes, _MM_HINT_T0);
    }
    typename Q::Weights w[P];
    __m512 wd[P];
    for (int k = 0; k < P; ++k) {
      w[k] = Q::unpack(wrow[2 * k][b], wrow[2 * k + 1][b]);
      wd[k] = pair_scales(wrow[2 * k], wrow[2 * k + 1], b);
    }
    for (int j = 0; j < T; ++j) {
      const typename Q::Acts a = Q::acts(aq[j] + b * 32, Q::kNeedsBias ? ab[j] + b * 8 : nullptr);
      const __m512 ad = _mm512_set1_ps(as[j][b]);
      for (int k = 0; k < P; ++k) {
        // wd·ad per lane: the same product the AVX2 kernel forms for each row.
        acc[k][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(Q::lane_sums(w[k], a)), _mm512_mul_ps(wd[k], ad), acc[k][j]);
      }
    }
  }
  for (int k = 0; k < P; ++k) {
    for (int j = 0; j < T; ++j) {
      const __m512 v = acc[k][j];
      p.y[(t + j) * p.y_stride + r + 2 * k] = hsum(_mm512_castps512_ps256(v));
      p.y[(t + j) * p.y_stride + r + 2 * k + 1] = hsum(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    }
  }
}

// Tokens [t0, t1) against one tile of rows at r: full token tiles, then one tile for the remainder.
// Tile<T>::run(p, r, t, prefetch) computes T tokens.
template <template <int> class Tile>
void tokens(const MatmulProblem& p, int64_t r, int64_t t0, int64_t t1) {
  int64_t t = t0;
  for (; t + kWideTokenTile <= t1; t += kWideTokenTile) Tile<kWideTokenTile>::run(p, r, t, t == t0);
  for (; t + kTokenTile <= t1; t += kTokenTile) Tile<kTokenTile>::run(p, r, t, t == t0);
  switch (t1 - t) {
    case 3: Tile<3>::run(p, r, t, t == t0); break;
    case 2: Tile<2>::run(p, r, t, t == t0); break;
    case 1: Tile<1>::run(p, r, t, t == t0); break;
    default: break;
  }
}

template <class Q, int P>
struct Pairs {
  template <int T>
  struct Of {
    static void run(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch) { pair_tile<Q, P, T>(p, r, t, prefetch); }
  };
};
template <class Q>
struct OneRow {
  template <int T>
  struct Of {
    static void run(const MatmulProblem& p, int64_t r, int64_t t, bool prefetch) {
      tile<typename Q::Single, 1, T>(p, r, t, prefetch);
    }
  };
};

template <class Q>
void rows(const MatmulProblem& p, int64_t r0, int64_t r1) {
  for (int64_t t0 = 0; t0 < p.n; t0 += kTokenChunk) {
    const int64_t t1 = std::min(p.n, t0 + kTokenChunk);
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) tokens<Pairs<Q, 2>::template Of>(p, r, t0, t1);
    for (; r + 2 <= r1; r += 2) tokens<Pairs<Q, 1>::template Of>(p, r, t0, t1);
    for (; r < r1; ++r) tokens<OneRow<Q>::template Of>(p, r, t0, t1);
  }
}

}  // namespace

void quant_rows_vnni(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    rows<PairQ8_0>(p, r0, r1);
  } else {
    rows<PairQ4_0>(p, r0, r1);
  }
}

}  // namespace gemma4

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#pragma GCC pop_options

namespace gemma4 {
namespace {
bool cpu_has_vnni() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni");
}
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
