// CPU references for the kernels, written after the engine's portable C++ path (src/kernels/ and
// src/model/forward.cpp): float32 rounding via Math.fround where the engine works in float, float64
// where it does (RMSNorm's sum of squares, softmax sums, RoPE angles).
const f = Math.fround;

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(rand, n, scale = 1) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

export { f32Bits, bitsF32, bf16ToF32, f32ToBf16, f16ToF32, f32ToF16, quantizeQ8_0, quantizeQ4_0 } from '../src/quant.js';
import { bf16ToF32, f16ToF32, f32ToBf16 } from '../src/quant.js';

// dequantize_row_q8_0 / dequantize_row_q4_0 over a whole matrix.
export function dequantize(format, bytes, rows, cols) {
  const blocks = cols / 32, out = new Float32Array(rows * cols);
  const size = format === 'q8_0' ? 34 : 18;
  for (let rb = 0; rb < rows * blocks; ++rb) {
    const o = rb * size, d = f16ToF32(bytes[o] | (bytes[o + 1] << 8)), e0 = rb * 32;
    if (format === 'q8_0') {
      for (let i = 0; i < 32; ++i) out[e0 + i] = d * ((bytes[o + 2 + i] << 24) >> 24);
    } else {
      for (let j = 0; j < 16; ++j) {
        out[e0 + j] = d * ((bytes[o + 2 + j] & 15) - 8);
        out[e0 + j + 16] = d * ((bytes[o + 2 + j] >> 4) - 8);
      }
    }
  }
  return out;
}

// float_rows_portable: one float accumulator per output, columns in order. y: [tokens, rows].
export function matmulRef(w, x, rows, cols, tokens) {
  const y = new Float32Array(tokens * rows);
  for (let r = 0; r < rows; ++r) for (let t = 0; t < tokens; ++t) {
    let acc = 0;
    for (let c = 0; c < cols; ++c) acc = f(acc + f(w[r * cols + c] * x[t * cols + c]));
    y[t * rows + r] = acc;
  }
  return y;
}

export function embeddingRef(tableBf16, ids, dim, scale) {
  const out = new Float32Array(ids.length * dim);
  ids.forEach((id, t) => { for (let i = 0; i < dim; ++i) out[t * dim + i] = f(bf16ToF32(tableBf16[id * dim + i]) * scale); });
  return out;
}

// rms_norm: sum of squares in double, inv rounded to float, out = x * inv * w in float.
export function rmsNormRef(x, w, rows, dim, eps) {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; ++r) {
    let ss = 0;
    for (let i = 0; i < dim; ++i) ss += x[r * dim + i] * x[r * dim + i];
    const inv = f(1 / Math.sqrt(ss / dim + f(eps)));
    for (let i = 0; i < dim; ++i) {
      const v = f(x[r * dim + i] * inv);
      out[r * dim + i] = w ? f(v * w[i]) : v;
    }
  }
  return out;
}

// apply_rope over [rows, heads, dim] with tables [rows, pairs].
export function ropeRef(x, rows, heads, dim, cos, sin, pairs) {
  const out = Float32Array.from(x), half = dim / 2;
  for (let r = 0; r < rows; ++r) for (let h = 0; h < heads; ++h) {
    const base = (r * heads + h) * dim;
    for (let i = 0; i < pairs; ++i) {
      const a = x[base + i], b = x[base + i + half], c = cos[r * pairs + i], s = sin[r * pairs + i];
      out[base + i] = f(f(a * c) - f(b * s));
      out[base + i + half] = f(f(b * c) + f(a * s));
    }
  }
  return out;
}

export function geluRef(v) {
  const k = f(0.7978845608028654);
  return f(f(0.5 * v) * f(1 + f(Math.tanh(f(k * f(v + f(f(f(0.044715 * v) * v) * v)))))));
}
export function softcapRef(v, cap) { return f(cap * f(Math.tanh(f(v / cap)))); }

// The attention of forward.cpp for one sequence: scores q . k in float, softmax over the visible
// keys (max in float, sum in double), output = sum of weight * v. kv: [positions, kvHeads, dim].
export function attentionRef(q, k, v, positions, rows, heads, kvHeads, dim, window) {
  const out = new Float32Array(rows * heads * dim), group = heads / kvHeads;
  for (let r = 0; r < rows; ++r) for (let h = 0; h < heads; ++h) {
    const pos = positions[r], lo = window > 0 ? Math.max(0, pos - window + 1) : 0, kh = Math.floor(h / group);
    const qb = (r * heads + h) * dim, scores = [];
    for (let t = lo; t <= pos; ++t) {
      let s = 0;
      for (let d = 0; d < dim; ++d) s = f(s + f(q[qb + d] * k[(t * kvHeads + kh) * dim + d]));
      scores.push(s);
    }
    const m = Math.max(...scores);
    let sum = 0;
    const e = scores.map((s) => { const x = f(Math.exp(s - m)); sum += x; return x; });
    const inv = f(1 / sum);
    for (let d = 0; d < dim; ++d) {
      let acc = 0;
      e.forEach((w, j) => { acc = f(acc + f(f(w * inv) * v[((lo + j) * kvHeads + kh) * dim + d])); });
      out[qb + d] = acc;
    }
  }
  return out;
}

// Top-k by value descending, ties to the lower index, NaNs skipped.
export function topKRef(x, rows, cols, k) {
  const indices = [], values = [];
  for (let r = 0; r < rows; ++r) {
    const order = [];
    for (let c = 0; c < cols; ++c) if (!Number.isNaN(x[r * cols + c])) order.push(c);
    order.sort((a, b) => x[r * cols + b] - x[r * cols + a] || a - b);
    for (let j = 0; j < k; ++j) { indices.push(order[j]); values.push(x[r * cols + order[j]]); }
  }
  return { indices, values };
}
