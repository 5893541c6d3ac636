#pragma once
// Helpers shared by the kernel tests: deterministic random data and kernel-path switching.
#include <gtest/gtest.h>

#include <cstdint>
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
