// Server-sent events from a fetch() body: yields the `data:` payload of each event. Events are
// separated by a blank line; a payload may span several `data:` lines (joined with "\n").
export async function* readSseData(body, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const onAbort = () => reader.cancel().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = eventEnd(buffer)) !== null) {
        const event = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end.length);
        const data = dataOf(event);
        if (data !== null) yield data;
      }
    }
    const data = dataOf(buffer + decoder.decode());
    if (data !== null) yield data;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock?.();
  }
}

// Where the first event ends: "\n\n" or "\r\n\r\n".
function eventEnd(buffer) {
  const m = /\r?\n\r?\n/.exec(buffer);
  return m ? { index: m.index, length: m[0].length } : null;
}

function dataOf(event) {
  const lines = event.split(/\r?\n/).filter((l) => l.startsWith('data:'));
  if (lines.length === 0) return null;
  return lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n');
}
