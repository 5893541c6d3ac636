// Speed of the WebGPU backend (and, for comparison on the same machine, the wasm engine on the
// CPU): decode and prefill tokens per second through the engine's chat API, the q4_0/q8_0 GEMV's
// achieved bandwidth against a copy kernel on the same GPU, and the GPU memory the engine holds.
//
//   node web/bench/webgpu.mjs --model DIR [--dtype q4_0] [--prompt-words 200] [--decode 64]
//        [--devices webgpu,cpu] [--gemv-rows 12288 --gemv-cols 1536] [--json FILE]
//
// On a software adapter (SwiftShader) it still runs, and says that its numbers are not speed.
// Needs Dawn in Node (the `webgpu` package of web/webgpu/) with a Vulkan driver; on a machine
// without a GPU, `source scripts/dawn_env.sh` first.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { createContext, destroyContext, beginStep, endStep, storageBuffer, runKernel, packParams, grid } from '../webgpu/src/context.js';
import { matmul, WEIGHT_FORMATS } from '../webgpu/src/kernels/matmul.js';
import { uploadRows } from '../webgpu/src/split_tensor.js';
import { streamedAnswer } from './streamed_answer.mjs';

delete globalThis.fetch;  // emscripten 3.1.6's loader under Node 20 (see web/bin/gemma4-web.mjs)
const require = createRequire(import.meta.url);
const { Gemma4 } = require('../engine/index.js');

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'tests/data/tiny-a' },
    dtype: { type: 'string', default: 'q4_0' },
    'prompt-words': { type: 'string', default: '200' },
    decode: { type: 'string', default: '64' },
    devices: { type: 'string', default: 'webgpu,cpu' },
    threads: { type: 'string', default: String(Math.min(4, os.cpus().length)) },
    'gemv-rows': { type: 'string', default: '12288' },
    'gemv-cols': { type: 'string', default: '1536' },
    json: { type: 'string' },
  },
});

const seconds = () => performance.now() / 1000;

// One streamed greedy answer on `device` (streamed_answer.mjs), and the GPU memory it held.
async function engineSpeed(device) {
  const engine = await Gemma4.create({ model: { dir: args.model }, dtype: args.dtype, device, threads: Number(args.threads),
                                       max_context: 4096 });
  try {
    const words = Array.from({ length: Number(args['prompt-words']) }, (_, i) => ['river', 'stone', 'light', 'market', 'winter'][i % 5]);
    const messages = [{ role: 'user', content: `${words.join(' ')}. Tell a long story.` }];
    const speed = await streamedAnswer(engine, messages, Number(args.decode));
    const gpu = engine.gpuId ? engine.host.gpus.get(engine.gpuId).engine : null;
    return { device: engine.info.device, reason: engine.info.reason, ...speed, gpu_memory: gpu ? gpu.memory() : null };
  } finally {
    await engine.close();
  }
}

const COPY = `
@group(0) @binding(0) var<uniform> p: vec4<u32>;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < p.x) { dst[i] = src[i]; }
}`;

// GB/s of `record` (which queues one kernel run) over `repeats` runs in one command buffer.
async function rate(ctx, bytesPerRun, record, repeats = 50) {
  beginStep(ctx);
  record();
  await endStep(ctx);  // warm-up: pipelines compiled, buffers resident
  beginStep(ctx);
  for (let i = 0; i < repeats; ++i) record();
  const start = seconds();
  await endStep(ctx);
  return (bytesPerRun * repeats) / (seconds() - start) / 1e9;
}

// The decode GEMV (one token) at an E2B MLP shape, in q4_0/q8_0 blocks, against a copy kernel
// moving as many bytes (read + write) on the same GPU.
async function gemvBandwidth() {
  const ctx = await createContext();
  try {
    const rows = Number(args['gemv-rows']), cols = Number(args['gemv-cols']);
    const format = args.dtype in WEIGHT_FORMATS ? args.dtype : 'q4_0';
    const bytes = new Uint8Array(rows * WEIGHT_FORMATS[format].rowBytes(cols));
    for (let i = 0; i < bytes.length; ++i) bytes[i] = (i * 2654435761) >>> 24;
    if (format !== 'f32') {
      const block = format === 'q4_0' ? 18 : 34;
      for (let b = 0; b < bytes.length; b += block) { bytes[b] = 0x00; bytes[b + 1] = 0x2c; }  // f16 scale 0.0625
    }
    const weight = { format, cols, rows, quantizedActivations: format !== 'f32', tensor: uploadRows(ctx, bytes, rows, bytes.length / rows) };
    const x = storageBuffer(ctx, new Float32Array(cols).fill(0.5)), y = storageBuffer(ctx, rows * 4);
    const gemv = await rate(ctx, bytes.length, () => matmul(ctx, weight, x, 1, y));
    const words = Math.ceil(bytes.length / 32) * 2;  // vec4<u32> per invocation; half the bytes read, half written
    const src = storageBuffer(ctx, words * 16), dst = storageBuffer(ctx, words * 16);
    const copy = await rate(ctx, 2 * words * 16, () => runKernel(ctx, {
      code: COPY, params: packParams([['u32', words], ['u32', 0], ['u32', 0], ['u32', 0]]), buffers: [src, dst], workgroups: Math.ceil(words / 64),
    }));
    return { format, rows, cols, weight_bytes: bytes.length, gemv_gb_s: gemv, copy_gb_s: copy, ratio: gemv / copy, adapter: ctx.adapter };
  } finally {
    destroyContext(ctx);
  }
}

const result = { date: new Date().toISOString(), host: `${os.cpus()[0]?.model} x${os.cpus().length}`, model: args.model, dtype: args.dtype, runs: [] };
result.gemv = await gemvBandwidth();
for (const device of args.devices.split(',')) result.runs.push(await engineSpeed(device));
Gemma4.shutdown();

const f = (v, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
const a = result.gemv.adapter;
console.log(`adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' ')}${a.fallback ? '  (software renderer: these numbers are not GPU speed)' : ''}`);
console.log(`GEMV ${result.gemv.format} ${result.gemv.rows}x${result.gemv.cols}: ${f(result.gemv.gemv_gb_s, 2)} GB/s; copy kernel ${f(result.gemv.copy_gb_s, 2)} GB/s; ratio ${f(100 * result.gemv.ratio)} %`);
for (const r of result.runs) {
  const mem = r.gpu_memory ? `; GPU memory ${(r.gpu_memory.total / 2 ** 20).toFixed(1)} MiB (weights ${(r.gpu_memory.weights / 2 ** 20).toFixed(1)}, KV ${(r.gpu_memory.kv / 2 ** 20).toFixed(1)})` : '';
  console.log(`${r.device}: prefill ${f(r.prefill_tok_s)} tok/s (${r.prompt_tokens} tokens), decode ${f(r.decode_tok_s)} tok/s (${r.completion_tokens} tokens)${mem}`);
}
if (args.json) fs.writeFileSync(path.resolve(args.json), JSON.stringify(result, null, 2));
