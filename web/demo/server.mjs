// A small static file server for the demo page and the browser test (Node, no dependencies).
//
//   node web/demo/server.mjs [--port 8090] [--host 127.0.0.1]
//
// It serves, from the repository: web/ (the page, the chat UI, the engine's JS),
// build-wasm/web-engine-browser/ (the WebAssembly module) and tests/data/ (small test models), and
// `/` redirects to /web/demo/. Every answer carries the headers that make the page cross-origin
// isolated (the engine's threads need SharedArrayBuffer):
//   Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp,
//   Cross-Origin-Resource-Policy: same-origin.
// Single HTTP Range requests (`bytes=a-b`, `a-`, `-n`) are answered with 206; GET /__stats returns
// what was served per file (requests, Range requests, whole-file answers, bytes, the ranges), which
// the browser test uses to see how the model files were read.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const roots = ['web/', 'build-wasm/web-engine-browser/', 'tests/data/'];
const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.md': 'text/markdown; charset=utf-8',
};
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

// Parses one `bytes=` range against `size`: [start, end] inclusive, 'bad' or null (no header).
function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  let start, end;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'bad';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'bad';
  return [start, end];
}

// `mounts` maps more URL prefixes to folders ({ '/bad/': '/tmp/x' }); `isolated: false` leaves
// the cross-origin isolation headers out (to see how a page without them behaves), `ranges: false`
// answers every Range request with the whole file (like a server without Range support), `deny`
// maps URL prefixes to an error status unless the request carries the token
// ({ '/private/': { status: 401, token: 'T' } }: like a gated model, `Authorization: Bearer T` passes).
export function createStaticServer({ mounts = {}, isolated = true, ranges = true, deny = {} } = {}) {
  const stats = {};
  const isolation = isolated ? isolationHeaders : { 'Cache-Control': 'no-cache' };
  const record = (rel, bytes, range) => {
    const s = (stats[rel] ||= { requests: 0, rangeRequests: 0, wholeFile: 0, bytes: 0, ranges: [] });
    s.requests++;
    if (range) {
      s.rangeRequests++;
      if (s.ranges.length < 100000) s.ranges.push(range);
    } else s.wholeFile++;
    s.bytes += bytes;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { ...isolation, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    if (url.pathname === '/') return send(302, '', { Location: '/web/demo/' });
    const denied = Object.keys(deny).find((prefix) => url.pathname.startsWith(prefix));
    if (denied && req.headers.authorization !== `Bearer ${deny[denied].token}`)
      return send(deny[denied].status, 'access denied\n');
    if (url.pathname === '/__stats') return send(200, JSON.stringify(stats), { 'Content-Type': 'application/json' });
    let rel;
    try { rel = decodeURIComponent(url.pathname).replace(/^\/+/, ''); } catch { return send(400, 'bad path\n'); }
    if (rel.split('/').includes('..')) return send(404, 'not found\n');
    const mount = Object.keys(mounts).find((prefix) => `/${rel}`.startsWith(prefix));
    let file;
    if (mount) file = path.join(mounts[mount], `/${rel}`.slice(mount.length));
    else if (roots.some((r) => rel.startsWith(r) || `${rel}/` === r)) file = path.join(repo, rel);
    else return send(404, 'not found\n');
    let st;
    try {
      st = fs.statSync(file);
      if (st.isDirectory()) {
        if (!url.pathname.endsWith('/')) return send(301, '', { Location: `${url.pathname}/` });
        file = path.join(file, 'index.html');
        st = fs.statSync(file);
      }
    } catch {
      return send(404, 'not found\n');
    }
    const type = types[path.extname(file)] || 'application/octet-stream';
    const range = ranges ? parseRange(req.headers.range, st.size) : null;
    if (range === 'bad') return send(416, 'bad range\n', { 'Content-Range': `bytes */${st.size}` });
    const [start, end] = range || [0, st.size - 1];
    const length = st.size === 0 ? 0 : end - start + 1;
    // A validator, so the engine's download cache sees a file that changed (web/engine/browser/model_cache.js).
    const headers = { ...isolation, 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Content-Length': String(length),
                      ETag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || length === 0) { res.end(); return; }
    record(rel, length, range ? [start, end + 1] : null);
    fs.createReadStream(file, { start, end }).pipe(res);
  });
  return { server, stats };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const port = Number(arg('--port', process.env.PORT || 8090));
  const host = arg('--host', '127.0.0.1');
  const module = path.join(repo, 'build-wasm/web-engine-browser/gemma4_engine_web.js');
  if (!fs.existsSync(module))
    console.warn(`warning: ${path.relative(repo, module)} is missing: build it with bash scripts/build_web.sh`);
  const { server } = createStaticServer();
  server.listen(port, host, () => {
    console.log(`gemma4 demo: http://${host}:${server.address().port}/  (model folder at /tests/data/tiny-a/; Ctrl+C stops)`);
  });
}
