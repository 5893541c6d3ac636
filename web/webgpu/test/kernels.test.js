// Every kernel against its CPU reference (reference.js), on random data and odd shapes, through
// both reduction paths (workgroup tree, and subgroups where the adapter has them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { destroyContext, readF32, storageBuffer } from '../src/context.js';
import { uploadRows } from '../src/split_tensor.js';
import { embeddingLookup } from '../src/kernels/embedding.js';
import { rmsNorm } from '../src/kernels/rmsnorm.js';
import { applyRope, inverseFrequencies, ropeTables, uploadRopeTables } from '../src/kernels/rope.js';
import { elementwise } from '../src/kernels/elementwise.js';
import { matmul } from '../src/kernels/matmul.js';
import { attention } from '../src/kernels/attention.js';
import { argmax, topK } from '../src/kernels/topk.js';
import * as ref from './reference.js';
import { assertClose, contexts } from './helpers.js';

const list = await contexts();
after(() => list.forEach(([, ctx]) => destroyContext(ctx)));

for (const [path, ctx] of list) {
  describe(`kernels (${path})`, () => {
    it('rmsnorm: weighted, weightless, in place, per head, odd sizes', async () => {
      const rand = ref.mulberry32(1);
      for (const [rows, dim, weighted, inPlace] of [[3, 64, true, false], [5, 37, true, true], [8, 256, false, true], [2, 1536, true, false], [7, 1, false, false]]) {
        const x = ref.randomArray(rand, rows * dim, 3), w = weighted ? ref.randomArray(rand, dim, 2) : null;
        const xb = storageBuffer(ctx, x), out = inPlace ? null : storageBuffer(ctx, rows * dim * 4);
        rmsNorm(ctx, { x: xb, weight: w ? storageBuffer(ctx, w) : null, out, rows, dim, eps: 1e-6 });
        assertClose(await readF32(ctx, out ?? xb, rows * dim), ref.rmsNormRef(x, w, rows, dim, 1e-6), { what: `rmsnorm ${rows}x${dim}` });
      }
    });

    it('embedding: bf16 rows scaled, table split over parts', async () => {
      const rand = ref.mulberry32(2);
      const vocab = 50, dim = 21, table = new Uint16Array(vocab * dim).map(() => ref.f32ToBf16((rand() * 2 - 1) * 0.5));
      const ids = [0, 49, 7, 7, 33, 12, 25];
      const scale = Math.fround(Math.sqrt(dim));
      const small = { ...ctx, maxBindingBytes: 2 * dim * 8 };  // 8 rows per part
      for (const c of [ctx, small]) {
        const tensor = uploadRows(c, new Uint8Array(table.buffer), vocab, 2 * dim);
        if (c === small) assert.equal(tensor.parts.length, 7);
        const out = storageBuffer(ctx, ids.length * dim * 4);
        embeddingLookup(c, tensor, ids, dim, scale, out);
        assert.deepEqual(await readF32(ctx, out, ids.length * dim), ref.embeddingRef(table, ids, dim, scale));
      }
    });

    it('rope: standard and proportional (partial) over heads', async () => {
      const rand = ref.mulberry32(3);
      const cases = [
        { rows: 5, heads: 8, dim: 256, freq: { headDim: 256, theta: 1e4 } },
        { rows: 3, heads: 8, dim: 512, freq: { headDim: 512, theta: 1e6, ropeType: 'proportional', partialRotaryFactor: 0.25 } },
        { rows: 4, heads: 1, dim: 18, freq: { headDim: 18, theta: 1e4 } },
      ];
      for (const { rows, heads, dim, freq } of cases) {
        const x = ref.randomArray(rand, rows * heads * dim);
        const positions = Array.from({ length: rows }, (_, i) => 3 + 517 * i);
        const tables = ropeTables(positions, inverseFrequencies(freq));
        if (freq.ropeType === 'proportional') assert.equal(tables.pairs, 64);
        const xb = storageBuffer(ctx, x);
        applyRope(ctx, { x: xb, rows, heads, dim, tables: uploadRopeTables(ctx, tables) });
        assertClose(await readF32(ctx, xb, x.length), ref.ropeRef(x, rows, heads, dim, tables.cos, tables.sin, tables.pairs), { atol: 1e-6, what: `rope ${dim}` });
      }
    });

    it('elementwise: gelu, gated gelu, softcap, residual add, strided mul, scale', async () => {
      const rand = ref.mulberry32(4);
      const n = 301, y = ref.randomArray(rand, n, 8), x = ref.randomArray(rand, n, 3);
      const run = async (op, opts, expected, tol = {}) => {
        const yb = storageBuffer(ctx, y);
        elementwise(ctx, op, { y: yb, count: n, ...opts });
        assertClose(await readF32(ctx, yb, n), expected, { atol: 2e-6, rtol: 2e-6, what: op, ...tol });
      };
      await run('gelu', {}, y.map(ref.geluRef));
      await run('geluMul', { x: storageBuffer(ctx, x) }, y.map((v, i) => Math.fround(ref.geluRef(v) * x[i])));
      const big = y.map((v) => v * 20);
      const bb = storageBuffer(ctx, big);
      elementwise(ctx, 'softcap', { y: bb, count: n, scalar: 30 });
      assertClose(await readF32(ctx, bb, n), big.map((v) => ref.softcapRef(v, 30)), { atol: 1e-5, what: 'softcap' });
      await run('add', { x: storageBuffer(ctx, x) }, y.map((v, i) => Math.fround(v + x[i])), { atol: 0, rtol: 0 });
      await run('scale', { scalar: 0.37 }, y.map((v) => Math.fround(v * Math.fround(0.37))), { atol: 0, rtol: 0 });
      // y as 7 rows of 43 times the slice [5, 48) of rows of 60.
      const wide = ref.randomArray(rand, 7 * 60), wb = storageBuffer(ctx, wide);
      await run('mul', { x: wb, cols: 43, xStride: 60, xOffset: 5 }, y.map((v, i) => Math.fround(v * wide[Math.floor(i / 43) * 60 + 5 + (i % 43)])), { atol: 0, rtol: 0 });
    });

    it('matmul f32, q8_0, q4_0: odd shapes, token tiles, split weights', async () => {
      const rand = ref.mulberry32(5);
      for (const format of ['f32', 'q8_0', 'q4_0']) {
        for (const [rows, cols, tokens, split] of [[67, 96, 1, false], [33, 1568, 5, false], [129, 64, 9, true], [8, 32, 4, true]]) {
          if (format === 'f32' && cols === 96) continue;
          const c = format === 'f32' ? cols - 29 : cols;  // f32 takes any width
          const wf = ref.randomArray(rand, rows * c, 0.5), x = ref.randomArray(rand, tokens * c, 2);
          let bytes, dense;
          if (format === 'f32') { bytes = new Uint8Array(wf.buffer); dense = wf; }
          else {
            bytes = format === 'q8_0' ? ref.quantizeQ8_0(wf, rows, c) : ref.quantizeQ4_0(wf, rows, c);
            dense = ref.dequantize(format, bytes, rows, c);
          }
          const rowBytes = bytes.byteLength / rows;
          const target = split ? { ...ctx, maxBindingBytes: rowBytes * 10 + 3 } : ctx;
          const tensor = uploadRows(target, bytes, rows, rowBytes);
          if (split) assert.equal(tensor.parts.length, Math.ceil(rows / 8));  // parts of a multiple of 4 rows
          // Both kernels: a workgroup per row (narrowMatmulCols 0) and an invocation per output.
          for (const narrow of [0, 1 << 30]) {
            const y = storageBuffer(ctx, tokens * rows * 4);
            matmul({ ...target, narrowMatmulCols: narrow }, { format, cols: c, tensor }, storageBuffer(ctx, x), tokens, y);
            assertClose(await readF32(ctx, y, tokens * rows), ref.matmulRef(dense, x, rows, c, tokens), { atol: 1e-4, rtol: 1e-5, what: `${format} ${rows}x${c}x${tokens} narrow ${narrow}` });
          }
        }
      }
    });

    it('int8 activations: block dots like the native quantized matmul', async () => {
      const rand = ref.mulberry32(11);
      const f = Math.fround;
      for (const format of ['q8_0', 'q4_0']) for (const [rows, cols, tokens, narrow] of [[5, 64, 3, 1 << 30], [9, 320, 6, 0]]) {
        const wf = ref.randomArray(rand, rows * cols, 0.5), x = ref.randomArray(rand, tokens * cols, 2);
        const bytes = format === 'q8_0' ? ref.quantizeQ8_0(wf, rows, cols) : ref.quantizeQ4_0(wf, rows, cols);
        const dense = ref.dequantize(format, bytes, rows, cols);
        // quantize_activations_portable, then sum over blocks of float(int dot) * d_w * d_x.
        const blocks = cols / 32, expected = new Float32Array(tokens * rows);
        const xq = new Float32Array(tokens * cols), xs = new Float32Array(tokens * blocks);
        for (let b = 0; b < tokens * blocks; ++b) {
          let amax = 0;
          for (let i = 0; i < 32; ++i) amax = Math.max(amax, Math.abs(x[b * 32 + i]));
          const d = f(amax / 127), id = d ? f(1 / d) : 0;
          xs[b] = d;
          for (let i = 0; i < 32; ++i) { const v = f(x[b * 32 + i] * id), fl = Math.floor(v), r = v - fl; xq[b * 32 + i] = r > 0.5 ? fl + 1 : r < 0.5 ? fl : (fl % 2 === 0 ? fl : fl + 1); }
        }
        for (let t = 0; t < tokens; ++t) for (let r = 0; r < rows; ++r) {
          let acc = 0;
          for (let b = 0; b < blocks; ++b) {
            let dot = 0;
            for (let i = 0; i < 32; ++i) { const wv = dense[r * cols + b * 32 + i]; dot += wv * xq[t * cols + b * 32 + i]; }
            acc += dot * xs[t * blocks + b];
          }
          expected[t * rows + r] = acc;
        }
        const tensor = uploadRows(ctx, bytes, rows, bytes.byteLength / rows);
        const y = storageBuffer(ctx, tokens * rows * 4);
        matmul({ ...ctx, narrowMatmulCols: narrow }, { format, cols, tensor, quantizedActivations: true }, storageBuffer(ctx, x), tokens, y);
        assertClose(await readF32(ctx, y, tokens * rows), expected, { atol: 1e-4, rtol: 1e-5, what: `${format} int8 ${rows}x${cols}x${tokens}` });
      }
    });

    it('quantized weights decode like dequantize_row (hand-made blocks)', async () => {
      // One q8_0 block with d = 0.5 and q = -128..127 steps, one q4_0 block with d = -0.25.
      const q8 = new Uint8Array(34); q8[0] = 0x00; q8[1] = 0x38;  // f16 0.5
      for (let i = 0; i < 32; ++i) q8[2 + i] = (i * 8 - 128) & 0xff;
      const q4 = new Uint8Array(18); q4[0] = 0x00; q4[1] = 0xb4;  // f16 -0.25
      for (let j = 0; j < 16; ++j) q4[2 + j] = j | ((15 - j) << 4);
      const x = new Float32Array(32).map((_, i) => (i === 3 || i === 20 ? 1 : 0));
      for (const [format, bytes, expected] of [['q8_0', q8, [0.5 * (24 - 128), 0.5 * (160 - 128)]], ['q4_0', q4, [-0.25 * (3 - 8), -0.25 * (11 - 8)]]]) {
        const y = storageBuffer(ctx, 4);
        matmul({ ...ctx, narrowMatmulCols: 0 }, { format, cols: 32, tensor: uploadRows(ctx, bytes, 1, bytes.length) }, storageBuffer(ctx, x), 1, y);
        assert.deepEqual([...(await readF32(ctx, y, 1))], [expected[0] + expected[1]], format);
      }
    });

    it('attention: sliding window and full causal, 8 query heads per KV head', async () => {
      const rand = ref.mulberry32(6);
      for (const [heads, kvHeads, dim, window, positions] of [
        [8, 1, 256, 512, [0, 1, 600, 601, 700]],
        [8, 1, 512, 0, [0, 5, 130]],
        [8, 2, 40, 3, [0, 1, 2, 9]],
        [3, 3, 17, 0, [66, 67]],
      ]) {
        const len = Math.max(...positions) + 1, rows = positions.length;
        const q = ref.randomArray(rand, rows * heads * dim, 0.3);
        const k = ref.randomArray(rand, len * kvHeads * dim, 0.3), v = ref.randomArray(rand, len * kvHeads * dim, 2);
        const out = storageBuffer(ctx, rows * heads * dim * 4);
        attention(ctx, { q: storageBuffer(ctx, q), kCache: storageBuffer(ctx, k), vCache: storageBuffer(ctx, v), positions: storageBuffer(ctx, new Uint32Array(positions)), out, rows, heads, kvHeads, dim, window });
        assertClose(await readF32(ctx, out, rows * heads * dim), ref.attentionRef(q, k, v, positions, rows, heads, kvHeads, dim, window), { atol: 2e-5, rtol: 1e-4, what: `attention hd ${dim} window ${window}` });
      }
    });

    it('top-k and argmax: ties to the lower index, NaN skipped', async () => {
      const rand = ref.mulberry32(7);
      const rows = 3, cols = 1001, x = ref.randomArray(rand, rows * cols);
      x[5] = 2; x[900] = 2; x[cols + 17] = NaN; x[cols + 18] = 5; x[2 * cols + 1000] = 3;
      const xb = storageBuffer(ctx, x);
      const k = 10, got = await topK(ctx, xb, rows, cols, k), want = ref.topKRef(x, rows, cols, k);
      assert.deepEqual([...got.indices], want.indices);
      assert.deepEqual([...got.values], want.values.map(Math.fround));
      assert.deepEqual([...(await argmax(ctx, xb, rows, cols))], [5, cols + 18 - cols, 1000]);
      await assert.rejects(topK(ctx, xb, rows, cols, 0), RangeError);
    });
  });
}
