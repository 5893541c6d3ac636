#pragma once
// The in-memory layout of Q8_0 / Q4_0 weight matrices: row panels made at load, so a matmul reads
// one linear stream per thread and one vector lane serves one weight row (no horizontal sums, one
// float epilogue per panel and block).
//
// A panel holds kPanelRows = 16 consecutive weight rows (the last panel is padded with zero rows).
// Panel p starts at p · panel_bytes(type, cols); its B = cols / 32 blocks come in pairs, and pair j
// (blocks 2j and 2j + 1) is panel_pair_bytes(type) bytes at j · panel_pair_bytes:
//   the quants of block 2j, then those of block 2j + 1 (kPanelQuantBytes each), then 64 bytes of
//   scales: 16 f16 for block 2j (row i's at 2i), 16 for block 2j + 1. An odd B leaves the last
//   pair's second block zero.
//   Within a block, 64-byte groups of [16 rows][4 bytes]: group k holds bytes 4i..4i+3 = row i's
//   elements of that group.
//       Q8_0: 8 groups; group k = elements 4k..4k+3, stored as the unsigned q + 128.
//       Q4_0: 4 groups; group k's low nibbles = elements 4k..4k+3, high nibbles = elements
//             16 + 4k..16 + 4k + 3 (the unsigned 4-bit q; the weight is d · (q - 8)).
//     One 512-bit register holds a group: lane i (32 bits) is row i's four weights, which is the
//     operand layout of vpdpbusd (and, 256 bits at a time, of AVX2's maddubs).
// The scales sit beside their quants so a panel is one linear stream: with the scales in a region
// of their own at the panel's end, every panel started a second short stream that the hardware
// prefetchers never learnt, and one thread read 13-14 GB/s instead of 23-25 (E2B's 1536-column
// panels, AVX-512, 28-30 GB/s read probe).
// Bytes per weight are those of the llama.cpp block formats (34 / 32 and 18 / 32 bytes).
//
// Both the weights and the activations enter the integer dot products as unsigned × signed bytes,
// so every block dot is Σ stored·a − K · Σa with K = 128 (Q8_0) or 8 (Q4_0); the activation side
// supplies −K · Σa per block (QuantizedActivations::block_bias).
//
// Arithmetic (identical on every kernel path, so paths, batch sizes and thread splits give the same
// bits): per output, acc = fma(float(dot_b), d_w(b) · d_a(b), acc) over the blocks in order, where
// dot_b is the exact int32 block dot product (|dot_b| < 2^24, so float(dot_b) is exact too).
#include <cstddef>
#include <cstdint>

#include "kernels/weight_matrix.h"

namespace gemma4 {

constexpr int64_t kPanelRows = 16;

// Quant bytes of one block of one panel.
constexpr int64_t panel_quant_bytes(WeightType t) { return t == WeightType::Q8_0 ? 512 : 256; }
// The offset K of the unsigned weight encoding (see above).
constexpr int32_t panel_weight_offset(WeightType t) { return t == WeightType::Q8_0 ? 128 : 8; }

constexpr int64_t panel_pair_bytes(WeightType t) { return 2 * panel_quant_bytes(t) + 64; }
// Bytes from a panel's start to block b's quants, and to its 16 f16 scales.
constexpr int64_t panel_block_offset(WeightType t, int64_t b) {
  return (b / 2) * panel_pair_bytes(t) + (b % 2) * panel_quant_bytes(t);
}
constexpr int64_t panel_block_scales_offset(WeightType t, int64_t b) {
  return (b / 2) * panel_pair_bytes(t) + 2 * panel_quant_bytes(t) + (b % 2) * 32;
}

// Bytes of one panel of a `cols`-column matrix.
size_t panel_bytes(WeightType t, int64_t cols);
int64_t panel_count(int64_t rows);

// Packs rows [16p, 16p + 16) of a row-major block matrix (llama.cpp BlockQ8_0 / BlockQ4_0 rows,
// `valid_rows` of them; the rest of the panel is zero) into panel p's bytes at `dst`.
void pack_panel(WeightType t, const void* row_major_blocks, int64_t valid_rows, int64_t cols, uint8_t* dst);

// The weights of row r as they were before packing: the int8 values w (Q8_0: q; Q4_0: q − 8) and
// the block scales, for the reference path and dequantize_row.
void unpack_panel_row(const WeightMatrix& m, int64_t r, int8_t* values, uint16_t* scales);
// The same for block b of row r only: its 32 values, and its f16 scale as the result.
uint16_t unpack_panel_block(const WeightMatrix& m, int64_t r, int64_t b, int8_t* values);

}  // namespace gemma4
