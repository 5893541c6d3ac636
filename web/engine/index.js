'use strict';
// The gemma4 engine as WebAssembly, under Node:
//
//   const { Gemma4 } = require('@gemma4/engine');
//   const engine = await Gemma4.create({ model: { dir: '/path/to/gemma-4-E2B-it' } });
//   const answer = await engine.chat.completions.create({ messages, max_tokens: 64 });
//   for await (const chunk of await engine.chat.completions.create({ messages, stream: true })) ...
//   await engine.close();
//
// The chat template, tokenizer, sampler and scheduler are the engine's own (C++); the answers are
// shaped as OpenAI chat completion objects by chat_completions.mjs, which the browser module shares.
const fs = require('node:fs');
const path = require('node:path');
const { Gemma4Error } = require('./errors');
const { ModuleHost } = require('./module_host');

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

// The chat API shared with the browser module (an ES module, so loaded with import()).
let chatApiPromise = null;
const chatApi = () => (chatApiPromise ||= import('./chat_completions.mjs'));

class Engine {
  constructor(host, handle, model, api) {
    this.host = host;
    this.handle = handle;
    this.model = model;
    this.api = api;
    this.closed = false;
    this.chat = { completions: { create: (request) => this.createCompletion(request) } };
  }

  async createCompletion(request) {
    if (this.closed) throw new Gemma4Error('engine_closed', 'the engine is closed');
    return this.api.createChatCompletion({
      request, model: this.model, Gemma4Error,
      call: (json, onToken, onStart) => this.host.call('gemma4_chat', [this.handle, json], onToken, onStart),
      cancel: (call) => this.host.cancel(call),
    });
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
    const [r, api] = await Promise.all([
      h.call('gemma4_open', [path.resolve(options.model.dir), JSON.stringify(engineOptions)]).then(throwIfError),
      chatApi(),
    ]);
    return new Engine(h, r.handle, r.model, api);
  },

  // Ends the module's worker threads so that Node can exit; close every engine first.
  shutdown() {
    if (!hostPromise) return;
    hostPromise.then((h) => h.shutdown());
    hostPromise = null;
  },
};

module.exports = { Gemma4, Gemma4Error };
