#pragma once
// Runtime choice of the kernel path: the portable scalar kernels, or the SIMD tier the CPU runs
// best (x86-64: AVX2/FMA/F16C; AArch64: NEON, then Armv8.2 dot products, then Armv8.6 i8mm).
// The CPU is probed once; GEMMA4_KERNELS in the environment forces a path: `scalar` (the portable
// one, useful when debugging a numerical difference), or on AArch64 `neon`, `dotprod` or `i8mm`
// (the best supported tier not above it); WebAssembly builds with -msimd128 use SIMD128. Tests switch paths with set_kernel_path.
#include <string>
#include <string_view>

namespace gemma4 {

enum class KernelPath { Portable, Avx2, Neon, Dotprod, I8mm, WasmSimd128 };

// Every path, in enum order (tests iterate over it and skip the unsupported ones).
inline constexpr KernelPath kAllKernelPaths[] = {KernelPath::Portable, KernelPath::Avx2, KernelPath::Neon,
                                                 KernelPath::Dotprod, KernelPath::I8mm, KernelPath::WasmSimd128};

std::string_view kernel_path_name(KernelPath p);

// The AArch64 tiers share the NEON forms of the non-matmul kernels.
constexpr bool is_arm_path(KernelPath p) {
  return p == KernelPath::Neon || p == KernelPath::Dotprod || p == KernelPath::I8mm;
}

// Whether this CPU (and build) can run path `p`.
bool kernel_path_supported(KernelPath p);

// The path every kernel entry point uses right now.
KernelPath active_kernel_path();

// Overrides the active path (an unsupported path falls back to Portable); returns the previous one.
// Not meant to be called while other threads run kernels.
KernelPath set_kernel_path(KernelPath p);

// What is wrong with GEMMA4_KERNELS ("" when it is unset or names a path: scalar, avx2, neon,
// dotprod, i8mm). The kernels ignore a value they do not know; programs report it with this.
std::string kernel_override_error();

}  // namespace gemma4
