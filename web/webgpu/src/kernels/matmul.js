// y[t, r] = sum_c W[r, c] * x[t, c] for weight matrices in f32, q8_0 or q4_0 (llama.cpp block
// layouts: q8_0 = f16 d + 32 int8 q, 34 bytes, w = d * q; q4_0 = f16 d + 16 bytes of nibbles,
// 18 bytes, low nibbles = elements 0..15, high = 16..31, w = d * (q - 8)).
// Quantized weights are decoded in registers inside the dot product (no dequantized copy); the
// activations stay f32 and every sum is an f32 accumulation. One workgroup computes one weight row
// for a tile of TOKEN_TILE tokens (a GEMV when there is one token): its 64 invocations stride over
// the columns (f32) or blocks (quantized), then a workgroup sum. W may be split in row parts
// (split_tensor.js); y is [tokens, totalRows] with each part writing its rows.
import { packParams, runKernel, WORKGROUP_SIZE, WebGpuError } from '../context.js';
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

function source(subgroups, format) {
  const quantized = format !== 'f32';
  return `${header(subgroups)}${floatHelpers}
struct P { rows: u32, cols: u32, tokens: u32, row0: u32, out_stride: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<${quantized ? 'u32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${quantized ? byteHelpers : ''}
${workgroupSum(subgroups)}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${entryArgs(subgroups)}) {
  ${prologue(subgroups)}
  if (group >= p.count) { return; }
  let r = group % p.rows;
  let t0 = (group / p.rows) * ${TOKEN_TILE}u;
  var acc: array<f32, ${TOKEN_TILE}>;
  ${BODY[format]}
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

function narrowSource(format) {
  const quantized = format !== 'f32';
  return `${floatHelpers}
struct P { rows: u32, cols: u32, tokens: u32, row0: u32, out_stride: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> w: array<${quantized ? 'u32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${quantized ? byteHelpers : ''}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= p.count) { return; }
  let r = i % p.rows;
  let t = i / p.rows;
  var acc = 0.0;
  ${NARROW_BODY[format]}
  y[t * p.out_stride + p.row0 + r] = acc;
}`;
}

export const NARROW_MATMUL_COLS = 256;

// weight: { format, cols, tensor } with tensor from uploadRows; x: [tokens, cols] f32;
// y: [tokens, tensor.rows] f32.
export function matmul(ctx, weight, x, tokens, y) {
  const { format, cols, tensor } = weight;
  if (!(format in WEIGHT_FORMATS)) throw new WebGpuError(`unknown weight format '${format}'`);
  if (format !== 'f32' && cols % 32 !== 0) throw new WebGpuError(`${format} needs a multiple of 32 columns, got ${cols}`);
  if (cols <= (ctx.narrowMatmulCols ?? NARROW_MATMUL_COLS)) {
    for (const part of tensor.parts) {
      const count = part.rows * tokens;
      runKernel(ctx, {
        code: narrowSource(format),
        params: packParams([['u32', part.rows], ['u32', cols], ['u32', tokens], ['u32', part.row0], ['u32', tensor.rows], ['u32', count]]),
        buffers: [part.buffer, x, y],
        workgroups: Math.ceil(count / WORKGROUP_SIZE),
      });
    }
    return;
  }
  const tiles = Math.ceil(tokens / TOKEN_TILE);
  for (const part of tensor.parts) {
    const count = part.rows * tiles;
    runKernel(ctx, {
      code: source(ctx.subgroups, format),
      params: packParams([['u32', part.rows], ['u32', cols], ['u32', tokens], ['u32', part.row0], ['u32', tensor.rows], ['u32', count]]),
      buffers: [part.buffer, x, y],
      workgroups: count,
    });
  }
}
