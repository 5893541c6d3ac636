'use strict';
// The JS package with device 'webgpu' on tests/data/tiny-a: the engine's own scheduler, prefix
// cache and sampler (wasm) drive the forward pass of web/webgpu/ (Dawn in Node, on SwiftShader in
// CI). Answers equal the CPU engine's and the native ones; concurrent requests equal each alone;
// a lost device rejects with device_lost and a new engine works. scripts/test_wasm.sh sets up Dawn
// and GEMMA4_REQUIRE_WEBGPU=1, so there a missing adapter fails instead of skipping.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const { Gemma4, Gemma4Error } = require('..');

const root = path.join(__dirname, '..', '..', '..');
const tinyA = path.join(root, 'tests', 'data', 'tiny-a');
const native = require('./native_answers.json');
const quantized = require('../../webgpu/test/data/native_tiny_a.json');
const golden = JSON.parse(fs.readFileSync(path.join(tinyA, 'golden', 'manifest.json'), 'utf8'));
const messages = [{ role: 'user', content: native.prompt }];
const required = process.env.GEMMA4_REQUIRE_WEBGPU === '1';

let gpu = null;
let skip = false;
test.before(async () => {
  try {
    gpu = await Gemma4.create({ model: { dir: tinyA }, dtype: native.dtype, device: 'webgpu', parallel: 3 });
  } catch (e) {
    if (required || e.code !== 'webgpu_unavailable') throw e;
    skip = `no WebGPU here: ${e.message}`;
  }
});
test.after(async () => {
  await gpu?.close();
  Gemma4.shutdown();
});

const maybe = (name, fn) => test(name, async (t) => (skip ? t.skip(skip) : fn(t)));

maybe('the engine says it runs on WebGPU', () => {
  assert.strictEqual(gpu.info.device, 'webgpu');
  assert.match(gpu.info.reason, /WebGPU adapter/);
});

for (const c of native.cases) {
  maybe(`${c.name}: the answer on WebGPU equals the native CLI's`, async () => {
    const r = await gpu.chat.completions.create({ messages, ...c.request });
    assert.strictEqual(r.choices[0].message.content, c.text);
  });
}

maybe('greedy token ids on WebGPU equal the reference continuation', async () => {
  const r = await gpu.chat.completions.create({ messages, temperature: 0, max_tokens: golden.greedy.continuation.length });
  assert.deepStrictEqual(r.choices[0].token_ids, golden.greedy.continuation);
});

maybe('concurrent streamed requests equal each alone (the engine batches them into one step)', async () => {
  const requests = [{ temperature: 0, max_tokens: 24 }, { temperature: 1, top_k: 64, seed: 3, max_tokens: 20 },
                    { temperature: 0.8, seed: 11, max_tokens: 16 }];
  const alone = [];
  for (const r of requests) alone.push((await gpu.chat.completions.create({ messages, ...r })).choices[0].token_ids);
  const together = await Promise.all(requests.map(async (r) => {
    const ids = [];
    for await (const chunk of await gpu.chat.completions.create({ messages, ...r, stream: true }))
      if (chunk.choices[0]?.token_ids) ids.push(...chunk.choices[0].token_ids);
    return ids;
  }));
  assert.deepStrictEqual(together, alone);
  assert.ok(gpu.host.gpus.get(gpu.gpuId).widestStep >= 2, 'some step ran several requests at once');
});

maybe('q8_0 on WebGPU: the greedy answer equals the native q8_0 engine', async () => {
  assert.deepStrictEqual(quantized.prompt, golden.greedy.prompt);
  const q8 = await Gemma4.create({ model: { dir: tinyA }, dtype: 'q8_0', device: 'webgpu' });
  try {
    const expected = quantized.cases.q8_0.continuation;
    const r = await q8.chat.completions.create({ messages, temperature: 0, max_tokens: expected.length });
    assert.deepStrictEqual(r.choices[0].token_ids, expected);
  } finally {
    await q8.close();
  }
});

maybe("device 'auto' passes over a software adapter and says why; unknown devices and dtypes are refused", async () => {
  const auto = await Gemma4.create({ model: { dir: tinyA }, dtype: 'f32', device: 'auto' });
  try {
    if (auto.info.device === 'cpu') assert.match(auto.info.reason, /software renderer/);
    const r = await auto.chat.completions.create({ messages, temperature: 0, max_tokens: 4 });
    assert.deepStrictEqual(r.choices[0].token_ids, golden.greedy.continuation.slice(0, 4));
  } finally {
    await auto.close();
  }
  await assert.rejects(Gemma4.create({ model: { dir: tinyA }, device: 'tpu' }), (e) => e instanceof Gemma4Error && e.code === 'bad_request');
  await assert.rejects(Gemma4.create({ model: { dir: tinyA }, dtype: 'bf16', device: 'webgpu' }),
                       (e) => e instanceof Gemma4Error && e.code === 'bad_request' && /bf16/.test(e.message));
});

maybe('a lost device rejects the completion with device_lost, and a new engine answers', async () => {
  const doomed = await Gemma4.create({ model: { dir: tinyA }, dtype: 'f32', device: 'webgpu' });
  doomed.host.gpus.get(doomed.gpuId).engine.ctx.device.destroy();
  await assert.rejects(doomed.chat.completions.create({ messages, temperature: 0, max_tokens: 4 }),
                       (e) => e instanceof Gemma4Error && e.code === 'device_lost');
  await assert.rejects(doomed.chat.completions.create({ messages, temperature: 0, max_tokens: 4 }),
                       (e) => e instanceof Gemma4Error && e.code === 'device_lost');
  await doomed.close();
  const fresh = await Gemma4.create({ model: { dir: tinyA }, dtype: 'f32', device: 'webgpu' });
  try {
    const r = await fresh.chat.completions.create({ messages, temperature: 0, max_tokens: 4 });
    assert.deepStrictEqual(r.choices[0].token_ids, golden.greedy.continuation.slice(0, 4));
  } finally {
    await fresh.close();
  }
});
