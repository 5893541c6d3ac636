// The demo page: pick a model (a URL or a folder), watch it load, then chat with it in the chat
// UI of web/ui on the in-browser backend (web/ui/backends/wasm.js). The engine runs its forward
// pass on WebGPU when the browser has a hardware adapter (device 'auto'), else on the CPU; the
// chat's backend label says which, and its tooltip why.
import { mountChatApp } from '../ui/app.js';
import { createWasmBackend } from '../ui/backends/wasm.js';
import { Gemma4 } from '../engine/browser/gemma4.mjs';

const $ = (id) => document.getElementById(id);
const isolated = globalThis.crossOriginIsolated === true;
$('env').textContent = isolated
  ? `Cross-origin isolated: the engine runs in a Worker with ${navigator.hardwareConcurrency || '?'} cores available.`
  : 'This page is not cross-origin isolated (no COOP/COEP headers), so the threaded engine cannot start. Serve it with `npm run demo`.';

const formatBytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB`
                            : `${(n / 1024).toFixed(0)} kB`);

let loading = false;
async function load(model) {
  if (loading) return;
  loading = true;
  $('error').hidden = true;
  const bar = $('progress');
  bar.hidden = false;
  bar.removeAttribute('value');
  const started = performance.now();
  $('progress-text').textContent = 'starting the engine…';
  try {
    const engine = await Gemma4.create({
      model, dtype: $('dtype').value || undefined, threads: Number($('threads').value) || 2, device: $('device').value,
      onProgress: ({ loaded, total, file }) => {
        bar.max = total || 1;
        bar.value = loaded;
        const seconds = (performance.now() - started) / 1000;
        const rate = loaded / Math.max(seconds, 1e-3);
        const eta = rate > 0 ? (total - loaded) / rate : 0;
        $('progress-text').textContent = `${file}: ${formatBytes(loaded)} of ${formatBytes(total)}` +
          ` · ${formatBytes(rate)}/s${loaded < total ? ` · ${eta.toFixed(0)} s left` : ''}`;
      },
    });
    window.gemma4Engine = engine;
    const info = engine.info;
    const backend = createWasmBackend({
      engine, label: info.device === 'webgpu' ? `WebGPU · ${info.dtype}` : `WebAssembly · ${info.threads} threads · ${info.dtype}`,
      title: info.deviceReason,
    });
    $('loader').hidden = true;
    $('app').hidden = false;
    window.gemma4Chat = mountChatApp($('app'), { backend });
  } catch (e) {
    $('error').textContent = `${e.code ? `${e.code}: ` : ''}${e.message}`;
    $('error').hidden = false;
    bar.hidden = true;
    $('progress-text').textContent = '';
  } finally {
    loading = false;
  }
}

// A Hugging Face model id (org/name) or a folder URL.
const modelOf = (text) => (/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(text) ? { hub: text } : { url: text });
$('url-form').addEventListener('submit', (e) => {
  e.preventDefault();
  load(modelOf($('model-url').value.trim()));
});
$('model-files').addEventListener('change', () => {
  const files = [...$('model-files').files];
  if (files.length) load({ files });
});
$('model-file').addEventListener('change', () => {
  const files = [...$('model-file').files];
  if (files.length) load({ files });
});
// ?model=URL loads at once (links, the browser test); ?device= and ?dtype= preset the choices.
const params = new URLSearchParams(location.search);
for (const name of ['device', 'dtype']) if (params.get(name)) $(name).value = params.get(name);
const preset = params.get('model');
if (preset) { $('model-url').value = preset; load(modelOf(preset)); }
