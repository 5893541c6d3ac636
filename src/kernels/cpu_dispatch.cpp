#include "kernels/cpu_dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif
#if defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#include "kernels/matmul_kernels.h"

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

// AArch64 Linux reports the extensions in the auxiliary vector (the bit numbers are the kernel's
// ABI: HWCAP_ASIMDDP = bit 20 of AT_HWCAP, HWCAP2_I8MM = bit 13 of AT_HWCAP2); macOS in sysctl
// (hw.optional.arm.FEAT_*). NEON (ASIMD) is part of every AArch64 CPU. A tier also needs its
// kernels in this build (see matmul_dotprod.cpp).
struct ArmFeatures {
  bool neon = false, dotprod = false, i8mm = false;
};

ArmFeatures probe_arm() {
  ArmFeatures f;
#if defined(__aarch64__)
  f.neon = true;
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP), hwcap2 = getauxval(AT_HWCAP2);
  f.dotprod = (hwcap & (1ul << 20)) != 0;
  f.i8mm = f.dotprod && (hwcap2 & (1ul << 13)) != 0;
#elif defined(__APPLE__)
  const auto flag = [](const char* name) {
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && value != 0;
  };
  f.dotprod = flag("hw.optional.arm.FEAT_DotProd");
  f.i8mm = f.dotprod && flag("hw.optional.arm.FEAT_I8MM");
#endif
  f.dotprod = f.dotprod && dotprod_kernels_built();
  f.i8mm = f.i8mm && i8mm_kernels_built();
#endif
  return f;
}

const ArmFeatures& arm_features() {
  static const ArmFeatures f = probe_arm();
  return f;
}

bool supported(KernelPath p) {
  switch (p) {
    case KernelPath::Portable: return true;
    case KernelPath::Avx2: {
      static const bool avx2 = cpu_has_avx2_fma_f16c();
      return avx2;
    }
    case KernelPath::Neon: return arm_features().neon;
    case KernelPath::Dotprod: return arm_features().dotprod;
    case KernelPath::I8mm: return arm_features().i8mm;
    case KernelPath::WasmSimd128: return wasm_simd128_built();
  }
  return false;
}

// The best supported path not above `ceiling` in the enum order (the AArch64 tiers are ordered).
KernelPath best_up_to(KernelPath ceiling) {
  for (int i = static_cast<int>(ceiling); i > 0; --i)
    if (supported(static_cast<KernelPath>(i))) return static_cast<KernelPath>(i);
  return KernelPath::Portable;
}

KernelPath default_path() {
  const char* forced = std::getenv("GEMMA4_KERNELS");
  if (forced != nullptr) {
    if (std::strcmp(forced, "scalar") == 0) return KernelPath::Portable;
    if (std::strcmp(forced, "neon") == 0) return best_up_to(KernelPath::Neon);
    if (std::strcmp(forced, "dotprod") == 0) return best_up_to(KernelPath::Dotprod);
    if (std::strcmp(forced, "i8mm") == 0) return best_up_to(KernelPath::I8mm);
  }
  return best_up_to(KernelPath::WasmSimd128);
}

std::atomic<KernelPath>& active() {
  static std::atomic<KernelPath> path{default_path()};
  return path;
}

}  // namespace

std::string_view kernel_path_name(KernelPath p) {
  switch (p) {
    case KernelPath::Portable: return "portable";
    case KernelPath::Avx2: return "avx2";
    case KernelPath::Neon: return "neon";
    case KernelPath::Dotprod: return "dotprod";
    case KernelPath::I8mm: return "i8mm";
    case KernelPath::WasmSimd128: return "wasm-simd128";
  }
  return "?";
}

bool kernel_path_supported(KernelPath p) { return supported(p); }

KernelPath active_kernel_path() { return active().load(std::memory_order_relaxed); }

KernelPath set_kernel_path(KernelPath p) {
  if (!kernel_path_supported(p)) p = KernelPath::Portable;
  return active().exchange(p, std::memory_order_relaxed);
}

std::string kernel_override_error() {
  const char* forced = std::getenv("GEMMA4_KERNELS");
  if (forced == nullptr) return "";
  for (const char* known : {"scalar", "avx2", "neon", "dotprod", "i8mm"})
    if (std::strcmp(forced, known) == 0) return "";
  return std::string("GEMMA4_KERNELS=") + forced + " names no kernel path (scalar, avx2, neon, dotprod, i8mm)";
}

}  // namespace gemma4
