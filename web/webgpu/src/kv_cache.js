// The paged KV cache on the GPU: for each attention type (sliding, full) a pool of blocks of
// `blockSize` positions, shared by every layer of that type that computes K/V (each such layer has
// its own K and V buffers of the pool's size, indexed by the same block ids, as in the native
// engine's KvPool). A sequence holds one block table per type. Blocks of a sliding table that lie
// wholly before the window of every later position go back to the pool as the sequence grows.
import { scratchBuffer, storageBuffer, WebGpuError } from './context.js';

export class KvCacheFullError extends WebGpuError {
  constructor(message) {
    super(message);
    this.name = 'KvCacheFullError';
  }
}

const NONE = 0xffffffff;

// Where position `pos` of a sequence lies in the pool of its attention type.
function slotOf(cache, tables, type, pos) {
  const bs = cache.blockSize;
  return tables[type][Math.floor(pos / bs)] * bs + (pos % bs);
}

export class KvCache {
  // config: the parsed config; blocks: { sliding, full } block counts.
  constructor(ctx, config, { blockSize = 16, blocks = { sliding: 64, full: 64 } } = {}) {
    this.ctx = ctx;
    this.config = config;
    this.blockSize = blockSize;
    this.free = {};
    this.layers = [];  // per layer that computes K/V: { k, v } buffers; null for shared layers
    for (const type of ['sliding', 'full']) this.free[type] = Array.from({ length: blocks[type] }, (_, i) => blocks[type] - 1 - i);
    this.capacity = blocks;
    config.layers.forEach((spec, i) => {
      if (spec.kvShared) { this.layers.push(null); return; }
      const bytes = blocks[spec.type] * blockSize * spec.numKvHeads * spec.headDim * 4;
      if (bytes > ctx.maxBindingBytes) throw new WebGpuError(`the KV pool of layer ${i} (${bytes} bytes) is over the binding limit ${ctx.maxBindingBytes}: use fewer blocks`);
      this.layers.push({ k: storageBuffer(ctx, bytes), v: storageBuffer(ctx, bytes) });
    });
  }

  newSequence() {
    return new KvSequence(this);
  }

  allocate(type) {
    const block = this.free[type].pop();
    if (block === undefined) throw new KvCacheFullError(`the KV cache has no free ${type}-attention block (${this.capacity[type]} blocks of ${this.blockSize} positions)`);
    return block;
  }

  release(type, block) {
    this.free[type].push(block);
  }

  // Copies slots [0, slots) of block `src` to block `dst` in every layer of the type that owns
  // K/V (copy-on-write of a block the native engine's prefix cache shares). WebGPU copies never
  // stay within one buffer, so each goes through a scratch buffer; queued before any later step,
  // so it lands before that step writes.
  copySlots(type, src, dst, slots) {
    const rows = this.config.layers.map((spec, i) => (this.layers[i] && spec.type === type ? spec.numKvHeads * spec.headDim * 4 : 0));
    const bytes = slots * Math.max(0, ...rows);
    if (bytes === 0) return;
    const tmp = scratchBuffer(this.ctx, 'kvCopy', bytes);
    const encoder = this.ctx.device.createCommandEncoder();
    rows.forEach((row, i) => {
      if (!row) return;
      for (const b of [this.layers[i].k, this.layers[i].v]) {
        encoder.copyBufferToBuffer(b, src * this.blockSize * row, tmp, 0, slots * row);
        encoder.copyBufferToBuffer(tmp, 0, b, dst * this.blockSize * row, slots * row);
      }
    });
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  destroy() {
    for (const l of this.layers) if (l) { l.k.destroy(); l.v.destroy(); }
  }
}

export class KvSequence {
  constructor(cache) {
    this.cache = cache;
    this.length = 0;
    this.tables = { sliding: [], full: [] };
    this.closed = false;
  }

  // Makes room for `count` more positions (blocks are taken from the pool; on failure none are).
  reserve(count) {
    if (this.closed) throw new WebGpuError('the sequence was released');
    const bs = this.cache.blockSize, need = Math.ceil((this.length + count) / bs);
    const taken = [];
    try {
      for (const type of ['sliding', 'full']) {
        while (this.tables[type].length < need) {
          const b = this.cache.allocate(type);
          taken.push([type, b]);
          this.tables[type].push(b);
        }
      }
    } catch (e) {
      for (const [type, b] of taken.reverse()) { this.tables[type].pop(); this.cache.release(type, b); }
      throw e;
    }
  }

  slot(type, pos) {
    return slotOf(this.cache, this.tables, type, pos);
  }

  // After a step: the new length; sliding blocks no later position can see are returned.
  commit(count) {
    this.length += count;
    const bs = this.cache.blockSize, lowest = this.length - this.cache.config.slidingWindow + 1;
    const t = this.tables.sliding;
    for (let b = 0; (b + 1) * bs <= lowest && b < t.length; ++b) {
      if (t[b] !== NONE) { this.cache.release('sliding', t[b]); t[b] = NONE; }
    }
  }

  release() {
    for (const type of ['sliding', 'full']) for (const b of this.tables[type]) if (b !== NONE) this.cache.release(type, b);
    this.tables = { sliding: [], full: [] };
    this.closed = true;
  }
}

// A sequence whose block tables the native engine keeps (its ForwardBackend, engine_host.js):
// the tables are given for each step (entries -1, read as 0xffffffff, where a sliding block was
// released), so there is nothing to reserve, commit or release here.
export class ExternalSequence {
  constructor(cache, start, tables) {
    this.cache = cache;
    this.length = start;
    this.tables = tables;
  }

  reserve() {}
  commit() {}

  slot(type, pos) {
    return slotOf(this.cache, this.tables, type, pos);
  }
}
