// The JS API's typings (web/engine/types.d.ts, index.d.ts, browser/gemma4.d.mts) with the pinned
// TypeScript: code a user writes type-checks, and the mistakes in types/misuse.mts are caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'types');
const tsc = path.join(here, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
const check = (...args) => {
  try {
    return { status: 0, out: execFileSync(process.execPath, [tsc, ...args], { cwd: here, encoding: 'utf8' }) };
  } catch (e) {
    return { status: e.status, out: `${e.stdout}${e.stderr}` };
  }
};

test('the typings accept what a user writes', () => {
  const r = check('-p', 'tsconfig.json');
  assert.equal(r.status, 0, r.out);
});

test('the typings reject the mistakes of misuse.mts, each on its line', () => {
  const r = check('-p', 'tsconfig.misuse.json');
  assert.notEqual(r.status, 0);
  const lines = fs.readFileSync(path.join(here, 'misuse.mts'), 'utf8').split('\n');
  const expected = lines.map((l, i) => (l.includes('// ERROR') ? i + 1 : 0)).filter(Boolean);
  const reported = [...new Set([...r.out.matchAll(/misuse\.mts\((\d+),\d+\): error/g)].map((m) => Number(m[1])))];
  assert.deepEqual(reported, expected, r.out);
});
