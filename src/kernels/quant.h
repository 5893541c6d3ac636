#pragma once
// Block-quantized formats.
//
// Weights (one row = cols / 32 consecutive blocks, rows one after another; llama.cpp-compatible):
//   Q8_0: blocks of 32 weights, one f16 scale d and 32 int8 q; w = d * q.           (8.5 bits/w)
//   Q4_0: blocks of 32 weights, one f16 scale d and 16 bytes of 4-bit q in [0, 15];
//         byte j holds weight j (low nibble) and weight j + 16 (high nibble); w = d * (q - 8).
//         (4.5 bits/w)
// These are the formats weights are quantized to; in memory the rows are then packed into 16-row
// panels (kernels/quant_panels.h), which also states the arithmetic every kernel path shares.
//
// Activations (what the quantized matmuls multiply with): every activation row is quantized once
// per matmul call to int8 blocks of 32 with a float32 scale (d = max|x| / 127, q = round-to-even(x / d)).
// Both kernel paths produce bit-identical quantized activations.
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
  // [rows][blocks]: -K · Σ q over the block, where K is the weight offset of the panel layout (128
  // for Q8_0, 8 for Q4_0): the kernels multiply the unsigned stored weights and start each block's
  // integer sum from this (only filled when a K is given).
  std::vector<int32_t> block_bias;

  const float* row_scales(int64_t r) const { return scales.data() + r * blocks; }
  const int8_t* row_quants(int64_t r) const { return quants.data() + r * blocks * 32; }
  const int32_t* row_block_bias(int64_t r) const { return block_bias.data() + r * blocks; }
};

// Sizes `out` for rows x blocks (kept out of the AVX2 translation unit so that no std::vector code
// is ever instantiated with AVX2 enabled).
void resize_activations(QuantizedActivations& out, int64_t rows, int64_t blocks, bool with_block_bias);

// Quantizes rows x[r * stride .. + cols) for r < rows; cols must be a multiple of 32. A nonzero
// `bias_offset` K also fills block_bias with -K · Σq.
void quantize_activations_portable(const float* x, int64_t rows, int64_t stride, int64_t cols,
                                   int32_t bias_offset, QuantizedActivations& out);

// Exact integer dot products of one weight block with one activation block.
int32_t dot_block_q8_0(const BlockQ8_0& w, const int8_t* a);
int32_t dot_block_q4_0(const BlockQ4_0& w, const int8_t* a);

}  // namespace gemma4
