// Internal: the loop over panels and token tiles shared by the quantized panel kernels
// (quant_panels.h). Include it inside an anonymous namespace of a kernel's translation unit, below
// its target pragma: everything here then has internal linkage, so no template instantiation
// compiled for one instruction set can be picked by the linker for another.
//
// Cache blocking: the activations of a chunk of tokens stay in L2 while the thread walks its
// panels; each panel (one linear stream of weights) is read from memory once per chunk and served
// to every token tile of the chunk from L1/L2.

constexpr int64_t kPanelTokenChunk = 64;

struct PanelTask {
  const MatmulProblem* p;
  const uint8_t* panel;     // the panel's first byte (block pairs, quant_panels.h)
  int64_t blocks;
  int64_t row0;             // the panel's first weight row
  int lo, hi;               // lanes (rows row0 + i) to write: lo <= i < hi
};

inline const uint8_t* block_quants(const PanelTask& task, WeightType t, int64_t b) {
  return task.panel + panel_block_offset(t, b);
}
inline const uint16_t* block_scales(const PanelTask& task, WeightType t, int64_t b) {
  return reinterpret_cast<const uint16_t*>(task.panel + panel_block_scales_offset(t, b));
}

// Writes lanes [lo, hi) of 16 results for token t.
inline void store_panel_lanes(const PanelTask& task, int64_t t, const float* values) {
  float* y = task.p->y + t * task.p->y_stride + task.row0;
  for (int i = task.lo; i < task.hi; ++i) y[i] = values[i];
}

template <template <int> class Tile, int K>
void run_remainder(const PanelTask& task, int64_t t, int64_t count, bool prefetch) {
  if constexpr (K > 0) {
    if (count == K) return Tile<K>::run(task, t, prefetch);
    run_remainder<Tile, K - 1>(task, t, count, prefetch);
  }
}

// Tile<T>::run(task, t, prefetch) computes tokens [t, t + T) for one panel; `prefetch` marks the
// first pass over the panel in this chunk (later tiles find its weights cached).
template <template <int> class Tile, int MaxTokens>
void panel_rows(const MatmulProblem& p, int64_t r0, int64_t r1) {
  const WeightMatrix& w = *p.w;
  const size_t pb = panel_bytes(w.type, w.cols);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t first = r0 / kPanelRows, last = (r1 + kPanelRows - 1) / kPanelRows;
  for (int64_t t0 = 0; t0 < p.n; t0 += kPanelTokenChunk) {
    const int64_t t1 = std::min(p.n, t0 + kPanelTokenChunk);
    for (int64_t panel = first; panel < last; ++panel) {
      const int64_t row0 = panel * kPanelRows;
      const PanelTask task{&p,
                           base + pb * panel,
                           w.cols / 32,
                           row0,
                           static_cast<int>(std::max<int64_t>(r0, row0) - row0),
                           static_cast<int>(std::min<int64_t>(r1, row0 + kPanelRows) - row0)};
      int64_t t = t0;
      for (; t + MaxTokens <= t1; t += MaxTokens) Tile<MaxTokens>::run(task, t, t == t0);
      run_remainder<Tile, MaxTokens - 1>(task, t, t1 - t, t == t0);
    }
  }
}
