#include "kernels/quant_panels.h"

#include <cstring>

#include "kernels/quant.h"

namespace gemma4 {

namespace {
constexpr int64_t kGroupBytes = 64;  // one group: 16 rows × 4 bytes
}  // namespace

size_t panel_bytes(WeightType t, int64_t cols) {
  const int64_t pairs = (cols / 32 + 1) / 2;
  return static_cast<size_t>(pairs * panel_pair_bytes(t));
}

int64_t panel_count(int64_t rows) { return (rows + kPanelRows - 1) / kPanelRows; }

void pack_panel(WeightType t, const void* row_major_blocks, int64_t valid_rows, int64_t cols, uint8_t* dst) {
  const int64_t blocks = cols / 32;
  std::memset(dst, 0, panel_bytes(t, cols));
  for (int64_t i = 0; i < valid_rows; ++i) {
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* quants = dst + panel_block_offset(t, b);
      uint16_t d;
      if (t == WeightType::Q8_0) {
        const BlockQ8_0& blk = static_cast<const BlockQ8_0*>(row_major_blocks)[i * blocks + b];
        d = blk.d;
        for (int e = 0; e < 32; ++e)
          quants[(e / 4) * kGroupBytes + 4 * i + e % 4] = static_cast<uint8_t>(blk.q[e] + 128);
      } else {
        const BlockQ4_0& blk = static_cast<const BlockQ4_0*>(row_major_blocks)[i * blocks + b];
        d = blk.d;
        // The source byte j holds elements j (low) and j + 16 (high): the same pairing the panel uses.
        for (int j = 0; j < 16; ++j) quants[(j / 4) * kGroupBytes + 4 * i + j % 4] = blk.q[j];
      }
      std::memcpy(dst + panel_block_scales_offset(t, b) + 2 * i, &d, 2);
    }
  }
  // Padding rows: Q8_0 zero weights are stored as 128 (their scales are 0 either way).
  if (t == WeightType::Q8_0) {
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t k = 0; k < 8; ++k)
        for (int64_t i = valid_rows; i < kPanelRows; ++i)
          std::memset(dst + panel_block_offset(t, b) + k * kGroupBytes + 4 * i, 128, 4);
  }
}

uint16_t unpack_panel_block(const WeightMatrix& m, int64_t r, int64_t b, int8_t* out) {
  const uint8_t* panel = static_cast<const uint8_t*>(m.data) + (r / kPanelRows) * panel_bytes(m.type, m.cols);
  const int64_t i = r % kPanelRows;
  const uint8_t* quants = panel + panel_block_offset(m.type, b);
  if (m.type == WeightType::Q8_0) {
    for (int e = 0; e < 32; ++e) out[e] = static_cast<int8_t>(quants[(e / 4) * kGroupBytes + 4 * i + e % 4] - 128);
  } else {
    for (int j = 0; j < 16; ++j) {
      const uint8_t byte = quants[(j / 4) * kGroupBytes + 4 * i + j % 4];
      out[j] = static_cast<int8_t>((byte & 0x0f) - 8);
      out[j + 16] = static_cast<int8_t>((byte >> 4) - 8);
    }
  }
  uint16_t d;
  std::memcpy(&d, panel + panel_block_scales_offset(m.type, b) + 2 * i, 2);
  return d;
}

void unpack_panel_row(const WeightMatrix& m, int64_t r, int8_t* values, uint16_t* scales) {
  for (int64_t b = 0; b < m.cols / 32; ++b) scales[b] = unpack_panel_block(m, r, b, values + 32 * b);
}

}  // namespace gemma4
