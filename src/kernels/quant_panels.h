#pragma once
// The in-memory layout of Q8_0 / Q4_0 weight matrices: row panels made at load, so a matmul reads
// one linear stream per thread and one vector lane serves one weight row (no horizontal sums, one
// float epilogue per panel and block).
//
// A panel holds kPanelRows = 16 consecutive weight rows (the last panel is padded with zero rows).
// Panel p starts at p · panel_bytes(type, cols) and holds, for its B = cols / 32 blocks:
//   quants: B × kPanelQuantBytes bytes, block b at b · kPanelQuantBytes. Within a block, 64-byte
//     groups of [16 rows][4 bytes]: group k holds bytes 4i..4i+3 = row i's elements of that group.
//       Q8_0: 8 groups; group k = elements 4k..4k+3, stored as the unsigned q + 128.
//       Q4_0: 4 groups; group k's low nibbles = elements 4k..4k+3, high nibbles = elements
//             16 + 4k..16 + 4k + 3 (the unsigned 4-bit q; the weight is d · (q - 8)).
//     One 512-bit register holds a group: lane i (32 bits) is row i's four weights, which is the
//     operand layout of vpdpbusd (and, 256 bits at a time, of AVX2's maddubs).
//   scales: B × 16 f16 (row i's scale of block b at 32 · b + 2 · i), padded to 64 bytes.
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

// Bytes of one panel of a `cols`-column matrix; its scales start at panel_scales_offset.
size_t panel_bytes(WeightType t, int64_t cols);
size_t panel_scales_offset(WeightType t, int64_t cols);
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
