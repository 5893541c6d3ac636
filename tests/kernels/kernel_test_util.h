#pragma once
// Helpers shared by the kernel tests: deterministic random data and kernel-path switching.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu_dispatch.h"

namespace gemma4::testing {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Values built from integers by an LCG (no library random numbers or libm): the same inputs on
// every CPU architecture, for the tests that check recorded bits across architectures.
inline std::vector<float> integer_pattern(size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  uint32_t s = seed;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(static_cast<int32_t>(s >> 16) % 2001 - 1000) * scale;
  }
  return v;
}

// FNV-1a over the bits of the values: one number that changes when any bit does.
inline uint64_t fnv1a(const std::vector<float>& v) {
  uint64_t h = 1469598103934665603ull;
  for (float f : v) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int i = 0; i < 4; ++i) h = (h ^ ((u >> (8 * i)) & 0xff)) * 1099511628211ull;
  }
  return h;
}

// The supported SIMD paths of this CPU (x86-64: AVX2; AArch64: NEON, dotprod, i8mm as present).
inline std::vector<KernelPath> simd_kernel_paths() {
  std::vector<KernelPath> out;
  for (KernelPath p : kAllKernelPaths)
    if (p != KernelPath::Portable && kernel_path_supported(p)) out.push_back(p);
  return out;
}

// Runs the enclosed code on one kernel path and restores the previous one.
class ScopedKernelPath {
 public:
  explicit ScopedKernelPath(KernelPath p) : previous_(set_kernel_path(p)) {}
  ~ScopedKernelPath() { set_kernel_path(previous_); }
  ScopedKernelPath(const ScopedKernelPath&) = delete;
  ScopedKernelPath& operator=(const ScopedKernelPath&) = delete;

 private:
  KernelPath previous_;
};

#define GEMMA4_REQUIRE_AVX2()                                                \
  do {                                                                       \
    if (!::gemma4::kernel_path_supported(::gemma4::KernelPath::Avx2))        \
      GTEST_SKIP() << "this CPU has no AVX2/FMA/F16C; only the portable path runs"; \
  } while (0)

}  // namespace gemma4::testing
