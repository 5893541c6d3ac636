// Test plumbing: a context per reduction path (subgroups when the adapter has them, and the
// workgroup-memory tree), and a tolerance check that names the worst element.
import assert from 'node:assert/strict';
import { createContext, destroyContext } from '../src/context.js';

export async function contexts(options = {}) {
  const list = [['tree', await createContext({ ...options, useSubgroups: false })]];
  const sub = await createContext({ ...options, useSubgroups: true });
  if (sub.subgroups) list.push(['subgroups', sub]);
  else destroyContext(sub);
  return list;
}

export function assertClose(actual, expected, { atol = 1e-5, rtol = 1e-5, what = 'values' } = {}) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1, worstExcess = 0, maxDiff = 0;
  for (let i = 0; i < expected.length; ++i) {
    const diff = Math.abs(actual[i] - expected[i]);
    maxDiff = Math.max(maxDiff, diff);
    const excess = diff - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (max |diff| ${maxDiff})`);
  return maxDiff;
}
