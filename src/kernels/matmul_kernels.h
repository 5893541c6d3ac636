#pragma once
// Internal: the per-path row-range kernels behind matmul() (kernels/matmul.h).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu_dispatch.h"
#include "kernels/quant.h"
#include "kernels/weight_matrix.h"

namespace gemma4 {

struct MatmulProblem {
  const WeightMatrix* w = nullptr;
  const float* x = nullptr;  // [n][x_stride], used by the float weight types
  int64_t n = 0;
  int64_t x_stride = 0;
  float* y = nullptr;  // [n][y_stride]
  int64_t y_stride = 0;
  const QuantizedActivations* xq = nullptr;  // x quantized, used by the Q weight types
};

bool is_quantized(WeightType t);

// y[t][r] for r in [r0, r1) and every t < n.
void matmul_rows_portable(const MatmulProblem& p, int64_t r0, int64_t r1);
void matmul_rows_avx2(const MatmulProblem& p, int64_t r0, int64_t r1);
// WebAssembly SIMD128 (matmul_wasm.cpp): the quantized panels; float weights take the portable loop.
void matmul_rows_wasm(const MatmulProblem& p, int64_t r0, int64_t r1);

// Same contract as quantize_activations_portable, bit-identical output.
void quantize_activations_avx2(const float* x, int64_t rows, int64_t stride, int64_t cols,
                               int32_t bias_offset, QuantizedActivations& out);

// Rows per tile of the float AVX2 kernels: row ranges handed to threads are multiples of this
// (quantized matrices are split on their 16-row panels instead).
constexpr int64_t kMatmulRowTile = 4;

// The quantized (Q8_0, Q4_0) panel kernels: AVX2 (matmul_avx2.cpp) and AVX-512 VNNI
// (matmul_vnni.cpp; call only when vnni_supported()). Both compute the arithmetic stated in
// quant_panels.h, so they give the portable path's bits. Rows outside [r0, r1) of a panel the range
// touches are computed but not written.
void quant_panels_avx2(const MatmulProblem& p, int64_t r0, int64_t r1);
void quant_panels_vnni(const MatmulProblem& p, int64_t r0, int64_t r1);
// The AArch64 tiers (matmul_neon.cpp, matmul_dotprod.cpp, matmul_i8mm.cpp): `path` is Neon,
// Dotprod or I8mm and supported. The quantized kernels compute the arithmetic of quant_panels.h
// (the portable path's bits); float weights take the NEON float kernels of matmul_neon.cpp.
void matmul_rows_arm(const MatmulProblem& p, int64_t r0, int64_t r1, KernelPath path);
void quant_panels_neon(const MatmulProblem& p, int64_t r0, int64_t r1);
void quant_panels_dotprod(const MatmulProblem& p, int64_t r0, int64_t r1);
void quant_panels_i8mm(const MatmulProblem& p, int64_t r0, int64_t r1);
// Whether this build holds those two tiers (a clang build for a baseline CPU cannot compile them).
bool dotprod_kernels_built();
bool i8mm_kernels_built();
// Whether the VNNI kernels are in use: the CPU has AVX512VL + AVX512VNNI and neither
// GEMMA4_KERNELS=avx2 nor set_vnni_enabled(false) turned them off.
bool vnni_supported();
// Turns the VNNI kernels on or off (off, or a CPU without VNNI: the AVX2 kernels); returns the
// previous state. For tests and comparisons; not while other threads run kernels.
bool set_vnni_enabled(bool on);

}  // namespace gemma4
