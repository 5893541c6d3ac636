'use strict';
// Loads the wasm module once and routes its asynchronous replies (src/wasm/engine_api.cpp) to
// the promise or stream of the call that asked.
const path = require('node:path');

const defaultModulePath = () =>
  process.env.GEMMA4_ENGINE_MODULE || path.join(__dirname, '..', '..', 'build-wasm', 'web-engine', 'gemma4_engine.js');

class ModuleHost {
  static async load(modulePath = defaultModulePath()) {
    const host = new ModuleHost();
    const create = require(modulePath);
    host.calls = new Map();
    host.nextCall = 1;
    host.gpus = new Map();  // WebGPU engines by id (src/wasm/js_forward_backend.cpp)
    host.nextGpu = 1;
    host.module = await create({
      gemma4Reply: (call, text) => host.reply(call, JSON.parse(text)),
      gemma4Token: (call, text) => host.token(call, JSON.parse(text)),
      gemma4Gpu: (gpu, kind, words) => {
        const engine = host.gpus.get(gpu);
        return engine ? engine.handle(kind, words) : Promise.reject(new Error(`no WebGPU engine ${gpu}`));
      },
    });
    return host;
  }

  // Starts `fn(callId, ...)` and returns its reply; `onToken` receives the call's stream events,
  // `onStart` its id (for cancel()).
  call(fnName, args, onToken = null, onStart = null) {
    const id = this.nextCall++;
    if (onStart) onStart(id);
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject, onToken });
      const types = ['number', ...args.map((a) => (typeof a === 'string' ? 'string' : 'number'))];
      this.module.ccall(fnName, null, types, [id, ...args]);
    });
  }

  // Makes a WebGPU engine host (web/webgpu/src/engine_host.js) reachable from the module; returns
  // the id the engine's options name it by.
  addGpu(engineHost) {
    const id = this.nextGpu++;
    this.gpus.set(id, engineHost);
    return id;
  }

  removeGpu(id) {
    this.gpus.get(id)?.destroy();
    this.gpus.delete(id);
  }

  // Asks the engine to stop the completion of call `id`, if it is still running.
  cancel(id) {
    if (this.calls.has(id)) this.module.ccall('gemma4_cancel', null, ['number'], [id]);
  }

  shutdown() {
    const pthread = this.module.PThread;
    if (!pthread) return;
    for (const w of [...pthread.unusedWorkers, ...pthread.runningWorkers]) w.terminate();
  }

  reply(id, message) {
    const call = this.calls.get(id);
    if (!call) return;
    this.calls.delete(id);
    call.resolve(message);
  }

  token(id, message) {
    const call = this.calls.get(id);
    if (call && call.onToken) call.onToken(message);
  }
}

module.exports = { ModuleHost };
