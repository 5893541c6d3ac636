// The kernel path a process starts on: the best tier the CPU has, or the one GEMMA4_KERNELS forces.
// GEMMA4_EXPECT_KERNEL_PATH (set by scripts/test_arm.sh per emulated CPU) names the path this run
// must have picked, so a CPU probe that silently fell back to a lower tier fails the test.
#include "kernels/cpu_dispatch.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace gemma4 {
namespace {

TEST(CpuDispatch, StartsOnTheExpectedPath) {
  const std::string picked(kernel_path_name(active_kernel_path()));
  std::printf("kernel path: %s\n", picked.c_str());
  EXPECT_TRUE(kernel_path_supported(active_kernel_path()));
  const char* expected = std::getenv("GEMMA4_EXPECT_KERNEL_PATH");
  if (expected == nullptr) GTEST_SKIP() << "picked " << picked << " (GEMMA4_EXPECT_KERNEL_PATH not set)";
  EXPECT_EQ(picked, expected);
}

TEST(CpuDispatch, TiersAreOrderedAndPortableAlwaysRuns) {
  EXPECT_TRUE(kernel_path_supported(KernelPath::Portable));
  // An AArch64 CPU with i8mm has dot products, and every AArch64 CPU has NEON.
  if (kernel_path_supported(KernelPath::I8mm)) {
    EXPECT_TRUE(kernel_path_supported(KernelPath::Dotprod));
  }
  if (kernel_path_supported(KernelPath::Dotprod)) {
    EXPECT_TRUE(kernel_path_supported(KernelPath::Neon));
  }
#if defined(__aarch64__)
  EXPECT_TRUE(kernel_path_supported(KernelPath::Neon));
  EXPECT_FALSE(kernel_path_supported(KernelPath::Avx2));
#else
  EXPECT_FALSE(kernel_path_supported(KernelPath::Neon));
#endif
}

TEST(CpuDispatch, UnsupportedPathFallsBackToPortable) {
  for (KernelPath p : kAllKernelPaths) {
    const KernelPath before = set_kernel_path(p);
    EXPECT_EQ(active_kernel_path(), kernel_path_supported(p) ? p : KernelPath::Portable) << kernel_path_name(p);
    set_kernel_path(before);
  }
}

}  // namespace
}  // namespace gemma4
