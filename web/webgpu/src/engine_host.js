// The JS half of the wasm engine's WebGPU backend (src/wasm/js_forward_backend.cpp): the native
// engine (tokenizer, scheduler, prefix cache, sampler, all in the wasm module) decides every step
// and keeps the KV block tables; this runs the step's forward pass on the GPU with those tables
// and hands back the wanted rows' logits. The module calls Module.gemma4Gpu(gpu, kind, words):
//
//   kind 1: [blockSize, slidingBlocks, fullBlocks]: the engine's KV pool (the GPU cache is sized alike)
//   kind 2: one step: block copies, then segments with their tokens and block tables
import { ExternalSequence } from './kv_cache.js';
import { WebGpuDeviceLostError } from './context.js';

const KIND_ALLOCATE_KV = 1, KIND_FORWARD = 2;

export class EngineHost {
  // engine: a loaded Gemma4WebGpu.
  constructor(engine) {
    this.engine = engine;
    this.lost = null;  // the WebGpuDeviceLostError once the device is gone
    this.steps = 0;
    this.widestStep = 0;  // the most sequences one step has run (batching, for tests)
  }

  handle(kind, words) {
    if (kind === KIND_ALLOCATE_KV) {
      const [blockSize, sliding, full] = words;
      this.engine.resizeKvCache({ blockSize, blocks: { sliding: Math.max(1, sliding), full: Math.max(1, full) } });
      return Promise.resolve();
    }
    if (kind === KIND_FORWARD) return this.step(words);
    return Promise.reject(new Error(`unknown WebGPU call kind ${kind}`));
  }

  async step(words) {
    const cache = this.engine.cache;
    let i = 0;
    const copies = words[i++];
    for (let c = 0; c < copies; ++c, i += 4)
      cache.copySlots(words[i] ? 'full' : 'sliding', words[i + 1], words[i + 2], words[i + 3]);
    const count = words[i++];
    const heads = [];
    for (let s = 0; s < count; ++s, i += 5) heads.push(words.subarray(i, i + 5));
    const segments = heads.map(([start, n, logitsCount, slidingLength, fullLength]) => {
      const tokens = Array.from(words.subarray(i, i + n));
      const sliding = words.subarray(i + n, i + n + slidingLength);
      const full = words.subarray(i + n + slidingLength, i + n + slidingLength + fullLength);
      i += n + slidingLength + fullLength;
      return { seq: new ExternalSequence(cache, start, { sliding, full }), tokens, logitsCount };
    });
    try {
      const out = await this.engine.forward(segments);
      ++this.steps;
      this.widestStep = Math.max(this.widestStep, segments.length);
      return out.logits;
    } catch (e) {
      if (e instanceof WebGpuDeviceLostError) this.lost = e;
      throw e;
    }
  }

  destroy() {
    this.engine.destroy();
  }
}
