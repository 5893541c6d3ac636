// End-to-end tests of `gemma4 serve` through the official `openai` npm client, on the tiny-a test
// model (random weights: answers are nonsense, but deterministic for a seed or temperature 0).
// Run by CTest (GEMMA4_BINARY, GEMMA4_TEST_DATA) or by hand:
//   GEMMA4_BINARY=build/gemma4 GEMMA4_TEST_DATA=tests/data node --test tests/server/node/
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startServe } from '../../serve_process.mjs';

let OpenAI;
try {
  ({ default: OpenAI } = await import('openai'));
} catch (e) {
  throw new Error(`the 'openai' package is not installed: run \`npm ci\` in tests/server/node ` +
                  `(scripts/setup.sh does it) (${e.message})`);
}

const BINARY = process.env.GEMMA4_BINARY;
const DATA = process.env.GEMMA4_TEST_DATA;
if (!BINARY || !DATA) throw new Error('set GEMMA4_BINARY (the gemma4 executable) and GEMMA4_TEST_DATA (tests/data)');
const MODEL_DIR = path.join(DATA, 'tiny-a');
const MODEL = 'tiny-a';  // the folder name is the model id
const CTX = 4096;

// Starts `gemma4 serve` and waits for /health to answer 200. Returns { url, port, client, stop, log }.
async function startServer(extra = [], { apiKey = 'unused', parallel = 4 } = {}) {
  const server = await startServe(BINARY, ['--model', MODEL_DIR, '--dtype', 'f32', '--parallel', String(parallel),
                                           '--ctx', String(CTX), '--threads', '2', ...extra]);
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });
  return { ...server, client };
}

async function metrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) => {
    const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
    assert.ok(m, `metric ${name} missing from:\n${text}`);
    return Number(m[1]);
  };
  return { text, value };
}

// Polls until the engine is idle: nothing running or waiting, no KV block held.
async function waitIdle(url, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = await metrics(url);
    const idle = m.value('gemma4_requests_running') === 0 && m.value('gemma4_requests_waiting') === 0 &&
                 m.value('gemma4_kv_blocks_used') === 0;
    if (idle) return m;
    if (Date.now() > deadline) assert.fail(`engine not idle after ${ms} ms:\n${m.text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function expectApiError(promise, status, check = () => {}) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIError, `expected an APIError, got ${e}`);
    assert.equal(e.status, status, `status of ${JSON.stringify(e.error)}`);
    assert.equal(typeof e.error?.message, 'string');
    check(e);
    return e;
  }
  assert.fail(`expected HTTP ${status}, the request succeeded`);
}

const user = (content) => [{ role: 'user', content }];

async function streamText(client, body, options = {}) {
  const stream = await client.chat.completions.create({ ...body, stream: true }, options);
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  return { chunks, text };
}

describe('gemma4 serve on tiny-a', () => {
  let server;
  before(async () => { server = await startServer(['--max-queue', '64']); });
  after(async () => {
    const code = await server.stop();
    assert.equal(code, 0, `SIGTERM should shut down cleanly:\n${server.log()}`);
    assert.match(server.log(), /stopped/);
  });

  test('health, models and the access log', async () => {
    assert.ok(server.healthSeen.every((s) => s === 503 || s === 200), `health statuses ${server.healthSeen}`);
    const models = await server.client.models.list();
    assert.equal(models.data[0].id, MODEL);
    assert.match(server.log(), /"GET \/health" 200/);
  });

  test('non-streaming chat completion', async () => {
    const r = await server.client.chat.completions.create({ model: MODEL, messages: user('Hello'), max_tokens: 8, temperature: 0 });
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, MODEL);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.prompt_tokens > 0);
    assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');
    assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);
    assert.match(server.log(), /"POST \/v1\/chat\/completions" 200/);
  });

  test('streaming equals non-streaming for the same seed; include_usage', async () => {
    const body = { model: MODEL, messages: user('Tell me a story'), max_tokens: 24, temperature: 1, seed: 7 };
    const whole = await server.client.chat.completions.create(body);
    const { chunks, text } = await streamText(server.client, { ...body, stream_options: { include_usage: true } });
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(text, whole.choices[0].message.content);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    // The same counts; only cached_tokens may differ, as the second request reuses the first's prefix.
    assert.equal(last.usage.prompt_tokens, whole.usage.prompt_tokens);
    assert.equal(last.usage.completion_tokens, whole.usage.completion_tokens);
    assert.ok(last.usage.prompt_tokens_details.cached_tokens > 0);
    const finish = chunks.at(-2).choices[0];
    assert.equal(finish.finish_reason, whole.choices[0].finish_reason);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    // Without include_usage there is no usage chunk.
    const plain = await streamText(server.client, body);
    assert.ok(plain.chunks.every((c) => c.choices.length === 1 && !c.usage));
    assert.equal(plain.text, text);
  });

  test('stop strings end the answer before the stop string', async () => {
    const body = { model: MODEL, messages: user('Count'), max_tokens: 24, temperature: 0 };
    const free = (await server.client.chat.completions.create(body)).choices[0].message.content;
    assert.ok(free.length >= 8, `need a longer answer to cut: ${JSON.stringify(free)}`);
    const stop = free.slice(4, 7);
    const expected = free.slice(0, free.indexOf(stop));
    const cut = await server.client.chat.completions.create({ ...body, stop: [stop] });
    assert.equal(cut.choices[0].message.content, expected);
    assert.equal(cut.choices[0].finish_reason, 'stop');
    const streamed = await streamText(server.client, { ...body, stop });
    assert.equal(streamed.text, expected);
  });

  test('a seed reproduces the answer', async () => {
    const body = { model: MODEL, messages: user('Pick words'), max_tokens: 16, temperature: 1, seed: 123 };
    const a = await server.client.chat.completions.create(body);
    const b = await server.client.chat.completions.create(body);
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  });

  test('n > 1: choice i samples with seed + i', async () => {
    const body = { model: MODEL, messages: user('Pick words'), max_tokens: 12, temperature: 1, seed: 40 };
    const r = await server.client.chat.completions.create({ ...body, n: 3 });
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
    for (let i = 0; i < 3; ++i) {
      const single = await server.client.chat.completions.create({ ...body, seed: 40 + i });
      assert.equal(r.choices[i].message.content, single.choices[0].message.content, `choice ${i}`);
    }
    const streamed = await server.client.chat.completions.create({ ...body, n: 3, stream: true });
    const texts = ['', '', ''];
    for await (const chunk of streamed) {
      for (const c of chunk.choices) texts[c.index] += c.delta.content ?? '';
    }
    assert.deepEqual(texts, r.choices.map((c) => c.message.content));
  });

  test('logprobs and top_logprobs', async () => {
    const r = await server.client.chat.completions.create({
      model: MODEL, messages: user('Hi'), max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0].logprobs.content;
    assert.equal(content.length, r.usage.completion_tokens);
    for (const t of content) {
      assert.equal(typeof t.token, 'string');
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 3);
      assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
      // Greedy decoding picks the most likely token.
      assert.ok(Math.abs(t.logprob - t.top_logprobs[0].logprob) < 1e-5);
      assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
    }
    const streamed = await server.client.chat.completions.create({
      model: MODEL, messages: user('Hi'), max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 3, stream: true });
    const streamedLogprobs = [];
    for await (const chunk of streamed) streamedLogprobs.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(streamedLogprobs, content);
  });

  test('multi-turn conversation reports cached prompt tokens', async () => {
    const first = user('What is the capital of France?');
    const r1 = await server.client.chat.completions.create({ model: MODEL, messages: first, max_tokens: 8, temperature: 0 });
    const second = [...first, { role: 'assistant', content: r1.choices[0].message.content }, { role: 'user', content: 'And of Spain?' }];
    const r2 = await server.client.chat.completions.create({ model: MODEL, messages: second, max_tokens: 8, temperature: 0 });
    assert.ok(r2.usage.prompt_tokens > r1.usage.prompt_tokens);
    assert.ok(r2.usage.prompt_tokens_details.cached_tokens > 0, JSON.stringify(r2.usage));
    assert.ok(r2.usage.prompt_tokens_details.cached_tokens < r2.usage.prompt_tokens);
  });

  test('text completions, plain and streamed', async () => {
    const body = { model: MODEL, prompt: 'Once upon a time', max_tokens: 10, temperature: 0 };
    const r = await server.client.completions.create(body);
    assert.equal(r.object, 'text_completion');
    assert.equal(typeof r.choices[0].text, 'string');
    const stream = await server.client.completions.create({ ...body, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, r.choices[0].text);
  });

  test('tools: a conversation with calls and results renders; a forced call comes back well-formed', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    // OpenAI clients send earlier calls' arguments as JSON strings; the template needs objects.
    const messages = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 18}' },
    ];
    const after = await server.client.chat.completions.create({ model: MODEL, messages, tools, max_tokens: 4, temperature: 0,
                                                                reasoning_effort: 'high' });
    assert.equal(after.object, 'chat.completion');
    // A named tool_choice makes the answer open with that call. tiny-a then writes random text,
    // which is either a call (arguments as a JSON string) or, unparsable, shown verbatim as content.
    const forced = await server.client.chat.completions.create({ model: MODEL, messages: user('Weather in Oslo?'), tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: 12, temperature: 0 });
    const choice = forced.choices[0];
    if (choice.message.tool_calls) {
      assert.equal(choice.finish_reason, 'tool_calls');
      assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
      assert.equal(typeof JSON.parse(choice.message.tool_calls[0].function.arguments), 'object');
    } else {
      assert.ok(choice.message.content.startsWith('<|tool_call>call:get_weather{'), choice.message.content);
    }
  });

  test('response_format json_schema: every sampled answer parses and validates; streaming equals non-streaming', async () => {
    const schema = { type: 'object', additionalProperties: false, required: ['age', 'name'],
      properties: { name: { type: 'string', maxLength: 6 }, age: { type: 'integer' },
                    tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 2 } } };
    const response_format = { type: 'json_schema', json_schema: { name: 'person', strict: true, schema } };
    let stopped = 0;
    for (let seed = 0; seed < 8; ++seed) {
      const r = await server.client.chat.completions.create({ model: MODEL, messages: user('A person as JSON'),
        max_tokens: 120, temperature: 1, seed, response_format });
      if (r.choices[0].finish_reason !== 'stop') continue;
      ++stopped;
      const v = JSON.parse(r.choices[0].message.content);
      assert.deepEqual(Object.keys(v).filter((k) => !['name', 'age', 'tags'].includes(k)), []);
      assert.equal(typeof v.name, 'string');
      assert.ok([...v.name].length <= 6);
      assert.ok(Number.isInteger(v.age));
      if ('tags' in v) assert.ok(Array.isArray(v.tags) && v.tags.length <= 2 && v.tags.every((t) => t === 'a' || t === 'b'));
      if (seed === 0) {
        const stream = await server.client.chat.completions.create({ model: MODEL, messages: user('A person as JSON'),
          max_tokens: 120, temperature: 1, seed, response_format, stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        assert.equal(text, r.choices[0].message.content);
      }
    }
    assert.ok(stopped >= 4, `only ${stopped} of 8 answers completed`);
    const o = await server.client.chat.completions.create({ model: MODEL, messages: user('x'), max_tokens: 60,
      seed: 3, response_format: { type: 'json_object' } });
    if (o.choices[0].finish_reason === 'stop') assert.equal(typeof JSON.parse(o.choices[0].message.content), 'object');
  });

  test('grammar (GBNF, llama.cpp\'s field): sampled answers are in its language, through the openai client', async () => {
    const grammar = 'root ::= ("yes" | "no") " " [0-9]{1,3}';
    for (const seed of [1, 2, 3, 4]) {
      const r = await server.client.chat.completions.create({ model: MODEL, messages: user('Answer'), max_tokens: 20,
        temperature: 1, seed, grammar });
      if (r.choices[0].finish_reason === 'stop') assert.match(r.choices[0].message.content, /^(yes|no) [0-9]{1,3}$/);
      else assert.match(r.choices[0].message.content, /^(y(e(s( [0-9]{0,3})?)?)?|n(o( [0-9]{0,3})?)?)?$/);
    }
    await expectApiError(server.client.chat.completions.create({ model: MODEL, messages: user('x'), grammar: 'root ::= nowhere' }),
                         400, (e) => { assert.equal(e.param, 'grammar'); assert.equal(e.code, 'invalid_grammar'); });
  });

  test('tokenize and detokenize round-trip', async () => {
    const post = (p, body) => fetch(`${server.url}${p}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());
    const { tokens } = await post('/tokenize', { content: 'Hello world' });
    assert.ok(tokens.length > 0);
    const { content } = await post('/detokenize', { tokens });
    assert.equal(content, 'Hello world');
  });

  test('the canonical question: shape and a stop condition that fires', async () => {
    // tiny-a has random weights: it will not say "Paris" and rarely ends its turn by itself. This
    // checks the request and response shape and that a stop condition ends the answer with
    // finish_reason "stop"; the real answer is checked on E2B weights (README).
    const messages = user('What is the capital of France? Answer in one word.');
    const probe = await server.client.chat.completions.create({ model: MODEL, messages, max_tokens: 16, temperature: 0 });
    const text = probe.choices[0].message.content;
    const r = probe.choices[0].finish_reason === 'stop' ? probe : await server.client.chat.completions.create({
      model: MODEL, messages, max_tokens: 256, temperature: 0, stop: [text.slice(2, 5)] });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.equal(r.choices[0].message.tool_calls, undefined);
  });

  test('every error has OpenAI shape and the right status', async () => {
    const c = server.client;
    const raw = (body, headers = {}) => fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    // Invalid JSON.
    const bad = await raw('{"messages": [');
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, 'invalid_json');
    // Wrong types and out-of-range values name the parameter.
    for (const [field, value] of [['temperature', 'hot'], ['top_p', 2], ['max_tokens', 0], ['n', 0], ['logit_bias', { x: 1 }],
                                  ['top_logprobs', 3]]) {
      await expectApiError(c.chat.completions.create({ model: MODEL, messages: user('x'), [field]: value }), 400,
                           (e) => assert.equal(e.param, field));
    }
    // Context overflow: the prompt's token count and the limit in the message.
    const long = 'hello '.repeat(CTX);
    const overflow = await expectApiError(c.chat.completions.create({ model: MODEL, messages: user(long) }), 400,
                                          (e) => assert.equal(e.code, 'context_length_exceeded'));
    assert.match(overflow.error.message, new RegExp(`${CTX} tokens`));
    // A prompt that cannot fit is not tokenized to its end: the message gives a lower bound.
    assert.match(overflow.error.message, /(has at least|resulted in) \d+ tokens/);
    await expectApiError(c.chat.completions.create({ model: MODEL, messages: user('x'), max_tokens: CTX }), 400,
                         (e) => assert.equal(e.code, 'context_length_exceeded'));
    // Unknown model.
    await expectApiError(c.chat.completions.create({ model: 'gpt-4o', messages: user('x') }), 404,
                         (e) => assert.equal(e.code, 'model_not_found'));
    // Images on a text-only model; fields not implemented yet.
    await expectApiError(c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [
      { type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] }),
                         400, (e) => assert.match(e.message, /text-only/));
    await expectApiError(c.chat.completions.create({ model: MODEL, messages: user('x'),
      response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'number', multipleOf: 2 } } } }), 400,
                         (e) => { assert.equal(e.param, 'response_format'); assert.match(e.message, /'multipleOf'/); });
    // Oversized body.
    const huge = await raw(JSON.stringify({ model: MODEL, messages: user('x'.repeat(9 << 20)) }));
    assert.equal(huge.status, 413);
    assert.equal((await huge.json()).error.code, 'request_too_large');
    // Unknown endpoint.
    const missing = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' });
    assert.equal(missing.status, 404);
    assert.ok((await missing.json()).error);
  });

  test('32 concurrent streaming clients equal their non-streaming answers; metrics return to idle', async () => {
    const body = (i) => ({ model: MODEL, messages: user(`Client ${i} says hello`), max_tokens: 16, temperature: 1, seed: 1000 + i });
    const streams = await Promise.all(Array.from({ length: 32 }, (_, i) =>
      streamText(server.client, { ...body(i), stream_options: { include_usage: true } })));
    for (let i = 0; i < 32; ++i) {
      const whole = await server.client.chat.completions.create(body(i));
      assert.equal(streams[i].text, whole.choices[0].message.content, `client ${i}`);
      assert.equal(streams[i].chunks.at(-1).usage.completion_tokens, whole.usage.completion_tokens, `client ${i}`);
    }
    await waitIdle(server.url);
  });

  test('a client that disconnects mid-stream frees its KV blocks within a second', async () => {
    await waitIdle(server.url);
    const before = (await metrics(server.url)).value('gemma4_requests_cancelled_total');
    const stream = await server.client.chat.completions.create({
      model: MODEL, messages: user('Talk forever'), max_tokens: CTX - 64, temperature: 1, seed: 3, stream: true });
    let seen = 0;
    let busy;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content && ++seen === 3) {
        busy = await metrics(server.url);
        break;  // leaving the loop aborts the HTTP request
      }
    }
    const abortedAt = Date.now();
    assert.equal(busy.value('gemma4_requests_running'), 1);
    assert.ok(busy.value('gemma4_kv_blocks_used') > 0, 'the running request holds KV blocks');
    await waitIdle(server.url, 1000);
    assert.ok(Date.now() - abortedAt <= 1000);
    const after = (await metrics(server.url)).value('gemma4_requests_cancelled_total');
    assert.equal(after, before + 1, 'the request was cancelled, not finished');
  });

  test('latency histograms are exported', async () => {
    const m = await metrics(server.url);
    assert.ok(m.value('gemma4_time_to_first_token_seconds_count') > 0);
    assert.ok(m.value('gemma4_inter_token_latency_seconds_count') > 0);
    assert.ok(m.value('gemma4_kv_blocks_total') > 0);
    assert.ok(m.value('gemma4_prompt_tokens_total') > 0);
    assert.ok(m.value('gemma4_prefix_cache_hits_total') > 0);
  });
});

describe('API key', () => {
  let server;
  before(async () => {
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gemma4-key-')), 'key');
    fs.writeFileSync(keyFile, 'sk-test-123\n');
    server = await startServer(['--api-key-file', keyFile], { apiKey: 'sk-test-123' });
  });
  after(async () => { assert.equal(await server.stop(), 0); });

  test('the right key is accepted, a wrong or missing one gets 401; /health stays open', async () => {
    const r = await server.client.chat.completions.create({ model: MODEL, messages: user('x'), max_tokens: 2 });
    assert.equal(r.object, 'chat.completion');
    const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await expectApiError(wrong.chat.completions.create({ model: MODEL, messages: user('x') }), 401,
                         (e) => assert.equal(e.code, 'invalid_api_key'));
    const none = await fetch(`${server.url}/v1/models`);
    assert.equal(none.status, 401);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});

describe('bounded queue', () => {
  let server;
  before(async () => { server = await startServer(['--max-queue', '0'], { parallel: 1 }); });
  after(async () => { assert.equal(await server.stop(), 0); });

  test('a full queue answers 429 with Retry-After instead of hanging', async () => {
    const stream = await server.client.chat.completions.create({
      model: MODEL, messages: user('Talk forever'), max_tokens: CTX - 64, temperature: 1, seed: 5, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();  // the first request is running
    const e = await expectApiError(server.client.chat.completions.create({ model: MODEL, messages: user('x'), max_tokens: 2 }), 429);
    assert.ok(Number(e.headers.get('retry-after')) > 0);
    stream.controller.abort();
    await waitIdle(server.url);
  });
});
