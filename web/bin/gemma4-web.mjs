#!/usr/bin/env node
// The browser build's engine from the command line, for parity checks against the native CLI:
// the same contracts as `gemma4 run` and `gemma4 logits`, on the WebAssembly engine (device cpu)
// or with the forward pass on WebGPU (device webgpu; Dawn in Node).
//
// --model is a model folder or a model file (.g4w) that `gemma4 convert` wrote (whose own dtype is
// the default).
//
//   node web/bin/gemma4-web.mjs run --model DIR [--dtype f32] [--device cpu|webgpu|auto] [-n 64]
//        [--temperature 0] [--top-k K] [--top-p P] [--seed S] [--system TEXT] [--threads N] "PROMPT"
//   node web/bin/gemma4-web.mjs logits --model DIR --tokens 2,105,... --out FILE [--prefill-chunk N]
//        [--dtype f32] [--kv-type f32] [--device cpu|webgpu]
//
// `run` prints the answer and a newline, as `gemma4 run` does; `logits` writes little-endian
// float32 [T, vocab]. Bad input: one `error:` line on stderr and exit status 1.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

// Emscripten 3.1.6's loader takes Node 20's fetch for file reads and fails: without it, it reads
// the .wasm file from disk.
delete globalThis.fetch;
const require = createRequire(import.meta.url);
const { Gemma4, Gemma4Error } = require('../engine/index.js');

class UsageError extends Error {}

const usage = 'usage: gemma4-web.mjs run --model DIR [options] "PROMPT" | gemma4-web.mjs logits --model DIR --tokens IDS --out FILE [options]';

const common = {
  model: { type: 'string', short: 'm' },
  dtype: { type: 'string' },  // f32, or a model file's own
  device: { type: 'string', default: 'cpu' },
  threads: { type: 'string', short: 't' },
};
const commands = {
  run: {
    ...common,
    'max-tokens': { type: 'string', short: 'n' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    system: { type: 'string' },
    ctx: { type: 'string', short: 'c' },
  },
  logits: {
    ...common,
    tokens: { type: 'string' },
    out: { type: 'string' },
    'prefill-chunk': { type: 'string' },
    'kv-type': { type: 'string', default: 'f32' },
  },
};

function number(values, name, { integer = false, min = -Infinity } = {}) {
  const text = values[name];
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min)
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''} (got '${text}')`);
  return v;
}

function parse(argv) {
  const [command, ...rest] = argv;
  if (!commands[command]) throw new UsageError(command ? `unknown command '${command}'\n${usage}` : usage);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: commands[command], allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  const { values, positionals } = parsed;
  if (!values.model) throw new UsageError('--model DIR is required');
  values.file = fs.existsSync(values.model) && fs.statSync(values.model).isFile();
  if (!values.file && !fs.existsSync(path.join(values.model, 'config.json')))
    throw new UsageError(`${values.model}: not a model folder (no config.json) or a model file`);
  if (values.file && values.device !== 'cpu') throw new UsageError('a model file (.g4w) runs on --device cpu');
  return { command, values, positionals };
}

async function run({ values, positionals }) {
  if (positionals.length !== 1) throw new UsageError('run takes one prompt');
  const sampling = {
    max_tokens: number(values, 'max-tokens', { integer: true, min: 0 }) ?? 1024,
    temperature: number(values, 'temperature', { min: 0 }),
    top_k: number(values, 'top-k', { integer: true, min: 0 }),
    top_p: number(values, 'top-p', { min: 0 }),
    seed: number(values, 'seed', { integer: true, min: 0 }),
  };
  const engine = await Gemma4.create({ model: values.file ? { file: values.model } : { dir: values.model }, dtype: values.dtype, device: values.device,
                                       threads: number(values, 'threads', { integer: true, min: 1 }),
                                       max_context: number(values, 'ctx', { integer: true, min: 1 }) });
  try {
    const messages = [...(values.system ? [{ role: 'system', content: values.system }] : []), { role: 'user', content: positionals[0] }];
    const request = Object.fromEntries(Object.entries({ messages, ...sampling }).filter(([, v]) => v !== undefined));
    const answer = await engine.chat.completions.create(request);
    process.stdout.write(`${answer.choices[0].message.content}\n`);
  } finally {
    await engine.close();
  }
}

function tokenList(text) {
  if (!text) throw new UsageError('--tokens 2,105,... is required');
  const ids = text.split(',').map((t) => t.trim());
  if (ids.some((t) => !/^\d+$/.test(t))) throw new UsageError(`--tokens must be comma-separated token ids (got '${text}')`);
  return ids.map(Number);
}

async function logits({ values, positionals }) {
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const tokens = tokenList(values.tokens);
  if (!values.out) throw new UsageError('--out FILE is required');
  const chunk = number(values, 'prefill-chunk', { integer: true, min: 1 }) ?? tokens.length;
  if (values.device === 'webgpu') return logitsOnWebGpu(values, tokens, chunk);
  if (values.device !== 'cpu') throw new UsageError(`logits runs on --device cpu or webgpu (got '${values.device}')`);
  const { ModuleHost } = require('../engine/module_host.js');
  const host = await ModuleHost.load();
  try {
    const options = { tokens, chunk, dtype: values.dtype, kv_type: values['kv-type'], out: path.resolve(values.out),
                      threads: number(values, 'threads', { integer: true, min: 1 }) ?? 2 };
    const reply = await host.call('gemma4_logits', [path.resolve(values.model), JSON.stringify(options)]);
    if (reply.error) throw new Gemma4Error(reply.error.code, reply.error.message);
  } finally {
    host.shutdown();
  }
}

// The forward pass of web/webgpu alone, chunk by chunk, every row's logits read back.
async function logitsOnWebGpu(values, tokens, chunk) {
  const { Gemma4WebGpu } = await import('../webgpu/src/forward.js');
  if (values['kv-type'] !== 'f32') throw new UsageError('the WebGPU KV cache is f32 (--kv-type f32)');
  const blocks = Math.ceil(tokens.length / 16) + 1;
  const engine = await Gemma4WebGpu.load({ dir: values.model, format: values.dtype ?? 'f32', kv: { blockSize: 16, blocks: { sliding: blocks, full: blocks } } });
  try {
    const seq = engine.newSequence();
    const parts = [];
    for (let i = 0; i < tokens.length; i += chunk) {
      const part = tokens.slice(i, i + chunk);
      parts.push((await engine.forward([{ seq, tokens: part, logitsCount: part.length }])).logits);
    }
    const out = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
    fs.writeFileSync(values.out, out);
  } finally {
    engine.destroy();
  }
}

try {
  const args = parse(process.argv.slice(2));
  await (args.command === 'run' ? run(args) : logits(args));
  Gemma4.shutdown();
} catch (e) {
  process.stderr.write(`error: ${e.message.split('\n').join(' ')}\n`);
  Gemma4.shutdown();
  process.exit(1);
}
