// The gemma4 engine in a browser page: the WebAssembly module runs in a dedicated Worker
// (worker.js), so the page never blocks; this module gives it the same OpenAI-shaped API as the
// Node package (web/engine/index.js):
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

export class Gemma4Error extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'Gemma4Error';
    this.code = code;
  }
}

const defaultModuleUrl = () => new URL('../../../build-wasm/web-engine-browser/gemma4_engine_web.js', import.meta.url).href;
const defaultWorkerUrl = () => new URL('./worker.js', import.meta.url).href;

// A queue read with `for await`; `onAbandon` runs when the reader stops before the end.
class ChunkQueue {
  constructor(onAbandon) {
    this.onAbandon = onAbandon;
    this.items = [];
    this.waiters = [];
    this.finished = false;
    this.error = null;
  }
  push(item) { this.items.push(item); this.wake(); }
  end() { this.finished = true; this.wake(); }
  fail(error) { this.error = error; this.finished = true; this.wake(); }
  wake() { for (const w of this.waiters.splice(0)) w(); }
  async peek() {
    while (!this.items.length && !this.finished) await new Promise((r) => this.waiters.push(r));
    return this.items.length ? { item: this.items[0] } : { error: this.error };
  }
  async *[Symbol.asyncIterator]() {
    let drained = false;
    try {
      for (;;) {
        if (this.items.length) { yield this.items.shift(); continue; }
        drained = this.finished;
        if (this.error) throw this.error;
        if (this.finished) return;
        await new Promise((r) => this.waiters.push(r));
      }
    } finally {
      if (!drained) this.onAbandon();
    }
  }
}

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
    else if (m.type === 'mounted') call.mounted = m.files;
    else if (m.type === 'reply') {
      this.calls.delete(m.call);
      call.resolve({ ...m.message, _mounted: call.mounted });
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

const throwIfError = (message) => {
  if (message.error) throw new Gemma4Error(message.error.code, message.error.message);
  return message;
};

function completionObject(id, model, created, r) {
  const message = { role: 'assistant', content: r.content };
  if (r.reasoning) message.reasoning_content = r.reasoning;
  if (r.tool_calls.length)
    message.tool_calls = r.tool_calls.map((c, i) => ({
      id: `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments },
    }));
  return {
    id, object: 'chat.completion', created, model,
    choices: [{ index: 0, message, finish_reason: r.finish_reason, token_ids: r.tokens }],
    usage: usageOf(r),
  };
}

const usageOf = (r) => ({ prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens,
                          total_tokens: r.prompt_tokens + r.completion_tokens });

function chunkObject(id, model, created, delta, finishReason = null, extra = {}) {
  return { id, object: 'chat.completion.chunk', created, model,
           choices: [{ index: 0, delta, finish_reason: finishReason, ...extra }] };
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
    if (!request || typeof request !== 'object') throw new Gemma4Error('bad_request', 'the request must be an object');
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000);
    const { signal, ...body } = request;
    if (signal?.aborted) throw new Gemma4Error('cancelled', 'the request was aborted');
    const includeUsage = !!body.stream_options?.include_usage;
    delete body.stream_options;
    const fields = { handle: this.handle, request: JSON.stringify(body) };
    const onStart = (call) => signal?.addEventListener('abort', () => this.host.cancel(call), { once: true });
    if (!body.stream) {
      const r = throwIfError(await this.host.call('chat', fields, null, onStart));
      if (r.finish_reason === 'cancelled') throw new Gemma4Error('cancelled', 'the request was aborted');
      return completionObject(id, this.model, created, r);
    }
    let callId = 0;
    const queue = new ChunkQueue(() => this.host.cancel(callId));
    let first = true;
    const opening = () => {
      if (first) queue.push(chunkObject(id, this.model, created, { role: 'assistant', content: '' }));
      first = false;
    };
    const onToken = (e) => {
      opening();
      if (e.content !== undefined) queue.push(chunkObject(id, this.model, created, { content: e.content }));
      if (e.reasoning !== undefined) queue.push(chunkObject(id, this.model, created, { reasoning_content: e.reasoning }));
      if (e.token !== undefined) queue.push(chunkObject(id, this.model, created, {}, null, { token_ids: [e.token] }));
    };
    const done = this.host.call('chat', fields, onToken, (call) => { callId = call; onStart(call); }).then((r) => {
      if (r.error) queue.fail(new Gemma4Error(r.error.code, r.error.message));
      else if (r.finish_reason === 'cancelled') queue.fail(new Gemma4Error('cancelled', 'the request was aborted'));
      else {
        opening();
        const last = chunkObject(id, this.model, created, {}, r.finish_reason);
        if (includeUsage) last.usage = usageOf(r);
        queue.push(last);
        queue.end();
      }
      return r;
    }, (e) => { queue.fail(e); return { error: { code: e.code, message: e.message } }; });
    const firstItem = await queue.peek();
    if (firstItem.error && first) throwIfError(await done);
    return queue;
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
  // options.model: { url: base URL of a model folder (config.json, tokenizer.json, safetensors
  //   as on the Hugging Face Hub), headers: extra request headers (e.g. Authorization) }
  //   or { files: [File, ...] } picked by the user (the folder's files).
  // options.dtype ("f32", "bf16", "q8_0", "q4_0"), threads, max_context, onProgress({ loaded,
  // total, file }), onLog(text), moduleUrl and workerUrl (where the module and worker.js are served).
  async create(options = {}) {
    const model = options.model;
    if (!model || (typeof model.url !== 'string' && !Array.isArray(model.files)))
      throw new Gemma4Error('bad_request', "create() needs { model: { url: 'https://…/model-folder/' } } or { model: { files } }");
    if (!globalThis.crossOriginIsolated)
      throw new Gemma4Error('not_cross_origin_isolated',
        'this page is not cross-origin isolated, so the WebAssembly engine cannot share memory between its threads: ' +
        'serve it with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"');
    const threads = options.threads || Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
    const host = new WorkerHost(options.workerUrl || defaultWorkerUrl());
    host.onProgress = options.onProgress || null;
    host.onLog = options.onLog || null;
    const source = model.url ? { url: new URL(model.url, location.href).href, headers: model.headers || {} } : { files: model.files };
    const engineOptions = { dtype: options.dtype || 'f32', threads, max_context: options.max_context || 2048 };
    let r;
    try {
      r = throwIfError(await host.call('open', { moduleUrl: new URL(options.moduleUrl || defaultModuleUrl(), location.href).href,
                                                 source, options: engineOptions }));
    } catch (e) {
      host.terminate();
      throw e instanceof Gemma4Error ? e : new Gemma4Error('internal_error', String(e?.message ?? e));
    }
    return new BrowserEngine(host, r.handle, {
      backend: 'wasm', model: r.model, threads, dtype: engineOptions.dtype, crossOriginIsolated: true,
      simd: true, files: r._mounted || [], warnings: r.warnings || [],
    });
  },
};
