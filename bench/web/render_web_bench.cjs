// Renders docs/web-bench.md from web/bench/cpu.mjs's JSON (bench/web/compare_wllama.sh).
const fs = require('node:fs');
const [json, doc] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(json, 'utf8'));
const peer = r.results.find((x) => x.engine.startsWith('wllama'));
fs.writeFileSync(doc, `# The WebAssembly engine beside wllama

Written by \`bash bench/web/compare_wllama.sh MODELS_DIR ${r.threads} ${r.dtype}\` (web/bench/cpu.mjs).
${r.date}, ${r.cpu}, ${r.cores} cores, ${r.chromium} headless, Node ${process.versions.node}.

A random-weight checkpoint with the full Gemma 4 E2B text shapes (\`gemma4 synth --preset e2b\`),
${r.dtype} weights, ${r.threads} threads for every engine. wllama reads the GGUF that
\`../shared/peer-llamacpp/hf_to_gguf.py\` makes from the same checkpoint (every 2-D weight ${r.dtype},
the per-layer table included); gemma4 reads the Hugging Face folder over HTTP Range requests and
converts the weights as they arrive, the per-layer table a row at a time. One chat request, a
greedy streamed answer of ${r.decode} tokens after a short warm-up request: prefill is the prompt's
tokens over the time to the first token, decode the tokens after the first over the time after it.
Peak memory is the peak RSS of the page's renderer process (its Workers, wasm heap and JS heap) in
Chromium, and of the process in Node and natively. Load is from \`create()\` / \`loadModelFromUrl()\`
to ready, off a server on 127.0.0.1 without the download cache. The two chat templates differ
(wllama's GGUF carries none, so it formats the request its own way): rates are per token.

${r.table.join('\n')}

${r.ratios.map((x) => `- gemma4 wasm in Chromium: ${x}`).join('\n')}
${peer?.own_timings ? `- wllama's own timings for the same request: prefill ${peer.own_timings.prompt_per_second?.toFixed(1)} tok/s, decode ${peer.own_timings.predicted_per_second?.toFixed(2)} tok/s.` : ''}

What limits the numbers:
- Native decode runs the q4_0 matmuls on AVX-512 VNNI or AVX2 int8 dot products; SIMD128 in
  emscripten 3.1.6 has \`i32x4.dot_i16x8_s\` only (no int8 dot, no relaxed SIMD), so the same
  matmul needs several times the instructions: the CPU build is compute-bound where native is
  bound by memory.
- In Chromium each token's per-layer and embedding rows are synchronous HTTP Range requests
  from the Worker (Node reads them from disk). The load's Range answers (4.6 GB of bf16, each
  freed as soon as it is converted) leave the renderer's peak RSS well above the wasm heap
  (\`heap_bytes\` in the JSON: ${(((r.results.find((x) => x.heap_bytes)?.heap_bytes) || 0) / 2 ** 30).toFixed(2)} GiB), and by a different amount from run to run
  (2.2 to 4.6 GiB for the same build on this machine): the browser returns that memory late.
`);
