// The 16-row panel layout of Q8_0 / Q4_0 matrices: packing keeps every weight and scale of the
// llama.cpp block rows (read back through dequantize_row), the last panel is padded, and the sizes
// keep the block formats' bytes per weight.
#include "kernels/quant_panels.h"

#include <gtest/gtest.h>

#include <vector>

#include "kernel_test_util.h"
#include "kernels/quant.h"

namespace gemma4 {
namespace {

using testing::random_floats;

// Every row of a packed matrix decodes to what the row-major blocks decode to.
void check_round_trip(WeightType type, int64_t rows, int64_t cols) {
  SCOPED_TRACE(std::string(weight_type_name(type)) + " rows=" + std::to_string(rows));
  const auto src = random_floats(rows * cols, 41 + rows, -2.0f, 2.0f);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), rows, cols, type, true);
  std::vector<uint8_t> blocks(row_bytes(type, cols));
  std::vector<float> expect(cols), got(cols);
  for (int64_t r = 0; r < rows; ++r) {
    if (type == WeightType::Q8_0) {
      quantize_row_q8_0(src.data() + r * cols, cols, blocks.data());
      dequantize_row_q8_0(blocks.data(), cols, expect.data());
    } else {
      quantize_row_q4_0(src.data() + r * cols, cols, blocks.data());
      dequantize_row_q4_0(blocks.data(), cols, expect.data());
    }
    dequantize_row(w, r, got.data());
    for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(got[c], expect[c]) << "row " << r << " col " << c;
  }
}

TEST(QuantPanels, PackedRowsDecodeToTheirBlocks) {
  for (WeightType type : {WeightType::Q8_0, WeightType::Q4_0}) {
    for (int64_t rows : {1, 15, 16, 17, 45}) check_round_trip(type, rows, 96);
  }
}

TEST(QuantPanels, SizesKeepTheBlockFormatsBytesPerWeight) {
  // E2B's shapes: whole panels, scales a multiple of 64 bytes: exactly the row-major bytes.
  EXPECT_EQ(matrix_bytes(WeightType::Q4_0, 2048, 1536), 2048u * row_bytes(WeightType::Q4_0, 1536));
  EXPECT_EQ(matrix_bytes(WeightType::Q8_0, 12288, 1536), 12288u * row_bytes(WeightType::Q8_0, 1536));
  EXPECT_EQ(matrix_bytes(WeightType::Q8_0, 1536, 12288), 1536u * row_bytes(WeightType::Q8_0, 12288));
  // A partial last panel is padded to 16 rows.
  EXPECT_EQ(matrix_bytes(WeightType::Q4_0, 17, 64), 2u * panel_bytes(WeightType::Q4_0, 64));
  EXPECT_EQ(panel_bytes(WeightType::Q4_0, 64), 2u * 256u + 64u);
  EXPECT_EQ(panel_block_scales_offset(WeightType::Q8_0, 1), 2 * 512 + 32);
  // An odd number of blocks pads the last pair.
  EXPECT_EQ(panel_bytes(WeightType::Q4_0, 96), 2u * (2u * 256u + 64u));
  EXPECT_EQ(matrix_bytes(WeightType::Q4_0, 16, 64), 16u * row_bytes(WeightType::Q4_0, 64));
}

TEST(QuantPanels, LayoutPlacesRowIInLaneI) {
  // Row i of the panel holds the constant i + 1 (scale 1/127·(i+1)·... whatever): its quants must
  // sit in bytes 4i..4i+3 of every 64-byte group.
  const int64_t rows = 16, cols = 32;
  std::vector<float> src(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) src[r * cols + c] = (c % 2 ? -1.0f : 1.0f) * static_cast<float>(r + 1);
  WeightMatrix w = make_weight_matrix(SourceType::F32, src.data(), rows, cols, WeightType::Q8_0, true);
  const auto* bytes = static_cast<const uint8_t*>(w.data);
  for (int k = 0; k < 8; ++k)
    for (int i = 0; i < 16; ++i)
      for (int j = 0; j < 4; ++j)
        ASSERT_EQ(bytes[64 * k + 4 * i + j], (j % 2 ? -127 : 127) + 128) << "group " << k << " row " << i;
}

}  // namespace
}  // namespace gemma4
