// The paged KV cache's kernels. A layer's K and V pools are [slots, kvHeads, dim] f32 with
// slot = block * blockSize + position % blockSize; a sequence's block table lists its blocks in
// position order (tables: one u32 array per step holding every row's table).
//   kvWrite: K/V rows of this step into their slots.
//   pagedAttention: attention.js's kernel (online softmax over tiles of 64 keys, scale 1.0,
//     sliding or full causal window, 8 query heads per KV head each reading the shared rows) with
//     each key found through the row's block table.
//   gatherRows: rows of a matrix by index (the rows whose logits are wanted).
import { packParams, runKernel, WORKGROUP_SIZE, WebGpuError } from '../context.js';
import { MAX_HEAD_DIM } from './attention.js';

const W = WORKGROUP_SIZE;
const DIMS_PER_LANE = MAX_HEAD_DIM / W;

const code = `
struct P { heads: u32, kv_heads: u32, dim: u32, window: u32, count: u32, block_size: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read> row_info: array<u32>;  // [rows][2]: position, table offset
@group(0) @binding(6) var<storage, read> tables: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
var<workgroup> q_s: array<f32, ${MAX_HEAD_DIM}>;
var<workgroup> weight_s: array<f32, ${W}>;
var<workgroup> pos_s: u32;
var<workgroup> table_s: u32;
fn slot_of(t: u32) -> u32 { return tables[table_s + t / p.block_size] * p.block_size + t % p.block_size; }
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let group = wid.x + wid.y * nwg.x;
  if (group >= p.count) { return; }
  let row = group / p.heads;
  let head = group % p.heads;
  let kv_head = head / (p.heads / p.kv_heads);
  let q_base = group * p.dim;
  for (var d = lid; d < p.dim; d += ${W}u) { q_s[d] = q[q_base + d]; }
  if (lid == 0u) { pos_s = row_info[2u * row]; table_s = row_info[2u * row + 1u]; }
  // Uniform across the workgroup, so the key loop (with its barriers) is in uniform control flow.
  let pos = workgroupUniformLoad(&pos_s);
  var lo = 0u;
  if (p.window > 0u && pos + 1u > p.window) { lo = pos + 1u - p.window; }
  let hi = pos + 1u;
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, ${DIMS_PER_LANE}>;
  for (var t0 = lo; t0 < hi; t0 += ${W}u) {
    let key = t0 + lid;
    var score = -3.0e38;
    if (key < hi) {
      let k_base = (slot_of(key) * p.kv_heads + kv_head) * p.dim;
      var s = 0.0;
      for (var d = 0u; d < p.dim; d++) { s += q_s[d] * k_cache[k_base + d]; }
      score = s;
    }
    weight_s[lid] = score;
    workgroupBarrier();
    let n = min(${W}u, hi - t0);
    var tile_max = m;
    for (var j = 0u; j < n; j++) { tile_max = max(tile_max, weight_s[j]); }
    workgroupBarrier();
    if (lid < n) { weight_s[lid] = exp(score - tile_max); }
    workgroupBarrier();
    let rescale = exp(m - tile_max);
    var tile_sum = 0.0;
    for (var j = 0u; j < n; j++) { tile_sum += weight_s[j]; }
    l = l * rescale + tile_sum;
    for (var i = 0u; i < ${DIMS_PER_LANE}u; i++) {
      let d = lid + i * ${W}u;
      if (d >= p.dim) { break; }
      var a = acc[i] * rescale;
      for (var j = 0u; j < n; j++) { a += weight_s[j] * v_cache[(slot_of(t0 + j) * p.kv_heads + kv_head) * p.dim + d]; }
      acc[i] = a;
    }
    m = tile_max;
    workgroupBarrier();
  }
  for (var i = 0u; i < ${DIMS_PER_LANE}u; i++) {
    let d = lid + i * ${W}u;
    if (d < p.dim) { out[q_base + d] = acc[i] / l; }
  }
}`;


// q: [rows, heads, dim]; rowInfo: u32 [rows, 2] (position, offset of the row's table in tables).
export function pagedAttention(ctx, { q, kPool, vPool, rowInfo, tables, out, rows, heads, kvHeads, dim, window = 0, blockSize }) {
  if (dim > MAX_HEAD_DIM) throw new WebGpuError(`head_dim ${dim} is over ${MAX_HEAD_DIM}`);
  if (heads % kvHeads !== 0) throw new WebGpuError(`${heads} query heads do not divide into ${kvHeads} KV heads`);
  const count = rows * heads;
  runKernel(ctx, {
    code,
    params: packParams([['u32', heads], ['u32', kvHeads], ['u32', dim], ['u32', window], ['u32', count], ['u32', blockSize]]),
    buffers: [q, kPool, vPool, rowInfo, out, tables],
    workgroups: count,
  });
}

const writeCode = `
struct P { width: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> slots: array<u32>;
@group(0) @binding(3) var<storage, read_write> pool: array<f32>;
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * ${W}u + lid;
  if (i >= p.count) { return; }
  let row = i / p.width;
  pool[slots[row] * p.width + i % p.width] = src[i];
}`;

// src: [rows, width] (width = kvHeads * dim); slots: u32 [rows].
export function kvWrite(ctx, { src, slots, pool, rows, width }) {
  const count = rows * width;
  runKernel(ctx, { code: writeCode, params: packParams([['u32', width], ['u32', count]]), buffers: [src, slots, pool], workgroups: Math.ceil(count / W) });
}

const gatherCode = `
struct P { cols: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * ${W}u + lid;
  if (i >= p.count) { return; }
  out[i] = src[index[i / p.cols] * p.cols + i % p.cols];
}`;

// out[r] = src[index[r]] for rows of `cols`.
export function gatherRows(ctx, { src, index, out, rows, cols }) {
  const count = rows * cols;
  runKernel(ctx, { code: gatherCode, params: packParams([['u32', cols], ['u32', count]]), buffers: [src, index, out], workgroups: Math.ceil(count / W) });
}
