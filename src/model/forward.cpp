#include "model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemma4/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"

namespace gemma4 {

namespace {

// cos/sin of position × inverse frequency for every chunk row, per attention type.
struct RopeTable {
  int64_t pairs = 0;
  std::vector<float> cos, sin;  // [rows][pairs]

  void build(const LayerSpec& spec, int64_t start, int64_t n) {
    pairs = spec.rotary_pairs;
    cos.resize(n * pairs);
    sin.resize(n * pairs);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t p = 0; p < pairs; ++p) {
        double angle = static_cast<double>(start + t) * spec.inv_freq[p];
        cos[t * pairs + p] = static_cast<float>(std::cos(angle));
        sin[t * pairs + p] = static_cast<float>(std::sin(angle));
      }
    }
  }
  const float* cos_row(int64_t t) const { return cos.data() + t * pairs; }
  const float* sin_row(int64_t t) const { return sin.data() + t * pairs; }
};

// Row-wise work is split over the pool once there are enough rows to pay for the hand-off.
constexpr int64_t kRowGrain = 8;

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

// Per-head RMSNorm (weight may be empty: no scale) and optional RoPE over a [rows, heads, dim] buffer.
void norm_and_rope_heads(float* buf, int64_t rows, int64_t heads, int64_t dim, const std::vector<float>& w,
                         float eps, const RopeTable* rope, const std::vector<int64_t>& row_src, ThreadPool& pool) {
  pool.parallel_for(rows, kRowGrain, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      for (int64_t h = 0; h < heads; ++h) {
        float* v = buf + (r * heads + h) * dim;
        rms_norm(v, w.empty() ? nullptr : w.data(), dim, eps, v);
        if (rope && rope->pairs > 0)
          apply_rope(v, dim, rope->pairs, rope->cos_row(row_src[r]), rope->sin_row(row_src[r]));
      }
    }
  });
}

}  // namespace

void forward(const ModelWeights& weights, KvSequence& seq, std::span<const int32_t> tokens,
             const ForwardOptions& options, std::vector<float>& logits, ForwardScratch& s,
             ThreadPool& pool) {
  const ModelConfig& c = weights.config;
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t H = c.hidden_size;
  const int64_t L = c.num_layers;
  const int64_t P = c.hidden_size_per_layer_input;
  const int64_t V = c.vocab_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  logits.clear();
  if (n == 0) return;
  for (int64_t t = 0; t < n; ++t) {
    int64_t id = tokens[t];
    int64_t limit = c.has_per_layer_inputs() ? std::min(V, c.vocab_size_per_layer_input) : V;
    if (id < 0 || id >= limit)
      throw Error("token id " + std::to_string(id) + " at position " + std::to_string(t) +
                  " is out of range (vocabulary size " + std::to_string(limit) + ")");
  }
  for (size_t j = 0; j < options.logits_rows.size(); ++j) {
    int64_t r = options.logits_rows[j];
    if (r < 0 || r >= n || (j > 0 && r <= options.logits_rows[j - 1]))
      throw Error("logits rows must be ascending indices into the chunk");
  }

  const int64_t start = seq.length();
  seq.reserve(n);
  KvPool& kv = seq.pool();
  const int bs = kv.block_size();
  const size_t kv_elem = kv_type_size(kv.type());

  // Embedding, scaled by sqrt(hidden) in full precision.
  s.x.resize(n * H);
  const float embed_scale = static_cast<float>(std::sqrt(static_cast<double>(H)));
  for (int64_t t = 0; t < n; ++t) weights.embed_tokens.lookup(tokens[t], embed_scale, s.x.data() + t * H);
  if (options.hidden_probe) options.hidden_probe(-1, s.x.data(), n);

  // Per-layer inputs: (rmsnorm(proj(x) / sqrt(H)) + table[id] * sqrt(P)) / sqrt(2), per layer slice.
  const int64_t LP = L * P;
  if (c.has_per_layer_inputs()) {
    s.ple_inputs.resize(n * LP);
    matmul(weights.per_layer_model_projection, s.x.data(), n, H, s.ple_inputs.data(), LP, pool);
    std::vector<float> row(LP);
    const float proj_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H)));
    const float table_scale = static_cast<float>(std::sqrt(static_cast<double>(P)));
    const float mix_scale = static_cast<float>(1.0 / std::sqrt(2.0));
    for (int64_t t = 0; t < n; ++t) {
      float* dst = s.ple_inputs.data() + t * LP;
      weights.embed_tokens_per_layer.lookup(tokens[t], table_scale, row.data());
      for (int64_t l = 0; l < L; ++l) {
        float* slice = dst + l * P;
        scale_inplace(slice, proj_scale, P);
        rms_norm(slice, weights.per_layer_projection_norm.data(), P, eps, slice);
        add_inplace(slice, row.data() + l * P, P);
        scale_inplace(slice, mix_scale, P);
      }
    }
  }

  // RoPE tables: every layer of one attention type shares its frequencies.
  RopeTable rope[2];
  bool rope_built[2] = {false, false};
  for (int i = 0; i < L; ++i) {
    int g = c.layers[i].type == AttentionType::Full ? 1 : 0;
    if (!rope_built[g]) {
      rope[g].build(c.layers[i], start, n);
      rope_built[g] = true;
    }
  }

  // Rows still being computed: chunk index of each (all rows until the KV-shared layers).
  std::vector<int64_t> row_src(n);
  for (int64_t t = 0; t < n; ++t) row_src[t] = t;
  int64_t rows = n;
  bool compacted = false;

  const int64_t nh = c.num_heads;
  const int first_shared = c.first_kv_shared_layer();
  const int threads = pool.size();
  s.scores.resize(static_cast<size_t>(threads) * (start + n));

  for (int i = 0; i < L; ++i) {
    const LayerSpec& spec = c.layers[i];
    const LayerWeights& lw = weights.layers[i];

    if (spec.kv_shared && !compacted && options.skip_shared_layers_for_unneeded_rows) {
      // From here on nothing is written to the cache: keep only rows whose logits are wanted.
      compacted = true;
      int64_t kept = 0;
      for (int64_t r : options.logits_rows) {
        if (r != kept) {
          std::memmove(s.x.data() + kept * H, s.x.data() + r * H, H * sizeof(float));
          if (c.has_per_layer_inputs())
            std::memmove(s.ple_inputs.data() + kept * LP, s.ple_inputs.data() + r * LP, LP * sizeof(float));
        }
        row_src[kept] = r;
        ++kept;
      }
      rows = kept;
      if (rows == 0) break;
    }

    const int64_t hd = spec.head_dim;
    const int64_t kvh = spec.num_kv_heads;
    const RopeTable& rt = rope[spec.type == AttentionType::Full ? 1 : 0];

    // Attention block.
    s.h.resize(rows * H);
    rms_norm_rows(s.x.data(), lw.input_norm, rows, H, eps, s.h.data(), pool);
    s.q.resize(rows * nh * hd);
    matmul(lw.q_proj, s.h.data(), rows, s.q.data(), pool);
    norm_and_rope_heads(s.q.data(), rows, nh, hd, lw.q_norm, eps, &rt, row_src, pool);

    if (!spec.kv_shared) {
      s.k.resize(rows * kvh * hd);
      s.v.resize(rows * kvh * hd);
      matmul(lw.k_proj, s.h.data(), rows, s.k.data(), pool);
      if (spec.has_v_proj) matmul(lw.v_proj, s.h.data(), rows, s.v.data(), pool);
      else std::copy(s.k.begin(), s.k.end(), s.v.begin());  // V is the raw K projection
      norm_and_rope_heads(s.k.data(), rows, kvh, hd, lw.k_norm, eps, &rt, row_src, pool);
      norm_and_rope_heads(s.v.data(), rows, kvh, hd, {}, eps, nullptr, row_src, pool);
      for (int64_t r = 0; r < rows; ++r) {
        int64_t pos = start + row_src[r];
        int32_t block = seq.block(spec.type, pos);
        kv_store(s.k.data() + r * kvh * hd, kvh * hd, kv.type(), kv.keys(i, block, pos % bs));
        kv_store(s.v.data() + r * kvh * hd, kvh * hd, kv.type(), kv.values(i, block, pos % bs));
      }
    }

    const int src = spec.kv_source_layer;
    const int64_t group = nh / kvh;
    const bool sliding = spec.type == AttentionType::Sliding;
    s.attn.assign(rows * nh * hd, 0.0f);
    pool.run(rows * nh, [&](int64_t task, int thread) {
      const int64_t r = task / nh, head = task % nh;
      const int64_t pos = start + row_src[r];
      const int64_t lo = sliding ? std::max<int64_t>(0, pos - c.sliding_window + 1) : 0;
      const float* qv = s.q.data() + (r * nh + head) * hd;
      float* scores = s.scores.data() + static_cast<size_t>(thread) * (start + n);
      const size_t head_offset = static_cast<size_t>(head / group) * hd * kv_elem;
      for (int64_t t = lo; t <= pos; ++t) {
        const uint8_t* key = kv.keys(src, seq.block(spec.type, t), t % bs) + head_offset;
        scores[t - lo] = kv_dot(qv, key, kv.type(), hd);
      }
      softmax_inplace(scores, pos - lo + 1);
      float* out = s.attn.data() + (r * nh + head) * hd;
      for (int64_t t = lo; t <= pos; ++t) {
        const uint8_t* value = kv.values(src, seq.block(spec.type, t), t % bs) + head_offset;
        kv_axpy(scores[t - lo], value, kv.type(), hd, out);
      }
    });
    s.o.resize(rows * H);
    matmul(lw.o_proj, s.attn.data(), rows, s.o.data(), pool);
    add_normed_rows(s.x.data(), s.o.data(), lw.post_attention_norm, rows, H, eps, pool);

    // Feed-forward block.
    rms_norm_rows(s.x.data(), lw.pre_feedforward_norm, rows, H, eps, s.h.data(), pool);
    const int64_t F = spec.mlp_width;
    s.gate.resize(rows * F);
    s.up.resize(rows * F);
    matmul(lw.gate_proj, s.h.data(), rows, s.gate.data(), pool);
    matmul(lw.up_proj, s.h.data(), rows, s.up.data(), pool);
    pool.parallel_for(rows * F, 4096, [&](int64_t b, int64_t e, int) {
      gelu_tanh_mul(s.gate.data() + b, s.up.data() + b, e - b, s.gate.data() + b);
    });
    matmul(lw.down_proj, s.gate.data(), rows, s.o.data(), pool);
    add_normed_rows(s.x.data(), s.o.data(), lw.post_feedforward_norm, rows, H, eps, pool);

    // Per-layer input branch.
    if (c.has_per_layer_inputs()) {
      s.ple_gate.resize(rows * P);
      matmul(lw.per_layer_input_gate, s.x.data(), rows, s.ple_gate.data(), pool);
      gelu_tanh_inplace(s.ple_gate.data(), rows * P);
      for (int64_t r = 0; r < rows; ++r)
        mul_inplace(s.ple_gate.data() + r * P, s.ple_inputs.data() + r * LP + i * P, P);
      matmul(lw.per_layer_projection, s.ple_gate.data(), rows, s.o.data(), pool);
      add_normed_rows(s.x.data(), s.o.data(), lw.post_per_layer_input_norm, rows, H, eps, pool);
    }

    scale_inplace(s.x.data(), lw.layer_scalar, rows * H);
    if (options.hidden_probe) options.hidden_probe(i, s.x.data(), rows);
  }
  (void)first_shared;

  seq.commit(n);

  // Final norm, LM head and soft-cap for the wanted rows.
  const int64_t m = static_cast<int64_t>(options.logits_rows.size());
  if (m == 0) return;
  s.logits_in.resize(m * H);
  for (int64_t j = 0; j < m; ++j) {
    int64_t r = compacted ? j : options.logits_rows[j];
    rms_norm(s.x.data() + r * H, weights.final_norm.data(), H, eps, s.logits_in.data() + j * H);
  }
  logits.resize(m * V);
  matmul(weights.lm_head, s.logits_in.data(), m, logits.data(), pool);
  if (c.final_logit_softcapping)
    softcap_inplace(logits.data(), m * V, static_cast<float>(*c.final_logit_softcapping));
}

}  // namespace gemma4
