// The OpenAI-shaped chat API over the engine, shared by the Node package (index.js, through
// import()) and the browser module (browser/gemma4.mjs): request checks, completion and chunk
// objects, streaming through a queue read with `for await`, cancellation by AbortSignal. The
// chat template, tokenizer, sampler and scheduler are the engine's own (C++); this only shapes
// what it returns. Each side passes its transport:
//   call(requestJson, onToken, onStart) -> Promise of the engine's reply message
//   cancel(callId)
// and its Gemma4Error class (the Node package's is CommonJS, so it cannot come from here).

// A queue read with `for await`: push() items, end() or fail(error) once. `onAbandon` runs when
// the reader stops before the end (break, return, throw in the loop body).
export class ChunkQueue {
  constructor(onAbandon = () => {}) {
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
  // Resolves once there is an item or the queue ended: { error } when it failed before any item.
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

export const usageOf = (r) => ({ prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens,
                                 total_tokens: r.prompt_tokens + r.completion_tokens });

export function completionObject(id, model, created, r) {
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

export function chunkObject(id, model, created, delta, finishReason = null, extra = {}) {
  return { id, object: 'chat.completion.chunk', created, model,
           choices: [{ index: 0, delta, finish_reason: finishReason, ...extra }] };
}

export const throwIfError = (Gemma4Error, message) => {
  if (message.error) throw new Gemma4Error(message.error.code, message.error.message);
  return message;
};

// engine.chat.completions.create(request): a completion object, or for `stream: true` a queue of
// chunks. A bad request rejects the promise itself, before any chunk; an aborted `signal` ends
// either with Gemma4Error 'cancelled'.
export async function createChatCompletion({ request, model, call, cancel, Gemma4Error }) {
  if (!request || typeof request !== 'object') throw new Gemma4Error('bad_request', 'the request must be an object');
  const id = `chatcmpl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const created = Math.floor(Date.now() / 1000);
  const { signal, ...body } = request;
  if (signal?.aborted) throw new Gemma4Error('cancelled', 'the request was aborted');
  const includeUsage = !!body.stream_options?.include_usage;
  delete body.stream_options;
  const json = JSON.stringify(body);
  const cancelOnAbort = (callId) => signal?.addEventListener('abort', () => cancel(callId), { once: true });
  if (!body.stream) {
    const r = throwIfError(Gemma4Error, await call(json, null, cancelOnAbort));
    if (r.finish_reason === 'cancelled') throw new Gemma4Error('cancelled', 'the request was aborted');
    return completionObject(id, model, created, r);
  }
  let callId = 0;
  const queue = new ChunkQueue(() => cancel(callId));
  let first = true;
  const opening = () => {
    if (first) queue.push(chunkObject(id, model, created, { role: 'assistant', content: '' }));
    first = false;
  };
  const onToken = (e) => {
    opening();
    if (e.content !== undefined) queue.push(chunkObject(id, model, created, { content: e.content }));
    if (e.reasoning !== undefined) queue.push(chunkObject(id, model, created, { reasoning_content: e.reasoning }));
    if (e.token !== undefined) queue.push(chunkObject(id, model, created, {}, null, { token_ids: [e.token] }));
  };
  const onStart = (c) => {
    callId = c;
    cancelOnAbort(c);
  };
  const done = call(json, onToken, onStart).then((r) => {
    if (r.error) queue.fail(new Gemma4Error(r.error.code, r.error.message));
    else if (r.finish_reason === 'cancelled') queue.fail(new Gemma4Error('cancelled', 'the request was aborted'));
    else {
      opening();
      const last = chunkObject(id, model, created, {}, r.finish_reason);
      if (includeUsage) last.usage = usageOf(r);
      queue.push(last);
      queue.end();
    }
    return r;
  }, (e) => {
    queue.fail(e);
    return { error: { code: e.code, message: e.message } };
  });
  // Request errors come back before any token: reject create() for them.
  const firstItem = await queue.peek();
  if (firstItem.error && first) throwIfError(Gemma4Error, await done);
  return queue;
}
