#pragma once
// Runtime choice between the portable scalar kernels and the AVX2/FMA/F16C kernels (x86-64) or
// the SIMD128 kernels (WebAssembly builds with -msimd128).
// The CPU is probed once; GEMMA4_KERNELS=scalar in the environment forces the portable path
// (useful when debugging a numerical difference). Tests switch paths with set_kernel_path.
#include <string_view>

namespace gemma4 {

enum class KernelPath { Portable, Avx2, WasmSimd128 };

std::string_view kernel_path_name(KernelPath p);

// Whether this CPU (and build) can run path `p`.
bool kernel_path_supported(KernelPath p);

// The path every kernel entry point uses right now.
KernelPath active_kernel_path();

// Overrides the active path (an unsupported path falls back to Portable); returns the previous one.
// Not meant to be called while other threads run kernels.
KernelPath set_kernel_path(KernelPath p);

}  // namespace gemma4
