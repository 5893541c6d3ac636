'use strict';
// The gemma4 engine as WebAssembly, under Node:
//
//   const { Gemma4 } = require('@gemma4/engine');
//   const engine = await Gemma4.create({ model: { dir: '/path/to/gemma-4-E2B-it' } });
//   const answer = await engine.chat.completions.create({ messages, max_tokens: 64 });
//   for await (const chunk of await engine.chat.completions.create({ messages, stream: true })) ...
//   await engine.close();
//
// The chat template, tokenizer, sampler and scheduler are the engine's own (C++); this file only
// shapes the answers as OpenAI chat completion objects.
const fs = require('node:fs');
const path = require('node:path');
const { Gemma4Error } = require('./errors');
const { ModuleHost } = require('./module_host');
const { AsyncQueue } = require('./async_queue');

let hostPromise = null;
const host = () => (hostPromise ||= ModuleHost.load());

const throwIfError = (message) => {
  if (message.error) throw new Gemma4Error(message.error.code, message.error.message);
  return message;
};

function checkModelFolder(model) {
  if (!model || typeof model.dir !== 'string')
    throw new Gemma4Error('bad_request', "create() needs { model: { dir: 'path/to/model/folder' } }");
  for (const name of ['config.json', 'tokenizer.json']) {
    if (!fs.existsSync(path.join(model.dir, name)))
      throw new Gemma4Error('model_error', `file not found: ${path.join(model.dir, name)}`);
  }
}

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
    usage: { prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens,
             total_tokens: r.prompt_tokens + r.completion_tokens },
  };
}

function chunkObject(id, model, created, delta, finishReason = null, extra = {}) {
  return { id, object: 'chat.completion.chunk', created, model,
           choices: [{ index: 0, delta, finish_reason: finishReason, ...extra }] };
}

class Engine {
  constructor(host, handle, model) {
    this.host = host;
    this.handle = handle;
    this.model = model;
    this.closed = false;
    this.chat = { completions: { create: (request) => this.createCompletion(request) } };
  }

  async createCompletion(request) {
    if (this.closed) throw new Gemma4Error('engine_closed', 'the engine is closed');
    if (!request || typeof request !== 'object')
      throw new Gemma4Error('bad_request', 'the request must be an object');
    const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const created = Math.floor(Date.now() / 1000);
    const { signal, ...body } = request;
    if (signal && signal.aborted) throw new Gemma4Error('cancelled', 'the request was aborted');
    if (!body.stream) {
      const r = throwIfError(await this.host.call('gemma4_chat', [this.handle, JSON.stringify(body)], null,
                                                  (call) => this.cancelOnAbort(signal, call)));
      if (r.finish_reason === 'cancelled') throw new Gemma4Error('cancelled', 'the request was aborted');
      return completionObject(id, this.model, created, r);
    }
    return this.stream(id, created, body, signal);
  }

  cancelOnAbort(signal, call) {
    if (signal) signal.addEventListener('abort', () => this.host.cancel(call), { once: true });
  }

  // Chunks arrive while the engine generates; the reply ends the stream (or rejects it). A bad
  // request rejects the create() promise itself, before any chunk.
  async stream(id, created, request, signal) {
    let callId = 0;
    const queue = new AsyncQueue(() => this.host.cancel(callId));
    let first = true;
    const onToken = (e) => {
      if (first) queue.push(chunkObject(id, this.model, created, { role: 'assistant', content: '' }));
      first = false;
      if (e.content !== undefined) queue.push(chunkObject(id, this.model, created, { content: e.content }));
      if (e.reasoning !== undefined)
        queue.push(chunkObject(id, this.model, created, { reasoning_content: e.reasoning }));
      if (e.token !== undefined) queue.push(chunkObject(id, this.model, created, {}, null, { token_ids: [e.token] }));
    };
    const start = (call) => {
      callId = call;
      this.cancelOnAbort(signal, call);
    };
    const done = this.host.call('gemma4_chat', [this.handle, JSON.stringify(request)], onToken, start).then((r) => {
      if (r.error) {
        queue.fail(new Gemma4Error(r.error.code, r.error.message));
        return r;
      }
      if (r.finish_reason === 'cancelled') {
        queue.fail(new Gemma4Error('cancelled', 'the request was aborted'));
        return r;
      }
      if (first) queue.push(chunkObject(id, this.model, created, { role: 'assistant', content: '' }));
      queue.push(chunkObject(id, this.model, created, {}, r.finish_reason));
      queue.end();
      return r;
    });
    // Request errors come back before any token: reject create() for them.
    const firstItem = await queue.peek();
    if (firstItem.error && first) throwIfError(await done);
    return queue;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.host.call('gemma4_close', [this.handle]);
  }
}

const Gemma4 = {
  // options.model.dir: a Hugging Face model folder (config.json, tokenizer.json, safetensors).
  // options.dtype ("f32", "bf16", "q8_0", "q4_0"), threads, max_context.
  async create(options = {}) {
    checkModelFolder(options.model);
    const h = await host();
    const engineOptions = { dtype: options.dtype || 'f32', threads: options.threads || 2,
                            max_context: options.max_context || 2048 };
    const r = throwIfError(await h.call('gemma4_open', [path.resolve(options.model.dir), JSON.stringify(engineOptions)]));
    return new Engine(h, r.handle, r.model);
  },

  // Ends the module's worker threads so that Node can exit; close every engine first.
  shutdown() {
    if (!hostPromise) return;
    hostPromise.then((h) => h.shutdown());
    hostPromise = null;
  },
};

module.exports = { Gemma4, Gemma4Error };
