// The gemma4 engine in a browser page: the WebAssembly module runs in a dedicated Worker
// (worker.js), so the page never blocks; this module gives it the same OpenAI-shaped API as the
// Node package (web/engine/index.js), through the code both share (../chat_completions.mjs):
//
//   import { Gemma4, Gemma4Error } from './engine/browser/gemma4.mjs';
//   const engine = await Gemma4.create({ model: { url: '/models/tiny-a/' }, threads: 2, onProgress });
//   const answer = await engine.chat.completions.create({ messages, max_tokens: 64 });
//   for await (const chunk of await engine.chat.completions.create({ messages, stream: true })) ...
//   await engine.unload();
//
// The page must be cross-origin isolated (COOP same-origin + COEP require-corp): the engine's
// threads share memory through SharedArrayBuffer. Without it create() rejects with
// Gemma4Error code 'not_cross_origin_isolated'.

import { createChatCompletion, throwIfError as sharedThrowIfError } from '../chat_completions.mjs';

export class Gemma4Error extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'Gemma4Error';
    this.code = code;
  }
}

const defaultModuleUrl = () => new URL('../../../build-wasm/web-engine-browser/gemma4_engine_web.js', import.meta.url).href;
const defaultWorkerUrl = () => new URL('./worker.js', import.meta.url).href;

// The worker and the calls waiting for its replies.
class WorkerHost {
  constructor(workerUrl) {
    this.worker = new Worker(workerUrl, { name: 'gemma4-engine' });
    this.calls = new Map();
    this.nextCall = 1;
    this.onProgress = null;
    this.onLog = null;
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault?.();
      const error = new Gemma4Error('worker_error', `the engine's worker failed: ${e.message || 'unknown error'}`);
      for (const call of this.calls.values()) call.reject(error);
      this.calls.clear();
    };
  }
  receive(m) {
    if (m.type === 'progress') { this.onProgress?.({ loaded: m.loaded, total: m.total, file: m.file }); return; }
    if (m.type === 'log') { this.onLog?.(m.text); return; }
    const call = this.calls.get(m.call);
    if (!call) return;
    if (m.type === 'token') call.onToken?.(m.message);
    else if (m.type === 'mounted') { call.mounted = m.files; call.cache = m.cache; }
    else if (m.type === 'device') call.device = m.info;
    else if (m.type === 'reply') {
      this.calls.delete(m.call);
      call.resolve({ ...m.message, _mounted: call.mounted, _device: call.device, _cache: call.cache });
    }
  }
  // Posts { type, call, ...fields } and resolves with the reply; `onToken` gets stream events.
  call(type, fields, onToken = null, onStart = null) {
    const call = this.nextCall++;
    onStart?.(call);
    return new Promise((resolve, reject) => {
      this.calls.set(call, { resolve, reject, onToken });
      this.worker.postMessage({ type, call, ...fields });
    });
  }
  cancel(call) {
    if (this.calls.has(call)) this.worker.postMessage({ type: 'cancel', call });
  }
  terminate() {
    this.worker.terminate();
    const error = new Gemma4Error('engine_closed', 'the engine is closed');
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
  }
}

const throwIfError = (message) => sharedThrowIfError(Gemma4Error, message);

const HUB_ENDPOINT = 'https://huggingface.co';
const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

// Where the model's files are read from: { url, headers, name } or { files }. A Hub id becomes
// the repository's resolve/ URL (files as on the Hub, Range requests through its CDN); `token`
// becomes the Authorization header a gated model needs.
function modelSource(model) {
  const headers = { ...(model.headers || {}) };
  if (model.token) headers.Authorization = `Bearer ${model.token}`;
  if (typeof model.hub === 'string') {
    if (!HUB_ID.test(model.hub) || model.hub.includes('..'))
      throw new Gemma4Error('bad_request', `'${model.hub}' is not a Hugging Face model id (org/name)`);
    const revision = model.revision || 'main';
    if (!/^[A-Za-z0-9._-]+$/.test(revision) || revision.includes('..'))
      throw new Gemma4Error('bad_request', `'${revision}' is not a revision (a branch, tag or commit)`);
    const endpoint = (model.endpoint || HUB_ENDPOINT).replace(/\/+$/, '');
    return { url: new URL(`${endpoint}/${model.hub}/resolve/${encodeURIComponent(revision)}/`, location.href).href, headers,
             name: model.hub.split('/')[1] };
  }
  if (typeof model.url === 'string') return { url: new URL(model.url, location.href).href, headers };
  return { files: model.files };
}

class BrowserEngine {
  constructor(host, handle, info) {
    this.host = host;
    this.handle = handle;
    this.model = info.model;
    // What runs the model: shown by the demo page.
    this.info = info;
    this.closed = false;
    this.chat = { completions: { create: (request) => this.createCompletion(request) } };
  }

  async createCompletion(request) {
    if (this.closed) throw new Gemma4Error('engine_closed', 'the engine is closed');
    return createChatCompletion({
      request, model: this.model, Gemma4Error,
      call: (json, onToken, onStart) => this.host.call('chat', { handle: this.handle, request: json }, onToken, onStart),
      cancel: (call) => this.host.cancel(call),
    });
  }

  // Bytes read for the model so far ({ requests, bytes, tableRequests, tableBytes, heapBytes }).
  async stats() {
    return throwIfError(await this.host.call('stats', {}));
  }

  async unload() {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.host.call('close', { handle: this.handle });
    } finally {
      this.host.terminate();
    }
  }

  close() { return this.unload(); }
}

export const Gemma4 = {
  // options.model: { hub: 'org/name' (a Hugging Face model id), revision: 'main', endpoint:
  //   'https://huggingface.co' } or { url: base URL of a model folder (config.json,
  //   tokenizer.json, safetensors as on the Hub) }, either with headers (extra request headers)
  //   and token (a Hub access token, for gated models); or { files: [File, ...] } picked by the
  //   user (the folder's files). A model file (.g4w) that `gemma4 convert` wrote is one URL
  //   ({ url: 'https://…/model.g4w' }) or one picked file, and loads in its own dtype by default.
  // options.dtype ("f32", "bf16", "q8_0", "q4_0"), threads, max_context, parallel (requests
  // batched into one step, default 1), device ("auto", the
  // default: WebGPU when the browser has a hardware adapter, else the CPU; "webgpu"; "cpu"),
  // onProgress({ loaded, total, file }), onLog(text), moduleUrl and workerUrl (where the module
  // and worker.js are served), cache (default true: downloaded files are kept in the Origin Private
  // File System, so the next load and an interrupted one read what is there; info.cache says
  // whether it is on and why not). engine.info.device says which runs the model, deviceReason why.
  async create(options = {}) {
    const model = options.model;
    if (!model || (typeof model.url !== 'string' && typeof model.hub !== 'string' && !Array.isArray(model.files)))
      throw new Gemma4Error('bad_request',
        "create() needs { model: { hub: 'org/name' } }, { model: { url: 'https://…/model-folder/' } } or { model: { files } }");
    if (!globalThis.crossOriginIsolated)
      throw new Gemma4Error('not_cross_origin_isolated',
        'this page is not cross-origin isolated, so the WebAssembly engine cannot share memory between its threads: ' +
        'serve it with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"');
    const source = modelSource(model);
    const threads = options.threads || Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
    const host = new WorkerHost(options.workerUrl || defaultWorkerUrl());
    host.onProgress = options.onProgress || null;
    host.onLog = options.onLog || null;
    // A model file (.g4w) loads in the weight type it holds unless dtype says otherwise.
    const modelFile = source.url ? /\.g4w$/i.test(new URL(source.url).pathname)
                                 : source.files.filter((f) => /\.g4w$/i.test(f.name)).length === 1 &&
                                   !source.files.some((f) => f.name === 'config.json');
    const engineOptions = { dtype: options.dtype || (modelFile ? undefined : 'f32'), threads, max_context: options.max_context || 2048,
                            parallel: options.parallel || 1,
                            device: options.device || 'auto' };
    let r;
    try {
      r = throwIfError(await host.call('open', { moduleUrl: new URL(options.moduleUrl || defaultModuleUrl(), location.href).href,
                                                 source, options: engineOptions, cache: options.cache !== false }));
    } catch (e) {
      host.terminate();
      throw e instanceof Gemma4Error ? e : new Gemma4Error('internal_error', String(e?.message ?? e));
    }
    const device = r._device || { device: 'cpu', reason: '' };
    return new BrowserEngine(host, r.handle, {
      backend: device.device === 'webgpu' ? 'webgpu' : 'wasm', device: device.device, deviceReason: device.reason,
      model: r.model, threads, dtype: r.dtype || engineOptions.dtype, crossOriginIsolated: true,
      simd: true, files: r._mounted || [], warnings: r.warnings || [], cache: r._cache || null,
    });
  },
};
