'use strict';
// The JS package on tests/data/tiny-a under Node: the same answers as the native CLI
// (native_answers.json, from scripts/record_native_answers.sh) and the reference's greedy token
// ids, streaming that adds up to the plain answer, and typed errors for bad input.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const { Gemma4, Gemma4Error } = require('..');

const root = path.join(__dirname, '..', '..', '..');
const tinyA = path.join(root, 'tests', 'data', 'tiny-a');
const native = require('./native_answers.json');
const golden = JSON.parse(fs.readFileSync(path.join(tinyA, 'golden', 'manifest.json'), 'utf8'));
const messages = [{ role: 'user', content: native.prompt }];

let engine;
test.before(async () => {
  engine = await Gemma4.create({ model: { dir: tinyA }, dtype: native.dtype, threads: 2 });
});
test.after(async () => {
  await engine.close();
  Gemma4.shutdown();
});

for (const c of native.cases) {
  test(`${c.name}: the answer equals the native CLI's`, async () => {
    const r = await engine.chat.completions.create({ messages, ...c.request });
    assert.strictEqual(r.object, 'chat.completion');
    assert.strictEqual(r.choices[0].message.role, 'assistant');
    assert.strictEqual(r.choices[0].message.content, c.text);
    assert.strictEqual(r.usage.prompt_tokens, golden.greedy.prompt.length);
    assert.strictEqual(r.usage.completion_tokens, r.choices[0].token_ids.length);
  });
}

test('greedy token ids equal the reference continuation', async () => {
  const r = await engine.chat.completions.create({ messages, temperature: 0, max_tokens: golden.greedy.continuation.length });
  assert.deepStrictEqual(r.choices[0].token_ids, golden.greedy.continuation);
  assert.strictEqual(r.choices[0].finish_reason, 'length');
});

test('streamed chunks add up to the non-streamed answer', async () => {
  const request = { messages, temperature: 0, max_tokens: 20 };
  const whole = await engine.chat.completions.create(request);
  const stream = await engine.chat.completions.create({ ...request, stream: true,
                                                       stream_options: { include_usage: true } });
  let content = '';
  const ids = [];
  let finish = null;
  let chunks = 0;
  let last = null;
  for await (const chunk of stream) {
    chunks++;
    assert.strictEqual(chunk.object, 'chat.completion.chunk');
    const choice = chunk.choices[0];
    if (choice.delta.content) content += choice.delta.content;
    if (choice.token_ids) ids.push(...choice.token_ids);
    if (choice.finish_reason) finish = choice.finish_reason;
    last = chunk;
  }
  assert.ok(chunks > 2);
  assert.strictEqual(content, whole.choices[0].message.content);
  assert.deepStrictEqual(ids, whole.choices[0].token_ids);
  assert.strictEqual(finish, whole.choices[0].finish_reason);
  // stream_options.include_usage: the final chunk carries the same usage as the whole answer.
  assert.deepStrictEqual(last.usage, whole.usage);
});

test('leaving a stream early cancels it; the engine then answers the next request', async () => {
  const request = { messages, temperature: 0, max_tokens: 200 };
  let chunks = 0;
  for await (const chunk of await engine.chat.completions.create({ ...request, stream: true })) {
    assert.strictEqual(chunk.object, 'chat.completion.chunk');
    if (++chunks === 3) break;
  }
  const next = await engine.chat.completions.create({ ...request, max_tokens: 8 });
  assert.deepStrictEqual(next.choices[0].token_ids, golden.greedy.continuation.slice(0, 8));
});

test('an AbortSignal rejects the completion with code cancelled', async () => {
  const controller = new AbortController();
  const stream = await engine.chat.completions.create({
    messages, temperature: 0, max_tokens: 100000, stream: true, signal: controller.signal });
  const seen = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of stream) {
        seen.push(chunk);
        if (seen.length === 2) controller.abort();
      }
    })(),
    (e) => e instanceof Gemma4Error && e.code === 'cancelled',
  );
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(engine.chat.completions.create({ messages, signal: aborted.signal }),
                       (e) => e instanceof Gemma4Error && e.code === 'cancelled');
});

const rejectsWith = (promise, code) =>
  assert.rejects(promise, (e) => e instanceof Gemma4Error && e.code === code && e.message.length > 0);

test('a missing model folder rejects with a typed error', async () => {
  await rejectsWith(Gemma4.create({ model: { dir: path.join(root, 'tests', 'data', 'no-such-model') } }), 'model_error');
});

test('a folder without safetensors rejects with a typed error', async () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'gemma4-no-weights-'));
  for (const f of ['config.json', 'tokenizer.json']) fs.copyFileSync(path.join(tinyA, f), path.join(dir, f));
  try {
    await rejectsWith(Gemma4.create({ model: { dir } }), 'model_error');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The model file that `gemma4 convert` wrote natively (tests/data/tiny-a-q4_0.g4w): the engine
// reads it in its own dtype and answers as the folder does at q4_0; another dtype is refused.
test('a model file (.g4w) answers like its folder at the same dtype', async () => {
  const file = path.join(root, 'tests', 'data', 'tiny-a-q4_0.g4w');
  const request = { messages, ...native.cases.find((c) => c.name === 'sampled_seed7').request };
  const converted = await Gemma4.create({ model: { file }, threads: 2 });
  const folder = await Gemma4.create({ model: { dir: tinyA }, dtype: 'q4_0', threads: 2 });
  try {
    assert.strictEqual(converted.info.dtype, 'q4_0');
    assert.strictEqual(converted.model, 'tiny-a-q4_0');
    const [a, b] = [await converted.chat.completions.create(request), await folder.chat.completions.create(request)];
    assert.ok(a.choices[0].token_ids.length > 0);
    assert.deepStrictEqual(a.choices[0].token_ids, b.choices[0].token_ids);
    assert.strictEqual(a.choices[0].message.content, b.choices[0].message.content);
  } finally {
    await converted.close();
    await folder.close();
  }
  await rejectsWith(Gemma4.create({ model: { file }, dtype: 'q8_0' }), 'model_error');
  await rejectsWith(Gemma4.create({ model: { file: path.join(tinyA, 'config.json') } }), 'model_error');
  await rejectsWith(Gemma4.create({ model: { file: path.join(root, 'tests', 'data', 'nowhere.g4w') } }), 'model_error');
  await rejectsWith(Gemma4.create({ model: { file }, device: 'webgpu' }), 'bad_request');
});

test('a bad message role rejects with bad_request', async () => {
  await rejectsWith(engine.chat.completions.create({ messages: [{ role: 'wizard', content: 'hi' }] }), 'bad_request');
  await rejectsWith(engine.chat.completions.create({ messages: [{ role: 'wizard', content: 'hi' }], stream: true }), 'bad_request');
});

test('max_tokens < 0 and other bad fields reject with bad_request', async () => {
  await rejectsWith(engine.chat.completions.create({ messages, max_tokens: -1 }), 'bad_request');
  await rejectsWith(engine.chat.completions.create({ messages, temperature: -1 }), 'bad_request');
  await rejectsWith(engine.chat.completions.create({ messages: [] }), 'bad_request');
  await rejectsWith(engine.chat.completions.create({}), 'bad_request');
});
