// The model's files kept in the browser's Origin Private File System, so a second load reads
// them from disk instead of the network, and a load that was interrupted goes on from what it
// already has. A classic script for the engine's Worker (importScripts), defining
// self.openModelCache.
//
// Per model folder URL (hashed) a directory under `gemma4-cache/` holds, per safetensors file, a
// sparse copy (`NAME.data`, written at the file's own offsets) and what of it is there
// (`NAME.json`: the file's size, its ETag or Last-Modified, and the byte intervals written). A
// file whose size or validator changed starts over. Bytes are flushed before the
// intervals that claim them, so a tab closed mid-write never leaves a claim without its bytes. The
// per-layer embedding table is not cached: its rows are read on demand and are tiny. Sync access
// handles lock their files: a second tab on the same model reads from the network. What was
// written stays: a load that was cut off goes on from there next time.
'use strict';

const CACHE_DIR = 'gemma4-cache';

async function hexDigest(text) {
  const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// Sorted, disjoint [start, end) intervals.
function addInterval(list, start, end) {
  const out = [];
  let s = start, e = end, placed = false;
  for (const [a, b] of list) {
    if (b < s) out.push([a, b]);
    else if (a > e) {
      if (!placed) { out.push([s, e]); placed = true; }
      out.push([a, b]);
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}

const covers = (list, start, end) => list.some(([a, b]) => a <= start && end <= b);
const coveredBytes = (list) => list.reduce((n, [a, b]) => n + b - a, 0);

function readAll(handle) {
  const bytes = new Uint8Array(handle.getSize());
  handle.read(bytes, { at: 0 });
  return bytes;
}

async function openEntry(dir, file) {
  const safe = file.name.replace(/[^A-Za-z0-9._-]/g, '_');
  const data = await (await dir.getFileHandle(`${safe}.data`, { create: true })).createSyncAccessHandle();
  let meta;
  try {
    meta = await (await dir.getFileHandle(`${safe}.json`, { create: true })).createSyncAccessHandle();
  } catch (e) {
    data.close();
    throw e;
  }
  let intervals = [];
  try {
    const saved = JSON.parse(new TextDecoder().decode(readAll(meta)) || '{}');
    if (saved.size === file.size && saved.validator === file.validator && Array.isArray(saved.intervals)) intervals = saved.intervals;
  } catch {
    intervals = [];
  }
  if (!intervals.length) data.truncate(0);
  const entry = {
    file, data, meta, intervals,
    save() {
      const bytes = new TextEncoder().encode(JSON.stringify({ version: 1, size: file.size, validator: file.validator,
                                                             intervals: entry.intervals }));
      meta.truncate(0);
      meta.write(bytes, { at: 0 });
      meta.flush();
    },
  };
  return entry;
}

// files: [{ name, size, table, validator }]; source: { read(name, start, end) } (synchronous). Returns
// { reader (the same interface, cached), info: { enabled, reason, cachedBytes } }.
self.openModelCache = async function openModelCache({ key, files, source, stats }) {
  const off = (reason) => ({ reader: source, info: { enabled: false, reason, cachedBytes: 0 } });
  if (!navigator.storage?.getDirectory) return off('this browser has no Origin Private File System');
  let dir;
  try {
    const root = await navigator.storage.getDirectory();
    dir = await (await root.getDirectoryHandle(CACHE_DIR, { create: true })).getDirectoryHandle(await hexDigest(key), { create: true });
  } catch (e) {
    return off(`the Origin Private File System is not usable here (${e.message})`);
  }
  const entries = new Map();
  const reasons = [];
  for (const f of files) {
    try {
      entries.set(f.name, await openEntry(dir, f));
    } catch (e) {
      reasons.push(`${f.name}: ${e.name === 'NoModificationAllowedError' ? 'in use by another tab' : e.message}`);
    }
  }
  const cached = [...entries.values()].reduce((n, e) => n + coveredBytes(e.intervals), 0);
  const need = files.reduce((n, f) => n + f.size - (f.table ? f.table.end - f.table.start : 0), 0) - cached;
  const { usage = 0, quota = Infinity } = (await navigator.storage.estimate?.()) ?? {};
  if (need > quota - usage) {
    for (const e of entries.values()) { e.data.close(); e.meta.close(); }
    return off(`not enough storage quota to cache the model (needs ${need} more bytes, ${Math.max(0, quota - usage)} free)`);
  }
  const reader = {
    ...source,
    read(name, start, end) {
      const e = entries.get(name);
      const table = e?.file.table;
      if (!e || (table && start < table.end && end > table.start)) return source.read(name, start, end);
      if (covers(e.intervals, start, end)) {
        const bytes = new Uint8Array(end - start);
        e.data.read(bytes, { at: start });
        stats.cacheBytes += bytes.length;
        return bytes;
      }
      const bytes = source.read(name, start, end);
      e.data.write(bytes, { at: start });
      e.data.flush();
      e.intervals = addInterval(e.intervals, start, end);
      e.save();
      return bytes;
    },
  };
  return { reader, info: { enabled: true, reason: reasons.join('; '), cachedBytes: cached } };
};
