#pragma once
// Block-quantized weight formats.
//   Q8_0: blocks of 32 weights, one f16 scale d and 32 int8 q; w = d * q.           (8.5 bits/w)
//   Q4_0: blocks of 32 weights, one f16 scale d and 16 bytes of 4-bit q in [0, 15];
//         byte j holds weight j (low nibble) and weight j + 16 (high nibble); w = d * (q - 8).
//         (4.5 bits/w)
#include <cstdint>

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

}  // namespace gemma4
