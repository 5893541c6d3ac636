#include "kernels/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "gemma4/error.h"
#include "kernels/cpu_dispatch.h"
#include "kernels/matmul_kernels.h"
#include "kernels/numeric.h"
#include "kernels/quant_panels.h"

namespace gemma4 {

bool is_quantized(WeightType t) { return t == WeightType::Q8_0 || t == WeightType::Q4_0; }

namespace {

// Decodes weights [c0, c0 + count) of row r of a float matrix.
void decode_float_weights(const WeightMatrix& w, int64_t r, int64_t c0, int64_t count, float* out) {
  const auto* base = static_cast<const uint8_t*>(w.data) + row_bytes(w.type, w.cols) * r;
  for (int64_t c = 0; c < count; ++c) {
    if (w.type == WeightType::F32) {
      std::memcpy(out + c, base + 4 * (c0 + c), 4);
    } else {
      uint16_t h;
      std::memcpy(&h, base + 2 * (c0 + c), 2);
      out[c] = w.type == WeightType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
  }
}

// Float weights: one float accumulator per output over the columns in order (the weights decoded a
// stack chunk at a time, so nothing is allocated).
void float_rows_portable(const MatmulProblem& p, int64_t r0, int64_t r1) {
  const WeightMatrix& w = *p.w;
  constexpr int64_t kChunk = 256;
  float weights[kChunk];
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t t = 0; t < p.n; ++t) {
      const float* xt = p.x + t * p.x_stride;
      float acc = 0.0f;
      for (int64_t c0 = 0; c0 < w.cols; c0 += kChunk) {
        const int64_t count = std::min(kChunk, w.cols - c0);
        decode_float_weights(w, r, c0, count, weights);
        for (int64_t c = 0; c < count; ++c) acc += weights[c] * xt[c0 + c];
      }
      p.y[t * p.y_stride + r] = acc;
    }
  }
}

// Quantized weights: exact integer block dots, then the float steps of quant_panels.h (the SIMD
// paths' arithmetic, so all paths give the same bits).
void quantized_rows_portable(const MatmulProblem& p, int64_t r0, int64_t r1) {
  const WeightMatrix& w = *p.w;
  const int64_t blocks = w.cols / 32;
  int8_t values[32];
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t t = 0; t < p.n; ++t) {
      const float* a_scale = p.xq->row_scales(t);
      const int8_t* a_quant = p.xq->row_quants(t);
      float acc = 0.0f;
      for (int64_t b = 0; b < blocks; ++b) {
        const float wd = f16_to_f32(unpack_panel_block(w, r, b, values));
        int32_t dot = 0;
        for (int e = 0; e < 32; ++e) dot += static_cast<int32_t>(values[e]) * a_quant[b * 32 + e];
        acc = std::fma(static_cast<float>(dot), wd * a_scale[b], acc);
      }
      p.y[t * p.y_stride + r] = acc;
    }
  }
}

// Reused across calls so a decode step does not allocate (one buffer per calling thread).
QuantizedActivations& activation_scratch() {
  thread_local QuantizedActivations scratch;
  return scratch;
}

}  // namespace

void matmul_rows_portable(const MatmulProblem& p, int64_t r0, int64_t r1) {
  if (is_quantized(p.w->type)) {
    quantized_rows_portable(p, r0, r1);
  } else {
    float_rows_portable(p, r0, r1);
  }
}

namespace {

// Row chunks of one matrix for the pool: multiples of the kernel's row tile (quantized types: on
// their 16-row panels, counted from row 0, so no panel is computed twice). About four chunks per
// thread balance uneven progress; small matrices use fewer so each chunk stays worth a fork-join
// (≈ 64 rows × 1536 cols at least).
struct RowChunks {
  int64_t aligned_begin, per, count;
};

RowChunks split_rows(const WeightMatrix& w, int64_t n, int64_t row_begin, int64_t row_end, int threads) {
  const int64_t rows = row_end - row_begin;
  const int64_t tile = is_quantized(w.type) ? kPanelRows : kMatmulRowTile;
  const int64_t min_chunk_weights = 64 * 1536;
  const int64_t work_per_row = std::max<int64_t>(1, w.cols * n);
  const int64_t min_rows = std::max<int64_t>(tile, min_chunk_weights / work_per_row);
  int64_t chunks = std::min<int64_t>(static_cast<int64_t>(threads) * 4, std::max<int64_t>(1, rows / min_rows));
  if (threads == 1) chunks = 1;
  int64_t per = (rows + chunks - 1) / chunks;
  per = (per + tile - 1) / tile * tile;
  const int64_t aligned_begin = row_begin / tile * tile;
  return {aligned_begin, per, (row_end - aligned_begin + per - 1) / per};
}

struct RowRange {
  int64_t begin, end;
};
RowRange chunk_rows(const RowChunks& chunks, int64_t c, int64_t row_begin, int64_t row_end) {
  return {std::max(row_begin, chunks.aligned_begin + c * chunks.per),
          std::min(row_end, chunks.aligned_begin + (c + 1) * chunks.per)};
}

void run_chunk(const MatmulProblem& p, const RowChunks& chunks, int64_t c, int64_t row_begin, int64_t row_end,
               KernelPath path) {
  const auto [b, e] = chunk_rows(chunks, c, row_begin, row_end);
  if (b >= e) return;
  if (path == KernelPath::Avx2) {
    matmul_rows_avx2(p, b, e);
  } else if (is_arm_path(path)) {
    matmul_rows_arm(p, b, e, path);
  } else if (path == KernelPath::WasmSimd128) {
    matmul_rows_wasm(p, b, e);
  } else {
    matmul_rows_portable(p, b, e);
  }
}

const QuantizedActivations* quantize_input(const WeightMatrix& w, const float* x, int64_t n, int64_t x_stride,
                                           KernelPath path) {
  if (!is_quantized(w.type)) return nullptr;
  QuantizedActivations& xq = activation_scratch();
  if (path == KernelPath::Avx2) {
    quantize_activations_avx2(x, n, x_stride, w.cols, panel_weight_offset(w.type), xq);
  } else if (path == KernelPath::Dotprod && w.type == WeightType::Q4_0) {
    // The dotprod q4_0 kernel multiplies the unsigned nibbles and starts from −8 · Σa.
    quantize_activations_portable(x, n, x_stride, w.cols, panel_weight_offset(w.type), xq);
  } else {
    quantize_activations_portable(x, n, x_stride, w.cols, 0, xq);
  }
  return &xq;
}

}  // namespace

void matmul(const WeightMatrix& w, const float* x, int64_t n, int64_t x_stride, float* y,
            int64_t y_stride, ThreadPool& pool, int64_t row_begin, int64_t row_end) {
  if (row_end < 0) row_end = w.rows;
  if (row_begin < 0 || row_end > w.rows || row_begin > row_end) {
    throw Error("matmul: row range [" + std::to_string(row_begin) + ", " + std::to_string(row_end) +
                ") is outside the weight matrix with " + std::to_string(w.rows) + " rows");
  }
  if (row_end - row_begin <= 0 || n <= 0) return;
  const KernelPath path = active_kernel_path();
  const MatmulProblem p{&w, x, n, x_stride, y, y_stride, quantize_input(w, x, n, x_stride, path)};
  const RowChunks chunks = split_rows(w, n, row_begin, row_end, pool.size());
  pool.run(chunks.count, [&](int64_t c, int) { run_chunk(p, chunks, c, row_begin, row_end, path); });
}

namespace {

// Matrices that read one input: up to this many share its quantization and one parallel region.
constexpr size_t kMaxSharedTargets = 4;

// Quantizes x once (for the first matrix's type and columns; the callers checked the others match)
// and lays out one problem per target.
void shared_input_problems(std::span<const MatmulTarget> targets, const float* x, int64_t n, KernelPath path,
                           MatmulProblem* problems) {
  const WeightMatrix& first = *targets[0].w;
  const QuantizedActivations* xq = quantize_input(first, x, n, first.cols, path);
  for (size_t i = 0; i < targets.size(); ++i) {
    const WeightMatrix& w = *targets[i].w;
    problems[i] = {&w, x, n, w.cols, targets[i].y, w.rows, xq};
  }
}

}  // namespace

void matmul_shared_input(std::span<const MatmulTarget> targets, const float* x, int64_t n, ThreadPool& pool) {
  const bool shareable = !targets.empty() && targets.size() <= kMaxSharedTargets &&
                         std::all_of(targets.begin(), targets.end(), [&](const MatmulTarget& t) {
                           return t.w->type == targets[0].w->type && t.w->cols == targets[0].w->cols;
                         });
  if (!shareable) {
    for (const MatmulTarget& t : targets) matmul(*t.w, x, n, t.y, pool);
    return;
  }
  if (n <= 0) return;
  const KernelPath path = active_kernel_path();
  MatmulProblem problems[kMaxSharedTargets];
  shared_input_problems(targets, x, n, path, problems);
  RowChunks chunks[kMaxSharedTargets];
  int64_t total = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    chunks[i] = split_rows(*problems[i].w, n, 0, problems[i].w->rows, pool.size());
    total += chunks[i].count;
  }
  pool.run(total, [&](int64_t c, int) {
    size_t i = 0;
    while (c >= chunks[i].count) c -= chunks[i++].count;
    run_chunk(problems[i], chunks[i], c, 0, problems[i].w->rows, path);
  });
}

void matmul_rows_together(std::span<const MatmulTarget> targets, const float* x, int64_t n, ThreadPool& pool,
                          FunctionRef<void(int64_t row_begin, int64_t row_end)> epilogue) {
  if (targets.empty() || targets.size() > kMaxSharedTargets)
    throw Error("matmul_rows_together: " + std::to_string(targets.size()) + " matrices (1 to " +
                std::to_string(kMaxSharedTargets) + " allowed)");
  const WeightMatrix& first = *targets[0].w;
  for (const MatmulTarget& t : targets)
    if (t.w->type != first.type || t.w->rows != first.rows || t.w->cols != first.cols)
      throw Error("matmul_rows_together: the matrices differ in type or shape");
  if (n <= 0) return;
  const KernelPath path = active_kernel_path();
  MatmulProblem problems[kMaxSharedTargets];
  shared_input_problems(targets, x, n, path, problems);
  // As many chunks as separate matmuls would make: a chunk carries the rows of every matrix.
  const int chunk_threads = pool.size() == 1 ? 1 : pool.size() * static_cast<int>(targets.size());
  const RowChunks chunks = split_rows(first, n, 0, first.rows, chunk_threads);
  pool.run(chunks.count, [&](int64_t c, int) {
    const auto [b, e] = chunk_rows(chunks, c, 0, first.rows);
    if (b >= e) return;
    for (size_t i = 0; i < targets.size(); ++i) run_chunk(problems[i], chunks, c, 0, first.rows, path);
    epilogue(b, e);
  });
}

}  // namespace gemma4
