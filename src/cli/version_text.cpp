#include "cli/version_text.h"

#include <string_view>
#include <vector>

#include "gemma4/version.h"
#include "kernels/cpu_dispatch.h"
#include "kernels/matmul_kernels.h"

#ifndef GEMMA4_GIT_COMMIT
#define GEMMA4_GIT_COMMIT "unknown"
#endif

namespace gemma4::cli {

namespace {

// Whether the CPU has the AVX-512 VNNI kernels, whatever GEMMA4_KERNELS says: switching them on
// reports the CPU's answer, and the previous setting is put back (this runs before any kernel).
bool cpu_has_vnni() {
  const bool before = set_vnni_enabled(true);
  const bool has = vnni_supported();
  set_vnni_enabled(before);
  return has;
}

std::string active_path_name() {
  if (active_kernel_path() == KernelPath::Avx2 && vnni_supported()) return "avx512-vnni";
  return std::string(kernel_path_name(active_kernel_path()));
}

}  // namespace

std::string version_text() {
  // Every tier this build and CPU can run (x86-64: avx2 and VNNI; AArch64: neon, dotprod, i8mm).
  std::vector<std::string_view> paths;
  for (KernelPath p : kAllKernelPaths) {
    if (!kernel_path_supported(p)) continue;
    paths.push_back(kernel_path_name(p));
    if (p == KernelPath::Avx2 && cpu_has_vnni()) paths.push_back("avx512-vnni");
  }

  std::string text = std::string("gemma4 ") + kVersion + "\ncommit: " + GEMMA4_GIT_COMMIT + "\nkernels:";
  for (std::string_view p : paths) {
    text += ' ';
    text += p;
  }
  text += " (in use: " + active_path_name() + ")";
  return text;
}

}  // namespace gemma4::cli
