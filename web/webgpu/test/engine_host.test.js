// engine_host.js, the JS half of the wasm engine's WebGPU backend, driven with the int32 words
// js_forward_backend.cpp sends: the KV pool sized by the engine, steps on the engine's block
// tables (golden logits of tiny-a), and a copy-on-write of blocks: a second sequence on copied
// blocks continues exactly where the first was (the copies must have landed before its step).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gemma4WebGpu } from '../src/forward.js';
import { EngineHost } from '../src/engine_host.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../tests/data/tiny-a');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'golden/manifest.json')));
const window = manifest.sequences.find((s) => s.name === 'window');
const gold = (() => { const b = fs.readFileSync(path.join(dir, 'golden', window.logits)); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)); })();

// The words of one forward step (js_forward_backend.cpp's layout).
function stepWords(copies, segments) {
  const words = [copies.length];
  for (const c of copies) words.push(c.group === 'full' ? 1 : 0, c.src, c.dst, c.slots);
  words.push(segments.length);
  for (const s of segments) words.push(s.start, s.tokens.length, s.logitsCount, s.sliding.length, s.full.length);
  for (const s of segments) words.push(...s.tokens, ...s.sliding, ...s.full);
  return new Int32Array(words);
}

const maxDiff = (a, b, offset) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[offset + i])), 0);

let host, V;
before(async () => {
  host = new EngineHost(await Gemma4WebGpu.load({ dir }));
  V = host.engine.config.vocabSize;
  await host.handle(1, new Int32Array([16, 8, 8]));
});
after(() => host.destroy());

it('steps on the engine\'s block tables give the golden logits; copied blocks carry a sequence on', async () => {
  assert.equal(host.engine.cache.blockSize, 16);
  assert.equal(host.engine.cache.capacity.full, 8);
  const ids = window.ids;
  // Sequence A: positions 0..19 in blocks 3 and 6 (any ids: the tables say where).
  const a = await host.handle(2, stepWords([], [{ start: 0, tokens: ids.slice(0, 20), logitsCount: 20, sliding: [3, 6], full: [3, 6] }]));
  assert.equal(a.length, 20 * V);
  assert.ok(maxDiff(a, gold, 0) < 1e-3, `max diff ${maxDiff(a, gold, 0)}`);
  // Sequence B takes A's first block by copy (blocks 3 -> 5, both groups) and shares block 6:
  // its next position must see what A wrote.
  const b = await host.handle(2, stepWords(
    [{ group: 'full', src: 3, dst: 5, slots: 16 }, { group: 'sliding', src: 3, dst: 5, slots: 16 }],
    [{ start: 20, tokens: [ids[20]], logitsCount: 1, sliding: [5, 6], full: [5, 6] }]));
  assert.ok(maxDiff(b, gold, 20 * V) < 1e-3, `after the copy: max diff ${maxDiff(b, gold, 20 * V)}`);
  // Without the copy, block 4 (never written) in its place gives other logits.
  const c = await host.handle(2, stepWords([], [{ start: 20, tokens: [ids[20]], logitsCount: 1, sliding: [4, 6], full: [4, 6] }]));
  assert.ok(maxDiff(c, gold, 20 * V) > 1e-2, 'a block that was not copied shows');
  // A step without wanted rows answers nothing; a token out of range rejects.
  assert.equal((await host.handle(2, stepWords([], [{ start: 21, tokens: [ids[21]], logitsCount: 0, sliding: [5, 6], full: [5, 6] }]))).length, 0);
  await assert.rejects(host.handle(2, stepWords([], [{ start: 22, tokens: [99999], logitsCount: 1, sliding: [5, 6], full: [5, 6] }])), /out of range/);
  await assert.rejects(host.handle(9, new Int32Array(0)), /unknown WebGPU call kind/);
  assert.ok(host.steps >= 3);
});
