'use strict';
// web/bin/gemma4-web.mjs: the native CLI's `run` and `logits` contracts on the wasm engine and on
// WebGPU (Dawn; scripts/test_wasm.sh sets it up and GEMMA4_REQUIRE_WEBGPU=1). logits: the
// fixtures' golden logits within 1e-3, in one shot and in chunks; run: the native CLI's answers.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { execFile } = require('node:child_process');

const root = path.join(__dirname, '..', '..', '..');
const bin = path.join(root, 'web', 'bin', 'gemma4-web.mjs');
const tinyA = path.join(root, 'tests', 'data', 'tiny-a');
const native = require('./native_answers.json');
const golden = JSON.parse(fs.readFileSync(path.join(tinyA, 'golden', 'manifest.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gemma4-web-cli-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (args) => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { timeout: 240000 }, (error, stdout, stderr) =>
    resolve({ status: error ? error.code : 0, stdout, stderr }));
});

const readF32 = (file) => { const b = fs.readFileSync(file); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const webgpuSkip = process.env.GEMMA4_REQUIRE_WEBGPU === '1' || fs.existsSync(process.env.VK_ICD_FILENAMES || '/nonexistent') ? false
                 : 'no WebGPU set up (scripts/test_wasm.sh runs these)';

for (const device of ['cpu', 'webgpu']) {
  test(`logits --device ${device}: the golden logits of tiny-a, one shot and in chunks`, { skip: device === 'webgpu' && webgpuSkip }, async () => {
    const seq = golden.sequences.find((s) => s.name === 'window');
    const expected = readF32(path.join(tinyA, 'golden', seq.logits));
    for (const chunk of [seq.ids.length, 7]) {
      const out = path.join(tmp, `${device}-${chunk}.f32`);
      const r = await cli(['logits', '--model', tinyA, '--device', device, '--tokens', seq.ids.join(','), '--prefill-chunk', String(chunk), '--out', out]);
      assert.strictEqual(r.status, 0, r.stderr);
      const got = readF32(out);
      assert.strictEqual(got.length, expected.length);
      assert.ok(maxDiff(got, expected) < 1e-3, `${device} chunk ${chunk}: max diff ${maxDiff(got, expected)}`);
    }
  });

  test(`run --device ${device}: the native CLI's greedy answer`, { skip: device === 'webgpu' && webgpuSkip }, async () => {
    const c = native.cases.find((x) => x.name === 'greedy');
    const r = await cli(['run', '--model', tinyA, '--device', device, '--temperature', '0', '-n', String(c.request.max_tokens), native.prompt]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout, `${c.text}\n`);
  });
}

test('logits --model FILE.g4w: the folder\'s q4_0 logits, bit for bit', async () => {
  const seq = golden.sequences.find((s) => s.name === 'window');
  const file = path.join(root, 'tests', 'data', 'tiny-a-q4_0.g4w');
  const [a, b] = [path.join(tmp, 'file.f32'), path.join(tmp, 'folder.f32')];
  const r1 = await cli(['logits', '--model', file, '--tokens', seq.ids.join(','), '--prefill-chunk', '5', '--out', a]);
  assert.strictEqual(r1.status, 0, r1.stderr);
  const r2 = await cli(['logits', '--model', tinyA, '--dtype', 'q4_0', '--tokens', seq.ids.join(','), '--prefill-chunk', '5', '--out', b]);
  assert.strictEqual(r2.status, 0, r2.stderr);
  assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)));
  assert.strictEqual(readF32(a).length, seq.ids.length * golden.vocab_size);
});

test('bad input: one error line and exit status 1', async () => {
  for (const args of [['frobnicate'], ['run', native.prompt], ['run', '--model', path.join(tmp, 'nowhere'), 'hi'],
                      ['logits', '--model', tinyA, '--tokens', '2,x', '--out', path.join(tmp, 'x.f32')],
                      ['logits', '--model', tinyA, '--tokens', '2,99999', '--out', path.join(tmp, 'x.f32')],
                      ['run', '--model', tinyA, '--temperature', 'hot', 'hi'], ['run', '--model', tinyA, '--bogus', 'hi']]) {
    const r = await cli(args);
    assert.strictEqual(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: [^\n]+\n$/, args.join(' '));
  }
});
