// The engine on WebGPU in a real browser: Debian's chromium, headless, with WebGPU on its
// bundled SwiftShader (no GPU needed), against the demo's static server on 127.0.0.1. The wasm
// module's scheduler and sampler drive web/webgpu's forward pass from the engine's Worker; the
// answers must equal the native CLI's (web/engine/test/native_answers.json). The demo page says
// which device runs the model, and 'auto' passes over a software adapter, saying so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { createStaticServer } from '../demo/server.mjs';
import { repo, CHROMIUM, native, MODEL_URL, messages, caseNamed, streamInPage, assertLoadedFully } from './fixtures.mjs';

let browser, server, origin;
before(async () => {
  ({ server } = createStaticServer());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
           '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'],
  });
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function openPage(url) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  await page.goto(`${origin}${url}`, { waitUntil: 'load' });
  return { page, errors, context };
}

test('WebGPU in the Worker: tiny-a streams the native CLI answers through engine.chat.completions.create', async () => {
  const { page, errors, context } = await openPage('/web/demo/');
  const created = await page.evaluate(async (url) => {
    const { Gemma4 } = await import('/web/engine/browser/gemma4.mjs');
    try {
      const progress = [];
      window.engine = await Gemma4.create({ model: { url }, dtype: 'f32', device: 'webgpu', onProgress: (p) => progress.push(p) });
      return { info: window.engine.info, progress };
    } catch (e) {
      return { error: { code: e.code, message: e.message } };
    }
  }, MODEL_URL);
  assert.ok(!created.error, JSON.stringify(created.error));
  assert.equal(created.info.backend, 'webgpu');
  assert.equal(created.info.device, 'webgpu');
  assert.match(created.info.deviceReason, /swiftshader/i);
  assertLoadedFully(created.progress);
  for (const name of ['greedy', 'sampled_seed7']) {
    const c = caseNamed(name);
    const streamed = await streamInPage(page, { messages, ...c.request });
    const content = streamed.map((ch) => ch.choices[0].delta.content ?? '').join('');
    assert.equal(content, c.text, `${name}: the answer on WebGPU equals the native CLI's`);
    assert.ok(streamed.filter((ch) => ch.choices[0].delta.content).length > 1, `${name}: it came in pieces`);
  }
  // The weights went to the GPU, not into the wasm heap: the heap stays far below them.
  const stats = await page.evaluate(() => window.engine.stats());
  const weights = fs.statSync(path.join(repo, 'tests/data/tiny-a/model.safetensors')).size;
  assert.ok(stats.bytes >= weights / 4, `read ${stats.bytes} bytes of the model`);
  await page.evaluate(() => window.engine.unload());
  assert.deepEqual(errors, []);
  await context.close();
});

test("the demo page on WebGPU says so; 'auto' passes over SwiftShader to the CPU and says why", async () => {
  const settings = { systemPrompt: '', temperature: 0, topP: 0.95, maxTokens: 32, thinking: false };
  for (const device of ['webgpu', 'auto']) {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.evaluateOnNewDocument((s) => localStorage.setItem('gemma4.settings', JSON.stringify(s)), settings);
    await page.goto(`${origin}/web/demo/?device=${device}&model=${encodeURIComponent(MODEL_URL)}`, { waitUntil: 'load' });
    await page.waitForSelector('#app:not([hidden]) .g4-input', { timeout: 60000 })
      .catch(async () => { throw new Error(`not loaded: ${await page.$eval('#error', (e) => e.textContent)}`); });
    const label = await page.$eval('.g4-brand small', (e) => ({ text: e.textContent, title: e.title }));
    if (device === 'webgpu') {
      assert.equal(label.text, 'WebGPU · f32');
      assert.match(label.title, /WebGPU adapter/);
    } else {
      assert.match(label.text, /^WebAssembly · \d+ threads · f32$/);
      assert.match(label.title, /software renderer/);
    }
    await page.type('.g4-input', native.prompt);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('.g4-stop').hidden && document.querySelector('.g4-msg:last-child .g4-stats'),
                               { timeout: 60000 });
    const answer = await page.evaluate(() => JSON.parse(localStorage.getItem('gemma4.conversations'))[0].messages.at(-1));
    assert.equal(answer.content, caseNamed('greedy').text, `${device}: the page shows the native CLI answer`);
    await context.close();
  }
});
