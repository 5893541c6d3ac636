// The Gemma 4 decoder's forward pass on WebGPU, following src/model/forward.cpp step for step:
// a batch of segments (a sequence and its new tokens) runs as one command buffer: embeddings and
// per-layer inputs, then per layer attention (q/k norms, weightless v norm, RoPE, K/V written
// to the paged cache unless the layer shares an earlier layer's, attention over the block
// tables), the gated GELU MLP, the per-layer input gate and projection and layer_scalar; from the
// first KV-shared layer on only the rows whose logits are wanted are computed; then the final
// norm, the LM head and the soft-cap. Only the wanted rows' logits are read back, or only their
// top-k candidates.
import { beginStep, endStep, createContext, destroyContext, releaseAfterWork, scratchBuffer, storageBuffer, WebGpuError } from './context.js';
import { openCheckpoint, nodeFolder, readRowF32 } from './checkpoint.js';
import { parseConfig } from './config.js';
import { loadWeights, destroyWeights } from './weights.js';
import { KvCache } from './kv_cache.js';
import { matmul } from './kernels/matmul.js';
import { rmsNorm } from './kernels/rmsnorm.js';
import { applyRope, ropeTables } from './kernels/rope.js';
import { elementwise } from './kernels/elementwise.js';
import { gatherRows, kvWrite, pagedAttention } from './kernels/kv_cache_ops.js';
import { encodeTopK } from './kernels/topk.js';

const f = Math.fround;

export class TokenRangeError extends RangeError {
  constructor(message) {
    super(message);
    this.name = 'TokenRangeError';
  }
}

export class Gemma4WebGpu {
  // options: dir (a model folder, Node) or files (checkpoint.js's folder interface); format
  // ('f32' | 'q8_0' | 'q4_0'); activations ('int8' | 'f32': what quantized matmuls multiply); kv ({ blockSize, blocks: { sliding, full } }); useSubgroups;
  // maxBindingBytes (tests: force split bindings); context (an existing createContext result;
  // ownContext: the engine destroys it with itself, and if the load fails); loadChunkBytes (tests:
  // the piece size weights are read, converted and uploaded in).
  static async load({ dir, files, format = 'f32', activations = 'int8', kv = {}, useSubgroups = true, maxBindingBytes, context, ownContext = false, loadChunkBytes } = {}) {
    const owns = !context || ownContext;
    let ctx = context;
    try {
      const folder = files ?? (await nodeFolder(dir));
      const ckpt = await openCheckpoint(folder);
      const config = parseConfig(ckpt.config, `${folder.where ?? 'model'}/config.json`);
      ctx ??= await createContext({ useSubgroups, maxBindingBytes });
      const weights = await loadWeights(ctx, ckpt, config, format, { activations, chunkBytes: loadChunkBytes });
      const cache = new KvCache(ctx, config, kv);
      return new Gemma4WebGpu(ctx, ckpt, config, weights, cache, owns);
    } catch (e) {
      if (owns && ctx) destroyContext(ctx);
      throw e;
    }
  }

  constructor(ctx, ckpt, config, weights, cache, ownsContext) {
    this.ctx = ctx;
    this.ckpt = ckpt;
    this.config = config;
    this.weights = weights;
    this.cache = cache;
    this.ownsContext = ownsContext;
    this.lastDispatches = 0;
  }

  newSequence() {
    return this.cache.newSequence();
  }

  // Replaces the KV cache with one of this shape (the native engine's pool: engine_host.js).
  // Every sequence of the old cache becomes unusable.
  resizeKvCache({ blockSize, blocks }) {
    const cache = new KvCache(this.ctx, this.config, { blockSize, blocks });
    this.cache.destroy();
    this.cache = cache;
  }

  // segments: [{ seq, tokens, logitsCount }] (logitsCount: how many of the segment's last
  // tokens want logits, default 1). options.topK: read back only the top-k of each wanted row.
  // Returns { rows (wanted rows, in segment order), logits: Float32Array [rows, vocab] } or, with
  // topK, { rows, indices: Uint32Array [rows, k], values: Float32Array [rows, k] }.
  async forward(segments, { topK = 0 } = {}) {
    const c = this.config, ctx = this.ctx, w = this.weights;
    const H = c.hiddenSize, L = c.numLayers, P = c.hiddenSizePerLayerInput, LP = L * P, V = c.vocabSize, nh = c.numHeads;
    const eps = c.rmsNormEps;
    const limit = P > 0 ? Math.min(c.vocabSize, c.vocabSizePerLayerInput) : c.vocabSize;
    const rows = [];  // { token, pos, seq, wanted }
    const seen = new Set();
    for (const seg of segments) {
      const { seq, tokens } = seg;
      const logitsCount = seg.logitsCount ?? 1;
      if (!seq) throw new WebGpuError('forward: a batch segment has no sequence');
      if (seen.has(seq)) throw new WebGpuError('forward: a sequence appears twice in one batch');
      seen.add(seq);
      if (!(logitsCount >= 0 && logitsCount <= tokens.length)) throw new RangeError(`forward: logitsCount ${logitsCount} outside [0, ${tokens.length}]`);
      tokens.forEach((id, t) => {
        if (!(Number.isInteger(id) && id >= 0 && id < limit)) throw new TokenRangeError(`token id ${id} at position ${t} is out of range (vocabulary size ${limit})`);
        rows.push({ token: id, pos: seq.length + t, seq, wanted: t >= tokens.length - logitsCount });
      });
    }
    const n = rows.length;
    if (n === 0) return { rows: 0, logits: new Float32Array(0) };
    for (const seg of segments) seg.seq.reserve(seg.tokens.length);

    // CPU side: the token embedding rows (times sqrt(hidden)) and the per-layer embedding rows
    // (times sqrt(per-layer width)), read from the checkpoint.
    const xHost = new Float32Array(n * H);
    const embedScale = f(Math.sqrt(H));
    for (let r = 0; r < n; ++r) await readRowF32(this.ckpt, w.embedTokens, rows[r].token, embedScale, xHost.subarray(r * H, (r + 1) * H));
    let pleHost = null;
    if (P > 0) {
      pleHost = new Float32Array(n * LP);
      const tableScale = f(Math.sqrt(P));
      for (let r = 0; r < n; ++r) await readRowF32(this.ckpt, w.embedTokensPerLayer, rows[r].token, tableScale, pleHost.subarray(r * LP, (r + 1) * LP));
    }

    const maxHd = Math.max(...c.layers.map((s) => s.headDim));
    const maxKv = Math.max(...c.layers.map((s) => s.numKvHeads * s.headDim));
    const maxF = Math.max(...c.layers.map((s) => s.mlpWidth));
    const temp = (data) => { const b = storageBuffer(ctx, data); releaseAfterWork(ctx, b); return b; };
    const buf = (name, floats) => scratchBuffer(ctx, name, floats * 4);

    let x = buf('x', n * H), ple = P > 0 ? buf('ple', n * LP) : null;
    ctx.device.queue.writeBuffer(x, 0, xHost);
    const h = buf('h', n * H), q = buf('q', n * nh * maxHd), kb = buf('k', n * maxKv), vb = buf('v', n * maxKv);
    const attn = buf('attn', n * nh * maxHd), o = buf('o', n * H), gate = buf('gate', n * maxF), up = buf('up', n * maxF);
    const pleGate = P > 0 ? buf('pleGate', n * P) : null;

    // Per row set (all rows; the wanted rows from the first shared layer on): RoPE tables and
    // block-table lookups per attention type.
    const rowSet = (list) => {
      const set = { list, count: list.length, types: {} };
      for (const type of ['sliding', 'full']) {
        const spec = c.layers.find((s) => s.type === type);
        if (!spec) continue;
        const info = new Uint32Array(2 * list.length), tables = [], offsets = new Map();
        list.forEach((r, i) => {
          const row = rows[r];
          if (!offsets.has(row.seq)) { offsets.set(row.seq, tables.length); tables.push(...row.seq.tables[type]); }
          info[2 * i] = row.pos;
          info[2 * i + 1] = offsets.get(row.seq);
        });
        const rope = ropeTables(list.map((r) => rows[r].pos), spec.invFreq);
        set.types[type] = {
          info: temp(info),
          tables: temp(new Uint32Array(tables.length ? tables : [0])),
          rope: { cos: temp(rope.cos.length ? rope.cos : new Float32Array(1)), sin: temp(rope.sin.length ? rope.sin : new Float32Array(1)), pairs: rope.pairs },
          slots: temp(new Uint32Array(list.map((r) => rows[r].seq.slot(type, rows[r].pos)))),
        };
      }
      return set;
    };
    let set = rowSet(rows.map((_, r) => r));

    beginStep(ctx);
    try {
      let m = set.count;
      if (P > 0) {
        ctx.device.queue.writeBuffer(ple, 0, pleHost);
        const proj = buf('pleProj', n * LP);
        matmul(ctx, w.perLayerModelProjection, x, m, proj);
        elementwise(ctx, 'scale', { y: proj, count: m * LP, scalar: f(1 / Math.sqrt(H)) });
        rmsNorm(ctx, { x: proj, weight: w.perLayerProjectionNorm, rows: m * L, dim: P, eps });
        elementwise(ctx, 'add', { y: proj, x: ple, count: m * LP });
        elementwise(ctx, 'scale', { y: proj, count: m * LP, scalar: f(1 / Math.sqrt(2)) });
        ple = proj;
      }
      for (let i = 0; i < L; ++i) {
        const spec = c.layers[i], lw = w.layers[i], hd = spec.headDim, kvh = spec.numKvHeads;
        if (spec.kvShared && set.list.length === n && rows.some((r) => !r.wanted)) {
          // Nothing below writes the cache: keep only the rows whose logits are wanted.
          const keep = [];
          set.list.forEach((r) => { if (rows[r].wanted) keep.push(r); });
          if (keep.length === 0) break;
          const index = temp(new Uint32Array(keep));
          const xc = buf('xCompact', keep.length * H);
          gatherRows(ctx, { src: x, index, out: xc, rows: keep.length, cols: H });
          x = xc;
          if (P > 0) {
            const pc = buf('pleCompact', keep.length * LP);
            gatherRows(ctx, { src: ple, index, out: pc, rows: keep.length, cols: LP });
            ple = pc;
          }
          set = rowSet(keep);
          m = keep.length;
        }
        const t = set.types[spec.type];
        // Attention.
        rmsNorm(ctx, { x, weight: lw.inputNorm, out: h, rows: m, dim: H, eps });
        matmul(ctx, lw.qProj, h, m, q);
        rmsNorm(ctx, { x: q, weight: lw.qNorm, rows: m * nh, dim: hd, eps });
        applyRope(ctx, { x: q, rows: m, heads: nh, dim: hd, tables: t.rope });
        if (!spec.kvShared) {
          matmul(ctx, lw.kProj, h, m, kb);
          matmul(ctx, lw.vProj, h, m, vb);
          rmsNorm(ctx, { x: kb, weight: lw.kNorm, rows: m * kvh, dim: hd, eps });
          applyRope(ctx, { x: kb, rows: m, heads: kvh, dim: hd, tables: t.rope });
          rmsNorm(ctx, { x: vb, rows: m * kvh, dim: hd, eps });
          const pool = this.cache.layers[i];
          kvWrite(ctx, { src: kb, slots: t.slots, pool: pool.k, rows: m, width: kvh * hd });
          kvWrite(ctx, { src: vb, slots: t.slots, pool: pool.v, rows: m, width: kvh * hd });
        }
        const pool = this.cache.layers[spec.kvSourceLayer];
        pagedAttention(ctx, {
          q, kPool: pool.k, vPool: pool.v, rowInfo: t.info, tables: t.tables, out: attn, rows: m, heads: nh, kvHeads: kvh, dim: hd,
          window: spec.type === 'sliding' ? c.slidingWindow : 0, blockSize: this.cache.blockSize,
        });
        matmul(ctx, lw.oProj, attn, m, o);
        rmsNorm(ctx, { x: o, weight: lw.postAttentionNorm, rows: m, dim: H, eps });
        elementwise(ctx, 'add', { y: x, x: o, count: m * H });
        // MLP.
        const F = spec.mlpWidth;
        rmsNorm(ctx, { x, weight: lw.preFeedforwardNorm, out: h, rows: m, dim: H, eps });
        matmul(ctx, lw.gateProj, h, m, gate);
        matmul(ctx, lw.upProj, h, m, up);
        elementwise(ctx, 'geluMul', { y: gate, x: up, count: m * F });
        matmul(ctx, lw.downProj, gate, m, o);
        rmsNorm(ctx, { x: o, weight: lw.postFeedforwardNorm, rows: m, dim: H, eps });
        elementwise(ctx, 'add', { y: x, x: o, count: m * H });
        // Per-layer input.
        if (P > 0) {
          matmul(ctx, lw.perLayerInputGate, x, m, pleGate);
          elementwise(ctx, 'gelu', { y: pleGate, count: m * P });
          elementwise(ctx, 'mul', { y: pleGate, x: ple, count: m * P, cols: P, xStride: LP, xOffset: i * P });
          matmul(ctx, lw.perLayerProjection, pleGate, m, o);
          rmsNorm(ctx, { x: o, weight: lw.postPerLayerInputNorm, rows: m, dim: H, eps });
          elementwise(ctx, 'add', { y: x, x: o, count: m * H });
        }
        elementwise(ctx, 'scale', { y: x, count: m * H, scalar: lw.layerScalar });
      }
      // LM head over the wanted rows.
      const wanted = [];
      set.list.forEach((r, i) => { if (rows[r].wanted) wanted.push(i); });
      const mw = wanted.length;
      const reads = [];
      if (mw > 0) {
        const lmIn = buf('lmIn', mw * H), logits = buf('logits', mw * V);
        gatherRows(ctx, { src: x, index: temp(new Uint32Array(wanted)), out: lmIn, rows: mw, cols: H });
        rmsNorm(ctx, { x: lmIn, weight: w.finalNorm, rows: mw, dim: H, eps });
        matmul(ctx, w.lmHead, lmIn, mw, logits);
        if (c.finalLogitSoftcapping) elementwise(ctx, 'softcap', { y: logits, count: mw * V, scalar: c.finalLogitSoftcapping });
        if (topK > 0) {
          const ib = buf('topIndex', mw * topK), vbuf = buf('topValue', mw * topK);
          encodeTopK(ctx, logits, mw, V, topK, ib, vbuf);
          reads.push({ buffer: ib, bytes: mw * topK * 4 }, { buffer: vbuf, bytes: mw * topK * 4 });
        } else {
          reads.push({ buffer: logits, bytes: mw * V * 4 });
        }
      }
      const done = await endStep(ctx, reads);
      this.lastDispatches = done.dispatches;
      for (const seg of segments) seg.seq.commit(seg.tokens.length);
      if (mw === 0) return topK > 0 ? { rows: 0, indices: new Uint32Array(0), values: new Float32Array(0) } : { rows: 0, logits: new Float32Array(0) };
      if (topK > 0) return { rows: mw, indices: new Uint32Array(done.reads[0]), values: new Float32Array(done.reads[1]) };
      return { rows: mw, logits: new Float32Array(done.reads[0]) };
    } finally {
      if (ctx.step) { ctx.step.pass.end(); ctx.step = null; }
    }
  }

  // GPU memory held, in bytes: weights, the KV cache and the step buffers grown so far.
  memory() {
    const kv = this.cache.layers.reduce((a, l) => a + (l ? l.k.size + l.v.size : 0), 0);
    const scratch = [...(this.ctx.scratch?.values() ?? [])].reduce((a, b) => a + b.size, 0);
    return { weights: this.weights.gpuBytes, kv, scratch, total: this.weights.gpuBytes + kv + scratch };
  }

  destroy() {
    this.cache.destroy();
    destroyWeights(this.weights);
    if (this.ownsContext) destroyContext(this.ctx);
    this.ckpt.files.close?.();
  }
}
