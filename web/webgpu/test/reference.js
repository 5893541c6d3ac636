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

const scratch = new DataView(new ArrayBuffer(4));
export function f32Bits(x) { scratch.setFloat32(0, x, true); return scratch.getUint32(0, true); }
export function bitsF32(b) { scratch.setUint32(0, b >>> 0, true); return scratch.getFloat32(0, true); }

export function bf16ToF32(h) { return bitsF32(h << 16); }
export function f32ToBf16(x) {
  const bits = f32Bits(x);
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f16ToF32(h) {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
// Round to nearest even f16 (finite inputs in the f16 range, as quantization scales are).
export function f32ToF16(x) {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a >= 65520) return sign | 0x7c00;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  if (e < -14) return sign | roundEven(a / 2 ** -24);  // subnormal (may round up to 0x400)
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) { m = 0; e += 1; }
  return sign | ((e + 15) << 10) | m;
}
function roundEven(v) {
  const fl = Math.floor(v), diff = v - fl;
  if (diff > 0.5) return fl + 1;
  if (diff < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

// quantize_row_q8_0: d = amax / 127, q = round-half-away(x / d).
export function quantizeQ8_0(x, rows, cols) {
  const blocks = cols / 32, out = new Uint8Array(rows * blocks * 34);
  for (let r = 0; r < rows; ++r) for (let b = 0; b < blocks; ++b) {
    const xb = x.subarray(r * cols + b * 32, r * cols + b * 32 + 32);
    let amax = 0;
    for (const v of xb) amax = Math.max(amax, Math.abs(v));
    const d = f(amax / 127), id = d !== 0 ? f(1 / d) : 0;
    const o = (r * blocks + b) * 34, h = f32ToF16(d);
    out[o] = h & 0xff; out[o + 1] = h >> 8;
    for (let i = 0; i < 32; ++i) {
      const v = f(xb[i] * id);
      out[o + 2 + i] = Math.trunc(f(v + (v >= 0 ? 0.5 : -0.5))) & 0xff;
    }
  }
  return out;
}

// quantize_row_q4_0: the value of largest magnitude maps to -8; q = clamp(floor(x / d + 8.5)).
export function quantizeQ4_0(x, rows, cols) {
  const blocks = cols / 32, out = new Uint8Array(rows * blocks * 18);
  for (let r = 0; r < rows; ++r) for (let b = 0; b < blocks; ++b) {
    const xb = x.subarray(r * cols + b * 32, r * cols + b * 32 + 32);
    let mx = xb[0], mn = xb[0];
    for (const v of xb) { mx = Math.max(mx, v); mn = Math.min(mn, v); }
    let extreme = -mn > mx ? mn : mx;
    if (-mn === mx && mn !== mx) extreme = xb.find((v) => v === mn || v === mx);
    const d = f(extreme / -8), id = d !== 0 ? f(1 / d) : 0;
    const o = (r * blocks + b) * 18, h = f32ToF16(d);
    out[o] = h & 0xff; out[o + 1] = h >> 8;
    const q = new Array(32);
    for (let i = 0; i < 32; ++i) q[i] = Math.min(15, Math.max(0, Math.trunc(f(f(xb[i] * id) + 8.5))));
    for (let j = 0; j < 16; ++j) out[o + 2 + j] = q[j] | (q[j + 16] << 4);
  }
  return out;
}

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
