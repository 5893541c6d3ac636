// Token embedding lookup: bf16 rows of a (possibly split) [vocab, dim] table, times a scale, into
// f32 [tokens, dim]. One dispatch per part writes the tokens whose rows that part holds.
import { packParams, releaseAfterWork, runKernel, storageBuffer, WORKGROUP_SIZE } from '../context.js';
import { floatHelpers } from '../wgsl.js';

const code = `${floatHelpers}
struct P { dim: u32, tokens: u32, scale: f32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> local_rows: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= p.count) { return; }
  let t = i / p.dim;
  let row = local_rows[t];
  if (row == 0xffffffffu) { return; }
  let e = row * p.dim + i % p.dim;
  let bits = (table[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu;
  out[i] = bf16_bits_to_f32(bits) * p.scale;
}`;

// table: uploadRows of the bf16 table (rowBytes = 2 * dim); ids: token ids (JS numbers, checked
// by the caller); scale: a float32 value.
export function embeddingLookup(ctx, table, ids, dim, scale, out) {
  for (const part of table.parts) {
    const local = new Uint32Array(ids.length).fill(0xffffffff);
    let any = false;
    ids.forEach((id, t) => {
      if (id >= part.row0 && id < part.row0 + part.rows) { local[t] = id - part.row0; any = true; }
    });
    if (!any) continue;
    const rows = storageBuffer(ctx, local);
    const count = ids.length * dim;
    runKernel(ctx, {
      code,
      params: packParams([['u32', dim], ['u32', ids.length], ['f32', scale], ['u32', count]]),
      buffers: [part.buffer, rows, out],
      workgroups: Math.ceil(count / WORKGROUP_SIZE),
    });
    releaseAfterWork(ctx, rows);
  }
}
