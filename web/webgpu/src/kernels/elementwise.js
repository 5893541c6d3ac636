// Elementwise steps of a decoder layer, in place on y:
//   unary:  gelu (GELU-tanh), scale (y *= s: layer_scalar and the per-layer-input scales),
//           softcap (y = cap * tanh(y / cap): the final logits)
//   binary: add (residual: y += x), mul (y *= x), geluMul (gated MLP: y = gelu(y) * x, y = gate,
//           x = up).
// Binary ops read x as rows of `cols` at x[r * xStride + xOffset + c], so a slice of a wider
// tensor (one layer's per-layer input) is used where it lies; by default x is laid out like y.
import { packParams, runKernel, WORKGROUP_SIZE } from '../context.js';
import { floatHelpers } from '../wgsl.js';

const OPS = {
  gelu: 'y[i] = gelu(y[i]);',
  scale: 'y[i] = y[i] * p.scalar;',
  softcap: 'y[i] = p.scalar * tanh_exp(y[i] / p.scalar);',
  add: 'y[i] = y[i] + x[xi];',
  mul: 'y[i] = y[i] * x[xi];',
  geluMul: 'y[i] = gelu(y[i]) * x[xi];',
};
const BINARY = new Set(['add', 'mul', 'geluMul']);

function source(op) {
  const binary = BINARY.has(op);
  return `${floatHelpers}
struct P { count: u32, cols: u32, x_stride: u32, x_offset: u32, scalar: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${binary ? '@group(0) @binding(2) var<storage, read> x: array<f32>;' : ''}
fn gelu(v: f32) -> f32 {
  return 0.5 * v * (1.0 + tanh_exp(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * ${WORKGROUP_SIZE}u + lid;
  if (i >= p.count) { return; }
  ${binary ? 'let xi = (i / p.cols) * p.x_stride + p.x_offset + i % p.cols;' : ''}
  ${OPS[op]}
}`;
}

// count: elements of y. For binary ops: x, and optionally { cols, xStride, xOffset }.
export function elementwise(ctx, op, { y, x = null, count, scalar = 0, cols = count, xStride = cols, xOffset = 0 }) {
  if (!(op in OPS)) throw new TypeError(`unknown elementwise op '${op}'`);
  if (BINARY.has(op) !== (x !== null)) throw new TypeError(`op '${op}' ${BINARY.has(op) ? 'needs' : 'takes no'} x`);
  runKernel(ctx, {
    code: source(op),
    params: packParams([['u32', count], ['u32', cols], ['u32', xStride], ['u32', xOffset], ['f32', scalar]]),
    buffers: x ? [y, x] : [y],
    workgroups: Math.ceil(count / WORKGROUP_SIZE),
  });
}
