// The engine in a real browser: Debian's chromium, headless, driven by puppeteer-core, against
// the demo's static server (web/demo/server.mjs) on 127.0.0.1 only. The page is cross-origin
// isolated, the engine runs in its Worker with 2 threads and loads tiny-a from the server; answers
// must equal the native CLI's (web/engine/test/native_answers.json), and the server's byte
// counts must show the per-layer embedding table read row by row with Range requests.
//
//   cd web && npm ci && bash ../scripts/build_web.sh && node --test test/
//
// GEMMA4_CHROMIUM points at another chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { createStaticServer } from '../demo/server.mjs';
import { repo, CHROMIUM, native, MODEL_URL, messages, caseNamed, streamInPage, assertLoadedFully } from './fixtures.mjs';

// Where tiny-a's per-layer table lies in its safetensors file, from the header.
function tableOf(file) {
  const bytes = fs.readFileSync(file);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8'));
  const [key, t] = Object.entries(header).find(([k]) => k.endsWith('embed_tokens_per_layer.weight'));
  assert.equal(t.dtype, 'BF16', key);
  return { start: 8 + len + t.data_offsets[0], end: 8 + len + t.data_offsets[1], rowBytes: t.shape[1] * 2,
           size: bytes.length, tableOffset: t.data_offsets[0] };
}

// Bad model folders, served under /bad/: a truncated safetensors, a header that is not JSON.
const badDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gemma4-browser-'));
function badFolder(name, mutate) {
  const dir = path.join(badDir, name);
  fs.mkdirSync(dir);
  for (const f of ['config.json', 'tokenizer.json', 'generation_config.json'])
    fs.copyFileSync(path.join(repo, 'tests/data/tiny-a', f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), mutate(fs.readFileSync(path.join(repo, 'tests/data/tiny-a/model.safetensors'))));
}
badFolder('truncated', (b) => b.subarray(0, Math.floor(b.length / 2)));
badFolder('bad-header', (b) => { const c = Buffer.from(b); c.fill(0x7b, 8, 40); return c; });
badFolder('no-weights', () => Buffer.alloc(0));
// A tensor whose dtype the engine does not take (U16: same size as BF16, so the header stays valid).
badFolder('wrong-dtype', (b) => {
  const c = Buffer.from(b);
  const at = c.indexOf('"BF16"', 8);
  c.write('"U16" ', at);
  return c;
});
fs.rmSync(path.join(badDir, 'no-weights', 'model.safetensors'));

let browser;
const servers = [];
async function serve(options = {}) {
  const s = createStaticServer({ mounts: { '/bad/': badDir }, ...options });
  await new Promise((resolve) => s.server.listen(0, '127.0.0.1', resolve));
  servers.push(s.server);
  return { ...s, origin: `http://127.0.0.1:${s.server.address().port}` };
}

let main;  // the isolated server the main tests share
before(async () => {
  main = await serve({ deny: { '/private/': { status: 401, token: 'gemma4-test' } },
                       mounts: { '/bad/': badDir, '/private/': path.join(repo, 'tests/data') } });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers and CI run as root, where chromium's sandbox cannot start. Nothing leaves 127.0.0.1.
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  fs.rmSync(badDir, { recursive: true, force: true });
});

async function openPage(origin, url = '/web/demo/', { settings } = {}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const errors = [];
  const offsite = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) offsite.push(r.url()); });
  if (settings) await page.evaluateOnNewDocument((s) => localStorage.setItem('gemma4.settings', JSON.stringify(s)), settings);
  await page.goto(`${origin}${url}`, { waitUntil: 'load' });
  return { page, errors, offsite, context };
}

// Runs `Gemma4.create(options)` in the page; the engine is kept as window.engine.
const createInPage = (page, options) => page.evaluate(async (o) => {
  const { Gemma4 } = await import('/web/engine/browser/gemma4.mjs');
  try {
    window.engine = await Gemma4.create(o);
    return { info: window.engine.info };
  } catch (e) {
    return { error: { name: e.name, code: e.code, message: e.message } };
  }
}, options);

test('cross-origin isolated, 2 threads: tiny-a streams the native CLI answers; a cancelled stream leaves the engine answering', async () => {
  const { page, errors, offsite, context } = await openPage(main.origin);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const progress = await page.evaluate(() => { window.progressEvents = []; return true; });
  assert.ok(progress);
  const created = await page.evaluate(async (url) => {
    const { Gemma4 } = await import('/web/engine/browser/gemma4.mjs');
    window.engine = await Gemma4.create({ model: { url }, threads: 2, dtype: 'f32',
                                          onProgress: (p) => window.progressEvents.push(p) });
    return { info: window.engine.info, progress: window.progressEvents };
  }, MODEL_URL);
  assert.equal(created.info.backend, 'wasm');
  assert.equal(created.info.threads, 2);
  assert.equal(created.info.model, 'tiny-a');
  assertLoadedFully(created.progress);

  for (const name of ['greedy', 'sampled_seed7']) {
    const c = caseNamed(name);
    const streamed = await streamInPage(page, { messages, ...c.request });
    const content = streamed.map((ch) => ch.choices[0].delta.content ?? '').join('');
    assert.equal(content, c.text, `${name}: the streamed answer equals the native CLI's`);
    assert.ok(streamed.filter((ch) => ch.choices[0].delta.content).length > 1, `${name}: it came in pieces`);
    assert.equal(streamed.at(-1).object, 'chat.completion.chunk');
    assert.ok(['length', 'stop'].includes(streamed.at(-1).choices[0].finish_reason));
  }

  // Cancel one mid-stream (AbortSignal after three chunks): it rejects as cancelled, and the
  // engine answers the next request as before.
  const cancelled = await page.evaluate(async (request) => {
    const controller = new AbortController();
    let seen = 0;
    try {
      for await (const chunk of await window.engine.chat.completions.create({ ...request, stream: true, signal: controller.signal })) {
        if (chunk.choices[0].token_ids) seen++;
        if (seen === 3) controller.abort();
      }
      return { seen, error: null };
    } catch (e) {
      return { seen, error: { name: e.name, code: e.code } };
    }
  }, { messages, temperature: 0, max_tokens: 400 });
  assert.deepEqual(cancelled.error, { name: 'Gemma4Error', code: 'cancelled' });
  assert.ok(cancelled.seen >= 3 && cancelled.seen < 400, `stopped after ${cancelled.seen} tokens`);
  const plain = await page.evaluate(async (request) => (await window.engine.chat.completions.create(request)).choices[0].message.content,
                                    { messages, ...caseNamed('greedy').request });
  assert.equal(plain, caseNamed('greedy').text);

  // The per-layer table was read by Range requests, a row at a time, and never whole.
  const table = tableOf(path.join(repo, 'tests/data/tiny-a/model.safetensors'));
  const served = main.stats['tests/data/tiny-a/model.safetensors'];
  assert.equal(served.wholeFile, 0, 'the safetensors file was never sent whole');
  const inTable = served.ranges.filter(([a, b]) => a < table.end && b > table.start);
  assert.ok(inTable.length > 0, 'rows of the table were read');
  for (const [a, b] of inTable) {
    assert.ok(a >= table.start && b <= table.end, `range ${a}-${b} stays inside the table`);
    assert.equal(b - a, table.rowBytes, 'one row per request');
    assert.equal((a - table.start) % table.rowBytes, 0, 'row-aligned');
  }
  const tableBytes = inTable.reduce((s, [a, b]) => s + b - a, 0);
  const distinctRows = new Set(inTable.map(([a]) => a)).size;
  assert.ok(tableBytes < (table.end - table.start) / 4, `${tableBytes} of ${table.end - table.start} table bytes read`);
  // Everything outside the table was read once (the decoder tensors, into the heap).
  const outside = served.ranges.filter(([a, b]) => !(a < table.end && b > table.start)).reduce((s, [a, b]) => s + b - a, 0);
  assert.ok(outside <= table.size - (table.end - table.start) + 64 * 1024, `${outside} bytes outside the table`);
  const stats = await page.evaluate(() => window.engine.stats());
  assert.equal(stats.tableBytes, tableBytes, 'the worker and the server count the same table bytes');
  assert.equal(stats.wholeFileReads, 0);
  console.log(`per-layer table: ${inTable.length} row reads (${distinctRows} distinct rows), ${tableBytes} of ` +
              `${table.end - table.start} bytes; ${outside} bytes outside it; wasm heap ${stats.heapBytes} bytes`);

  await page.evaluate(() => window.engine.unload());
  assert.deepEqual(errors, []);
  assert.deepEqual(offsite, [], 'nothing was asked of another origin');
  await context.close();
});

test('the demo page: load tiny-a by URL, progress shown, chat in the web/ui page on the wasm backend, Stop', async () => {
  const settings = { systemPrompt: '', temperature: 0, topP: 0.95, maxTokens: 32, thinking: false };
  const { page, errors, context } = await openPage(main.origin, `/web/demo/?model=${encodeURIComponent(MODEL_URL)}`, { settings });
  await page.waitForSelector('#app:not([hidden]) .g4-input', { timeout: 60000 });
  const label = await page.$eval('.g4-brand small', (e) => e.textContent);
  assert.match(label, /WebAssembly · 2 threads · f32/);
  assert.equal(await page.$eval('.g4-status', (e) => e.textContent), 'tiny-a');
  const bar = await page.$eval('#progress', (e) => ({ value: e.value, max: e.max }));
  assert.ok(bar.max > 1 && bar.value === bar.max, `download progress ${JSON.stringify(bar)}`);
  await page.type('.g4-input', native.prompt);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('.g4-stop').hidden && document.querySelector('.g4-msg:last-child .g4-stats'),
                             { timeout: 60000 })
    .catch(async () => { throw new Error(`no answer: ${await page.$eval('.g4-messages', (e) => e.textContent)}`); });
  const answer = await page.evaluate(() => JSON.parse(localStorage.getItem('gemma4.conversations'))[0].messages.at(-1));
  assert.equal(answer.content, caseNamed('greedy').text, 'the page shows the native CLI answer');
  assert.ok(!answer.error, JSON.stringify(answer.error));
  // A long answer stopped with the Stop button.
  await page.evaluate(() => {
    const s = JSON.parse(localStorage.getItem('gemma4.settings'));
    localStorage.setItem('gemma4.settings', JSON.stringify({ ...s, maxTokens: 2000 }));
  });
  await page.reload({ waitUntil: 'load' });
  await page.waitForSelector('#app:not([hidden]) .g4-input', { timeout: 60000 });
  await page.type('.g4-input', 'Tell me a long story.');
  await page.keyboard.press('Enter');
  // Stop as soon as the first piece of the answer is on screen (in the page, so no round trip lets
  // the answer finish first).
  await page.evaluate(() => new Promise((resolve) => {
    const check = () => {
      const content = document.querySelector('.g4-msg:last-child .g4-content');
      const stop = document.querySelector('.g4-stop');
      if (content?.textContent.length > 0 && !stop.hidden) { stop.click(); resolve(); } else setTimeout(check, 1);
    };
    check();
  }));
  await page.waitForSelector('.g4-stop[hidden]', { timeout: 30000 });
  assert.equal(await page.$eval('.g4-msg:last-child .g4-note', (e) => e.textContent), 'Stopped.');
  const stopped = await page.evaluate(() => JSON.parse(localStorage.getItem('gemma4.conversations'))[0].messages.at(-1));
  assert.ok(!stopped.error, JSON.stringify(stopped.error));
  const stoppedStats = await page.evaluate(() => window.gemma4Engine.stats());
  assert.ok(stoppedStats.requests > 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a folder picked on this computer: read by File slices, the same answer', async () => {
  const { page, errors, context } = await openPage(main.origin, '/web/demo/',
    { settings: { systemPrompt: '', temperature: 0, topP: 0.95, maxTokens: 32, thinking: false } });
  // DevTools cannot pick a whole folder for a webkitdirectory input: the folder's files instead.
  await page.$eval('#model-files', (e) => e.removeAttribute('webkitdirectory'));
  const input = await page.$('#model-files');
  const dir = path.join(repo, 'tests/data/tiny-a');
  await input.uploadFile(...['config.json', 'tokenizer.json', 'generation_config.json', 'model.safetensors'].map((f) => path.join(dir, f)));
  await page.waitForSelector('#app:not([hidden]) .g4-input, #error:not([hidden])', { timeout: 60000 });
  assert.equal(await page.$eval('#error', (e) => (e.hidden ? '' : e.textContent)), '');
  const before = main.stats['tests/data/tiny-a/model.safetensors']?.requests ?? 0;
  const r = await page.evaluate(async (request) => {
    const answer = await window.gemma4Engine.chat.completions.create(request);
    return { text: answer.choices[0].message.content, stats: await window.gemma4Engine.stats() };
  }, { messages, ...caseNamed('greedy').request });
  assert.equal(r.text, caseNamed('greedy').text);
  assert.ok(r.stats.tableRequests > 0 && r.stats.tableBytes < 163840 / 4, JSON.stringify(r.stats));
  assert.equal(main.stats['tests/data/tiny-a/model.safetensors']?.requests ?? 0, before, 'nothing came from the server');
  assert.deepEqual(errors, []);
  await context.close();
});

// One model file (`gemma4 convert`, tests/data/tiny-a-q4_0.g4w, written by the native build): by
// URL and as one picked file, in its own dtype on the CPU backend, the answer of the folder at
// q4_0; its per-layer table still read row by row; a corrupt one is a typed error.
test('a model file (.g4w) by URL and picked: the folder\'s q4_0 answer, table rows on demand', async () => {
  const { page, errors, context } = await openPage(main.origin);
  const request = { messages, ...caseNamed('sampled_seed7').request };
  const answer = () => page.evaluate(async (r) => {
    const a = await window.engine.chat.completions.create(r);
    const stats = await window.engine.stats();
    await window.engine.unload();
    return { ids: a.choices[0].token_ids, text: a.choices[0].message.content, stats };
  }, request);
  let created = await createInPage(page, { model: { url: MODEL_URL }, dtype: 'q4_0', threads: 2, cache: false });
  assert.ok(!created.error, JSON.stringify(created.error));
  const folder = await answer();
  created = await createInPage(page, { model: { url: '/tests/data/tiny-a-q4_0.g4w' }, threads: 2, cache: false });
  assert.ok(!created.error, JSON.stringify(created.error));
  assert.equal(created.info.dtype, 'q4_0');
  assert.equal(created.info.device, 'cpu');
  assert.equal(created.info.model, 'tiny-a-q4_0');
  assert.equal(created.info.files.length, 1);
  assert.ok(created.info.files[0].table, 'the per-layer table was found in the file');
  const byUrl = await answer();
  assert.ok(folder.ids.length > 0);
  assert.deepEqual(byUrl.ids, folder.ids);
  assert.equal(byUrl.text, folder.text);
  assert.ok(byUrl.stats.tableRequests > 0 && byUrl.stats.tableBytes < 163840 / 4, JSON.stringify(byUrl.stats));

  await page.evaluate(() => { const i = document.createElement('input'); i.type = 'file'; i.id = 'g4w'; document.body.append(i); });
  await (await page.$('#g4w')).uploadFile(path.join(repo, 'tests/data/tiny-a-q4_0.g4w'));
  created = await page.evaluate(async () => {
    const { Gemma4 } = await import('/web/engine/browser/gemma4.mjs');
    window.engine = await Gemma4.create({ model: { files: [...document.querySelector('#g4w').files] }, threads: 2 });
    return { info: window.engine.info };
  });
  assert.equal(created.info.dtype, 'q4_0');
  assert.deepEqual((await answer()).ids, folder.ids);

  created = await createInPage(page, { model: { url: '/tests/data/tiny-a-q4_0.g4w' }, dtype: 'q8_0', threads: 2, cache: false });
  assert.equal(created.error?.code, 'model_error', JSON.stringify(created));
  assert.match(created.error.message, /holds q4_0 weights/);
  created = await createInPage(page, { model: { url: '/tests/data/tiny-a-q4_0.g4w' }, device: 'webgpu', threads: 2, cache: false });
  assert.equal(created.error?.code, 'bad_request', JSON.stringify(created));
  assert.deepEqual(errors, []);
  await context.close();
});

test('bad input: typed errors for a missing folder, a 401, a truncated or corrupt safetensors, a wrong dtype, no Range support', async () => {
  const { page, context } = await openPage(main.origin);
  const cases = [
    [{ model: { url: '/tests/data/no-such-model/' } }, 'not_found', /config\.json.*404/],
    [{ model: { url: '/bad/no-weights/' } }, 'not_found', /model\.safetensors.*404/],
    [{ model: { url: '/private/tiny-a/' } }, 'unauthorized', /401.*access token/],
    [{ model: { url: '/bad/truncated/' } }, 'model_error', /truncated|past the end|short/i],
    [{ model: { url: '/bad/bad-header/' } }, 'model_error', /header|JSON/i],
    [{ model: { url: '/bad/wrong-dtype/' } }, 'model_error', /U16/],
    [{ model: { url: MODEL_URL }, dtype: 'q5_k' }, 'bad_request', /q5_k/],
    [{ model: {} }, 'bad_request', /model/],
    [{ model: { url: MODEL_URL }, moduleUrl: '/web/no-such-module.js' }, 'module_not_found', /no-such-module/],
  ];
  for (const [options, code, message] of cases) {
    const r = await createInPage(page, { threads: 2, ...options });
    assert.ok(r.error, `${JSON.stringify(options)} must fail`);
    assert.equal(r.error.name, 'Gemma4Error', JSON.stringify(r.error));
    if (code) assert.equal(r.error.code, code, JSON.stringify(r.error));
    assert.match(r.error.message, message);
    console.log(`${JSON.stringify(options)}: ${r.error.code}: ${r.error.message}`);
  }
  // With the token in model.headers the same folder loads (every request, Range reads included).
  const ok = await createInPage(page, { model: { url: '/private/tiny-a/', headers: { Authorization: 'Bearer gemma4-test' } }, threads: 2 });
  assert.equal(ok.error, undefined, JSON.stringify(ok.error));
  const answer = await page.evaluate(async (request) => (await window.engine.chat.completions.create(request)).choices[0].message.content,
                                     { messages, ...caseNamed('greedy').request });
  assert.equal(answer, caseNamed('greedy').text);
  assert.ok(main.stats['private/tiny-a/model.safetensors'].rangeRequests > 0);
  await page.evaluate(() => window.engine.unload());
  await context.close();

  const noRanges = await serve({ ranges: false });
  const other = await openPage(noRanges.origin);
  const r = await createInPage(other.page, { model: { url: MODEL_URL }, threads: 2 });
  assert.equal(r.error?.code, 'range_not_supported', JSON.stringify(r));
  // Only the one-byte probe that found the server ignores Range: the weights were not read on.
  assert.equal(noRanges.stats['tests/data/tiny-a/model.safetensors']?.requests, 1);
  await other.context.close();
});

test("a Hugging Face model id: read from the Hub's resolve/ layout, a gated model with its token", async () => {
  // 127.0.0.1 plays the Hub: /hub/ORG/NAME/resolve/REVISION/FILE, gated (401 without the token).
  const hub = await serve({ mounts: { '/hub/test-org/tiny-a/resolve/main/': path.join(repo, 'tests/data/tiny-a') },
                            deny: { '/hub/': { status: 401, token: 'hf_test' } } });
  const { page, errors, context } = await openPage(hub.origin);
  const endpoint = `${hub.origin}/hub`;
  const gated = await createInPage(page, { model: { hub: 'test-org/tiny-a', endpoint }, dtype: 'f32', threads: 2 });
  assert.equal(gated.error?.code, 'unauthorized', JSON.stringify(gated));
  const created = await createInPage(page, { model: { hub: 'test-org/tiny-a', endpoint, token: 'hf_test' }, dtype: 'f32', threads: 2 });
  assert.ok(!created.error, JSON.stringify(created.error));
  assert.equal(created.info.model, 'tiny-a');
  const c = caseNamed('greedy');
  const content = await page.evaluate(async (request) => (await window.engine.chat.completions.create(request)).choices[0].message.content,
                                      { messages, ...c.request });
  assert.equal(content, c.text);
  await page.evaluate(() => window.engine.unload());
  for (const [model, pattern] of [[{ hub: 'no-slash' }, /model id/], [{ hub: 'a/b/../c' }, /model id/],
                                  [{ hub: 'test-org/tiny-a', revision: '../x' }, /revision/]]) {
    const bad = await createInPage(page, { model: { ...model, endpoint } });
    assert.equal(bad.error?.code, 'bad_request', JSON.stringify(bad));
    assert.match(bad.error.message, pattern);
  }
  const missing = await createInPage(page, { model: { hub: 'test-org/absent', endpoint, token: 'hf_test' } });
  assert.equal(missing.error?.code, 'not_found', JSON.stringify(missing));
  assert.deepEqual(errors.filter((e) => !/401|404|Failed to load resource/.test(e)), []);
  await context.close();
});

test('downloads are kept in the Origin Private File System: the next load reads the decoder weights from there', async () => {
  const s = await serve();
  const table = tableOf(path.join(repo, 'tests/data/tiny-a/model.safetensors'));
  const headerEnd = table.start - table.tableOffset;
  // Bytes of the decoder weights the server sent: outside the header (read again by every load,
  // to find the table) and outside the per-layer table (rows on demand, never cached).
  const weightBytes = () => (s.stats['tests/data/tiny-a/model.safetensors']?.ranges ?? []).reduce((n, [a, b]) => {
    const overlap = (lo, hi) => Math.max(0, Math.min(b, hi) - Math.max(a, lo));
    return n + overlap(headerEnd, table.start) + overlap(table.end, table.size);
  }, 0);
  const context = await browser.createBrowserContext();  // one profile: its OPFS persists across pages
  const load = async (options) => {
    const page = await context.newPage();
    await page.goto(`${s.origin}/web/demo/`, { waitUntil: 'load' });
    const created = await createInPage(page, { model: { url: MODEL_URL }, dtype: 'f32', threads: 2, ...options });
    assert.ok(!created.error, JSON.stringify(created.error));
    const content = await page.evaluate(async (request) => (await window.engine.chat.completions.create(request)).choices[0].message.content,
                                        { messages, ...caseNamed('greedy').request });
    assert.equal(content, caseNamed('greedy').text);
    const stats = await page.evaluate(() => window.engine.stats());
    await page.evaluate(() => window.engine.unload());
    await page.close();
    return { info: created.info, stats, served: weightBytes() };
  };
  const weights = table.size - headerEnd - (table.end - table.start);
  const first = await load({});
  assert.equal(first.info.cache.enabled, true, JSON.stringify(first.info.cache));
  assert.equal(first.info.cache.cachedBytes, 0);
  assert.equal(first.served, weights, 'the first load read every weight once');
  const second = await load({});
  assert.equal(second.served, first.served, 'the second load asked the server for no weights');
  assert.ok(second.info.cache.cachedBytes >= weights, JSON.stringify(second.info.cache));
  assert.ok(second.stats.cacheBytes >= weights);
  const third = await load({ cache: false });
  assert.equal(third.info.cache.enabled, false);
  // Again from the server: every weight once, and the token embedding's rows that the answer
  // looked up (the engine reads them from the file; with the cache on they came from OPFS).
  const again = third.served - second.served;
  assert.ok(again >= weights && again <= weights + 16 * 1024, `cache: false reads from the server again (${again} of ${weights})`);
  await context.close();
});

test('a cached file that changed on the server (same size, new ETag) is read afresh, not from the cache', async () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'gemma4-cache-'));
  for (const f of fs.readdirSync(path.join(repo, 'tests/data/tiny-a'))) {
    const from = path.join(repo, 'tests/data/tiny-a', f);
    if (fs.statSync(from).isFile()) fs.copyFileSync(from, path.join(copy, f));
  }
  const s = await serve({ mounts: { '/copy/tiny-a/': copy } });
  const context = await browser.createBrowserContext();
  const open = async () => {
    const page = await context.newPage();
    await page.goto(`${s.origin}/web/demo/`, { waitUntil: 'load' });
    const created = await createInPage(page, { model: { url: '/copy/tiny-a/' }, dtype: 'f32', threads: 2 });
    assert.ok(!created.error, JSON.stringify(created.error));
    await page.evaluate(() => window.engine.unload());
    await page.close();
    return created.info.cache;
  };
  assert.equal((await open()).cachedBytes, 0);
  assert.ok((await open()).cachedBytes > 0);
  const file = path.join(copy, 'model.safetensors');
  fs.utimesSync(file, new Date(), new Date(Date.now() + 60000));  // same bytes and size, a new ETag
  assert.equal((await open()).cachedBytes, 0, 'the changed file was not taken from the cache');
  await context.close();
  fs.rmSync(copy, { recursive: true, force: true });
});

test('a page without cross-origin isolation is told so', async () => {
  const plain = await serve({ isolated: false });
  const { page, context } = await openPage(plain.origin);
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  assert.match(await page.$eval('#env', (e) => e.textContent), /not cross-origin isolated/);
  const r = await createInPage(page, { model: { url: MODEL_URL } });
  assert.equal(r.error?.code, 'not_cross_origin_isolated', JSON.stringify(r));
  await context.close();
});
