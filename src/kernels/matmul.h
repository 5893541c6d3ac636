#pragma once
// y = x · Wᵀ for a batch of activation rows: the engine's one linear-layer primitive.
#include <cstdint>
#include <span>

#include "kernels/thread_pool.h"
#include "kernels/weight_matrix.h"

namespace gemma4 {

// x: [n, w.cols] row-major (row stride x_stride floats); y: [n, w.rows] (row stride y_stride).
// Rows [row_begin, row_end) of W only are computed (y columns outside are left untouched);
// pass row_end = -1 for all rows. Float32 weights give the exact float32 reference result.
void matmul(const WeightMatrix& w, const float* x, int64_t n, int64_t x_stride, float* y,
            int64_t y_stride, ThreadPool& pool, int64_t row_begin = 0, int64_t row_end = -1);

inline void matmul(const WeightMatrix& w, const float* x, int64_t n, float* y, ThreadPool& pool) {
  matmul(w, x, n, w.cols, y, w.rows, pool);
}

// y_i = x · W_iᵀ for several matrices that read the same input (q/k/v, gate/up): x is quantized
// once and all their rows share one parallel region (one fork-join instead of one per matrix).
// Each y_i is [n, W_i.rows] (row stride W_i.rows); results are those of separate matmul() calls.
struct MatmulTarget {
  const WeightMatrix* w;
  float* y;
};
void matmul_shared_input(std::span<const MatmulTarget> targets, const float* x, int64_t n, ThreadPool& pool);

// As matmul_shared_input for matrices of one shape, but each task computes the same rows of all of
// them and then calls epilogue(row_begin, row_end) on those rows of every y_i while they are still in
// cache: GELU(gate) x up, the LM head's soft-cap. It is a pass and a parallel region fewer than
// running the epilogue after the matmuls. Every row lies in exactly one epilogue call; the rows
// [row_begin, row_end) of a call are aligned to the kernel's row tile (16 for quantized types).
void matmul_rows_together(std::span<const MatmulTarget> targets, const float* x, int64_t n, ThreadPool& pool,
                          FunctionRef<void(int64_t row_begin, int64_t row_end)> epilogue);

}  // namespace gemma4
