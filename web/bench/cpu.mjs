// The WebAssembly engine on the CPU, side by side in one run: in headless Chromium against wllama
// (llama.cpp built to WebAssembly) on the same checkpoint converted to GGUF, in Node, and against
// this engine's native build. Prefill and decode tokens per second of one streamed greedy answer,
// load time, and peak memory (the renderer process's peak RSS in Chromium, the process's in Node
// and natively: the wasm heap, JS and everything else the process holds).
//
//   node web/bench/cpu.mjs --model DIR --gguf FILE [--dtype q4_0] [--threads 2]
//        [--prompt-words 100] [--decode 32] [--runs native,node,chromium,wllama] [--json FILE]
//
// DIR is a Hugging Face folder (e.g. `gemma4 synth --preset e2b`) or a model file that
// `gemma4 convert` wrote from one (.g4w, loaded in its own dtype), FILE the GGUF that
// ../shared/peer-llamacpp/hf_to_gguf.py makes from it with the same weight type. wllama is
// installed next to this file (`cd web/bench && npm ci`). bench/web/compare_wllama.sh makes both
// models, runs this and writes docs/web-bench.md and the README's table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { streamedAnswer } from './streamed_answer.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

// A model file (.g4w): one file where a folder has many, its own weight type.
let modelFile = false;
const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    gguf: { type: 'string' },
    dtype: { type: 'string', default: 'q4_0' },
    threads: { type: 'string', default: '2' },
    'prompt-words': { type: 'string', default: '100' },
    decode: { type: 'string', default: '32' },
    runs: { type: 'string', default: 'native,node,chromium,wllama' },
    native: { type: 'string', default: path.join(repo, 'build/gemma4') },
    chromium: { type: 'string', default: process.env.GEMMA4_CHROMIUM || '/usr/bin/chromium' },
    one: { type: 'string' },  // internal: run one Node measurement in this process
    json: { type: 'string' },
  },
});

const threads = Number(args.threads);
const decode = Number(args.decode);
const words = Array.from({ length: Number(args['prompt-words']) },
                         (_, i) => ['river', 'stone', 'light', 'market', 'winter'][i % 5]);
const messages = [{ role: 'user', content: `${words.join(' ')}. Tell a long story.` }];

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

// Peak resident memory of a process, from /proc (VmHWM), in bytes.
function peakRss(pid = 'self') {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

// The processes under `root` (Chromium's renderers, its GPU and utility processes).
function descendants(root) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch { /* gone */ }
  }
  const out = [];
  const walk = (pid) => { for (const c of children.get(pid) || []) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

// Highest peak RSS among the browser's renderer processes (the page and its Workers run in one).
function rendererPeak(browserPid) {
  let peak = 0;
  for (const pid of descendants(browserPid)) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      peak = Math.max(peak, peakRss(pid) || 0);
    } catch { /* gone */ }
  }
  return peak;
}

modelFile = Boolean(args.model) && /\.g4w$/i.test(args.model) && fs.existsSync(args.model) && fs.statSync(args.model).isFile();
const label = modelFile ? ', model file' : '';

// ---- native ------------------------------------------------------------------------------------

function runNative(promptTokens) {
  if (!fs.existsSync(args.native)) fail(`${args.native} is missing: build it (cmake --build build --target gemma4)`);
  const out = path.join(os.tmpdir(), `gemma4-native-bench-${process.pid}.json`);
  execFileSync(args.native, ['bench', '--model', args.model, ...(modelFile ? [] : ['--dtype', args.dtype]), '--threads', String(threads),
                             '--prompt', String(promptTokens), '--gen', String(decode), '--reps', '1', '--json', out],
               { stdio: ['ignore', 'ignore', 'inherit'] });
  const r = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out, { force: true });
  const row = Array.isArray(r) ? r[0] : (r.results ? r.results[0] : r);
  return { engine: `gemma4 native${label}`, load_s: row.load_s, prompt_tokens: promptTokens, prefill_tok_s: row.prefill_tok_s,
           decode_tok_s: row.decode_tok_s, peak_bytes: row.peak_rss_bytes };
}

// ---- Node (the wasm engine in this process) ----------------------------------------------------

async function runNodeHere() {
  delete globalThis.fetch;  // emscripten 3.1.6's loader under Node 20 (see web/bin/gemma4-web.mjs)
  const { createRequire } = await import('node:module');
  const { Gemma4 } = createRequire(import.meta.url)('../engine/index.js');
  const t0 = performance.now();
  const engine = await Gemma4.create({ model: modelFile ? { file: args.model } : { dir: args.model },
                                       dtype: modelFile ? undefined : args.dtype, device: 'cpu', threads,
                                       max_context: 2048 });
  const load_s = (performance.now() - t0) / 1000;
  try {
    const r = await streamedAnswer(engine, messages, decode);
    return { engine: `gemma4 wasm, Node${label}`, load_s, ...r, peak_bytes: peakRss() };
  } finally {
    await engine.close();
  }
}

function runNode() {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--one', 'node'],
                      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) fail(`the Node run failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

// ---- Chromium ----------------------------------------------------------------------------------

async function withBrowser(fn) {
  const { default: puppeteer } = await import('puppeteer-core');
  const { createStaticServer } = await import('../demo/server.mjs');
  const { server } = createStaticServer({ mounts: { '/model/': modelFile ? path.dirname(path.resolve(args.model)) : path.resolve(args.model), '/gguf/': path.dirname(path.resolve(args.gguf || '.')) } });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gemma4-bench-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: args.chromium, headless: true, userDataDir: profile, protocolTimeout: 0,
    // As root (containers, CI) chromium's sandbox cannot start. Nothing leaves 127.0.0.1.
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const verbose = process.env.GEMMA4_BENCH_VERBOSE === '1';
    page.on('console', (m) => { if (verbose || m.type() === 'error') console.error(`[page] ${m.text()}`); });
    page.setDefaultTimeout(0);
    await page.goto(`${base}/web/bench/page.html`);
    const r = await fn(page);
    return { ...r, peak_bytes: rendererPeak(browser.process().pid) };
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function runChromium() {
  return withBrowser(async (page) => {
    const r = await page.evaluate(async (options, msgs, maxTokens, answerSource, modelUrl) => {
      const answer = eval(`(${answerSource})`);
      const { Gemma4 } = await import('/web/engine/browser/gemma4.mjs');
      const t0 = performance.now();
      const engine = await Gemma4.create({ model: { url: modelUrl }, ...options });
      const load_s = (performance.now() - t0) / 1000;
      const result = await answer(engine, msgs, maxTokens);
      const stats = await engine.stats();
      await engine.unload();
      return { load_s, ...result, heap_bytes: stats.heapBytes, threads: engine.info.threads };
    }, { dtype: modelFile ? undefined : args.dtype, threads, device: 'cpu', cache: false, max_context: 2048 }, messages, decode,
       streamedAnswer.toString(), modelFile ? `/model/${encodeURIComponent(path.basename(args.model))}` : '/model/');
    return { engine: `gemma4 wasm, Chromium${label}`, ...r };
  });
}

async function runWllama() {
  if (!args.gguf) fail('--gguf FILE is needed for the wllama run');
  const wllamaDir = path.join(here, 'node_modules/@wllama/wllama');
  if (!fs.existsSync(wllamaDir)) fail('wllama is not installed: cd web/bench && npm ci');
  const version = JSON.parse(fs.readFileSync(path.join(wllamaDir, 'package.json'), 'utf8')).version;
  return withBrowser(async (page) => {
    const r = await page.evaluate(async (options, msgs, maxTokens, ggufUrl) => {
      const { Wllama } = await import('/web/bench/node_modules/@wllama/wllama/esm/index.js');
      const wllama = new Wllama({ default: '/web/bench/node_modules/@wllama/wllama/esm/wasm/wllama.wasm' },
                                { suppressNativeLog: !options.verbose });
      const t0 = performance.now();
      await wllama.loadModelFromUrl(ggufUrl, { n_threads: options.threads, n_ctx: 2048, n_gpu_layers: 0, useCache: false });
      const load_s = (performance.now() - t0) / 1000;
      await wllama.createChatCompletion({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 });
      const start = performance.now();
      let first = null, last = null, tokens = 0, timings = null, usage = null;
      const stream = await wllama.createChatCompletion({ messages: msgs, max_tokens: maxTokens, temperature: 0, stream: true,
                                                        ignore_eos: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        if (chunk.choices?.[0]?.delta?.content) {
          if (first === null) first = performance.now();
          last = performance.now();
        }
        if (chunk.timings) timings = chunk.timings;
        if (chunk.usage) usage = chunk.usage;
      }
      tokens = usage?.completion_tokens ?? timings?.predicted_n ?? 0;
      const promptTokens = usage?.prompt_tokens ?? timings?.prompt_n;
      const multithread = wllama.isMultithread();
      await wllama.exit();
      return { load_s, prompt_tokens: promptTokens, completion_tokens: tokens,
               prefill_tok_s: promptTokens / ((first - start) / 1000),
               decode_tok_s: tokens > 1 ? (tokens - 1) / ((last - first) / 1000) : null,
               own_timings: timings, multithread };
    }, { threads, verbose: process.env.GEMMA4_BENCH_VERBOSE === '1' }, messages, decode, `/gguf/${path.basename(args.gguf)}`);
    return { engine: `wllama ${version}, Chromium`, ...r };
  });
}

// ---- main --------------------------------------------------------------------------------------

if (args.one === 'node') {
  console.log(JSON.stringify(await runNodeHere()));
  process.exit(0);
}
if (!args.model || (!modelFile && !fs.existsSync(path.join(args.model, 'config.json'))))
  fail('--model DIR (a folder with config.json) or a model file (.g4w) is needed');
const results = [];
const runs = args.runs.split(',');
const run = async (name, fn) => {
  if (!runs.includes(name)) return;
  console.error(`bench: ${name}...`);
  try {
    const r = await fn();
    results.push(r);
    console.error(`bench: ${name}: ${JSON.stringify(r)}`);
  } catch (e) {
    // A peer that cannot load the model is a result too: say so with its error.
    results.push({ engine: name, error: String(e?.message ?? e) });
    console.error(`bench: ${name} failed: ${e?.message ?? e}`);
  }
};
await run('chromium', runChromium);
await run('wllama', runWllama);
await run('node', async () => runNode());
const promptTokens = results.find((r) => r.prompt_tokens)?.prompt_tokens ?? 128;
await run('native', async () => runNative(promptTokens));

const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.cpus()[0]?.model;
const report = { date: new Date().toISOString().slice(0, 10), cpu, cores: os.cpus().length, dtype: args.dtype, threads,
                 decode, chromium: execFileSync(args.chromium, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(), results };
const table = [
  '| engine | prompt tokens | load s | prefill tok/s | decode tok/s | peak memory GiB |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => r.error ? `| ${r.engine} | failed: ${r.error.split('\n')[0]} | | | | |`
    : `| ${r.engine} | ${r.prompt_tokens} | ${r.load_s?.toFixed(1)} | ${r.prefill_tok_s?.toFixed(1)} | ${r.decode_tok_s?.toFixed(2)} | ${(r.peak_bytes / 2 ** 30).toFixed(2)} |`),
];
// The ratios the targets are stated in: decode in Chromium against wllama and against native.
const byName = (prefix) => results.find((r) => !r.error && r.engine.startsWith(prefix));
const ours = byName('gemma4 wasm, Chromium'), peer = byName('wllama'), native = byName('gemma4 native');
const ratios = [];
if (ours && peer) ratios.push(`decode ${(ours.decode_tok_s / peer.decode_tok_s).toFixed(2)}x wllama, prefill ${(ours.prefill_tok_s / peer.prefill_tok_s).toFixed(2)}x`);
if (ours && native) ratios.push(`decode ${(100 * ours.decode_tok_s / native.decode_tok_s).toFixed(0)} % of native`);
report.table = table;
report.ratios = ratios;
if (args.json) fs.writeFileSync(args.json, JSON.stringify(report, null, 2));
console.log([...table, '', ...ratios.map((r) => `gemma4 wasm in Chromium: ${r}`)].join('\n'));
