// One chat message as DOM: the user's text, or the assistant's reasoning (collapsible), answer
// (Markdown), error and statistics. Pure rendering: actions are passed in as callbacks.
import { renderMarkdown } from './markdown.js';

export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

// The words a person sees for an error, by what they can do about it.
export function describeError(error) {
  const message = error?.message ?? String(error);
  if (error?.code === 'context_length_exceeded') return { title: 'Context too long', message, kind: 'context' };
  if (error?.code === 'kv_capacity_exceeded') return { title: 'Too long for this server', message, kind: 'context' };
  if (error?.status === 429) return { title: 'Server busy', message: `${message} Try again in a moment.`, kind: 'busy' };
  if (error?.status === 401) return { title: 'API key needed', message, kind: 'auth' };
  if (error?.status === 503) return { title: 'Server not ready', message, kind: 'busy' };
  if (error?.status === 0) return { title: 'Cannot reach the server', message, kind: 'network' };
  return { title: `Error${error?.status ? ` ${error.status}` : ''}`, message, kind: 'other' };
}

export function formatStats(stats) {
  const parts = [];
  if (stats.promptTokens != null) {
    parts.push(`prompt ${stats.promptTokens} tok${stats.cachedTokens ? ` (${stats.cachedTokens} cached)` : ''}`);
  }
  if (stats.completionTokens != null) {
    parts.push(`answer ${stats.completionTokens} tok${stats.reasoningTokens ? ` (${stats.reasoningTokens} reasoning)` : ''}`);
  }
  if (stats.tokensPerSecond) parts.push(`${stats.tokensPerSecond.toFixed(1)} tok/s`);
  if (stats.firstTokenMs != null) parts.push(`first token ${Math.round(stats.firstTokenMs)} ms`);
  if (stats.finishReason === 'length') parts.push('cut at max tokens');
  return parts.join(' · ');
}

function statsLine(stats) {
  return h('div', {
    class: 'g4-stats',
    text: formatStats(stats),
    dataset: {
      promptTokens: stats.promptTokens ?? '', cachedTokens: stats.cachedTokens ?? '',
      completionTokens: stats.completionTokens ?? '', finishReason: stats.finishReason ?? '',
    },
  });
}

function reasoningBlock(message) {
  const open = message.pending && !message.content;  // open while the model thinks, folded after
  const details = h('details', { class: 'g4-reasoning', open },
    h('summary', { text: message.pending && !message.content ? 'Thinking…' : 'Reasoning' }),
    h('div', { class: 'g4-reasoning-body' }, renderMarkdown(message.reasoning)));
  return details;
}

function errorBlock(error) {
  const { title, message, kind } = describeError(error);
  return h('div', { class: `g4-error g4-error-${kind}`, role: 'alert', dataset: { code: error.code ?? '', status: error.status ?? '' } },
    h('strong', { text: title }), h('span', { text: ` ${message}` }));
}

// actions: { edit, regenerate } shown only where allowed (the last user message / last answer).
export function messageElement(message, { editable = false, regenerable = false, actions = {} } = {}) {
  const role = message.role === 'user' ? 'user' : 'assistant';
  const body = h('div', { class: 'g4-body' });
  if (role === 'user') {
    body.append(h('div', { class: 'g4-user-text', text: message.content }));
  } else {
    if (message.reasoning) body.append(reasoningBlock(message));
    const content = h('div', { class: 'g4-content' }, renderMarkdown(message.content));
    if (message.pending) content.append(h('span', { class: 'g4-cursor', 'aria-hidden': 'true' }));
    body.append(content);
    if (message.stopped) body.append(h('div', { class: 'g4-note', text: 'Stopped.' }));
    if (message.error) body.append(errorBlock(message.error));
    if (message.stats) body.append(statsLine(message.stats));
  }
  const tools = h('div', { class: 'g4-msg-actions' },
    editable && h('button', { type: 'button', class: 'g4-link g4-edit', text: 'Edit', onclick: actions.edit }),
    regenerable && h('button', { type: 'button', class: 'g4-link g4-regenerate', text: 'Regenerate', onclick: actions.regenerate }));
  return h('div', { class: `g4-msg g4-${role}${message.pending ? ' g4-pending' : ''}` },
    h('div', { class: 'g4-role', text: role === 'user' ? 'You' : 'Assistant' }), body,
    tools.childElementCount ? tools : null);
}

// The last user message being edited in place.
export function editorElement(text, { save, cancel }) {
  const area = h('textarea', { class: 'g4-edit-area', rows: 3, 'aria-label': 'Edit message' });
  area.value = text;
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(area.value); }
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); cancel(); }
  });
  const el = h('div', { class: 'g4-msg g4-user g4-editing' },
    h('div', { class: 'g4-role', text: 'You' }),
    h('div', { class: 'g4-body' }, area,
      h('div', { class: 'g4-msg-actions' },
        h('button', { type: 'button', class: 'g4-button g4-edit-save', text: 'Send', onclick: () => save(area.value) }),
        h('button', { type: 'button', class: 'g4-link g4-edit-cancel', text: 'Cancel', onclick: cancel }))));
  queueMicrotask(() => { area.focus(); area.setSelectionRange(area.value.length, area.value.length); });
  return el;
}
