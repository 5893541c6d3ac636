#include "kernels/cpu_dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace gemma4 {

namespace {

bool cpu_has_avx2_fma_f16c() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // F16C straight from CPUID (leaf 1, ECX bit 29): clang's __builtin_cpu_supports has no "f16c".
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
#else
  return false;
#endif
}

// SIMD128 is a compile-time property of a wasm module: an engine without it fails to load it.
constexpr bool wasm_simd128_built() {
#if defined(__wasm_simd128__)
  return true;
#else
  return false;
#endif
}

KernelPath default_path() {
  const char* forced = std::getenv("GEMMA4_KERNELS");
  if (forced != nullptr && std::strcmp(forced, "scalar") == 0) return KernelPath::Portable;
  if (cpu_has_avx2_fma_f16c()) return KernelPath::Avx2;
  return wasm_simd128_built() ? KernelPath::WasmSimd128 : KernelPath::Portable;
}

std::atomic<KernelPath>& active() {
  static std::atomic<KernelPath> path{default_path()};
  return path;
}

}  // namespace

std::string_view kernel_path_name(KernelPath p) {
  switch (p) {
    case KernelPath::Avx2: return "avx2";
    case KernelPath::WasmSimd128: return "wasm-simd128";
    case KernelPath::Portable: break;
  }
  return "portable";
}

bool kernel_path_supported(KernelPath p) {
  if (p == KernelPath::Portable) return true;
  if (p == KernelPath::WasmSimd128) return wasm_simd128_built();
  static const bool avx2 = cpu_has_avx2_fma_f16c();
  return avx2;
}

KernelPath active_kernel_path() { return active().load(std::memory_order_relaxed); }

KernelPath set_kernel_path(KernelPath p) {
  if (!kernel_path_supported(p)) p = KernelPath::Portable;
  return active().exchange(p, std::memory_order_relaxed);
}

}  // namespace gemma4
