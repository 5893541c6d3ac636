// y[t, r] = sum_c W[r, c] * x[t, c] for weight matrices in f32, q8_0 or q4_0 (llama.cpp block
// layouts: q8_0 = f16 d + 32 int8 q, 34 bytes, w = d * q; q4_0 = f16 d + 16 bytes of nibbles,
// 18 bytes, low nibbles = elements 0..15, high = 16..31, w = d * (q - 8)).
// Quantized weights are decoded in registers inside the dot product (no dequantized copy); the
// activations stay f32 and every sum is an f32 accumulation. One workgroup computes one weight row
// for a tile of TOKEN_TILE tokens (a GEMV when there is one token): its 64 invocations stride over
// the columns (f32) or blocks (quantized), then a workgroup sum. W may be split in row parts
// (split_tensor.js); y is [tokens, totalRows] with each part writing its rows.
import { packParams, runKernel, scratchBuffer, WORKGROUP_SIZE, WebGpuError } from '../context.js';
import { entryArgs, floatHelpers, header, prologue, workgroupSum } from '../wgsl.js';

export const TOKEN_TILE = 4;
export const WEIGHT_FORMATS = {
  f32: { rowBytes: (cols) => 4 * cols },
  q8_0: { rowBytes: (cols) => (cols / 32) * 34 },
  q4_0: { rowBytes: (cols) => (cols / 32) * 18 },
};

const byteHelpers = `
fn w_byte(o: u32) -> u32 { return (w[o >> 2u] >> ((o & 3u) * 8u)) & 0xffu; }
fn w_f16(o: u32) -> f32 { return f16_bits_to_f32((w[o >> 2u] >> ((o & 2u) * 8u)) & 0xffffu); }`;

// Adds this invocation's share of row r to acc[tt] for the tile's tokens.
const BODY = {
  f32: `
  for (var c = lid; c < p.cols; c += ${WORKGROUP_SIZE}u) {
    let wv = w[r * p.cols + c];
    for (var tt = 0u; tt < ${TOKEN_TILE}u; tt++) {
      if (t0 + tt < p.tokens) { acc[tt] += wv * x[(t0 + tt) * p.cols + c]; }
    }
  }`,
  q8_0: `
  let blocks = p.cols / 32u;
  for (var b = lid; b < blocks; b += ${WORKGROUP_SIZE}u) {
    let o = (r * blocks + b) * 34u;
    let d = w_f16(o);
    for (var tt = 0u; tt < ${TOKEN_TILE}u; tt++) {
      if (t0 + tt >= p.tokens) { break; }
      let xb = (t0 + tt) * p.cols + b * 32u;
      var s = 0.0;
      for (var e = 0u; e < 32u; e++) {
        let q = bitcast<i32>(w_byte(o + 2u + e) << 24u) >> 24u;
        s += f32(q) * x[xb + e];
      }
      acc[tt] += d * s;
    }
  }`,
  q4_0: `
  let blocks = p.cols / 32u;
  for (var b = lid; b < blocks; b += ${WORKGROUP_SIZE}u) {
    let o = (r * blocks + b) * 18u;
    let d = w_f16(o);
    for (var tt = 0u; tt < ${TOKEN_TILE}u; tt++) {
      if (t0 + tt >= p.tokens) { break; }
      let xb = (t0 + tt) * p.cols + b * 32u;
      var s = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let byte = w_byte(o + 2u + j);
        s += f32(i32(byte & 15u) - 8) * x[xb + j] + f32(i32(byte >> 4u) - 8) * x[xb + j + 16u];
      }
      acc[tt] += d * s;
    }
  }`,
};

// actQ: x holds int8-quantized activations (as exact float integers) with one scale per block of
// 32 in xs, as the native engine's quantized matmuls use them: each block's dot product of
// integers is exact in f32 (|sum| < 2^24), then scaled by d_w * d_x.
function source(subgroups, format, actQ = false) {
  const quantized = format !== 'f32';
  let body = BODY[format];
  if (actQ) body = body.replace('acc[tt] += d * s;', 'acc[tt] += s * (d * xs[(t0 + tt) * blocks + b]);');
  return `${header(subgroups)}${floatHelpers}
struct P { rows: u32, cols: u32, tokens: u32, row0: u32, out_stride: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<${quantized ? 'u32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${actQ ? '@group(0) @binding(4) var<storage, read> xs: array<f32>;' : ''}
${quantized ? byteHelpers : ''}
${workgroupSum(subgroups)}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${entryArgs(subgroups)}) {
  ${prologue(subgroups)}
  if (group >= p.count) { return; }
  let r = group % p.rows;
  let t0 = (group / p.rows) * ${TOKEN_TILE}u;
  var acc: array<f32, ${TOKEN_TILE}>;
  ${body}
  for (var tt = 0u; tt < ${TOKEN_TILE}u; tt++) {
    let total = wg_sum(acc[tt], lid, sg_lane, sg_size);
    if (lid == 0u && t0 + tt < p.tokens) { y[(t0 + tt) * p.out_stride + p.row0 + r] = total; }
  }
}`;
}

// Narrow matrices (cols <= ctx.narrowMatmulCols, default 256): one invocation per output walks
// the whole row, with no workgroup sum (the tiny test models' layers; a workgroup of 64 lanes per
// row costs more than it gains there). The same per-block arithmetic as the bodies above.
const NARROW_BODY = {
  f32: `for (var c = 0u; c < p.cols; c++) { acc += w[r * p.cols + c] * x[t * p.cols + c]; }`,
  q8_0: `
  let blocks = p.cols / 32u;
  for (var b = 0u; b < blocks; b++) {
    let o = (r * blocks + b) * 34u;
    let xb = t * p.cols + b * 32u;
    var s = 0.0;
    for (var e = 0u; e < 32u; e++) { s += f32(bitcast<i32>(w_byte(o + 2u + e) << 24u) >> 24u) * x[xb + e]; }
    acc += w_f16(o) * s;
  }`,
  q4_0: `
  let blocks = p.cols / 32u;
  for (var b = 0u; b < blocks; b++) {
    let o = (r * blocks + b) * 18u;
    let xb = t * p.cols + b * 32u;
    var s = 0.0;
    for (var j = 0u; j < 16u; j++) {
      let byte = w_byte(o + 2u + j);
      s += f32(i32(byte & 15u) - 8) * x[xb + j] + f32(i32(byte >> 4u) - 8) * x[xb + j + 16u];
    }
    acc += w_f16(o) * s;
  }`,
};

function narrowSource(format, actQ = false) {
  const quantized = format !== 'f32';
  let body = NARROW_BODY[format];
  if (actQ) body = body.replace('acc += w_f16(o) * s;', 'acc += s * (w_f16(o) * xs[t * blocks + b]);');
  return `${floatHelpers}
struct P { rows: u32, cols: u32, tokens: u32, row0: u32, out_stride: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<${quantized ? 'u32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${actQ ? '@group(0) @binding(4) var<storage, read> xs: array<f32>;' : ''}
${quantized ? byteHelpers : ''}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= p.count) { return; }
  let r = i % p.rows;
  let t = i / p.rows;
  var acc = 0.0;
  ${body}
  y[t * p.out_stride + p.row0 + r] = acc;
}`;
}

export const NARROW_MATMUL_COLS = 256;

// Activation rows to int8 blocks of 32 (quantize_activations_portable): d = max|x| / 127,
// q = round-half-even(x / d) via the reciprocal, as the native engine does.
const quantizeCode = `
struct P { blocks: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> xq: array<f32>;
@group(0) @binding(3) var<storage, read_write> xs: array<f32>;
// WGSL allows 2.5 ULP for a division: one residual step (exact through fma) brings the quotient to
// the correctly rounded one the CPU computes, which decides ties below.
fn div_rn(a: f32, b: f32) -> f32 {
  let q = a / b;
  let r = fma(-q, b, a);
  return fma(r, 1.0 / b, q);
}
// Round half to even (nearbyint), written out: drivers differ in how round() breaks ties.
fn round_even(v: f32) -> f32 {
  let fl = floor(v);
  let diff = v - fl;
  if (diff > 0.5) { return fl + 1.0; }
  if (diff < 0.5) { return fl; }
  return select(fl + 1.0, fl, fl * 0.5 == floor(fl * 0.5));
}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b = (wid.x + wid.y * nwg.x) * ${WORKGROUP_SIZE}u + lid;
  if (b >= p.blocks) { return; }
  var amax = 0.0;
  for (var i = 0u; i < 32u; i++) { amax = max(amax, abs(x[b * 32u + i])); }
  let d = div_rn(amax, 127.0);
  let id = select(0.0, div_rn(1.0, d), d != 0.0);
  for (var i = 0u; i < 32u; i++) { xq[b * 32u + i] = round_even(x[b * 32u + i] * id); }
  xs[b] = d;
}`;

// Quantizes x [tokens, cols] into scratch buffers; returns { xq, xs }.
export function quantizeActivations(ctx, x, tokens, cols) {
  const blocks = tokens * cols / 32;
  const xq = scratchBuffer(ctx, 'matmul.xq', tokens * cols * 4), xs = scratchBuffer(ctx, 'matmul.xs', blocks * 4);
  runKernel(ctx, { code: quantizeCode, params: packParams([['u32', blocks]]), buffers: [x, xq, xs], workgroups: Math.ceil(blocks / WORKGROUP_SIZE) });
  return { xq, xs };
}

// weight: { format, cols, tensor } with tensor from uploadRows; x: [tokens, cols] f32;
// y: [tokens, tensor.rows] f32.
export function matmul(ctx, weight, x, tokens, y) {
  const { format, cols, tensor } = weight;
  if (!(format in WEIGHT_FORMATS)) throw new WebGpuError(`unknown weight format '${format}'`);
  if (format !== 'f32' && cols % 32 !== 0) throw new WebGpuError(`${format} needs a multiple of 32 columns, got ${cols}`);
  // weight.quantizedActivations: multiply with int8 activations, as the native engine does.
  const actQ = format !== 'f32' && weight.quantizedActivations === true;
  let extra = [];
  if (actQ) {
    const { xq, xs } = quantizeActivations(ctx, x, tokens, cols);
    x = xq;
    extra = [xs];
  }
  if (cols <= (ctx.narrowMatmulCols ?? NARROW_MATMUL_COLS)) {
    for (const part of tensor.parts) {
      const count = part.rows * tokens;
      runKernel(ctx, {
        code: narrowSource(format, actQ),
        params: packParams([['u32', part.rows], ['u32', cols], ['u32', tokens], ['u32', part.row0], ['u32', tensor.rows], ['u32', count]]),
        buffers: [part.buffer, x, y, ...extra],
        workgroups: Math.ceil(count / WORKGROUP_SIZE),
      });
    }
    return;
  }
  const tiles = Math.ceil(tokens / TOKEN_TILE);
  for (const part of tensor.parts) {
    const count = part.rows * tiles;
    runKernel(ctx, {
      code: source(ctx.subgroups, format, actQ),
      params: packParams([['u32', part.rows], ['u32', cols], ['u32', tokens], ['u32', part.row0], ['u32', tensor.rows], ['u32', count]]),
      buffers: [part.buffer, x, y, ...extra],
      workgroups: count,
    });
  }
}
