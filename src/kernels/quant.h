#pragma once
// Block-quantized formats.
//
// Weights (one row = cols / 32 consecutive blocks, rows one after another; llama.cpp-compatible):
//   Q8_0: blocks of 32 weights, one f16 scale d and 32 int8 q; w = d * q.           (8.5 bits/w)
//   Q4_0: blocks of 32 weights, one f16 scale d and 16 bytes of 4-bit q in [0, 15];
//         byte j holds weight j (low nibble) and weight j + 16 (high nibble); w = d * (q - 8).
//         (4.5 bits/w)
// Design note: the row-major block layout is kept (rather than interleaving several rows) because
// the AVX2 kernels already reach memory bandwidth on it by working on 4 rows at once, and it keeps
// dequantize_row, the scalar reference, trivial. The nibble order (j, j + 16) lets one 128-bit load
// plus a shift/mask produce the 32 weights of a block in order in a 256-bit register.
//
// Activations (what the quantized matmuls multiply with): every activation row is quantized once
// per matmul call to int8 blocks of 32 with a float32 scale (d = max|x| / 127, q = round-to-even(x / d)).
// Both kernel paths produce bit-identical quantized activations and exact integer block dot products.
//
// Batch invariance: the SIMD kernels (AVX2 and AVX-512 VNNI alike) compute every (weight row,
// activation row) output with one fixed sequence of float operations, whatever the batch size, the
// row's place in the batch, the row tile or the thread split: per block b, eight exact int32 lane
// sums s_k = Σ_{e=4k..4k+3} w_e·a_e, then acc_k = fma(float(s_k), d_w(b)·d_a(b), acc_k) in block
// order, then the fixed horizontal sum of the eight lanes (simd::hsum). The portable path uses one
// scalar accumulator per output in block order. So a row's result never depends on the other rows.
#include <cstdint>
#include <vector>

namespace gemma4 {

constexpr int kQ8BlockSize = 32;
constexpr int kQ4BlockSize = 32;

struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t q[kQ8BlockSize];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  uint16_t d;  // f16 scale
  uint8_t q[kQ4BlockSize / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

void quantize_row_q8_0(const float* x, int64_t n, void* out);
void dequantize_row_q8_0(const void* in, int64_t n, float* out);
void quantize_row_q4_0(const float* x, int64_t n, void* out);
void dequantize_row_q4_0(const void* in, int64_t n, float* out);

// Activation rows quantized to int8 blocks of 32 (see the header comment).
struct QuantizedActivations {
  int64_t rows = 0;
  int64_t blocks = 0;                 // per row
  std::vector<float> scales;          // [rows][blocks]
  std::vector<int8_t> quants;         // [rows][blocks][32]
  // [rows][blocks][8]: -8 · (q[4k] + q[4k+1] + q[4k+2] + q[4k+3]): lets the Q4_0 kernels multiply
  // the unsigned nibbles q directly and add the -8 offset per int32 lane (only filled when requested).
  std::vector<int32_t> lane_bias;

  const float* row_scales(int64_t r) const { return scales.data() + r * blocks; }
  const int8_t* row_quants(int64_t r) const { return quants.data() + r * blocks * 32; }
  const int32_t* row_lane_bias(int64_t r) const { return lane_bias.data() + r * blocks * 8; }
};

// Sizes `out` for rows x blocks (kept out of the AVX2 translation unit so that no std::vector code
// is ever instantiated with AVX2 enabled).
void resize_activations(QuantizedActivations& out, int64_t rows, int64_t blocks, bool with_lane_bias);

// Quantizes rows x[r * stride .. + cols) for r < rows; cols must be a multiple of 32.
void quantize_activations_portable(const float* x, int64_t rows, int64_t stride, int64_t cols,
                                   bool with_lane_bias, QuantizedActivations& out);

// Exact integer dot products of one weight block with one activation block.
int32_t dot_block_q8_0(const BlockQ8_0& w, const int8_t* a);
int32_t dot_block_q4_0(const BlockQ4_0& w, const int8_t* a);

}  // namespace gemma4
