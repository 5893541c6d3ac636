// Rotary position embedding in place over [rows, heads, dim]: element i is paired with
// i + dim / 2 (NeoX layout) for the first `pairs` pairs; the rest pass unchanged (proportional
// RoPE rotates only a fraction). cos/sin come from tables [rows, pairs] that ropeTables builds the
// engine's way (angle = position x inverse frequency in float64, then rounded to float32).
import { packParams, runKernel, storageBuffer, WORKGROUP_SIZE } from '../context.js';

const code = `
struct P { heads: u32, dim: u32, pairs: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cos_t: array<f32>;
@group(0) @binding(3) var<storage, read> sin_t: array<f32>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= p.count) { return; }
  let pair = i % p.pairs;
  let head_row = i / p.pairs;            // row * heads + head
  let row = head_row / p.heads;
  let base = head_row * p.dim;
  let c = cos_t[row * p.pairs + pair];
  let s = sin_t[row * p.pairs + pair];
  let a = x[base + pair];
  let b = x[base + pair + p.dim / 2u];
  x[base + pair] = a * c - b * s;
  x[base + pair + p.dim / 2u] = b * c + a * s;
}`;

// Inverse frequencies of one layer type, as the engine's config derives them.
export function inverseFrequencies({ headDim, theta, ropeType = 'default', partialRotaryFactor = 1, factor = 1 }) {
  const pairs = ropeType === 'proportional' ? Math.floor(partialRotaryFactor * headDim / 2) : headDim / 2;
  const inv = new Float64Array(pairs);
  for (let p = 0; p < pairs; ++p) {
    inv[p] = 1 / Math.pow(theta, (2 * p) / headDim);
    if (ropeType === 'proportional') inv[p] /= factor;
  }
  return inv;
}

// cos and sin tables [positions.length, pairs] as Float32Arrays.
export function ropeTables(positions, invFreq) {
  const pairs = invFreq.length;
  const cos = new Float32Array(positions.length * pairs);
  const sin = new Float32Array(positions.length * pairs);
  positions.forEach((pos, r) => {
    for (let p = 0; p < pairs; ++p) {
      const angle = pos * invFreq[p];
      cos[r * pairs + p] = Math.cos(angle);
      sin[r * pairs + p] = Math.sin(angle);
    }
  });
  return { cos, sin, pairs };
}

export function uploadRopeTables(ctx, tables) {
  return { cos: storageBuffer(ctx, tables.cos), sin: storageBuffer(ctx, tables.sin), pairs: tables.pairs };
}

export function applyRope(ctx, { x, rows, heads, dim, tables }) {
  if (tables.pairs === 0) return;
  const count = rows * heads * tables.pairs;
  runKernel(ctx, {
    code,
    params: packParams([['u32', heads], ['u32', dim], ['u32', tables.pairs], ['u32', count]]),
    buffers: [x, tables.cos, tables.sin],
    workgroups: Math.ceil(count / WORKGROUP_SIZE),
  });
}
