// Greedy readback: the k largest values of each row of [rows, cols] f32 and their indices, best
// first; ties go to the lower index (argmax is k = 1). Round j scans the row for the best element
// that ranks below round j-1's pick in the order (value descending, index ascending), so no list
// of picks is kept and memory is independent of k. One workgroup per row. NaNs are never picked.
import { packParams, runKernel, storageBuffer, readF32, readU32, WORKGROUP_SIZE } from '../context.js';

const W = WORKGROUP_SIZE;
const code = `
struct P { cols: u32, rows: u32, k: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out_index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_value: array<f32>;
var<workgroup> best_v: array<f32, ${W}>;
var<workgroup> best_i: array<u32, ${W}>;
const NONE = 0xffffffffu;
// a ranks before b (b may be NONE: everything ranks before nothing).
fn before(av: f32, ai: u32, bv: f32, bi: u32) -> bool {
  return bi == NONE || av > bv || (av == bv && ai < bi);
}
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.cols;
  var prev_v = 0.0;
  var prev_i = NONE;
  for (var round = 0u; round < p.k; round++) {
    var bv = 0.0;
    var bi = NONE;
    for (var c = lid; c < p.cols; c += ${W}u) {
      let v = x[base + c];
      if (v != v) { continue; }
      let below_prev = prev_i == NONE || before(prev_v, prev_i, v, c);
      if (below_prev && before(v, c, bv, bi)) { bv = v; bi = c; }
    }
    best_v[lid] = bv;
    best_i[lid] = bi;
    workgroupBarrier();
    for (var s = ${W / 2}u; s > 0u; s >>= 1u) {
      if (lid < s && best_i[lid + s] != NONE && before(best_v[lid + s], best_i[lid + s], best_v[lid], best_i[lid])) {
        best_v[lid] = best_v[lid + s];
        best_i[lid] = best_i[lid + s];
      }
      workgroupBarrier();
    }
    prev_v = best_v[0];
    prev_i = best_i[0];
    if (lid == 0u) {
      out_index[row * p.k + round] = prev_i;
      out_value[row * p.k + round] = select(prev_v, 0.0, prev_i == NONE);
    }
    workgroupBarrier();
  }
}`;

// Records the pass (into a step when one is open): indices, values are u32/f32 [rows, k] buffers.
export function encodeTopK(ctx, x, rows, cols, k, indices, values) {
  if (!(k >= 1 && k <= cols)) throw new RangeError(`k must be in [1, ${cols}], got ${k}`);
  runKernel(ctx, { code, params: packParams([['u32', cols], ['u32', rows], ['u32', k]]), buffers: [x, indices, values], workgroups: rows });
}

// Returns { indices: Uint32Array [rows, k], values: Float32Array [rows, k] } (index 0xffffffff
// where a row has fewer than k non-NaN values).
export async function topK(ctx, x, rows, cols, k) {
  if (!(k >= 1 && k <= cols)) throw new RangeError(`k must be in [1, ${cols}], got ${k}`);
  const indices = storageBuffer(ctx, rows * k * 4);
  const values = storageBuffer(ctx, rows * k * 4);
  encodeTopK(ctx, x, rows, cols, k, indices, values);
  const result = { indices: await readU32(ctx, indices, rows * k), values: await readF32(ctx, values, rows * k) };
  indices.destroy();
  values.destroy();
  return result;
}

export async function argmax(ctx, x, rows, cols) {
  return (await topK(ctx, x, rows, cols, 1)).indices;
}
