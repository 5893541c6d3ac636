#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

namespace gemma4 {

namespace {

// Portable path: decode a weight row to float32 once, then dot it with every activation row.
void matmul_rows_portable(const WeightMatrix& w, const float* x, int64_t n, int64_t x_stride,
                          float* y, int64_t y_stride, int64_t r0, int64_t r1) {
  std::vector<float> row(w.cols);
  for (int64_t r = r0; r < r1; ++r) {
    const float* wr;
    if (w.type == WeightType::F32) {
      wr = static_cast<const float*>(w.data) + r * w.cols;
    } else {
      dequantize_row(w, r, row.data());
      wr = row.data();
    }
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * x_stride;
      float acc = 0.0f;
      for (int64_t c = 0; c < w.cols; ++c) acc += wr[c] * xt[c];
      y[t * y_stride + r] = acc;
    }
  }
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, int64_t n, int64_t x_stride, float* y,
            int64_t y_stride, ThreadPool& pool, int64_t row_begin, int64_t row_end) {
  if (row_end < 0) row_end = w.rows;
  int64_t rows = row_end - row_begin;
  if (rows <= 0 || n <= 0) return;
  pool.parallel_for(rows, 16, [&](int64_t b, int64_t e, int) {
    matmul_rows_portable(w, x, n, x_stride, y, y_stride, row_begin + b, row_begin + e);
  });
}

}  // namespace gemma4
