// The page `gemma4 serve` answers at /: the chat app on the server backend of the same origin.
import { mountChatApp } from './app.js';
import { createServerBackend } from './backends/server.js';

window.gemma4Chat = mountChatApp(document.getElementById('app'), { backend: createServerBackend({ baseUrl: '' }) });
