// Number formats shared with the native engine: bf16/f16 <-> f32 conversions and the Q8_0 / Q4_0
// block quantizers of src/kernels/quant.cpp (llama.cpp's block layouts), float32 arithmetic via
// Math.fround so that the blocks are byte-identical to the native engine's.
const f = Math.fround;

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

