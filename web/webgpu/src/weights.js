// The decoder's weights on the GPU, uploaded once: linear layers in the chosen format (f32, or
// q8_0 / q4_0 quantized at load by the native engine's quantizers, byte-identical blocks; a matrix
// whose rows do not split into blocks of 32 stays float32, as the native engine keeps it in its
// stored 16-bit type), norms as f32 vectors. The token embedding and the per-layer embedding
// tables stay on the CPU side: their rows are read from the checkpoint when a step needs them.
// A tied LM head is the token embedding in the weight format.
import { storageBuffer } from './context.js';
import { allocateRows, writeRows, destroyRows } from './split_tensor.js';
import { checkTensor, readRowsF32, readTensorF32 } from './checkpoint.js';
import { quantizeQ4_0, quantizeQ8_0 } from './quant.js';
import { WEIGHT_FORMATS } from './kernels/matmul.js';

// Matrices are read, converted and uploaded this many source bytes at a time, so loading E2B's
// LM head (805 MB in bf16, 1.6 GB as f32) never holds it whole in JS memory.
const LOAD_CHUNK_BYTES = 16 << 20;

// activations: 'int8' (default: quantized matmuls multiply int8-quantized activations, as the
// native engine's do) or 'f32'; chunkBytes: the read size (tests: small, to cross part bounds).
export async function loadWeights(ctx, ckpt, config, format = 'f32', { activations = 'int8', chunkBytes = LOAD_CHUNK_BYTES } = {}) {
  if (activations !== 'int8' && activations !== 'f32') throw new TypeError(`activations must be 'int8' or 'f32', got '${activations}'`);
  if (!(format in WEIGHT_FORMATS)) throw new TypeError(`unknown weight format '${format}' (f32, q8_0, q4_0)`);
  const c = config;
  let prefix;
  if (ckpt.tensors.has('model.language_model.embed_tokens.weight')) prefix = 'model.language_model.';
  else if (ckpt.tensors.has('model.embed_tokens.weight')) prefix = 'model.';
  else throw new (await import('./checkpoint.js')).CheckpointError("checkpoint has no token embedding: expected 'model.language_model.embed_tokens.weight' (multimodal layout) or 'model.embed_tokens.weight' (text-only layout)");
  const tensor = (name, shape, prefixed = true) => {
    const full = prefixed ? prefix + name : name;
    return checkTensor(ckpt.tensors.get(full), full, shape);
  };
  const buffers = [];
  const vector = async (name, n) => {
    const b = storageBuffer(ctx, await readTensorF32(ckpt, tensor(name, [n])));
    buffers.push(b);
    return b;
  };
  const scalar = async (name) => (await readTensorF32(ckpt, tensor(name, [1])))[0];
  const matrices = [];
  const matrix = async (t, rows, cols) => {
    const fmt = format !== 'f32' && cols % 32 === 0 ? format : 'f32';
    const m = { format: fmt, rows, cols, quantizedActivations: fmt !== 'f32' && activations === 'int8',
                tensor: allocateRows(ctx, rows, WEIGHT_FORMATS[fmt].rowBytes(cols)) };
    matrices.push(m);
    // Pieces of a multiple of 4 rows (split_tensor.js: aligned writes).
    const step = Math.max(4, Math.floor(chunkBytes / (t.bytes / rows) / 4) * 4);
    for (let row0 = 0; row0 < rows; row0 += step) {
      const n = Math.min(step, rows - row0);
      const values = await readRowsF32(ckpt, t, row0, n);
      const bytes = fmt === 'f32' ? new Uint8Array(values.buffer) : fmt === 'q8_0' ? quantizeQ8_0(values, n, cols) : quantizeQ4_0(values, n, cols);
      writeRows(ctx, m.tensor, row0, bytes);
    }
    return m;
  };
  const H = c.hiddenSize, L = c.numLayers, P = c.hiddenSizePerLayerInput;
  const w = { config: c, format, buffers, matrices };
  w.embedTokens = tensor('embed_tokens.weight', [c.vocabSize, H]);
  w.lmHead = c.tieWordEmbeddings ? await matrix(w.embedTokens, c.vocabSize, H) : await matrix(tensor('lm_head.weight', [c.vocabSize, H], false), c.vocabSize, H);
  w.finalNorm = await vector('norm.weight', H);
  if (P > 0) {
    w.embedTokensPerLayer = tensor('embed_tokens_per_layer.weight', [c.vocabSizePerLayerInput, L * P]);
    w.perLayerModelProjection = await matrix(tensor('per_layer_model_projection.weight', [L * P, H]), L * P, H);
    w.perLayerProjectionNorm = await vector('per_layer_projection_norm.weight', P);
  }
  w.layers = [];
  for (let i = 0; i < L; ++i) {
    const spec = c.layers[i], p = `layers.${i}.`, hd = spec.headDim, nh = c.numHeads;
    const lw = {
      inputNorm: await vector(`${p}input_layernorm.weight`, H),
      postAttentionNorm: await vector(`${p}post_attention_layernorm.weight`, H),
      preFeedforwardNorm: await vector(`${p}pre_feedforward_layernorm.weight`, H),
      postFeedforwardNorm: await vector(`${p}post_feedforward_layernorm.weight`, H),
      layerScalar: await scalar(`${p}layer_scalar`),
      qProj: await matrix(tensor(`${p}self_attn.q_proj.weight`, [nh * hd, H]), nh * hd, H),
      qNorm: await vector(`${p}self_attn.q_norm.weight`, hd),
      oProj: await matrix(tensor(`${p}self_attn.o_proj.weight`, [H, nh * hd]), H, nh * hd),
    };
    if (!spec.kvShared) {
      const kvw = spec.numKvHeads * hd;
      lw.kProj = await matrix(tensor(`${p}self_attn.k_proj.weight`, [kvw, H]), kvw, H);
      // Without v_proj (attention_k_eq_v), V is the raw K projection: the same matrix again.
      lw.vProj = spec.hasVProj ? await matrix(tensor(`${p}self_attn.v_proj.weight`, [kvw, H]), kvw, H) : lw.kProj;
      lw.kNorm = await vector(`${p}self_attn.k_norm.weight`, hd);
    }
    const F = spec.mlpWidth;
    lw.gateProj = await matrix(tensor(`${p}mlp.gate_proj.weight`, [F, H]), F, H);
    lw.upProj = await matrix(tensor(`${p}mlp.up_proj.weight`, [F, H]), F, H);
    lw.downProj = await matrix(tensor(`${p}mlp.down_proj.weight`, [H, F]), H, F);
    if (P > 0) {
      lw.perLayerInputGate = await matrix(tensor(`${p}per_layer_input_gate.weight`, [P, H]), P, H);
      lw.perLayerProjection = await matrix(tensor(`${p}per_layer_projection.weight`, [H, P]), H, P);
      lw.postPerLayerInputNorm = await vector(`${p}post_per_layer_input_norm.weight`, H);
    }
    w.layers.push(lw);
  }
  w.gpuBytes = buffers.reduce((a, b) => a + b.size, 0) + matrices.reduce((a, m) => a + m.tensor.parts.reduce((s, part) => s + part.buffer.size, 0), 0);
  return w;
}

export function destroyWeights(w) {
  for (const b of w.buffers) b.destroy();
  for (const m of w.matrices) destroyRows(m.tensor);
}
