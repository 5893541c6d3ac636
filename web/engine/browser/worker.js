// The gemma4 engine's dedicated Worker (a classic worker script, started by gemma4.mjs). It loads
// the WebAssembly module (build-wasm/web-engine-browser/gemma4_engine_web.js), whose pthreads run
// in nested Workers, and puts the model's files into the module's file system:
//
// - config.json, tokenizer.json, generation_config.json, model.safetensors.index.json: fetched
//   (or read from the picked File) and written into memory;
// - each .safetensors file: a file node whose reads are served on demand, by synchronous HTTP
//   Range requests against the model URL or by FileReaderSync over a slice of the picked File.
//   The engine reads each decoder tensor once, converts it and frees the copy (requests of at
//   most BLOCK_BYTES, which is what the download progress counts), and the embedding tables row
//   by row as tokens need them (the engine keeps the last 64 rows); the per-layer table never
//   enters the heap whole.
//
// With options.device 'webgpu' or 'auto' (and a usable adapter) the forward pass runs on the GPU
// (web/webgpu/, loaded here with import()): the weights go from the source straight to GPU
// buffers, the module reads only config.json and tokenizer.json, and its scheduler, prefix cache
// and sampler drive the GPU step by step (src/wasm/js_forward_backend.cpp).
//
// Messages in:  { type: 'open', call, moduleUrl, source, options } | { type: 'chat', call, handle,
//   request } | { type: 'cancel', call } | { type: 'close', call, handle } | { type: 'stats', call }.
// Messages out: { type: 'reply', call, message } | { type: 'token', call, message } |
//   { type: 'device', call, info } | { type: 'progress', loaded, total, file } | { type: 'log', text }.
'use strict';

const BLOCK_BYTES = 8 << 20;  // the largest Range request for a tensor's bytes
const EIO = 29;               // emscripten's errno for an I/O error

let mod = null;
let modulePromise = null;
let nextModel = 1;
let ioError = null;  // the last failed read, reported with the engine's error that it caused
const gpus = new Map();        // WebGPU engine hosts by id (engine_host.js)
const handleGpu = new Map();   // engine handle -> its GPU id
const callHandle = new Map();  // chat call -> engine handle
const openingGpu = new Map();  // open call -> the GPU id its engine will use
const closingGpu = new Map();  // close call -> the GPU id to let go of once closed
let nextGpu = 1;
const stats = { requests: 0, bytes: 0, tableRequests: 0, tableBytes: 0, wholeFileReads: 0, cacheBytes: 0 };
importScripts('model_cache.js');  // self.openModelCache: the model's files kept in OPFS

class WorkerError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

const post = (message) => self.postMessage(message);

function httpError(url, status, statusText) {
  if (status === 404) return new WorkerError('not_found', `${url}: not found (HTTP 404)`);
  if (status === 401 || status === 403)
    return new WorkerError('unauthorized', `${url}: HTTP ${status} (a gated or private model needs an access token: pass model.headers)`);
  return new WorkerError('network_error', `${url}: HTTP ${status} ${statusText || ''}`.trim());
}

// ---- the places files come from --------------------------------------------------------------

// A model file (.g4w) that `gemma4 convert` wrote, rather than a model folder.
const MODEL_FILE = /\.g4w$/i;

// A model folder at a base URL, or a model file's URL. `read` is synchronous (only a worker may
// do that).
function urlSource(base, headers = {}, name = null) {
  const whole = new URL(base, self.location.href);
  const file = MODEL_FILE.test(whole.pathname) ? decodeURIComponent(whole.pathname.split('/').pop()) : null;
  const root = file ? new URL('./', whole) : new URL(base.endsWith('/') ? base : `${base}/`, self.location.href);
  const urlOf = (name) => new URL(name, root).href;
  const setHeaders = (xhr) => { for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v); };
  const validators = {};  // per file: its ETag or Last-Modified, when the server sends one
  return {
    base: root.href,
    validators,
    file,
    name: name || (file ? file.replace(MODEL_FILE, '') : decodeURIComponent(root.pathname.split('/').filter(Boolean).pop() || root.hostname)),
    async fetchSmall(name, optional = false) {
      let res;
      try {
        res = await fetch(urlOf(name), { headers, cache: 'no-store' });
      } catch (e) {
        throw new WorkerError('network_error', `${urlOf(name)}: ${e.message}`);
      }
      if (res.status === 404 && optional) return null;
      if (!res.ok) throw httpError(urlOf(name), res.status, res.statusText);
      const bytes = new Uint8Array(await res.arrayBuffer());
      stats.requests++;
      stats.bytes += bytes.length;
      return bytes;
    },
    // The size of a file, from the Content-Range of a one-byte Range request. A server that
    // ignores Range would send the whole file each time: refused.
    async size(name) {
      const controller = new AbortController();
      let res;
      try {
        res = await fetch(urlOf(name), { headers: { ...headers, Range: 'bytes=0-0' }, cache: 'no-store',
                                         signal: controller.signal });
      } catch (e) {
        throw new WorkerError('network_error', `${urlOf(name)}: ${e.message}`);
      }
      if (res.status === 200) {
        controller.abort();
        throw new WorkerError('range_not_supported', `${urlOf(name)}: the server ignores HTTP Range requests (it answered 200, not 206)`);
      }
      if (res.status !== 206) throw httpError(urlOf(name), res.status, res.statusText);
      const m = /\/(\d+)\s*$/.exec(res.headers.get('Content-Range') || '');
      validators[name] = res.headers.get('ETag') || res.headers.get('Last-Modified') || '';
      await res.arrayBuffer();
      stats.requests++;
      stats.bytes += 1;
      if (!m) throw new WorkerError('network_error', `${urlOf(name)}: no Content-Range size in the answer (is it exposed to CORS?)`);
      return Number(m[1]);
    },
    read(name, start, end) {
      const xhr = new XMLHttpRequest();
      xhr.open('GET', urlOf(name), false);
      xhr.responseType = 'arraybuffer';
      setHeaders(xhr);
      xhr.setRequestHeader('Range', `bytes=${start}-${end - 1}`);
      try {
        xhr.send();
      } catch (e) {
        throw new WorkerError('network_error', `${urlOf(name)}: ${e.message}`);
      }
      if (xhr.status === 200) {
        stats.wholeFileReads++;
        throw new WorkerError('range_not_supported', `${urlOf(name)}: the server ignored the Range request`);
      }
      if (xhr.status !== 206) throw httpError(urlOf(name), xhr.status, xhr.statusText);
      const bytes = new Uint8Array(xhr.response);
      if (bytes.length !== end - start)
        throw new WorkerError('network_error', `${urlOf(name)}: asked bytes ${start}-${end - 1}, got ${bytes.length} bytes`);
      return bytes;
    },
  };
}

// The model file among picked files: the only .g4w, in a pick without a model folder's config.json.
function pickedModelFile(files) {
  const g4w = files.filter((f) => MODEL_FILE.test(f.name));
  return g4w.length === 1 && !files.some((f) => f.name === 'config.json') ? g4w[0].name : null;
}

// Files the user picked (an <input type=file webkitdirectory> folder): read by slices.
function fileSource(files) {
  const byName = new Map();
  for (const f of files) byName.set(f.name, f);
  const reader = new FileReaderSync();
  const get = (name) => {
    const f = byName.get(name);
    if (!f) throw new WorkerError('not_found', `${name} is not among the picked files`);
    return f;
  };
  const first = files.find((f) => f.webkitRelativePath);
  const modelFile = pickedModelFile(files);
  return {
    file: modelFile,
    name: modelFile ? modelFile.replace(MODEL_FILE, '') : first ? first.webkitRelativePath.split('/')[0] : 'model',
    async fetchSmall(name, optional = false) {
      if (!byName.has(name) && optional) return null;
      return new Uint8Array(await get(name).arrayBuffer());
    },
    async size(name) { return get(name).size; },
    read(name, start, end) {
      return new Uint8Array(reader.readAsArrayBuffer(get(name).slice(start, end)));
    },
  };
}

// ---- safetensors files as file-system nodes ---------------------------------------------------

// Where the per-layer embedding table lies in a safetensors file ([start, end) in bytes), from its
// header; null when it has none or the header does not parse (the engine then reports the file).
// `base`: where the safetensors bytes start in the file (a model file's tensor section).
function tableRange(source, name, size, base = 0) {
  if (size < base + 8) return null;
  try {
    const lenBytes = source.read(name, base, base + 8);
    const len = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
    if (len > size - base - 8 || len > 100 << 20) return null;
    const header = JSON.parse(new TextDecoder().decode(source.read(name, base + 8, base + 8 + len)));
    for (const [key, t] of Object.entries(header)) {
      if (key.endsWith('embed_tokens_per_layer.weight') && Array.isArray(t.data_offsets))
        return { start: base + 8 + len + t.data_offsets[0], end: base + 8 + len + t.data_offsets[1] };
    }
  } catch (e) {
    if (e instanceof WorkerError && e.code !== 'network_error') throw e;
  }
  return null;
}

// Where a model file's tensor section starts, from its header and index (io/model_file.h); 0 when
// they do not parse (the engine then reports the file).
function modelFileSection(source, name, size) {
  try {
    if (size < 4096) return 0;
    const head = source.read(name, 0, 64);
    const view = new DataView(head.buffer, head.byteOffset, 64);
    const indexOffset = Number(view.getBigUint64(16, true)), indexBytes = Number(view.getBigUint64(24, true));
    if (indexOffset + indexBytes !== size || indexBytes > 64 << 20) return 0;
    const index = JSON.parse(new TextDecoder().decode(source.read(name, indexOffset, size)));
    return Number(index.checkpoint && index.checkpoint.offset) || 0;
  } catch (e) {
    if (e instanceof WorkerError && e.code !== 'network_error') throw e;
    return 0;
  }
}

// Frees the memory behind `bytes` now rather than at some later garbage collection
// (ArrayBuffer.prototype.transfer, Chrome 114+): a load reads gigabytes through such buffers,
// and left to the collector they stood gigabytes above the wasm heap at the peak of an E2B load.
function discard(bytes) {
  const buffer = bytes && bytes.buffer;
  if (!buffer || typeof buffer.transfer !== 'function' || bytes.byteLength !== buffer.byteLength) return;
  try { buffer.transfer(0); } catch { /* already detached */ }
}

function addLazyFile(FS, dir, name, source, size, table, progress) {
  const node = FS.createFile(dir, name, {}, true, false);
  Object.defineProperty(node, 'usedBytes', { get: () => size });
  const fetchRange = (start, end) => {
    const bytes = source.read(name, start, end);
    stats.requests++;
    stats.bytes += bytes.length;
    return bytes;
  };
  const read = (stream, buffer, offset, length, position) => {
    if (position >= size) return 0;
    const n = Math.min(length, size - position);
    try {
      // Exactly the bytes asked, in requests of at most BLOCK_BYTES: a row of an embedding table,
      // or a whole tensor. The engine reads tensors in the order it converts them, which is not
      // the file's, so reading ahead would fetch bytes twice, and a row read ahead would fetch a
      // block per token. Rows of the per-layer table are counted apart; the rest is the load.
      const inTable = table && position >= table.start && position < table.end;
      let done = 0;
      while (done < n) {
        const at = position + done;
        const bytes = fetchRange(at, Math.min(position + n, at + BLOCK_BYTES));
        if (inTable) {
          stats.tableRequests++;
          stats.tableBytes += bytes.length;
        } else {
          progress(bytes.length);
        }
        buffer.set(bytes, offset + done);
        done += bytes.length;
        discard(bytes);
      }
      return n;
    } catch (e) {
      ioError = e instanceof WorkerError ? e : new WorkerError('network_error', String(e && e.message || e));
      throw new FS.ErrnoError(EIO);
    }
  };
  node.stream_ops = { ...node.stream_ops, read };
  return node;
}

// ---- the module ---------------------------------------------------------------------------------

function loadModule(moduleUrl) {
  if (modulePromise) return modulePromise;
  modulePromise = (async () => {
    if (!self.crossOriginIsolated || typeof SharedArrayBuffer === 'undefined')
      throw new WorkerError('not_cross_origin_isolated',
        'this page is not cross-origin isolated, and the threaded WebAssembly engine needs SharedArrayBuffer: ' +
        'serve the page with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp"');
    try {
      importScripts(moduleUrl);
    } catch (e) {
      throw new WorkerError('module_not_found', `cannot load the engine module ${moduleUrl}: ${e.message} (build it: bash scripts/build_web.sh)`);
    }
    const created = self.createGemma4Module({
      mainScriptUrlOrBlob: moduleUrl,
      locateFile: (path) => new URL(path, moduleUrl).href,
      print: (text) => post({ type: 'log', text }),
      printErr: (text) => post({ type: 'log', text }),
      gemma4Reply: (call, text) => {
        const message = JSON.parse(text);
        if (message.error && ioError) {
          message.error = { code: ioError.code, message: `${ioError.message} (${message.error.message})` };
          ioError = null;
        }
        const lost = gpus.get(handleGpu.get(callHandle.get(call)))?.lost;
        if (message.error && lost) message.error = { code: 'device_lost', message: lost.message };
        callHandle.delete(call);
        settleGpu(call, message);
        post({ type: 'reply', call, message });
      },
      gemma4Gpu: (gpu, kind, words) => {
        const host = gpus.get(gpu);
        return host ? host.handle(kind, words) : Promise.reject(new Error(`no WebGPU engine ${gpu}`));
      },
      gemma4Token: (call, text) => post({ type: 'token', call, message: JSON.parse(text) }),
    });
    try {
      mod = await created;
    } catch (e) {
      throw new WorkerError('module_error', `the engine module failed to start: ${e && e.message || e}`);
    }
    return mod;
  })();
  modulePromise.catch(() => { modulePromise = null; });
  return modulePromise;
}

// Counts the load's bytes (per file: progress(name)(bytes)) and posts them at most every 100 ms.
function loadProgress(total) {
  let loaded = 0;
  let lastPost = 0;
  return (file) => (bytes) => {
    if (loaded >= total) return;  // loaded: later reads are embedding rows as tokens need them
    loaded += bytes;
    const now = Date.now();
    if (now - lastPost > 100 || loaded >= total) {
      lastPost = now;
      post({ type: 'progress', loaded: Math.min(loaded, total), total, file });
    }
  };
}

// Writes the model folder into the module's file system and returns its path.
// The folder is named like the model's own (the engine names the model after it).
async function mountModel(FS, source, { cache = true } = {}) {
  const name = (source.name || 'model').replace(/[^A-Za-z0-9._-]/g, '_') || 'model';
  if (!FS.analyzePath('/models').exists) FS.mkdir('/models');
  let dir = `/models/${name}`;
  while (FS.analyzePath(dir).exists) dir = `/models/${name}-${nextModel++}`;
  FS.mkdir(dir);
  if (source.file) return mountModelFile(FS, dir, source, cache);
  const small = [];
  for (const [name, optional] of [['config.json', false], ['tokenizer.json', false],
                                  ['generation_config.json', true], ['model.safetensors.index.json', true]]) {
    const bytes = await source.fetchSmall(name, optional);
    if (bytes) small.push([name, bytes]);
  }
  let shards = ['model.safetensors'];
  const index = small.find(([name]) => name === 'model.safetensors.index.json');
  if (index) {
    try {
      shards = [...new Set(Object.values(JSON.parse(new TextDecoder().decode(index[1])).weight_map || {}))];
    } catch {
      shards = [];  // the engine reports the broken index
    }
  }
  const files = [];
  for (const name of shards) {
    if (typeof name !== 'string' || name.includes('/')) continue;
    const size = await source.size(name);
    files.push({ name, size, table: tableRange(source, name, size) });
  }
  const total = small.reduce((s, [, b]) => s + b.length, 0) +
                files.reduce((s, f) => s + f.size - (f.table ? f.table.end - f.table.start : 0), 0);
  const progress = loadProgress(total);
  for (const [name, bytes] of small) {
    FS.writeFile(`${dir}/${name}`, bytes);
    progress(name)(bytes.length);
  }
  // Downloads are kept in the Origin Private File System (model_cache.js); picked files are local.
  let reader = source, cacheInfo = { enabled: false, reason: source.base ? 'cache: false' : 'local files', cachedBytes: 0 };
  if (cache && source.base) {
    const cached = files.map((f) => ({ ...f, validator: source.validators[f.name] || '' }));
    ({ reader, info: cacheInfo } = await self.openModelCache({ key: source.base, files: cached, source, stats }));
  }
  for (const f of files) addLazyFile(FS, dir, f.name, reader, f.size, f.table, progress(f.name));
  // The GPU load reads by tensor, not by file: it ends the count itself.
  const done = () => post({ type: 'progress', loaded: total, total, file: 'weights' });
  return { dir, files: files.map((f) => ({ name: f.name, size: f.size, table: f.table })), progress, done, reader, cache: cacheInfo };
}

// A model file: one file, its per-layer table counted apart like a folder's. The engine opens
// the file itself (`path`).
async function mountModelFile(FS, dir, source, cache) {
  const name = source.file;
  const size = await source.size(name);
  const table = tableRange(source, name, size, modelFileSection(source, name, size));
  const files = [{ name, size, table }];
  const total = size - (table ? table.end - table.start : 0);
  const progress = loadProgress(total);
  let reader = source, cacheInfo = { enabled: false, reason: source.base ? 'cache: false' : 'local files', cachedBytes: 0 };
  if (cache && source.base) {
    const cached = files.map((f) => ({ ...f, validator: source.validators[f.name] || '' }));
    ({ reader, info: cacheInfo } = await self.openModelCache({ key: source.base, files: cached, source, stats }));
  }
  addLazyFile(FS, dir, name, reader, size, table, progress(name));
  const done = () => post({ type: 'progress', loaded: total, total, file: 'weights' });
  return { dir, path: `${dir}/${name}`, modelFile: true, files, progress, done, reader, cache: cacheInfo };
}

// ---- WebGPU -------------------------------------------------------------------------------------

let deviceChoicePromise = null;
const deviceChoice = () => (deviceChoicePromise ||= import(new URL('../../webgpu/src/device_choice.js', self.location.href).href));

// The source as web/webgpu's checkpoint folder (async reads by byte range), counted in `stats`
// and the load progress like the module's own reads.
function checkpointFiles(source, tables, progress) {
  return {
    where: source.name,
    async exists(name) {
      try {
        await source.size(name);
        return true;
      } catch (e) {
        if (e instanceof WorkerError && e.code === 'not_found') return false;
        throw e;
      }
    },
    size: (name) => source.size(name),
    async read(name, offset, length) {
      const bytes = source.read(name, offset, offset + length);
      stats.requests++;
      stats.bytes += bytes.length;
      const table = tables.get(name);
      if (table && offset >= table.start && offset < table.end) {
        stats.tableRequests++;
        stats.tableBytes += bytes.length;
      } else {
        progress(name)(bytes.length);
      }
      return bytes;
    },
  };
}

const dropGpu = (gpu) => {
  gpus.get(gpu)?.destroy();
  gpus.delete(gpu);
};

// An open's reply ties its GPU engine to the engine handle (or drops it when the open failed);
// a close's reply drops it.
function settleGpu(call, message) {
  if (openingGpu.has(call)) {
    const gpu = openingGpu.get(call);
    openingGpu.delete(call);
    if (message.error) dropGpu(gpu);
    else handleGpu.set(message.handle, gpu);
  }
  if (closingGpu.has(call)) {
    const gpu = closingGpu.get(call);
    closingGpu.delete(call);
    if (gpu) dropGpu(gpu);
  }
}

// Chooses the device and, for WebGPU, loads the weights onto it (device_choice.js). Returns the
// device info and the options the module opens the engine with.
async function prepareDevice(source, mounted, engineOptions) {
  const requested = engineOptions.device || 'cpu';
  const options = { ...engineOptions, device: 'cpu' };
  if (requested === 'cpu') return { info: { device: 'cpu', reason: 'asked for the CPU' }, options };
  if (mounted.modelFile) {
    if (requested === 'webgpu')
      throw new WorkerError('bad_request', 'the WebGPU backend loads a model folder, not a model file (.g4w): pass the folder, or device: "cpu"');
    return { info: { device: 'cpu', reason: 'a model file (.g4w) runs on the CPU backend' }, options };
  }
  const tables = new Map(mounted.files.filter((f) => f.table).map((f) => [f.name, f.table]));
  let chosen;
  try {
    chosen = await (await deviceChoice()).openOnDevice({ device: requested, dtype: engineOptions.dtype,
                                                         files: checkpointFiles(source, tables, mounted.progress) });
  } catch (e) {
    throw e instanceof WorkerError ? e : new WorkerError(e.code || 'model_error', e.message);
  }
  if (chosen.device === 'cpu') return { info: { device: 'cpu', reason: chosen.reason }, options };
  mounted.done();
  const gpu = nextGpu++;
  gpus.set(gpu, chosen.host);
  return { info: { device: 'webgpu', reason: chosen.reason, gpu }, options: { ...engineOptions, device: 'webgpu', gpu } };
}

const argTypes = (args) => ['number', ...args.map((a) => (typeof a === 'string' ? 'string' : 'number'))];
const ccall = (fn, call, args) => mod.ccall(fn, null, argTypes(args), [call, ...args]);

async function open(m) {
  await loadModule(m.moduleUrl);
  const source = m.source.url ? urlSource(m.source.url, m.source.headers, m.source.name)
               : m.source.files ? fileSource(m.source.files) : null;
  if (!source) throw new WorkerError('bad_request', "model needs { url: 'https://…/model-folder/' }, { url: 'https://…/model.g4w' } or { files: [File, …] }");
  const mounted = await mountModel(mod.FS, source, { cache: m.cache !== false });
  post({ type: 'mounted', call: m.call, files: mounted.files, cache: mounted.cache });
  const device = await prepareDevice(mounted.reader, mounted, m.options);
  post({ type: 'device', call: m.call, info: device.info });
  if (device.info.gpu) openingGpu.set(m.call, device.info.gpu);
  ccall('gemma4_open', m.call, [mounted.path || mounted.dir, JSON.stringify(device.options)]);
}

self.onmessage = async (event) => {
  const m = event.data;
  try {
    if (m.type === 'open') await open(m);
    else if (m.type === 'chat') {
      callHandle.set(m.call, m.handle);
      ccall('gemma4_chat', m.call, [m.handle, m.request]);
    } else if (m.type === 'cancel') mod.ccall('gemma4_cancel', null, ['number'], [m.call]);
    else if (m.type === 'close') {
      closingGpu.set(m.call, handleGpu.get(m.handle));
      handleGpu.delete(m.handle);
      ccall('gemma4_close', m.call, [m.handle]);
    }
    else if (m.type === 'stats')
      post({ type: 'reply', call: m.call, message: { ...stats, heapBytes: mod && mod.HEAP8 ? mod.HEAP8.length : null } });
  } catch (e) {
    const code = e instanceof WorkerError ? e.code : 'internal_error';
    post({ type: 'reply', call: m.call, message: { error: { code, message: e && e.message || String(e) } } });
  }
};
