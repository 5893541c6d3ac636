// The chat page's backend for `gemma4 serve` (or any OpenAI-compatible server): HTTP + SSE.
// Shape: see docs/webui.md (label, listModels, createChatCompletionStream, needsApiKey, setApiKey,
// status). Errors thrown are BackendError with the HTTP status and OpenAI's error code and type.
import { readSseData } from './sse.js';

export class BackendError extends Error {
  constructor(message, { status = 0, code = null, type = null, param = null } = {}) {
    super(message);
    this.name = 'BackendError';
    this.status = status;
    this.code = code;
    this.type = type;
    this.param = param;
  }
}

// An OpenAI-shaped error body (or anything else a proxy may answer) as a BackendError.
async function errorFromResponse(res) {
  let text = '';
  try { text = await res.text(); } catch { /* body lost: the status still says enough */ }
  let error = null;
  try { error = JSON.parse(text)?.error ?? null; } catch { /* not JSON */ }
  const message = error?.message || text.trim() || `HTTP ${res.status} ${res.statusText}`;
  return new BackendError(message, { status: res.status, code: error?.code ?? null, type: error?.type ?? null,
                                     param: error?.param ?? null });
}

function networkError(e) {
  if (e?.name === 'AbortError') return e;
  return new BackendError(`Cannot reach the server (${e?.message ?? e})`, { status: 0, code: 'network_error' });
}

export function createServerBackend({ baseUrl = '', apiKey = '' } = {}) {
  const root = baseUrl.replace(/\/+$/, '');
  let key = apiKey;

  const headers = (extra = {}) => {
    const h = { ...extra };
    if (key) h.Authorization = `Bearer ${key}`;
    return h;
  };

  async function request(path, init = {}) {
    let res;
    try {
      res = await fetch(`${root}${path}`, { ...init, headers: headers(init.headers) });
    } catch (e) {
      throw networkError(e);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  const backend = {
    label: 'gemma4 serve',
    // Unknown until the server answers: set by listModels() or status() on a 401.
    needsApiKey: false,
    setApiKey(newKey) { key = newKey ?? ''; },

    async listModels() {
      try {
        const res = await request('/v1/models');
        return (await res.json()).data ?? [];
      } catch (e) {
        if (e.status === 401) backend.needsApiKey = true;
        throw e;
      }
    },

    // /health needs no key; it says whether the model is loaded.
    async status() {
      try {
        const res = await fetch(`${root}/health`);
        const body = await res.json().catch(() => ({}));
        return { ok: res.ok, status: body.status ?? `HTTP ${res.status}` };
      } catch (e) {
        return { ok: false, status: 'unreachable', error: String(e?.message ?? e) };
      }
    },

    // Yields chat.completion.chunk objects; an error the server sends mid-stream is thrown.
    async *createChatCompletionStream(body, { signal } = {}) {
      const res = await request('/v1/chat/completions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({ ...body, stream: true }),
        signal,
      });
      try {
        for await (const data of readSseData(res.body, signal)) {
          if (data === '[DONE]') return;
          let chunk;
          try { chunk = JSON.parse(data); } catch { throw new BackendError(`Bad event from the server: ${data.slice(0, 200)}`, { status: 502 }); }
          if (chunk.error) {
            const e = chunk.error;
            throw new BackendError(e.message ?? 'The server reported an error', { status: Number(e.status) || 500, code: e.code ?? null, type: e.type ?? null });
          }
          yield chunk;
        }
        // Cancelling the reader ends the body quietly; the caller must still learn it was stopped.
        if (signal?.aborted) throw new DOMException('The request was stopped', 'AbortError');
      } catch (e) {
        if (signal?.aborted) throw new DOMException('The request was stopped', 'AbortError');
        throw e instanceof BackendError ? e : networkError(e);
      }
    },
  };
  return backend;
}
