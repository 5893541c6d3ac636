// AVX-512 VNNI kernels for the quantized weight types on their 16-row panels (quant_panels.h).
// One 512-bit group of a panel is the vpdpbusd operand as stored: lane i is weight row i's four
// unsigned bytes; the token's four activation bytes are broadcast from memory. Each token's int32
// block sums start from the activation's −K·Σa, so after the eight groups lane i holds the exact
// block dot product of row i, and one convert and one FMA per 16 rows apply the two scales.
// Chosen at run time only when the CPU has AVX512VL + AVX512VNNI; the AVX2 path is the baseline.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/matmul_kernels.h"
#include "kernels/quant_panels.h"

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

#include "kernels/panel_driver.h"

#ifndef GEMMA4_PANEL_PREFETCH
#define GEMMA4_PANEL_PREFETCH 8192
#endif
// Distance ahead in the panel's weight stream, asked for once per cache line on the first pass
// (0: none, the hardware prefetchers alone).
constexpr int64_t kPrefetchBytes = GEMMA4_PANEL_PREFETCH;
#ifndef GEMMA4_VNNI_TOKENS
#define GEMMA4_VNNI_TOKENS 10
#endif
// Tokens per tile: T int32 sums + T float accumulators + 2 weight groups fit the 32 registers.
constexpr int kMaxTokens = GEMMA4_VNNI_TOKENS;

inline __m512i broadcast4(const int8_t* a) {
  int32_t v;
  std::memcpy(&v, a, 4);
  return _mm512_set1_epi32(v);
}

inline void prefetch_block(const uint8_t* quants, int64_t bytes) {
  if constexpr (kPrefetchBytes > 0)
    for (int64_t line = 0; line < bytes; line += 64)
      _mm_prefetch(reinterpret_cast<const char*>(quants + kPrefetchBytes + line), _MM_HINT_T0);
}

// Independent vpdpbusd chains per token: with few tokens a single chain of eight would wait on the
// instruction's latency; integer sums are exact, so splitting them changes no bit.
template <int T>
constexpr int kChains = T >= 4 ? 1 : (T >= 2 ? 2 : 4);

// Chain 0 starts from the block's −K·Σa, the others from zero.
template <int T>
inline void start_sums(const QuantizedActivations& xq, int64_t t, int64_t b, __m512i (&sums)[kChains<T>][T]) {
  for (int j = 0; j < T; ++j) sums[0][j] = _mm512_set1_epi32(xq.row_block_bias(t + j)[b]);
  for (int c = 1; c < kChains<T>; ++c)
    for (int j = 0; j < T; ++j) sums[c][j] = _mm512_setzero_si512();
}

template <int T>
inline __m512i finish_sums(const __m512i (&sums)[kChains<T>][T], int j) {
  __m512i s = sums[0][j];
  for (int c = 1; c < kChains<T>; ++c) s = _mm512_add_epi32(s, sums[c][j]);
  return s;
}

inline void store_results(const PanelTask& task, int64_t t, __m512 v) {
  if (task.lo == 0 && task.hi == kPanelRows) {
    _mm512_storeu_ps(task.p->y + t * task.p->y_stride + task.row0, v);
    return;
  }
  alignas(64) float values[kPanelRows];
  _mm512_store_ps(values, v);
  store_panel_lanes(task, t, values);
}

// Q8_0: eight groups of unsigned q + 128 per block.
template <int T>
struct Q8Tile {
  static void run(const PanelTask& task, int64_t t, bool prefetch) {
    const QuantizedActivations& xq = *task.p->xq;
    __m512 acc[T];
    for (int j = 0; j < T; ++j) acc[j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q8_0, b);
      if (prefetch) prefetch_block(q, 512);
      __m512i sums[kChains<T>][T];
      start_sums<T>(xq, t, b, sums);
      for (int k = 0; k < 8; ++k) {
        const __m512i w = _mm512_loadu_si512(q + 64 * k);
        for (int j = 0; j < T; ++j) {
          __m512i& s = sums[k % kChains<T>][j];
          s = _mm512_dpbusd_epi32(s, w, broadcast4(xq.row_quants(t + j) + b * 32 + 4 * k));
        }
      }
      const __m512 wd = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block_scales(task, WeightType::Q8_0, b))));
      for (int j = 0; j < T; ++j) {
        const __m512 scale = _mm512_mul_ps(wd, _mm512_set1_ps(xq.row_scales(t + j)[b]));
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(finish_sums<T>(sums, j)), scale, acc[j]);
      }
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[j]);
  }
};

// Q4_0: four groups per block, each holding two groups of nibbles (elements 4k.. low, 16 + 4k.. high).
template <int T>
struct Q4Tile {
  static void run(const PanelTask& task, int64_t t, bool prefetch) {
    const QuantizedActivations& xq = *task.p->xq;
    const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
    __m512 acc[T];
    for (int j = 0; j < T; ++j) acc[j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < task.blocks; ++b) {
      const uint8_t* q = block_quants(task, WeightType::Q4_0, b);
      if (prefetch) prefetch_block(q, 256);
      __m512i sums[kChains<T>][T];
      start_sums<T>(xq, t, b, sums);
      for (int k = 0; k < 4; ++k) {
        const __m512i bytes = _mm512_loadu_si512(q + 64 * k);
        const __m512i lo = _mm512_and_si512(bytes, low_nibbles);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_nibbles);
        for (int j = 0; j < T; ++j) {
          const int8_t* a = xq.row_quants(t + j) + b * 32 + 4 * k;
          __m512i& s0 = sums[(2 * k) % kChains<T>][j];
          s0 = _mm512_dpbusd_epi32(s0, lo, broadcast4(a));
          __m512i& s1 = sums[(2 * k + 1) % kChains<T>][j];
          s1 = _mm512_dpbusd_epi32(s1, hi, broadcast4(a + 16));
        }
      }
      const __m512 wd = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block_scales(task, WeightType::Q4_0, b))));
      for (int j = 0; j < T; ++j) {
        const __m512 scale = _mm512_mul_ps(wd, _mm512_set1_ps(xq.row_scales(t + j)[b]));
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(finish_sums<T>(sums, j)), scale, acc[j]);
      }
    }
    for (int j = 0; j < T; ++j) store_results(task, t + j, acc[j]);
  }
};

}  // namespace

void quant_panels_vnni(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (p.w->type == WeightType::Q8_0) {
    panel_rows<Q8Tile, kMaxTokens>(p, r0, r1);
  } else {
    panel_rows<Q4Tile, kMaxTokens>(p, r0, r1);
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
void quant_panels_vnni(const MatmulProblem&, int64_t, int64_t) {}
bool vnni_supported() { return false; }
bool set_vnni_enabled(bool) { return false; }
}  // namespace gemma4
#endif
