// The model's config.json read by the native engine's rules (src/model/config.cpp): nested
// text_config or flat, defaults of E2B's family, and the per-layer specs derived from it (attention
// type, head size, KV heads, KV sharing and its source layer, MLP width, RoPE pairs and inverse
// frequencies). Errors name the field.
export class ModelConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

function reader(obj, source) {
  const has = (k) => obj[k] !== undefined && obj[k] !== null;
  const fail = (k, what) => { throw new ModelConfigError(`${source}: field '${k}' ${what}`); };
  return {
    has,
    fail,
    integer(k, fallback, lo, hi) {
      if (!has(k)) return fallback;
      const v = obj[k];
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(k, `must be an integer (got ${JSON.stringify(v)})`);
      if (v < lo || v > hi) fail(k, `must be an integer in [${lo}, ${hi}] (got ${v})`);
      return v;
    },
    number(k, fallback) {
      if (!has(k)) return fallback;
      const v = obj[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(k, 'must be a finite number');
      return v;
    },
    boolean(k, fallback) {
      if (!has(k)) return fallback;
      if (typeof obj[k] !== 'boolean') fail(k, 'must be true or false');
      return obj[k];
    },
    string(k, fallback) {
      if (!has(k)) return fallback;
      if (typeof obj[k] !== 'string') fail(k, 'must be a string');
      return obj[k];
    },
  };
}

function parseRope(obj, source, fallback) {
  if (typeof obj !== 'object' || Array.isArray(obj)) throw new ModelConfigError(`${source}: rope parameters must be an object`);
  const f = reader(obj, source);
  const ropeType = f.string('rope_type', fallback.ropeType);
  const r = {
    ropeType,
    theta: f.number('rope_theta', fallback.theta),
    partialRotaryFactor: f.number('partial_rotary_factor', ropeType === 'proportional' ? fallback.partialRotaryFactor : 1.0),
    factor: f.number('factor', 1.0),
  };
  if (ropeType !== 'default' && ropeType !== 'proportional') throw new ModelConfigError(`${source}: rope_type '${ropeType}' is not supported (supported: default, proportional)`);
  if (!(r.theta > 0)) throw new ModelConfigError(`${source}: rope_theta must be positive`);
  if (!(r.partialRotaryFactor >= 0 && r.partialRotaryFactor <= 1)) throw new ModelConfigError(`${source}: partial_rotary_factor must be in [0, 1]`);
  if (!(r.factor > 0)) throw new ModelConfigError(`${source}: rope factor must be positive`);
  return r;
}

const MAX_VOCAB = 2 ** 24, MAX_WIDTH = 2 ** 16, MAX_LAYERS = 1024, MAX_HEADS = 1024, MAX_HEAD_DIM = 2 ** 14, MAX_POS = 2 ** 31 - 1;

// doc: the parsed config.json. Returns the config with `layers` (one spec per layer).
export function parseConfig(doc, source = 'config.json') {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ModelConfigError(`${source}: expected a JSON object`);
  const nested = doc.text_config !== undefined && doc.text_config !== null;
  if (nested && (typeof doc.text_config !== 'object' || Array.isArray(doc.text_config))) throw new ModelConfigError(`${source}: field 'text_config' must be an object`);
  const text = nested ? doc.text_config : doc;
  const top = reader(doc, source);
  const f = reader(text, nested ? `${source} (text_config)` : source);
  for (const r of [top, f]) {
    const mt = r.string('model_type', 'gemma4');
    if (mt !== 'gemma4' && mt !== 'gemma4_text') throw new ModelConfigError(`${source}: model_type '${mt}' is not a Gemma 4 model (expected gemma4 or gemma4_text)`);
  }
  const c = {
    vocabSize: f.integer('vocab_size', 262144, 1, MAX_VOCAB),
    hiddenSize: f.integer('hidden_size', 2304, 1, MAX_WIDTH),
    intermediateSize: f.integer('intermediate_size', 9216, 1, MAX_WIDTH * 16),
    numLayers: f.integer('num_hidden_layers', 30, 1, MAX_LAYERS),
    numHeads: f.integer('num_attention_heads', 8, 1, MAX_HEADS),
    numKvHeads: f.integer('num_key_value_heads', 4, 1, MAX_HEADS),
    headDim: f.integer('head_dim', 256, 1, MAX_HEAD_DIM),
    // null or 0: full layers use head_dim; absent: 512.
    globalHeadDim: f.has('global_head_dim') ? f.integer('global_head_dim', 0, 0, MAX_HEAD_DIM) : ('global_head_dim' in text ? 0 : 512),
    numGlobalKvHeads: f.has('num_global_key_value_heads') ? f.integer('num_global_key_value_heads', 0, 1, MAX_HEADS) : null,
    attentionKEqV: f.boolean('attention_k_eq_v', false),
    slidingWindow: f.integer('sliding_window', 512, 1, MAX_POS),
    vocabSizePerLayerInput: f.integer('vocab_size_per_layer_input', 262144, 0, MAX_VOCAB),
    hiddenSizePerLayerInput: ('hidden_size_per_layer_input' in text && text.hidden_size_per_layer_input === null) ? 0 : f.integer('hidden_size_per_layer_input', 256, 0, MAX_WIDTH),
    numKvSharedLayers: f.integer('num_kv_shared_layers', 0, 0, MAX_LAYERS),
    useDoubleWideMlp: f.boolean('use_double_wide_mlp', false),
    maxPositionEmbeddings: f.integer('max_position_embeddings', 131072, 1, MAX_POS),
    rmsNormEps: f.number('rms_norm_eps', 1e-6),
    hiddenActivation: f.string('hidden_activation', 'gelu_pytorch_tanh'),
    finalLogitSoftcapping: f.has('final_logit_softcapping') ? f.number('final_logit_softcapping', 0) : null,
    tieWordEmbeddings: f.boolean('tie_word_embeddings', top.boolean('tie_word_embeddings', true)),
    nested,
  };
  if (f.boolean('enable_moe_block', false)) throw new ModelConfigError(`${source}: enable_moe_block: true (mixture-of-experts Gemma 4) is not supported by this engine`);
  if (f.boolean('attention_bias', false)) throw new ModelConfigError(`${source}: attention_bias: true is not supported by this engine`);
  if (f.string('use_bidirectional_attention', '') === 'all') throw new ModelConfigError(`${source}: use_bidirectional_attention: "all" is not supported (text generation is causal)`);
  if (c.hiddenActivation !== 'gelu_pytorch_tanh' && c.hiddenActivation !== 'gelu_new') throw new ModelConfigError(`${source}: hidden_activation '${c.hiddenActivation}' is not supported (supported: gelu_pytorch_tanh)`);
  if (c.hiddenSizePerLayerInput > 0 && c.vocabSizePerLayerInput === 0) f.fail('vocab_size_per_layer_input', 'must be positive when hidden_size_per_layer_input is set');
  if (!(c.rmsNormEps > 0)) f.fail('rms_norm_eps', 'must be positive');
  if (c.finalLogitSoftcapping !== null && !(c.finalLogitSoftcapping > 0)) f.fail('final_logit_softcapping', 'must be positive or null');
  if (c.numKvSharedLayers >= c.numLayers) f.fail('num_kv_shared_layers', `must be in [0, num_hidden_layers - 1] (got ${c.numKvSharedLayers})`);

  let types;
  if (f.has('layer_types')) {
    const lt = text.layer_types;
    if (!Array.isArray(lt)) f.fail('layer_types', 'must be a list');
    if (lt.length !== c.numLayers) f.fail('layer_types', `has ${lt.length} entries but num_hidden_layers is ${c.numLayers}`);
    types = lt.map((t, i) => {
      if (t === 'sliding_attention') return 'sliding';
      if (t === 'full_attention') return 'full';
      return f.fail('layer_types', `entry ${i} must be "sliding_attention" or "full_attention"`);
    });
  } else {
    types = Array.from({ length: c.numLayers }, (_, i) => ((i + 1) % 6 === 0 ? 'full' : 'sliding'));
  }
  types[types.length - 1] = 'full';
  c.layerTypes = types;

  c.ropeSliding = { ropeType: 'default', theta: 10000, partialRotaryFactor: 1, factor: 1 };
  c.ropeFull = { ropeType: 'proportional', theta: 1000000, partialRotaryFactor: 0.25, factor: 1 };
  if (f.has('rope_parameters')) {
    const rp = text.rope_parameters;
    if (typeof rp !== 'object' || Array.isArray(rp)) f.fail('rope_parameters', 'must be an object');
    const src = nested ? `${source} (text_config)` : source;
    if (rp.sliding_attention != null) c.ropeSliding = parseRope(rp.sliding_attention, `${src} rope_parameters.sliding_attention`, c.ropeSliding);
    if (rp.full_attention != null) c.ropeFull = parseRope(rp.full_attention, `${src} rope_parameters.full_attention`, c.ropeFull);
  }
  c.layers = deriveLayers(c, source);
  return c;
}

function deriveLayers(c, source) {
  const firstShared = c.numLayers - c.numKvSharedLayers;
  return c.layerTypes.map((type, i) => {
    const full = type === 'full';
    const headDim = full && c.globalHeadDim > 0 ? c.globalHeadDim : c.headDim;
    const kEqV = c.attentionKEqV && full;
    const numKvHeads = kEqV && c.numGlobalKvHeads ? c.numGlobalKvHeads : c.numKvHeads;
    if (c.numHeads % numKvHeads !== 0) throw new ModelConfigError(`${source}: num_attention_heads (${c.numHeads}) must be a multiple of the key/value head count (${numKvHeads}) of layer ${i}`);
    if (headDim % 2 !== 0) throw new ModelConfigError(`${source}: head dimension of layer ${i} must be even`);
    const kvShared = c.numKvSharedLayers > 0 && i >= firstShared;
    let kvSourceLayer = i;
    if (kvShared) {
      kvSourceLayer = -1;
      for (let j = firstShared - 1; j >= 0; --j) if (c.layerTypes[j] === type) { kvSourceLayer = j; break; }
      if (kvSourceLayer < 0) throw new ModelConfigError(`${source}: layer ${i} is KV-shared but no earlier ${type}-attention layer computes K/V for it`);
    }
    const mlpWidth = c.intermediateSize * (c.useDoubleWideMlp && kvShared && firstShared > 0 ? 2 : 1);
    const rope = full ? c.ropeFull : c.ropeSliding;
    const rotaryPairs = rope.ropeType === 'proportional' ? Math.floor(rope.partialRotaryFactor * headDim / 2) : headDim / 2;
    const invFreq = new Float64Array(rotaryPairs);
    for (let p = 0; p < rotaryPairs; ++p) {
      invFreq[p] = 1 / Math.pow(rope.theta, (2 * p) / headDim);
      if (rope.ropeType === 'proportional') invFreq[p] /= rope.factor;
    }
    return { type, headDim, numKvHeads, kvShared, kvSourceLayer, hasVProj: !kEqV, mlpWidth, rotaryPairs, invFreq };
  });
}
