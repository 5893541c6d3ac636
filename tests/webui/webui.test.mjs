// The chat page served by `gemma4 serve` (web/ui), driven in Debian's headless chromium by
// puppeteer-core, against the tiny-a test model (random weights: answers are nonsense tokens, but
// real ones, streamed by the real engine). Run by CTest (GEMMA4_BINARY, GEMMA4_TEST_DATA,
// GEMMA4_WEBUI_ARTIFACTS) or by hand:
//   GEMMA4_BINARY=build/gemma4 GEMMA4_TEST_DATA=tests/data node --test tests/webui/
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServe } from '../serve_process.mjs';

let puppeteer;
try {
  ({ default: puppeteer } = await import('puppeteer-core'));
} catch (e) {
  throw new Error(`the 'puppeteer-core' package is not installed: run \`npm ci\` in tests/webui ` +
                  `(scripts/setup.sh does it) (${e.message})`);
}

const BINARY = process.env.GEMMA4_BINARY;
const DATA = process.env.GEMMA4_TEST_DATA;
if (!BINARY || !DATA) throw new Error('set GEMMA4_BINARY (the gemma4 executable) and GEMMA4_TEST_DATA (tests/data)');
const CHROMIUM = process.env.GEMMA4_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: run scripts/setup.sh (or set GEMMA4_CHROMIUM)`);
const ARTIFACTS = process.env.GEMMA4_WEBUI_ARTIFACTS || path.resolve('webui-artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });
const MODEL = 'tiny-a';

// Starts `gemma4 serve` on tiny-a and waits for /health to answer 200.
function startServer(extra = [], { parallel = 2 } = {}) {
  return startServe(BINARY, ['--model', path.join(DATA, MODEL), '--dtype', 'f32', '--parallel', String(parallel),
                             '--ctx', '4096', '--threads', '1', ...extra]);
}

async function metric(url, name, headers = {}) {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  assert.ok(m, `metric ${name} missing from:\n${text}`);
  return Number(m[1]);
}

let browser;
before(async () => {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers and CI often run as root, where chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
});
after(async () => { await browser?.close(); });

// A page in its own browser context (its own localStorage), with console errors collected.
async function openPage(url, { viewport = { width: 1100, height: 760 } } = {}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => { if (!r.url().includes('/v1/chat/completions')) errors.push(`failed: ${r.url()}`); });
  await page.setViewport(viewport);
  await page.goto(url, { waitUntil: 'networkidle0' });
  return { page, errors, context };
}

const isRunning = (page) => page.$eval('.g4-app', (e) => e.classList.contains('g4-running'));

async function waitIdle(page, timeout = 60_000) {
  await page.waitForFunction(() => !document.querySelector('.g4-app.g4-running') && !document.querySelector('.g4-pending'),
                             { timeout });
}

async function send(page, text) {
  await page.focus('.g4-input');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

async function setSettings(page, values) {
  await page.click('.g4-open-settings');
  await page.waitForSelector('dialog.g4-settings[open]');
  for (const [name, value] of Object.entries(values)) {
    const selector = `.g4-settings [name=${name}]`;
    if (typeof value === 'boolean') {
      const checked = await page.$eval(selector, (e) => e.checked);
      if (checked !== value) await page.click(selector);
    } else {
      await page.$eval(selector, (e) => { e.value = ''; });
      await page.type(selector, String(value));
    }
  }
  await page.click('.g4-settings-save');
  await page.waitForFunction(() => !document.querySelector('dialog.g4-settings[open]'));
}

async function answers(page) {
  return page.$$eval('.g4-assistant', (list) => list.map((m) => {
    const stats = m.querySelector('.g4-stats');
    return {
      text: m.querySelector('.g4-content')?.textContent ?? '',
      error: m.querySelector('.g4-error')?.textContent ?? null,
      errorCode: m.querySelector('.g4-error')?.dataset.code ?? null,
      stopped: !!m.querySelector('.g4-note'),
      stats: stats ? { ...stats.dataset, text: stats.textContent } : null,
    };
  }));
}

// Every request body the page sends to /v1/chat/completions.
function recordRequests(page) {
  const bodies = [];
  page.on('request', (r) => { if (r.url().endsWith('/v1/chat/completions')) bodies.push(JSON.parse(r.postData())); });
  return bodies;
}

describe('chat page on gemma4 serve', () => {
  let server;
  let tab;
  before(async () => {
    server = await startServer();
    tab = await openPage(`${server.url}/`);
  });
  after(async () => {
    await tab?.context.close();
    assert.equal(await server.stop(), 0, server.log());
  });

  test('GET / serves the page and its assets with types and cache headers; the API is unchanged', async () => {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const etag = index.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    assert.equal((await fetch(`${server.url}/`, { headers: { 'If-None-Match': etag } })).status, 304);
    for (const [file, type] of [['app.js', /^text\/javascript/], ['backends/server.js', /^text\/javascript/], ['app.css', /^text\/css/]]) {
      const res = await fetch(`${server.url}/${file}`);
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get('content-type'), type, file);
    }
    assert.equal((await fetch(`${server.url}/no-such-file.js`)).status, 404);
    assert.deepEqual(await (await fetch(`${server.url}/health`)).json(), { status: 'ok' });
    assert.equal((await (await fetch(`${server.url}/v1/models`)).json()).data[0].id, MODEL);
  });

  test('the page loads with no console errors and shows the model', async () => {
    await tab.page.waitForFunction(() => document.querySelector('.g4-app')?.dataset.connected === 'true');
    assert.equal(await tab.page.$eval('.g4-status', (e) => e.textContent), MODEL);
    assert.equal(await tab.page.$eval('.g4-brand small', (e) => e.textContent), 'gemma4 serve');
    assert.deepEqual(tab.errors, []);
  });

  test('a message streams an answer into the page, with the settings in the request', async () => {
    const { page } = tab;
    const bodies = recordRequests(page);
    await setSettings(page, { systemPrompt: 'You are terse.', temperature: 0.5, topP: 0.9, maxTokens: 2000, thinking: true });
    // Count the distinct lengths the answer has while it streams: more than one means it arrived in pieces.
    await page.evaluate(() => {
      window.seenLengths = new Set();
      new MutationObserver(() => {
        const pending = document.querySelector('.g4-pending .g4-content');
        if (pending) window.seenLengths.add(pending.textContent.length);
      }).observe(document.querySelector('.g4-messages'), { childList: true, subtree: true, characterData: true });
    });
    await send(page, 'Tell me a story');
    await waitIdle(page);
    const [answer] = await answers(page);
    assert.ok(answer.text.length > 0, 'an answer was written');
    assert.equal(answer.error, null);
    assert.equal(Number(answer.stats.completionTokens), 2000, answer.stats.text);
    assert.equal(answer.stats.finishReason, 'length');
    assert.ok(Number(answer.stats.promptTokens) > 0);
    assert.match(answer.stats.text, /answer 2000 tok · [\d.]+ tok\/s/);
    const lengths = await page.evaluate(() => [...window.seenLengths].filter((n) => n > 0).length);
    assert.ok(lengths >= 3, `the answer should appear piece by piece, saw ${lengths} partial lengths`);
    assert.equal(bodies.length, 1);
    const body = bodies[0];
    assert.equal(body.stream, true);
    assert.equal(body.model, MODEL);
    assert.equal(body.temperature, 0.5);
    assert.equal(body.top_p, 0.9);
    assert.equal(body.max_tokens, 2000);
    assert.deepEqual(body.chat_template_kwargs, { enable_thinking: true });
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.deepEqual(body.messages, [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Tell me a story' }]);
    assert.equal(await page.$eval('.g4-title', (e) => e.textContent), 'Tell me a story');
  });

  test('a second turn reports cached prompt tokens', async () => {
    const { page } = tab;
    await setSettings(page, { maxTokens: 16, thinking: false, systemPrompt: '' });
    await page.click('.g4-new');
    await send(page, 'First question');
    await waitIdle(page);
    await send(page, 'Second question');
    await waitIdle(page);
    const [first, second] = await answers(page);
    assert.equal(Number(first.stats.completionTokens), 16);
    assert.ok(Number(second.stats.cachedTokens) > 0, `second turn: ${second.stats.text}`);
    assert.ok(Number(second.stats.promptTokens) > Number(first.stats.promptTokens));
    assert.match(second.stats.text, /\(\d+ cached\)/);
  });

  test('reload keeps the conversations and their answers', async () => {
    const { page } = tab;
    const before = await answers(page);
    const list = await page.$$eval('.g4-conv', (l) => l.map((e) => e.textContent));
    await page.reload({ waitUntil: 'networkidle0' });
    assert.deepEqual(await page.$$eval('.g4-conv', (l) => l.map((e) => e.textContent)), list);
    assert.deepEqual(list.slice(0, 2), ['First question', 'Tell me a story']);
    assert.deepEqual((await answers(page)).map((a) => a.text), before.map((a) => a.text));
    assert.deepEqual(await page.$$eval('.g4-user-text', (l) => l.map((e) => e.textContent)), ['First question', 'Second question']);
    // The settings survive too.
    await page.click('.g4-open-settings');
    assert.equal(await page.$eval('.g4-settings [name=maxTokens]', (e) => e.value), '16');
    await page.keyboard.press('Escape');
    await page.click('.g4-conv');  // back to 'First question' (newest first)
  });

  test('regenerate replaces the last answer; edit rewrites the last message and answers again', async () => {
    const { page } = tab;
    const bodies = recordRequests(page);
    const before = await answers(page);
    await page.click('.g4-regenerate');
    await waitIdle(page);
    const after = await answers(page);
    assert.equal(after.length, before.length);
    assert.equal(bodies.length, 1);
    assert.equal(bodies[0].messages.at(-1).content, 'Second question');
    assert.equal(bodies[0].messages.filter((m) => m.role === 'assistant').length, before.length - 1);

    await page.click('.g4-edit');
    await page.waitForSelector('.g4-edit-area');
    await page.$eval('.g4-edit-area', (e) => { e.value = ''; });
    await page.type('.g4-edit-area', 'Edited question');
    await page.keyboard.press('Enter');
    await waitIdle(page);
    assert.deepEqual(await page.$$eval('.g4-user-text', (l) => l.map((e) => e.textContent)), ['First question', 'Edited question']);
    assert.equal((await answers(page)).length, 2);
    assert.equal(bodies.length, 2);
    assert.equal(bodies[1].messages.at(-1).content, 'Edited question');
  });

  test('the stop button and Esc cancel the answer (the engine counts them cancelled)', async () => {
    const { page } = tab;
    await setSettings(page, { maxTokens: 4000 });
    for (const how of ['button', 'escape']) {
      await page.click('.g4-new');
      const cancelledBefore = await metric(server.url, 'gemma4_requests_cancelled_total');
      await send(page, `Count to a million (${how})`);
      await page.waitForFunction(() => document.querySelector('.g4-pending .g4-content')?.textContent.length > 0);
      assert.equal(await isRunning(page), true, 'still running when stopped');
      assert.equal(await page.$eval('.g4-stop', (e) => e.hidden), false);
      if (how === 'button') await page.click('.g4-stop'); else await page.keyboard.press('Escape');
      await waitIdle(page, 10_000);
      const [answer] = await answers(page);
      assert.equal(answer.stopped, true, `${how}: ${JSON.stringify(answer.stats)}`);
      assert.equal(answer.error, null);
      assert.ok(answer.text.length > 0);
      const deadline = Date.now() + 5000;
      while (await metric(server.url, 'gemma4_requests_cancelled_total') <= cancelledBefore) {
        assert.ok(Date.now() < deadline, `${how}: the server saw no cancellation`);
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(await page.$eval('.g4-send', (e) => e.hidden), false);
    }
  });

  test('a request too long for the context is shown in the conversation', async () => {
    const { page } = tab;
    await setSettings(page, { maxTokens: 100000 });
    await page.click('.g4-new');
    await send(page, 'Hello');
    await waitIdle(page);
    const [answer] = await answers(page);
    assert.equal(answer.errorCode, 'context_length_exceeded');
    assert.match(answer.error, /^Context too long.*maximum context length is 4096/);
    assert.ok(await page.$eval('.g4-error', (e) => e.offsetHeight > 0), 'the error is visible');
    await setSettings(page, { maxTokens: 32 });
  });

  test('Markdown, reasoning and a busy server, through a scripted backend', async () => {
    const { page } = tab;
    // The same app mounted with a backend the test scripts (the contract the WASM build uses too).
    const result = await page.evaluate(async () => {
      const { mountChatApp } = await import('/app.js');
      const memory = new Map();
      const storage = { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, String(v)), removeItem: (k) => memory.delete(k) };
      const chunk = (delta, extra = {}) => ({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }], ...extra });
      let calls = 0;
      const backend = {
        label: 'scripted',
        async listModels() { return [{ id: 'scripted-model' }]; },
        async *createChatCompletionStream() {
          if (++calls === 2) throw Object.assign(new Error('The queue is full.'), { status: 429, code: 'queue_full', type: 'rate_limit_error' });
          yield chunk({ role: 'assistant', content: '' });
          yield chunk({ reasoning_content: 'Let me *think*.' });
          for (const piece of ['# Title\n\nSome **bold** and `code`.\n\n', '```js\nconst x = "<b>";\n', '```\n\n- one\n- two\n\n',
                               '<script>window.pwned = 1</script> [bad](javascript:alert(1)) [good](https://example.com)\n\n',
                               '| a | b |\n|---|---|\n| 1 | 2 |\n']) yield chunk({ content: piece });
          yield { object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
          yield { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 11, completion_tokens: 42, prompt_tokens_details: { cached_tokens: 3 }, completion_tokens_details: { reasoning_tokens: 5 } }, timings: { predicted_per_second: 123.4 } };
        },
      };
      const host = document.createElement('div');
      host.style.cssText = 'position:fixed;inset:0;background:var(--bg);z-index:100';
      document.body.append(host);
      const app = mountChatApp(host, { backend, storage });
      const input = host.querySelector('.g4-input');
      const waitIdle = async () => { while (host.querySelector('.g4-running, .g4-pending')) await new Promise((r) => setTimeout(r, 10)); };
      input.value = 'Show me Markdown';
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      await waitIdle();
      const msg = host.querySelector('.g4-assistant');
      const out = {
        model: host.querySelector('.g4-status').textContent,
        reasoning: msg.querySelector('details.g4-reasoning .g4-reasoning-body')?.innerHTML,
        reasoningOpen: msg.querySelector('details.g4-reasoning')?.open,
        h1: msg.querySelector('.g4-content h1')?.textContent,
        bold: msg.querySelector('.g4-content strong')?.textContent,
        inlineCode: msg.querySelector('.g4-content p code')?.textContent,
        codeBlock: msg.querySelector('.g4-content pre code.language-js')?.textContent,
        items: [...msg.querySelectorAll('.g4-content ul li')].map((e) => e.textContent),
        scripts: host.querySelectorAll('script').length,
        pwned: window.pwned ?? null,
        links: [...msg.querySelectorAll('.g4-content a')].map((a) => a.getAttribute('href')),
        linkLine: [...msg.querySelectorAll('.g4-content p')].at(-1).textContent,
        cells: [...msg.querySelectorAll('.g4-content td')].map((e) => e.textContent),
        stats: msg.querySelector('.g4-stats').textContent,
        actions: [...host.querySelectorAll('.g4-msg-actions button')].map((b) => b.textContent),
      };
      host.querySelector('.g4-regenerate').click();
      await waitIdle();
      out.busy = host.querySelector('.g4-error-busy')?.textContent ?? null;
      out.kept = JSON.parse(memory.get('gemma4.conversations'))[0].messages.length;
      // Back to the rendered answer for the screenshot.
      host.querySelector('.g4-regenerate').click();
      await waitIdle();
      host.querySelector('details.g4-reasoning').open = true;
      window.scriptedApp = { app, host };
      return out;
    });
    await page.screenshot({ path: path.join(ARTIFACTS, 'chat-markdown.png') });
    await page.evaluate(() => { window.scriptedApp.app.unmount(); window.scriptedApp.host.remove(); });
    assert.equal(result.model, 'scripted-model');
    assert.equal(result.reasoning, '<p>Let me <em>think</em>.</p>');
    assert.equal(result.reasoningOpen, false, 'the reasoning folds once the answer is there');
    assert.equal(result.h1, 'Title');
    assert.equal(result.bold, 'bold');
    assert.equal(result.inlineCode, 'code');
    assert.equal(result.codeBlock, 'const x = "<b>";');
    assert.deepEqual(result.items, ['one', 'two']);
    assert.equal(result.scripts, 0);
    assert.equal(result.pwned, null);
    assert.deepEqual(result.links, ['https://example.com']);
    assert.equal(result.linkLine, '<script>window.pwned = 1</script> bad good');
    assert.deepEqual(result.cells, ['1', '2']);
    assert.equal(result.stats, 'prompt 11 tok (3 cached) · answer 42 tok (5 reasoning) · 123.4 tok/s · first token ' +
                               result.stats.match(/first token (\d+) ms/)[1] + ' ms');
    assert.deepEqual(result.actions, ['Edit', 'Regenerate']);
    assert.match(result.busy, /^Server busy The queue is full\. Try again in a moment\.$/);
    assert.equal(result.kept, 2);
  });

  test('on a phone-sized screen nothing overflows sideways, and the list opens as a drawer', async () => {
    const phone = await openPage(`${server.url}/`, { viewport: { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } });
    try {
      const { page } = phone;
      await setSettings(page, { maxTokens: 120 });
      await send(page, 'A long question that has to wrap on a small screen: ' + 'averyveryverylongwordwithoutanyspaces'.repeat(3));
      await waitIdle(page);
      const overflow = await page.evaluate(() => ({
        doc: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        messages: [...document.querySelectorAll('.g4-msg')].map((m) => m.getBoundingClientRect().right).filter((r) => r > window.innerWidth + 0.5),
        composer: document.querySelector('.g4-send').getBoundingClientRect().right <= window.innerWidth,
        sidebarHidden: document.querySelector('.g4-sidebar').getBoundingClientRect().right <= 0,
      }));
      assert.equal(overflow.doc, 0, 'horizontal overflow');
      assert.deepEqual(overflow.messages, []);
      assert.equal(overflow.composer, true, 'the send button is on screen');
      assert.equal(overflow.sidebarHidden, true, 'the conversation list starts hidden');
      await page.screenshot({ path: path.join(ARTIFACTS, 'chat-phone.png') });
      await page.click('.g4-menu');
      await page.waitForFunction(() => document.querySelector('.g4-sidebar').getBoundingClientRect().left >= 0);
      await new Promise((r) => setTimeout(r, 250));  // the drawer's slide
      await page.screenshot({ path: path.join(ARTIFACTS, 'chat-phone-drawer.png') });
      assert.deepEqual(phone.errors, []);
    } finally {
      await phone.context.close();
    }
    await tab.page.click('.g4-conv');
    await tab.page.screenshot({ path: path.join(ARTIFACTS, 'chat-desktop.png') });
    assert.ok(fs.statSync(path.join(ARTIFACTS, 'chat-phone.png')).size > 10_000);
  });
});

describe('chat page on a server with --api-key', () => {
  const KEY = 'sk-webui-test-key';
  let server;
  before(async () => { server = await startServer(['--api-key', KEY]); });
  after(async () => { assert.equal(await server.stop(), 0, server.log()); });

  test('the page loads without the key, asks for it, rejects a wrong one visibly, and works with the right one', async () => {
    assert.equal((await fetch(`${server.url}/`)).status, 200);
    assert.equal((await fetch(`${server.url}/app.js`)).status, 200);
    assert.equal((await fetch(`${server.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401, 'only the page is public');
    const { page, errors, context } = await openPage(`${server.url}/`);
    try {
      await page.waitForSelector('.g4-key-banner:not([hidden])');
      assert.match(await page.$eval('.g4-key-banner', (e) => e.textContent), /needs an API key/);
      await page.type('.g4-key-input', 'wrong-key');
      await page.click('.g4-key-save');
      await page.waitForFunction(() => /rejected/.test(document.querySelector('.g4-key-message').textContent));
      assert.match(await page.$eval('.g4-key-message', (e) => e.textContent), /rejected this API key: Incorrect or missing API key/);
      assert.ok(await page.$eval('.g4-key-banner', (e) => e.offsetHeight > 0), 'the message is visible');
      // A message sent with the wrong key fails in the conversation too.
      await send(page, 'Hello?');
      await waitIdle(page);
      assert.match((await answers(page))[0].error, /^API key needed/);

      const bodies = [];
      page.on('request', (r) => { if (r.url().includes('/v1/')) bodies.push(r.headers().authorization); });
      await page.$eval('.g4-key-input', (e) => { e.value = ''; });
      await page.type('.g4-key-input', KEY);
      await page.click('.g4-key-save');
      await page.waitForSelector('.g4-key-banner[hidden]');
      assert.equal(await page.$eval('.g4-status', (e) => e.textContent), MODEL);
      await page.click('.g4-regenerate');
      await waitIdle(page);
      const [answer] = await answers(page);
      assert.equal(answer.error, null);
      assert.ok(Number(answer.stats.completionTokens) > 0);
      assert.ok(bodies.length >= 2 && bodies.every((h) => h === `Bearer ${KEY}`), JSON.stringify(bodies));
      // The key is remembered: a reload connects at once.
      await page.reload({ waitUntil: 'networkidle0' });
      await page.waitForFunction(() => document.querySelector('.g4-app')?.dataset.connected === 'true');
      assert.equal(await page.$eval('.g4-key-banner', (e) => e.hidden), true);
      // The only console errors are the browser's own lines about the 401 answers.
      assert.ok(errors.every((e) => /status of 401/.test(e)), JSON.stringify(errors));
    } finally {
      await context.close();
    }
  });
});

describe('chat page on a full server', () => {
  test('a request the server has no room for shows "Server busy" in the conversation', async () => {
    const server = await startServer(['--max-queue', '0'], { parallel: 1 });
    const { page, errors, context } = await openPage(`${server.url}/`);
    const holder = new AbortController();
    try {
      // Another client holds the only slot with a long answer it reads slowly.
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST', signal: holder.signal, headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hold the slot' }], max_tokens: 4000, stream: true }),
      });
      assert.equal(res.status, 200);
      const reader = res.body.getReader();
      await reader.read();
      await send(page, 'Is there room?');
      await waitIdle(page);
      const [answer] = await answers(page);
      assert.equal(answer.errorCode, 'queue_full', JSON.stringify(answer));
      assert.match(answer.error, /^Server busy .*Try again in a moment\.$/);
      assert.ok(errors.every((e) => /status of 429/.test(e)), JSON.stringify(errors));
      holder.abort();
      // Once the slot is free, Regenerate succeeds.
      const deadline = Date.now() + 5000;
      while (await metric(server.url, 'gemma4_requests_running') > 0) {
        assert.ok(Date.now() < deadline, 'the held request was not cancelled');
        await new Promise((r) => setTimeout(r, 25));
      }
      await page.click('.g4-regenerate');
      await waitIdle(page);
      const [retry] = await answers(page);
      assert.equal(retry.error, null);
      assert.ok(Number(retry.stats.completionTokens) > 0);
    } finally {
      holder.abort();
      await context.close();
      assert.equal(await server.stop(), 0, server.log());
    }
  });
});

describe('gemma4 serve --no-webui', () => {
  test('/ and the assets are 404 with an OpenAI error body; the API still answers', async () => {
    const server = await startServer(['--no-webui']);
    try {
      for (const p of ['/', '/index.html', '/app.js']) {
        const res = await fetch(`${server.url}${p}`);
        assert.equal(res.status, 404, p);
        assert.equal(typeof (await res.json()).error.message, 'string');
      }
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.equal((await (await fetch(`${server.url}/v1/models`)).json()).data[0].id, MODEL);
    } finally {
      assert.equal(await server.stop(), 0, server.log());
    }
  });
});
