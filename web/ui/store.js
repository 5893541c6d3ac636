// Conversations and settings kept in the browser (localStorage), so a reload or a new tab on the
// same origin finds them again. Everything is plain JSON under a few keys.
const CONVERSATIONS = 'gemma4.conversations';
const SETTINGS = 'gemma4.settings';
const API_KEY = 'gemma4.apiKey';

export const DEFAULT_SETTINGS = Object.freeze({
  systemPrompt: '',
  temperature: 1.0,
  topP: 0.95,
  maxTokens: 512,
  thinking: false,
});

function read(storage, key, fallback) {
  try {
    const text = storage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return fallback;  // unreadable (private mode, corrupted): start fresh rather than break the page
  }
}

function write(storage, key, value) {
  try {
    storage.setItem(key, JSON.stringify(value));
    return true;
  } catch {
    return false;  // quota exceeded or storage disabled: the page keeps working for this visit
  }
}

export function createStore(storage = globalThis.localStorage) {
  return {
    // Newest first.
    loadConversations() {
      const list = read(storage, CONVERSATIONS, []);
      return Array.isArray(list) ? list.filter((c) => c && typeof c.id === 'string' && Array.isArray(c.messages)) : [];
    },
    saveConversations(list) { return write(storage, CONVERSATIONS, list); },
    loadSettings() { return { ...DEFAULT_SETTINGS, ...read(storage, SETTINGS, {}) }; },
    saveSettings(settings) { return write(storage, SETTINGS, settings); },
    loadApiKey() { return read(storage, API_KEY, ''); },
    saveApiKey(key) { return key ? write(storage, API_KEY, key) : (storage.removeItem(API_KEY), true); },
  };
}

export function newConversation() {
  const now = Date.now();
  return { id: `c${now.toString(36)}${Math.random().toString(36).slice(2, 8)}`, title: 'New chat', createdAt: now,
           updatedAt: now, messages: [] };
}
