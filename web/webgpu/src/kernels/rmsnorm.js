// RMSNorm over rows of `dim`: out = x * (1 / sqrt(mean(x^2) + eps)) * w, or without w
// (weightless, as v_norm). Per-head norms are the same kernel with rows = tokens * heads and
// dim = head_dim. One workgroup per row.
import { packParams, runKernel, WORKGROUP_SIZE } from '../context.js';
import { entryArgs, header, prologue, workgroupSum } from '../wgsl.js';

function source(subgroups, weighted, inPlace) {
  const W = WORKGROUP_SIZE;
  const bindings = inPlace
    ? '@group(0) @binding(1) var<storage, read_write> x: array<f32>;'
    : '@group(0) @binding(1) var<storage, read> x: array<f32>;\n@group(0) @binding(2) var<storage, read_write> out: array<f32>;';
  const wBinding = weighted ? `@group(0) @binding(${inPlace ? 2 : 3}) var<storage, read> w: array<f32>;` : '';
  const target = inPlace ? 'x' : 'out';
  return `${header(subgroups)}
struct P { dim: u32, rows: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: P;
${bindings}
${wBinding}
${workgroupSum(subgroups)}
@compute @workgroup_size(${W})
fn main(${entryArgs(subgroups)}) {
  ${prologue(subgroups)}
  if (group >= p.rows) { return; }
  let base = group * p.dim;
  var ss = 0.0;
  for (var i = lid; i < p.dim; i += ${W}u) { let v = x[base + i]; ss += v * v; }
  let total = wg_sum(ss, lid, sg_lane, sg_size);
  let inv = 1.0 / sqrt(total / f32(p.dim) + p.eps);
  for (var i = lid; i < p.dim; i += ${W}u) {
    ${target}[base + i] = x[base + i] * inv${weighted ? ' * w[i]' : ''};
  }
}`;
}

// weight: a buffer of dim floats or null; out: a buffer, or null to normalise x in place.
export function rmsNorm(ctx, { x, weight = null, out = null, rows, dim, eps }) {
  const inPlace = out === null;
  const buffers = inPlace ? [x] : [x, out];
  if (weight) buffers.push(weight);
  runKernel(ctx, {
    code: source(ctx.subgroups, weight !== null, inPlace),
    params: packParams([['u32', dim], ['u32', rows], ['f32', eps]]),
    buffers,
    workgroups: rows,
  });
}
