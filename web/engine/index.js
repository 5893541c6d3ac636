'use strict';
// The gemma4 engine as WebAssembly, under Node:
//
//   const { Gemma4 } = require('@gemma4/engine');
//   const engine = await Gemma4.create({ model: { dir: '/path/to/gemma-4-E2B-it' } });
//   const converted = await Gemma4.create({ model: { file: 'gemma-4-E2B-it-q4_0.g4w' } });  // `gemma4 convert`
//   const gpu = await Gemma4.create({ model: { dir }, device: 'webgpu', dtype: 'q4_0' });  // engine.info.device
//   const answer = await engine.chat.completions.create({ messages, max_tokens: 64 });
//   for await (const chunk of await engine.chat.completions.create({ messages, stream: true })) ...
//   await engine.close();
//
// The chat template, tokenizer, sampler and scheduler are the engine's own (C++); the answers are
// shaped as OpenAI chat completion objects by chat_completions.mjs, which the browser module shares.
// With device 'webgpu' only the forward pass moves: web/webgpu/ runs it on the GPU (Dawn, from the
// `webgpu` npm package of web/webgpu/), driven step by step by the same engine.
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

// The path the engine opens: a model folder, or a model file (.g4w) that `gemma4 convert` wrote.
function modelPath(model) {
  if (model && typeof model.hub === 'string')
    throw new Gemma4Error('bad_request', `in Node the model is a local folder: download ${model.hub} with \`gemma4 pull ${model.hub}\` and pass { model: { dir } }`);
  if (model && typeof model.file === 'string') {
    if (!fs.existsSync(model.file)) throw new Gemma4Error('model_error', `file not found: ${model.file}`);
    if (!fs.statSync(model.file).isFile()) throw new Gemma4Error('bad_request', `${model.file} is not a file: pass a folder as { model: { dir } }`);
    return path.resolve(model.file);
  }
  if (!model || typeof model.dir !== 'string')
    throw new Gemma4Error('bad_request', "create() needs { model: { dir: 'path/to/model/folder' } } or { model: { file: 'model.g4w' } }");
  for (const name of ['config.json', 'tokenizer.json']) {
    if (!fs.existsSync(path.join(model.dir, name)))
      throw new Gemma4Error('model_error', `file not found: ${path.join(model.dir, name)}`);
  }
  return path.resolve(model.dir);
}

// The chat API shared with the browser module (an ES module, so loaded with import()).
let chatApiPromise = null;
const chatApi = () => (chatApiPromise ||= import('./chat_completions.mjs'));

// The WebGPU side (web/webgpu/src/device_choice.js, an ES module), loaded only when asked for.
let deviceChoicePromise = null;
const deviceChoice = () => (deviceChoicePromise ||= import('../webgpu/src/device_choice.js'));

// Loads the weights onto the GPU when options.device asks for it; returns { device, reason, host }.
async function prepareDevice(options, dtype) {
  const device = options.device || 'cpu';
  if (device === 'cpu') return { device, reason: 'asked for the CPU' };
  try {
    return await (await deviceChoice()).openOnDevice({ device, dtype, dir: options.model.dir });
  } catch (e) {
    throw new Gemma4Error(e.code || 'model_error', e.message);
  }
}

class Engine {
  constructor(host, handle, model, api, info, gpuId) {
    this.host = host;
    this.handle = handle;
    this.model = model;
    this.api = api;
    this.info = info;  // { device: 'cpu' | 'webgpu', reason, dtype }
    this.gpuId = gpuId;
    this.closed = false;
    this.chat = { completions: { create: (request) => this.createCompletion(request) } };
  }

  async createCompletion(request) {
    if (this.closed) throw new Gemma4Error('engine_closed', 'the engine is closed');
    return this.api.createChatCompletion({
      request, model: this.model, Gemma4Error,
      call: (json, onToken, onStart) => this.host.call('gemma4_chat', [this.handle, json], onToken, onStart).then((m) => this.deviceLost(m)),
      cancel: (call) => this.host.cancel(call),
    });
  }

  // A step that failed because the GPU went away is reported as such: create a new engine.
  deviceLost(message) {
    const lost = this.gpuId && this.host.gpus.get(this.gpuId)?.lost;
    return message.error && lost ? { error: { code: 'device_lost', message: lost.message } } : message;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.host.call('gemma4_close', [this.handle]);
    if (this.gpuId) this.host.removeGpu(this.gpuId);
  }
}

const Gemma4 = {
  // options.model.dir: a Hugging Face model folder (config.json, tokenizer.json, safetensors); or
  // options.model.file: a model file (.g4w) that `gemma4 convert` wrote (its own dtype by default).
  // options.dtype ("f32", "bf16", "q8_0", "q4_0"), threads, max_context, parallel (requests
  // batched into one step, default 1), device ("cpu", the
  // default; "webgpu": the forward pass on the GPU, f32/q8_0/q4_0; "auto": WebGPU when a hardware
  // adapter is there, else the CPU). engine.info says which runs and why.
  async create(options = {}) {
    const model = modelPath(options.model);
    if (options.model.file && options.device && options.device !== 'cpu')
      throw new Gemma4Error('bad_request', 'the WebGPU backend loads a model folder ({ model: { dir } }), not a model file');
    const h = await host();
    // A model file loads in the weight type it holds unless dtype says otherwise (then it is refused).
    const dtype = options.dtype || (options.model.file ? undefined : 'f32');
    const engineOptions = { dtype, threads: options.threads || 2, max_context: options.max_context || 2048,
                            parallel: options.parallel || 1 };
    const device = await prepareDevice(options, dtype);
    const gpuId = device.host ? h.addGpu(device.host) : 0;
    if (gpuId) Object.assign(engineOptions, { device: 'webgpu', gpu: gpuId });
    let r, api;
    try {
      [r, api] = await Promise.all([
        h.call('gemma4_open', [model, JSON.stringify(engineOptions)]).then(throwIfError),
        chatApi(),
      ]);
    } catch (e) {
      if (gpuId) h.removeGpu(gpuId);
      throw e;
    }
    return new Engine(h, r.handle, r.model, api, { device: device.device, reason: device.reason, dtype: r.dtype }, gpuId);
  },

  // Ends the module's worker threads so that Node can exit; close every engine first.
  shutdown() {
    if (!hostPromise) return;
    hostPromise.then((h) => h.shutdown());
    hostPromise = null;
  },
};

module.exports = { Gemma4, Gemma4Error };
