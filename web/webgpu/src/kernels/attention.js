// Attention of query rows over a KV cache, scale 1.0 (Gemma 4 normalises q and k instead).
// q: [rows, heads, dim]; kCache, vCache: [positions, kvHeads, dim] (position p at row p);
// positions: u32 [rows], the position of each query row; out: [rows, heads, dim].
// A row at position q sees keys k with q - window < k <= q (sliding) or k <= q (window 0: full
// causal). Grouped-query attention: query head h reads KV head h / (heads / kvHeads).
// One workgroup per (row, head) walks the visible keys in tiles of 64 with an online softmax
// (running max and sum), so workgroup memory stays small (the query, one tile of scores) for any
// context length: dim <= 512 needs 2.5 KB.
import { packParams, runKernel, WORKGROUP_SIZE, WebGpuError } from '../context.js';

export const MAX_HEAD_DIM = 512;
const W = WORKGROUP_SIZE;
const DIMS_PER_LANE = MAX_HEAD_DIM / W;

const code = `
struct P { heads: u32, kv_heads: u32, dim: u32, window: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read> positions: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
var<workgroup> q_s: array<f32, ${MAX_HEAD_DIM}>;
var<workgroup> weight_s: array<f32, ${W}>;
var<workgroup> pos_s: u32;
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let group = wid.x + wid.y * nwg.x;
  if (group >= p.count) { return; }
  let row = group / p.heads;
  let head = group % p.heads;
  let kv_head = head / (p.heads / p.kv_heads);
  let q_base = group * p.dim;
  for (var d = lid; d < p.dim; d += ${W}u) { q_s[d] = q[q_base + d]; }
  if (lid == 0u) { pos_s = positions[row]; }
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
      let k_base = (key * p.kv_heads + kv_head) * p.dim;
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
      for (var j = 0u; j < n; j++) { a += weight_s[j] * v_cache[((t0 + j) * p.kv_heads + kv_head) * p.dim + d]; }
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

export function attention(ctx, { q, kCache, vCache, positions, out, rows, heads, kvHeads, dim, window = 0 }) {
  if (dim > MAX_HEAD_DIM) throw new WebGpuError(`head_dim ${dim} is over ${MAX_HEAD_DIM}`);
  if (heads % kvHeads !== 0) throw new WebGpuError(`${heads} query heads do not divide into ${kvHeads} KV heads`);
  const count = rows * heads;
  runKernel(ctx, {
    code,
    params: packParams([['u32', heads], ['u32', kvHeads], ['u32', dim], ['u32', window], ['u32', count]]),
    buffers: [q, kCache, vCache, positions, out],
    workgroups: count,
  });
}
