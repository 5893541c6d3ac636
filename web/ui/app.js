// The chat page: mountChatApp(root, { backend }) builds the whole UI inside `root` and talks to
// the model only through `backend` (an OpenAI-shaped object, see docs/webui.md), so the page
// served by `gemma4 serve` and an in-browser build share it.
import { createStore, newConversation } from './store.js';
import { describeError, editorElement, h, messageElement } from './message_view.js';

export function mountChatApp(root, { backend, storage } = {}) {
  if (!backend) throw new TypeError('mountChatApp needs { backend }');
  const store = createStore(storage);
  const state = {
    conversations: store.loadConversations(),
    currentId: null,
    settings: store.loadSettings(),
    model: null,
    running: null,      // { controller, conversation, message } while an answer streams
    editing: false,
  };
  if (backend.setApiKey) backend.setApiKey(store.loadApiKey());
  state.currentId = state.conversations[0]?.id ?? null;

  const ui = buildLayout(root, backend);
  const current = () => state.conversations.find((c) => c.id === state.currentId) ?? null;
  const save = () => store.saveConversations(state.conversations);

  // ---- rendering ----
  function renderList() {
    ui.list.replaceChildren(...state.conversations.map((c) => h('li', { class: c.id === state.currentId ? 'g4-active' : '' },
      h('button', { type: 'button', class: 'g4-conv', text: c.title, title: c.title, onclick: () => select(c.id) }),
      h('button', { type: 'button', class: 'g4-conv-delete', 'aria-label': `Delete ${c.title}`, text: '×',
                    onclick: () => remove(c.id) }))));
  }

  function renderMessages() {
    const conv = current();
    const messages = conv?.messages ?? [];
    const lastUser = messages.findLastIndex((m) => m.role === 'user');
    const idle = !state.running;
    const items = messages.map((m, i) => {
      if (state.editing && i === lastUser) {
        return editorElement(m.content, { save: (text) => finishEdit(text), cancel: () => { state.editing = false; renderMessages(); } });
      }
      return messageElement(m, {
        editable: idle && !state.editing && i === lastUser,
        regenerable: idle && !state.editing && m.role === 'assistant' && i === messages.length - 1,
        actions: { edit: startEdit, regenerate },
      });
    });
    if (items.length === 0) items.push(h('div', { class: 'g4-empty', text: 'Ask something to start a chat.' }));
    ui.messages.replaceChildren(...items);
    scrollToEnd();
  }

  let frame = 0;
  // Streaming re-renders at most once per frame; only the answer being written changes.
  function renderRunningSoon() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const run = state.running;
      if (!run || run.conversation.id !== state.currentId) return;
      const last = ui.messages.lastElementChild;
      const fresh = messageElement(run.message);
      if (last?.classList.contains('g4-pending')) last.replaceWith(fresh); else ui.messages.append(fresh);
      scrollToEnd();
    });
  }

  function scrollToEnd() {
    const m = ui.messages;
    const nearEnd = m.scrollHeight - m.scrollTop - m.clientHeight < 120;
    if (nearEnd || state.running) m.scrollTop = m.scrollHeight;
  }

  function renderComposer() {
    const running = !!state.running;
    ui.send.hidden = running;
    ui.stop.hidden = !running;
    ui.root.classList.toggle('g4-running', running);
  }

  function renderAll() {
    renderList();
    renderMessages();
    renderComposer();
    ui.title.textContent = current()?.title ?? 'New chat';
  }

  // ---- conversations ----
  function select(id) {
    state.currentId = id;
    state.editing = false;
    ui.root.classList.remove('g4-sidebar-open');
    renderAll();
  }

  function remove(id) {
    if (state.running?.conversation.id === id) stop();
    state.conversations = state.conversations.filter((c) => c.id !== id);
    if (state.currentId === id) state.currentId = state.conversations[0]?.id ?? null;
    save();
    renderAll();
  }

  function startNew() {
    state.currentId = null;
    state.editing = false;
    ui.root.classList.remove('g4-sidebar-open');
    renderAll();
    ui.input.focus();
  }

  function ensureConversation() {
    let conv = current();
    if (!conv) {
      conv = newConversation();
      state.conversations.unshift(conv);
      state.currentId = conv.id;
    }
    return conv;
  }

  // ---- generation ----
  function requestBody(conv) {
    const s = state.settings;
    const messages = [];
    if (s.systemPrompt.trim()) messages.push({ role: 'system', content: s.systemPrompt });
    for (const m of conv.messages) {
      if (m.role === 'assistant' && (m.pending || (m.error && !m.content))) continue;  // failed answers are not context
      messages.push({ role: m.role, content: m.content });
    }
    const body = { messages, stream: true, stream_options: { include_usage: true },
                   chat_template_kwargs: { enable_thinking: !!s.thinking } };
    if (state.model) body.model = state.model;
    if (Number.isFinite(s.temperature)) body.temperature = s.temperature;
    if (Number.isFinite(s.topP)) body.top_p = s.topP;
    if (Number.isFinite(s.maxTokens) && s.maxTokens > 0) body.max_tokens = s.maxTokens;
    return body;
  }

  async function generate(conv) {
    const message = { role: 'assistant', content: '', reasoning: '', pending: true };
    const body = requestBody(conv);
    conv.messages.push(message);
    const controller = new AbortController();
    state.running = { controller, conversation: conv, message };
    renderAll();
    const started = performance.now();
    let firstAt = null;
    let usage = null;
    let timings = null;
    let finishReason = null;
    try {
      for await (const chunk of backend.createChatCompletionStream(body, { signal: controller.signal })) {
        const choice = chunk.choices?.[0];
        const delta = choice?.delta ?? {};
        if (delta.content || delta.reasoning_content) firstAt ??= performance.now();
        if (delta.content) message.content += delta.content;
        if (delta.reasoning_content) message.reasoning += delta.reasoning_content;
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
        if (chunk.timings) timings = chunk.timings;
        renderRunningSoon();
      }
      if (controller.signal.aborted) message.stopped = true;  // a backend that ends quietly when stopped
    } catch (e) {
      if (e?.name === 'AbortError' || controller.signal.aborted) message.stopped = true;
      else {
        message.error = { message: e?.message ?? String(e), status: e?.status ?? null, code: e?.code ?? null, type: e?.type ?? null };
        if (e?.status === 401) showKeyPrompt(describeError(e).message);
      }
    }
    const ended = performance.now();
    message.pending = false;
    if (usage || firstAt !== null) message.stats = answerStats({ usage, timings, finishReason, started, firstAt, ended });
    state.running = null;
    conv.updatedAt = Date.now();
    save();
    renderAll();
  }

  function send(text) {
    const content = text.trim();
    if (!content || state.running) return;
    const conv = ensureConversation();
    conv.messages.push({ role: 'user', content });
    if (conv.title === 'New chat') conv.title = content.split('\n')[0].slice(0, 60);
    moveToTop(conv);
    save();
    ui.input.value = '';
    autosize(ui.input);
    generate(conv);
  }

  function moveToTop(conv) {
    state.conversations = [conv, ...state.conversations.filter((c) => c !== conv)];
  }

  function stop() {
    state.running?.controller.abort();
  }

  function regenerate() {
    const conv = current();
    if (!conv || state.running) return;
    if (conv.messages.at(-1)?.role === 'assistant') conv.messages.pop();
    generate(conv);
  }

  function startEdit() {
    if (state.running) return;
    state.editing = true;
    renderMessages();
  }

  // The edited message replaces the last one; everything after it (its answer) is redone.
  function finishEdit(text) {
    const conv = current();
    state.editing = false;
    const i = conv.messages.findLastIndex((m) => m.role === 'user');
    if (!text.trim() || i < 0) { renderMessages(); return; }
    conv.messages.splice(i);
    conv.messages.push({ role: 'user', content: text.trim() });
    save();
    generate(conv);
  }

  // ---- API key and model ----
  function showKeyPrompt(message) {
    ui.keyBanner.hidden = false;
    ui.keyMessage.textContent = message;
    ui.keyInput.focus();
  }

  async function connect() {
    ui.status.textContent = 'connecting…';
    try {
      const models = await backend.listModels();
      state.model = models[0]?.id ?? null;
      ui.status.textContent = state.model ?? 'no model';
      ui.keyBanner.hidden = true;
      ui.root.dataset.connected = 'true';
    } catch (e) {
      ui.root.dataset.connected = 'false';
      const { title, message } = describeError(e);
      ui.status.textContent = title;
      if (e?.status === 401) {
        const hadKey = !!ui.keyInput.value || !!store.loadApiKey();
        showKeyPrompt(hadKey ? `The server rejected this API key: ${message}` : 'This server needs an API key.');
      } else if (e?.status === 503) {
        setTimeout(connect, 1000);  // the model is still loading
      }
    }
  }

  function saveKey() {
    const key = ui.keyInput.value.trim();
    store.saveApiKey(key);
    backend.setApiKey?.(key);
    connect();
  }

  // ---- settings ----
  function openSettings() {
    const s = state.settings;
    ui.form.systemPrompt.value = s.systemPrompt;
    ui.form.temperature.value = s.temperature;
    ui.form.topP.value = s.topP;
    ui.form.maxTokens.value = s.maxTokens;
    ui.form.thinking.checked = s.thinking;
    ui.form.apiKey.value = store.loadApiKey();
    ui.settings.showModal();
  }

  function applySettings() {
    const f = ui.form;
    const num = (input, fallback) => (input.value.trim() === '' ? fallback : Number(input.value));
    state.settings = {
      systemPrompt: f.systemPrompt.value,
      temperature: num(f.temperature, NaN),
      topP: num(f.topP, NaN),
      maxTokens: Math.trunc(num(f.maxTokens, 0)),
      thinking: f.thinking.checked,
    };
    store.saveSettings(state.settings);
    const key = f.apiKey.value.trim();
    if (key !== store.loadApiKey()) {
      ui.keyInput.value = key;
      saveKey();
    }
  }

  // ---- events ----
  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); send(ui.input.value); });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(ui.input.value); }
  });
  ui.input.addEventListener('input', () => autosize(ui.input));
  ui.stop.addEventListener('click', stop);
  ui.newChat.addEventListener('click', startNew);
  ui.menu.addEventListener('click', () => ui.root.classList.toggle('g4-sidebar-open'));
  ui.openSettings.addEventListener('click', openSettings);
  ui.form.addEventListener('submit', () => applySettings());  // method=dialog closes it
  ui.keyForm.addEventListener('submit', (e) => { e.preventDefault(); saveKey(); });
  const onKey = (e) => {
    if (e.key === 'Escape' && state.running && !ui.settings.open) { e.preventDefault(); stop(); }
  };
  document.addEventListener('keydown', onKey);

  renderAll();
  connect();
  ui.input.focus();

  return {
    backend,
    stop,
    unmount() {
      stop();
      document.removeEventListener('keydown', onKey);
      root.replaceChildren();
    },
  };
}

// Token counts from usage; speed from the server's timings when it sends them (llama.cpp's
// shape), else measured here from the first streamed token to the end.
function answerStats({ usage, timings, finishReason, started, firstAt, ended }) {
  const stats = { finishReason };
  if (usage) {
    stats.promptTokens = usage.prompt_tokens;
    stats.cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? 0;
    stats.completionTokens = usage.completion_tokens;
    stats.reasoningTokens = usage.completion_tokens_details?.reasoning_tokens ?? 0;
  }
  if (firstAt !== null) stats.firstTokenMs = firstAt - started;
  if (timings?.predicted_per_second) {
    stats.tokensPerSecond = timings.predicted_per_second;
  } else if (usage && firstAt !== null && usage.completion_tokens > 1 && ended > firstAt) {
    stats.tokensPerSecond = (usage.completion_tokens - 1) / ((ended - firstAt) / 1000);
  }
  return stats;
}

function autosize(area) {
  area.style.height = 'auto';
  area.style.height = `${Math.min(area.scrollHeight, 240)}px`;
}

function buildLayout(root, backend) {
  const ui = {};
  ui.list = h('ul', { class: 'g4-list', 'aria-label': 'Conversations' });
  ui.newChat = h('button', { type: 'button', class: 'g4-button g4-new', text: '+ New chat' });
  ui.menu = h('button', { type: 'button', class: 'g4-icon g4-menu', 'aria-label': 'Conversations', text: '☰' });
  ui.title = h('h1', { class: 'g4-title' });
  ui.status = h('span', { class: 'g4-status' });
  ui.openSettings = h('button', { type: 'button', class: 'g4-icon g4-open-settings', 'aria-label': 'Settings', text: '⚙' });
  ui.messages = h('div', { class: 'g4-messages', role: 'log', 'aria-live': 'polite' });
  ui.input = h('textarea', { class: 'g4-input', rows: 1, placeholder: 'Message (Enter sends, Shift+Enter for a new line)', 'aria-label': 'Message' });
  ui.send = h('button', { type: 'submit', class: 'g4-button g4-send', text: 'Send' });
  ui.stop = h('button', { type: 'button', class: 'g4-button g4-stop', text: 'Stop', title: 'Stop (Esc)', hidden: true });
  ui.composer = h('form', { class: 'g4-composer' }, ui.input, ui.send, ui.stop);

  ui.keyInput = h('input', { type: 'password', class: 'g4-key-input', autocomplete: 'off', placeholder: 'API key', 'aria-label': 'API key' });
  ui.keyMessage = h('span', { class: 'g4-key-message' });
  ui.keyForm = h('form', { class: 'g4-key-form' }, ui.keyInput, h('button', { type: 'submit', class: 'g4-button g4-key-save', text: 'Use key' }));
  ui.keyBanner = h('div', { class: 'g4-key-banner', role: 'alert', hidden: true }, ui.keyMessage, ui.keyForm);

  const field = (label, input) => h('label', { class: 'g4-field' }, h('span', { text: label }), input);
  ui.form = h('form', { method: 'dialog', class: 'g4-settings-form' },
    h('h2', { text: 'Settings' }),
    field('System prompt', h('textarea', { name: 'systemPrompt', rows: 4 })),
    h('div', { class: 'g4-row' },
      field('Temperature', h('input', { name: 'temperature', type: 'number', min: 0, max: 2, step: 0.05 })),
      field('Top-p', h('input', { name: 'topP', type: 'number', min: 0, max: 1, step: 0.01 })),
      field('Max tokens', h('input', { name: 'maxTokens', type: 'number', min: 1, step: 1 }))),
    h('label', { class: 'g4-check' }, h('input', { name: 'thinking', type: 'checkbox' }), h('span', { text: 'Thinking (reasoning before the answer)' })),
    field('API key (only if the server needs one)', h('input', { name: 'apiKey', type: 'password', autocomplete: 'off' })),
    h('div', { class: 'g4-dialog-actions' },
      h('button', { type: 'button', class: 'g4-link', text: 'Cancel', onclick: () => ui.settings.close() }),
      h('button', { type: 'submit', class: 'g4-button g4-settings-save', text: 'Save' })));
  ui.settings = h('dialog', { class: 'g4-settings' }, ui.form);

  const sidebar = h('aside', { class: 'g4-sidebar' },
    h('div', { class: 'g4-brand' }, h('span', { text: 'gemma4' }), h('small', { text: backend.label ?? '', title: backend.title ?? '' })),
    ui.newChat, ui.list);
  const main = h('main', { class: 'g4-main' },
    h('header', { class: 'g4-header' }, ui.menu, ui.title, ui.status, ui.openSettings),
    ui.keyBanner, ui.messages, ui.composer);
  ui.root = h('div', { class: 'g4-app' }, sidebar, h('div', { class: 'g4-scrim', onclick: () => ui.root.classList.remove('g4-sidebar-open') }), main, ui.settings);
  root.replaceChildren(ui.root);
  return ui;
}
