// WGSL pieces the kernels share: the entry point's builtins, the linear workgroup index, the
// workgroup sum (a tree in workgroup memory, or subgroupAdd when the device has subgroups), and
// float conversions that do not depend on the driver's handling of subnormals.
import { WORKGROUP_SIZE } from './context.js';

export function header(subgroups) {
  return subgroups ? 'enable subgroups;\n' : '';
}

export function entryArgs(subgroups) {
  const base = '@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u';
  return subgroups ? `${base}, @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32` : base;
}

// Declares `group` (linear workgroup index) and, without subgroups, placeholder sg_lane/sg_size.
export function prologue(subgroups) {
  return `let group = wid.x + wid.y * nwg.x;\n${subgroups ? '' : '  let sg_lane = 0u; let sg_size = 1u;\n'}`;
}

// fn wg_sum(v, lid, sg_lane, sg_size) -> f32: the sum of v over the workgroup, returned to every
// invocation. Must be called from uniform control flow.
export function workgroupSum(subgroups) {
  const W = WORKGROUP_SIZE;
  if (subgroups) {
    return `
var<workgroup> wg_partial: array<f32, ${W}>;
fn wg_sum(v: f32, lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
  let s = subgroupAdd(v);
  if (sg_lane == 0u) { wg_partial[lid / sg_size] = s; }
  workgroupBarrier();
  let groups = max(1u, ${W}u / sg_size);
  var total = 0.0;
  for (var i = 0u; i < groups; i++) { total += wg_partial[i]; }
  workgroupBarrier();
  return total;
}`;
  }
  return `
var<workgroup> wg_partial: array<f32, ${W}>;
fn wg_sum(v: f32, lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
  wg_partial[lid] = v;
  workgroupBarrier();
  for (var s = ${W / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { wg_partial[lid] += wg_partial[lid + s]; }
    workgroupBarrier();
  }
  let total = wg_partial[0];
  workgroupBarrier();
  return total;
}`;
}

export const floatHelpers = `
fn f16_bits_to_f32(h: u32) -> f32 {
  let e = (h >> 10u) & 31u;
  let m = h & 1023u;
  var v: f32;
  if (e == 0u) { v = f32(m) * 5.9604644775390625e-8; }
  else if (e == 31u) { v = bitcast<f32>(0x7f800000u | (m << 13u)); }
  else { v = bitcast<f32>(((e + 112u) << 23u) | (m << 13u)); }
  return select(v, -v, (h & 0x8000u) != 0u);
}
fn bf16_bits_to_f32(h: u32) -> f32 { return bitcast<f32>(h << 16u); }
// tanh from exp: the same on every driver, and finite for any input.
fn tanh_exp(x: f32) -> f32 {
  let e = exp(-2.0 * min(abs(x), 20.0));
  let t = (1.0 - e) / (1.0 + e);
  return select(t, -t, x < 0.0);
}`;
