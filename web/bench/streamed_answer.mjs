// One streamed greedy answer after a short warm-up request: time to the first token gives
// prefill (prompt tokens over it), the rate after it decode. Self-contained (performance.now()
// only), so web/bench/cpu.mjs can also run it inside a page from its source text.
export async function streamedAnswer(engine, messages, maxTokens) {
  await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, temperature: 0 });
  const start = performance.now();
  let first = null, last = null, tokens = 0, usage = null;
  const stream = await engine.chat.completions.create({ messages, max_tokens: maxTokens, temperature: 0, stream: true,
                                                        stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    const n = chunk.choices[0]?.token_ids?.length ?? 0;  // the engine sends each token's ids in a chunk of its own
    if (n) {
      if (first === null) first = performance.now();
      last = performance.now();
    }
    tokens += n;
    if (chunk.usage) usage = chunk.usage;
  }
  return { prompt_tokens: usage?.prompt_tokens, completion_tokens: tokens,
           prefill_tok_s: usage ? usage.prompt_tokens / ((first - start) / 1000) : null,
           decode_tok_s: tokens > 1 ? (tokens - 1) / ((last - first) / 1000) : null };
}
