#pragma once
// Internal: the per-path row-range kernels behind matmul() (kernels/matmul.h).
#include <cstdint>
#include <vector>

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

// Same contract as quantize_activations_portable, bit-identical output.
void quantize_activations_avx2(const float* x, int64_t rows, int64_t stride, int64_t cols,
                               bool with_offset_pairs, QuantizedActivations& out);

// Rows per tile of the AVX2 kernels: row ranges handed to threads are multiples of this.
constexpr int64_t kMatmulRowTile = 4;

// kMatmulRowTile rows of Q4_0 weights unpacked for the prefill GEMM (see matmul_avx2.cpp).
struct PackedQ4Tile {
  std::vector<int8_t> weights;  // [kMatmulRowTile][blocks * 32], q - 8
  std::vector<float> scales;    // [kMatmulRowTile][blocks]
  std::vector<float> offsets;   // [kMatmulRowTile][blocks]: 128 · scale · Σ(q - 8)
};

// Unpacks `rows` (<= kMatmulRowTile) Q4_0 rows starting at r into `out` (AVX2).
void pack_q4_rows_avx2(const MatmulProblem& p, int64_t r, int rows, PackedQ4Tile& out);

// The Q4_0 prefill GEMM with AVX-512 VNNI dot products (matmul_vnni.cpp); call only when
// vnni_supported(). Same results as the AVX2 GEMM up to float summation order.
void q4_gemm_vnni(const MatmulProblem& p, int64_t r0, int64_t r1);
bool vnni_supported();

// The calling thread's pack buffer, sized for `blocks` blocks per row. Lives in matmul.cpp so no
// std::vector code is instantiated inside the AVX2 translation unit.
PackedQ4Tile& packed_q4_scratch(int64_t blocks);

}  // namespace gemma4
