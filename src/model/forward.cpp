#include "model/forward.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>

#include "gemma4/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace gemma4 {

namespace {

// Row-wise work is split over the pool once there are enough rows to pay for the hand-off.
constexpr int64_t kRowGrain = 8;

int group_index(AttentionType t) { return t == AttentionType::Full ? 1 : 0; }

// The rows of one forward call, in the order the activations hold them.
struct Rows {
  const ModelConfig& c;
  ForwardScratch& s;
  int64_t count = 0;        // rows still computed (shrinks when KV-shared layers skip rows)
  bool compacted = false;
};

// Adds the time since the last mark to a phase of the profile (a no-op without one).
class PhaseClock {
 public:
  explicit PhaseClock(ForwardProfile* profile) : profile_(profile) {
    if (profile_) last_ = std::chrono::steady_clock::now();
  }
  void mark(ForwardProfile::Phase phase) {
    if (!profile_) return;
    const auto now = std::chrono::steady_clock::now();
    profile_->ns[phase] += std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    last_ = now;
  }

 private:
  ForwardProfile* profile_;
  std::chrono::steady_clock::time_point last_;
};

void rms_norm_rows(const float* x, const std::vector<float>& w, int64_t rows, int64_t dim, float eps,
                   float* out, ThreadPool& pool) {
  pool.parallel_for(rows, kRowGrain, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) rms_norm(x + r * dim, w.empty() ? nullptr : w.data(), dim, eps, out + r * dim);
  });
}

// x[r] += rmsnorm(o[r]) * w for every row (the post-norm residual update of each block).
void add_normed_rows(float* x, float* o, const std::vector<float>& w, int64_t rows, int64_t dim, float eps,
                     ThreadPool& pool) {
  pool.parallel_for(rows, kRowGrain, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      rms_norm(o + r * dim, w.data(), dim, eps, o + r * dim);
      add_inplace(x + r * dim, o + r * dim, dim);
    }
  });
}

// cos/sin of position × inverse frequency for every row, for each attention type present.
void build_rope_tables(const ModelConfig& c, ForwardScratch& s, int64_t n) {
  bool built[2] = {false, false};
  for (const LayerSpec& spec : c.layers) {
    const int g = group_index(spec.type);
    if (built[g]) continue;
    built[g] = true;
    const int64_t pairs = spec.rotary_pairs;
    s.rope_cos[g].resize(n * pairs);
    s.rope_sin[g].resize(n * pairs);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t p = 0; p < pairs; ++p) {
        double angle = static_cast<double>(s.row_pos[r]) * spec.inv_freq[p];
        s.rope_cos[g][r * pairs + p] = static_cast<float>(std::cos(angle));
        s.rope_sin[g][r * pairs + p] = static_cast<float>(std::sin(angle));
      }
    }
  }
}

// Per-head RMSNorm (weight may be empty: no scale) and optional RoPE over a [rows, heads, dim]
// buffer. RoPE tables are indexed by the row's original index (row_src).
void norm_and_rope_heads(float* buf, int64_t rows, int64_t heads, const LayerSpec& spec,
                         const std::vector<float>& w, float eps, bool rope, const ForwardScratch& s,
                         ThreadPool& pool) {
  const int64_t dim = spec.head_dim, pairs = spec.rotary_pairs;
  const int g = group_index(spec.type);
  pool.parallel_for(rows, kRowGrain, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t src = s.row_src[r];
      for (int64_t h = 0; h < heads; ++h) {
        float* v = buf + (r * heads + h) * dim;
        rms_norm(v, w.empty() ? nullptr : w.data(), dim, eps, v);
        if (rope && pairs > 0)
          apply_rope(v, dim, pairs, s.rope_cos[g].data() + src * pairs, s.rope_sin[g].data() + src * pairs);
      }
    }
  });
}

// Checks the batch and lays out one entry per row: token, position, sequence, wanted logits.
void lay_out_rows(const ModelConfig& c, std::span<const ForwardSegment> segments, ForwardScratch& s) {
  int64_t n = 0;
  for (const auto& seg : segments) n += static_cast<int64_t>(seg.tokens.size());
  s.row_token.resize(n);
  s.row_pos.resize(n);
  s.row_src.resize(n);
  s.row_seq.resize(n);
  s.row_wanted.resize(n);
  const int64_t limit = c.has_per_layer_inputs() ? std::min(c.vocab_size, c.vocab_size_per_layer_input) : c.vocab_size;
  int64_t r = 0;
  for (size_t si = 0; si < segments.size(); ++si) {
    const ForwardSegment& seg = segments[si];
    if (!seg.seq) throw Error("forward: a batch segment has no sequence");
    for (size_t sj = 0; sj < si; ++sj)
      if (segments[sj].seq == seg.seq) throw Error("forward: a sequence appears twice in one batch");
    const int64_t len = static_cast<int64_t>(seg.tokens.size());
    if (seg.logits_count < 0 || seg.logits_count > len)
      throw Error("forward: logits_count " + std::to_string(seg.logits_count) + " outside [0, " + std::to_string(len) + "]");
    for (int64_t t = 0; t < len; ++t, ++r) {
      const int64_t id = seg.tokens[t];
      if (id < 0 || id >= limit)
        throw Error("token id " + std::to_string(id) + " at position " + std::to_string(t) +
                    " is out of range (vocabulary size " + std::to_string(limit) + ")");
      s.row_token[r] = static_cast<int32_t>(id);
      s.row_pos[r] = seg.seq->length() + t;
      s.row_src[r] = r;
      s.row_seq[r] = seg.seq;
      s.row_wanted[r] = t >= len - seg.logits_count;
    }
  }
}

// Per-layer inputs: (rmsnorm(proj(x) / sqrt(H)) + table[id] * sqrt(P)) / sqrt(2), per layer slice.
void per_layer_inputs(const ModelWeights& w, ForwardScratch& s, int64_t n, ThreadPool& pool) {
  const ModelConfig& c = w.config;
  const int64_t H = c.hidden_size, P = c.hidden_size_per_layer_input, L = c.num_layers, LP = L * P;
  const float eps = static_cast<float>(c.rms_norm_eps);
  s.ple_inputs.resize(n * LP);
  matmul(w.per_layer_model_projection, s.x.data(), n, H, s.ple_inputs.data(), LP, pool);
  s.ple_row.resize(LP);
  const float proj_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H)));
  const float table_scale = static_cast<float>(std::sqrt(static_cast<double>(P)));
  const float mix_scale = static_cast<float>(1.0 / std::sqrt(2.0));
  for (int64_t t = 0; t < n; ++t) {
    float* dst = s.ple_inputs.data() + t * LP;
    w.embed_tokens_per_layer.lookup(s.row_token[t], table_scale, s.ple_row.data());
    for (int64_t l = 0; l < L; ++l) {
      float* slice = dst + l * P;
      scale_inplace(slice, proj_scale, P);
      rms_norm(slice, w.per_layer_projection_norm.data(), P, eps, slice);
      add_inplace(slice, s.ple_row.data() + l * P, P);
      scale_inplace(slice, mix_scale, P);
    }
  }
}

// From the first KV-shared layer on nothing is written to the cache: keep only rows whose logits
// are wanted.
void keep_wanted_rows(const ModelConfig& c, ForwardScratch& s, Rows& rows) {
  const int64_t H = c.hidden_size, LP = c.num_layers * c.hidden_size_per_layer_input;
  int64_t kept = 0;
  for (int64_t r = 0; r < rows.count; ++r) {
    if (!s.row_wanted[s.row_src[r]]) continue;
    if (r != kept) {
      std::memmove(s.x.data() + kept * H, s.x.data() + r * H, H * sizeof(float));
      if (c.has_per_layer_inputs())
        std::memmove(s.ple_inputs.data() + kept * LP, s.ple_inputs.data() + r * LP, LP * sizeof(float));
    }
    s.row_src[kept] = s.row_src[r];
    s.row_seq[kept] = s.row_seq[r];
    s.row_pos[kept] = s.row_pos[r];
    ++kept;
  }
  rows.count = kept;
  rows.compacted = true;
}

void store_kv(int layer, const LayerSpec& spec, ForwardScratch& s, int64_t rows) {
  const int64_t width = spec.num_kv_heads * spec.head_dim;
  for (int64_t r = 0; r < rows; ++r) {
    KvSequence& seq = *s.row_seq[r];
    KvPool& kv = seq.pool();
    const int64_t pos = s.row_pos[r];
    const int32_t block = seq.block(spec.type, pos);
    const int slot = static_cast<int>(pos % kv.block_size());
    kv_store(s.k.data() + r * width, width, kv.type(), kv.keys(layer, block, slot));
    kv_store(s.v.data() + r * width, width, kv.type(), kv.values(layer, block, slot));
  }
}

// Keys [lo, hi) that row r attends to.
struct VisibleRange {
  int64_t lo, hi;
};

VisibleRange visible_range(const ModelConfig& c, const LayerSpec& spec, const ForwardScratch& s, int64_t r) {
  const int64_t pos = s.row_pos[r];
  const bool sliding = spec.type == AttentionType::Sliding;
  return {sliding ? std::max<int64_t>(0, pos - c.sliding_window + 1) : 0, pos + 1};
}

// One task: the query heads of one KV head, for the rows of one block, over keys [begin, end).
// Every K/V row is read once for all of them. Writes, per (row, head) that sees any of these keys,
// the softmax over its visible part (max, sum of exponentials, normalised output); the others'
// weights are zero, so the shared weighted sum leaves their (unused) outputs at zero.
void attention_task(const ModelConfig& c, const LayerSpec& spec, const ForwardScratch::AttentionTask& task,
                    ForwardScratch& s, float* scores, float* queries) {
  const int64_t nh = c.num_heads, hd = spec.head_dim, kvh = spec.num_kv_heads, group = nh / kvh;
  const int64_t len = task.end - task.begin, heads = task.rows * group;
  const KvSequence& seq = *s.row_seq[task.row];
  const KvPool& kv = seq.pool();
  const int bs = kv.block_size();
  const int src = spec.kv_source_layer;
  const size_t head_offset = static_cast<size_t>(task.kv_head) * hd * kv_type_size(kv.type());
  // The block's query heads for this KV head, [rows][group][hd]: in place when there is one KV head.
  const float* q = s.q.data() + (task.row * nh + task.kv_head * group) * hd;
  if (kvh > 1) {
    for (int64_t i = 0; i < task.rows; ++i)
      std::memcpy(queries + i * group * hd, q + i * nh * hd, group * hd * sizeof(float));
    q = queries;
  }
  const uint8_t* rows[kAttentionSplit];
  for (int64_t t = task.begin; t < task.end; ++t)
    rows[t - task.begin] = kv.keys(src, seq.block(spec.type, t), static_cast<int>(t % bs)) + head_offset;
  kv_dot_heads(q, heads, rows, len, kv.type(), hd, scores);
  float* partial = s.partials.data() + task.partial;
  for (int64_t i = 0; i < task.rows; ++i) {
    const VisibleRange v = visible_range(c, spec, s, task.row + i);
    const int64_t vb = std::max(task.begin, v.lo) - task.begin, ve = std::min(task.end, v.hi) - task.begin;
    for (int64_t h = 0; h < group; ++h) {
      float* sc = scores + (i * group + h) * len;
      float* out = partial + (i * group + h) * (2 + hd);
      std::fill(out + 2, out + 2 + hd, 0.0f);
      if (vb >= ve) {
        std::fill(sc, sc + len, 0.0f);
        continue;
      }
      softmax_inplace(sc + vb, ve - vb, &out[0], &out[1]);
      std::fill(sc, sc + vb, 0.0f);
      std::fill(sc + ve, sc + len, 0.0f);
    }
  }
  for (int64_t t = task.begin; t < task.end; ++t)
    rows[t - task.begin] = kv.values(src, seq.block(spec.type, t), static_cast<int>(t % bs)) + head_offset;
  kv_axpy_heads(scores, heads, rows, len, kv.type(), hd, partial + 2, 2 + hd);
}

// Merges each (row, head)'s splits in split order: a fixed order, so batch-invariant.
void merge_attention_splits(const ModelConfig& c, const LayerSpec& spec, ForwardScratch& s, int64_t rows,
                            ThreadPool& pool) {
  const int64_t nh = c.num_heads, hd = spec.head_dim, kvh = spec.num_kv_heads, group = nh / kvh;
  s.attn.resize(rows * nh * hd);
  const int64_t blocks = static_cast<int64_t>(s.block_row0.size()) - 1;
  pool.parallel_for(blocks * kvh, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t bk = b; bk < e; ++bk) {
      const int64_t block = bk / kvh, kh = bk % kvh;
      const int64_t first = s.block_task_first[bk], last = s.block_task_first[bk + 1];
      for (int64_t r = s.block_row0[block]; r < s.block_row0[block + 1]; ++r) {
        const int64_t i = r - s.block_row0[block];
        const VisibleRange v = visible_range(c, spec, s, r);
        auto sees = [&](int64_t t) { return std::max(s.tasks[t].begin, v.lo) < std::min(s.tasks[t].end, v.hi); };
        int64_t count = 0, only = first;
        for (int64_t t = first; t < last; ++t)
          if (sees(t)) ++count, only = t;
        for (int64_t h = 0; h < group; ++h) {
          float* out = s.attn.data() + (r * nh + kh * group + h) * hd;
          const int64_t slot = (i * group + h) * (2 + hd);
          if (count == 1) {
            std::memcpy(out, s.partials.data() + s.tasks[only].partial + slot + 2, hd * sizeof(float));
            continue;
          }
          float m = -INFINITY;
          for (int64_t t = first; t < last; ++t)
            if (sees(t)) m = std::max(m, s.partials[s.tasks[t].partial + slot]);
          double total = 0.0;
          std::fill(out, out + hd, 0.0f);
          for (int64_t t = first; t < last; ++t) {
            if (!sees(t)) continue;
            const float* p = s.partials.data() + s.tasks[t].partial + slot;
            const float weight = p[1] * std::exp(p[0] - m);
            total += weight;
            for (int64_t d = 0; d < hd; ++d) out[d] += weight * p[2 + d];
          }
          scale_inplace(out, static_cast<float>(1.0 / total), hd);
        }
      }
    }
  });
}

// Groups consecutive rows of one sequence into blocks and lays out one task per (block, KV head,
// key split).
void plan_attention(const ModelConfig& c, const LayerSpec& spec, ForwardScratch& s, int64_t rows) {
  const int64_t kvh = spec.num_kv_heads, group = c.num_heads / kvh, hd = spec.head_dim;
  s.tasks.clear();
  s.block_row0.clear();
  s.block_task_first.clear();
  int64_t partial = 0;
  for (int64_t r0 = 0; r0 < rows;) {
    int64_t r1 = r0 + 1;
    while (r1 < rows && r1 - r0 < kAttentionRowBlock && s.row_seq[r1] == s.row_seq[r0]) ++r1;
    int64_t lo = visible_range(c, spec, s, r0).lo, hi = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const VisibleRange v = visible_range(c, spec, s, r);
      lo = std::min(lo, v.lo);
      hi = std::max(hi, v.hi);
    }
    s.block_row0.push_back(r0);
    for (int64_t kh = 0; kh < kvh; ++kh) {
      s.block_task_first.push_back(static_cast<int64_t>(s.tasks.size()));
      for (int64_t b = lo / kAttentionSplit * kAttentionSplit; b < hi; b += kAttentionSplit) {
        s.tasks.push_back({r0, r1 - r0, kh, std::max(b, lo), std::min(hi, b + kAttentionSplit), partial});
        partial += (r1 - r0) * group * (2 + hd);
      }
    }
    r0 = r1;
  }
  s.block_row0.push_back(rows);
  s.block_task_first.push_back(static_cast<int64_t>(s.tasks.size()));
  s.partials.resize(partial);
}

void attention(const ModelConfig& c, const LayerSpec& spec, ForwardScratch& s, int64_t rows, ThreadPool& pool) {
  const int64_t nh = c.num_heads, hd = spec.head_dim, kvh = spec.num_kv_heads, group = nh / kvh;
  plan_attention(c, spec, s, rows);
  const int64_t scores_per_thread = kAttentionRowBlock * group * kAttentionSplit;
  const int64_t queries_per_thread = kAttentionRowBlock * group * hd;
  s.scores.resize(static_cast<size_t>(pool.size()) * scores_per_thread);
  s.queries.resize(static_cast<size_t>(pool.size()) * queries_per_thread);
  pool.run(static_cast<int64_t>(s.tasks.size()), [&](int64_t task, int thread) {
    attention_task(c, spec, s.tasks[task], s, s.scores.data() + static_cast<size_t>(thread) * scores_per_thread,
                   s.queries.data() + static_cast<size_t>(thread) * queries_per_thread);
  });
  merge_attention_splits(c, spec, s, rows, pool);
}

void attention_block(const ModelWeights& w, int layer, ForwardScratch& s, int64_t rows, ThreadPool& pool,
                     PhaseClock& clock) {
  const ModelConfig& c = w.config;
  const LayerSpec& spec = c.layers[layer];
  const LayerWeights& lw = w.layers[layer];
  const int64_t H = c.hidden_size, nh = c.num_heads, hd = spec.head_dim, kvh = spec.num_kv_heads;
  const float eps = static_cast<float>(c.rms_norm_eps);
  s.h.resize(rows * H);
  rms_norm_rows(s.x.data(), lw.input_norm, rows, H, eps, s.h.data(), pool);
  s.q.resize(rows * nh * hd);
  if (spec.kv_shared) {
    matmul(lw.q_proj, s.h.data(), rows, s.q.data(), pool);
  } else {
    s.k.resize(rows * kvh * hd);
    s.v.resize(rows * kvh * hd);
    const MatmulTarget qkv[] = {{&lw.q_proj, s.q.data()}, {&lw.k_proj, s.k.data()}, {&lw.v_proj, s.v.data()}};
    matmul_shared_input(std::span(qkv, spec.has_v_proj ? 3 : 2), s.h.data(), rows, pool);
    if (!spec.has_v_proj) std::copy(s.k.begin(), s.k.end(), s.v.begin());  // V is the raw K projection
  }
  norm_and_rope_heads(s.q.data(), rows, nh, spec, lw.q_norm, eps, true, s, pool);
  if (!spec.kv_shared) {
    norm_and_rope_heads(s.k.data(), rows, kvh, spec, lw.k_norm, eps, true, s, pool);
    norm_and_rope_heads(s.v.data(), rows, kvh, spec, {}, eps, false, s, pool);
    store_kv(layer, spec, s, rows);
  }
  clock.mark(ForwardProfile::QkvProj);
  attention(c, spec, s, rows, pool);
  clock.mark(ForwardProfile::Attention);
  s.o.resize(rows * H);
  matmul(lw.o_proj, s.attn.data(), rows, s.o.data(), pool);
  add_normed_rows(s.x.data(), s.o.data(), lw.post_attention_norm, rows, H, eps, pool);
  clock.mark(ForwardProfile::OutProj);
}

void mlp_block(const ModelWeights& w, int layer, ForwardScratch& s, int64_t rows, ThreadPool& pool,
               PhaseClock& clock) {
  const ModelConfig& c = w.config;
  const LayerWeights& lw = w.layers[layer];
  const int64_t H = c.hidden_size, F = c.layers[layer].mlp_width;
  const float eps = static_cast<float>(c.rms_norm_eps);
  rms_norm_rows(s.x.data(), lw.pre_feedforward_norm, rows, H, eps, s.h.data(), pool);
  s.gate.resize(rows * F);
  s.up.resize(rows * F);
  const MatmulTarget gate_up[] = {{&lw.gate_proj, s.gate.data()}, {&lw.up_proj, s.up.data()}};
  matmul_rows_together(gate_up, s.h.data(), rows, pool, [&](int64_t b, int64_t e) {
    for (int64_t r = 0; r < rows; ++r) {
      float* gate = s.gate.data() + r * F;
      gelu_tanh_mul(gate + b, s.up.data() + r * F + b, e - b, gate + b);
    }
  });
  clock.mark(ForwardProfile::MlpGateUp);
  matmul(lw.down_proj, s.gate.data(), rows, s.o.data(), pool);
  add_normed_rows(s.x.data(), s.o.data(), lw.post_feedforward_norm, rows, H, eps, pool);
  clock.mark(ForwardProfile::MlpDown);
}

void per_layer_input_block(const ModelWeights& w, int layer, ForwardScratch& s, int64_t rows, ThreadPool& pool) {
  const ModelConfig& c = w.config;
  const LayerWeights& lw = w.layers[layer];
  const int64_t H = c.hidden_size, P = c.hidden_size_per_layer_input, LP = c.num_layers * P;
  const float eps = static_cast<float>(c.rms_norm_eps);
  s.ple_gate.resize(rows * P);
  matmul(lw.per_layer_input_gate, s.x.data(), rows, s.ple_gate.data(), pool);
  gelu_tanh_inplace(s.ple_gate.data(), rows * P);
  for (int64_t r = 0; r < rows; ++r) mul_inplace(s.ple_gate.data() + r * P, s.ple_inputs.data() + r * LP + layer * P, P);
  matmul(lw.per_layer_projection, s.ple_gate.data(), rows, s.o.data(), pool);
  add_normed_rows(s.x.data(), s.o.data(), lw.post_per_layer_input_norm, rows, H, eps, pool);
}

// Final norm, LM head and soft-cap for the rows whose logits are wanted.
void lm_head(const ModelWeights& w, ForwardScratch& s, const Rows& rows, std::vector<float>& logits, ThreadPool& pool) {
  const ModelConfig& c = w.config;
  const int64_t H = c.hidden_size, V = c.vocab_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  int64_t m = 0;
  for (int64_t r = 0; r < rows.count; ++r) m += s.row_wanted[s.row_src[r]];
  if (m == 0) return;
  s.logits_in.resize(m * H);
  int64_t j = 0;
  for (int64_t r = 0; r < rows.count; ++r) {
    if (!s.row_wanted[s.row_src[r]]) continue;
    rms_norm(s.x.data() + r * H, w.final_norm.data(), H, eps, s.logits_in.data() + j * H);
    ++j;
  }
  logits.resize(m * V);
  const MatmulTarget head{&w.lm_head, logits.data()};
  const float cap = static_cast<float>(c.final_logit_softcapping.value_or(0.0));
  matmul_rows_together(std::span(&head, 1), s.logits_in.data(), m, pool, [&](int64_t b, int64_t e) {
    if (cap == 0.0f) return;
    for (int64_t r = 0; r < m; ++r) softcap_inplace(logits.data() + r * V + b, e - b, cap);
  });
}

}  // namespace

void forward_batch(const ModelWeights& weights, std::span<const ForwardSegment> segments,
                   const ForwardOptions& options, std::vector<float>& logits, ForwardScratch& s,
                   ThreadPool& pool) {
  const ModelConfig& c = weights.config;
  const int64_t H = c.hidden_size;
  logits.clear();
  lay_out_rows(c, segments, s);
  const int64_t n = static_cast<int64_t>(s.row_token.size());
  if (n == 0) return;
  for (const auto& seg : segments) seg.seq->reserve(static_cast<int64_t>(seg.tokens.size()));

  // Embedding, scaled by sqrt(hidden) in full precision.
  s.x.resize(n * H);
  const float embed_scale = static_cast<float>(std::sqrt(static_cast<double>(H)));
  PhaseClock clock(options.profile);
  if (options.profile) ++options.profile->calls;
  for (int64_t t = 0; t < n; ++t) weights.embed_tokens.lookup(s.row_token[t], embed_scale, s.x.data() + t * H);
  if (options.hidden_probe) options.hidden_probe(-1, s.x.data(), n);
  if (c.has_per_layer_inputs()) per_layer_inputs(weights, s, n, pool);
  build_rope_tables(c, s, n);
  clock.mark(ForwardProfile::Embed);

  Rows rows{c, s, n, false};
  for (int i = 0; i < c.num_layers; ++i) {
    const LayerSpec& spec = c.layers[i];
    if (spec.kv_shared && !rows.compacted && options.skip_shared_layers_for_unneeded_rows) {
      keep_wanted_rows(c, s, rows);
      if (rows.count == 0) break;
    }
    attention_block(weights, i, s, rows.count, pool, clock);
    mlp_block(weights, i, s, rows.count, pool, clock);
    if (c.has_per_layer_inputs()) per_layer_input_block(weights, i, s, rows.count, pool);
    scale_inplace(s.x.data(), weights.layers[i].layer_scalar, rows.count * H);
    clock.mark(ForwardProfile::PerLayerInput);
    if (options.hidden_probe) options.hidden_probe(i, s.x.data(), rows.count);
  }
  for (const auto& seg : segments) seg.seq->commit(seg.tokens);
  lm_head(weights, s, rows, logits, pool);
  clock.mark(ForwardProfile::LmHead);
}

void forward(const ModelWeights& weights, KvSequence& seq, std::span<const int32_t> tokens, int64_t logits_count,
             const ForwardOptions& options, std::vector<float>& logits, ForwardScratch& scratch, ThreadPool& pool) {
  ForwardSegment segment{&seq, tokens, logits_count};
  forward_batch(weights, std::span<const ForwardSegment>(&segment, 1), options, logits, scratch, pool);
}

}  // namespace gemma4
