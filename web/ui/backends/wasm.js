// The chat page's backend for the engine running in this browser tab (WebAssembly in a Worker,
// web/engine/browser/gemma4.mjs). Same shape as backends/server.js (docs/webui.md): label,
// listModels, createChatCompletionStream, status. `engine` is what Gemma4.create() returned.
import { BackendError } from './server.js';

// The engine's error codes as the HTTP-like statuses the page words its messages by.
const statusOf = {
  bad_request: 400, context_overflow: 400, unauthorized: 401, not_found: 404, cancelled: 499,
  overloaded: 429, shutting_down: 503, engine_closed: 503, device_lost: 503, out_of_memory: 507,
};

function backendError(e) {
  if (e?.name === 'AbortError') return e;
  const code = e?.code === 'context_overflow' ? 'context_length_exceeded' : (e?.code ?? null);
  return new BackendError(e?.message ?? String(e), { status: statusOf[e?.code] ?? 500, code, type: 'engine_error' });
}

export function createWasmBackend({ engine, label, title } = {}) {
  if (!engine?.chat?.completions) throw new TypeError('createWasmBackend needs { engine } from Gemma4.create()');
  const info = engine.info ?? {};
  return {
    label: label ?? (info.device === 'webgpu' ? 'in this browser · WebGPU' : `in this browser · WebAssembly · ${info.threads ?? '?'} threads`),
    title: title ?? info.deviceReason ?? '',
    needsApiKey: false,
    setApiKey() {},

    async listModels() {
      return [{ id: info.model ?? engine.model ?? 'gemma4', object: 'model',
                owned_by: info.device === 'webgpu' ? 'gemma4 (WebGPU)' : 'gemma4 (WebAssembly)' }];
    },

    async status() {
      return engine.closed ? { ok: false, status: 'unloaded' } : { ok: true, status: 'ok' };
    },

    // Yields chat.completion.chunk objects; Stop (the signal) cancels the request in the engine.
    async *createChatCompletionStream(body, { signal } = {}) {
      const { model, chat_template_kwargs, ...request } = body;
      let stream;
      try {
        stream = await engine.chat.completions.create({ ...request, stream: true, signal });
      } catch (e) {
        if (signal?.aborted) throw new DOMException('The request was stopped', 'AbortError');
        throw backendError(e);
      }
      try {
        for await (const chunk of stream) yield chunk;
      } catch (e) {
        if (signal?.aborted || e?.code === 'cancelled') throw new DOMException('The request was stopped', 'AbortError');
        throw backendError(e);
      }
    },
  };
}
