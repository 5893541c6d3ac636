#!/usr/bin/python3
"""Independent float64 reference of the Gemma 4 text decoder (Gemma4ForCausalLM semantics).

One full-sequence forward pass without a KV cache, in numpy float64, from exactly the stored
weights. Used to validate against the Hugging Face goldens of tests/data/tiny-a and to generate
extra golden fixtures (see make_fixtures.py).

CLI:  /usr/bin/python3 tools/reference/gemma4_ref.py MODEL_DIR --tokens 1,2,3 [--out logits.f32]
"""

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_checkpoint  # noqa: E402

SLIDING = "sliding_attention"
FULL = "full_attention"

# Gemma4TextConfig defaults (transformers); only the fields the text decoder uses.
TEXT_DEFAULTS = {
    "vocab_size": 262144,
    "hidden_size": 2304,
    "intermediate_size": 9216,
    "num_hidden_layers": 30,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "head_dim": 256,
    "global_head_dim": 512,
    "num_global_key_value_heads": None,
    "hidden_activation": "gelu_pytorch_tanh",
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
    "sliding_window": 512,
    "final_logit_softcapping": None,
    "vocab_size_per_layer_input": 262144,
    "hidden_size_per_layer_input": 256,
    "attention_k_eq_v": False,
    "num_kv_shared_layers": 0,
    "use_double_wide_mlp": False,
    "attention_bias": False,
    "enable_moe_block": False,
    "layer_types": None,
    "rope_parameters": None,
}

DEFAULT_ROPE = {
    SLIDING: {"rope_type": "default", "rope_theta": 10000.0},
    FULL: {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1000000.0},
}


class ReferenceError(Exception):
    pass


class TextConfig:
    """Resolved text-decoder config: every field present, layer_types and rope filled in."""

    def __init__(self, fields, tensor_prefix):
        self.__dict__.update(fields)
        self.tensor_prefix = tensor_prefix


def parse_config(raw):
    """Parses a config.json dict (nested multimodal layout or flat gemma4_text)."""
    if isinstance(raw.get("text_config"), dict):
        text = dict(raw["text_config"])
        prefix = "model.language_model."
        # The top-level flag of Gemma4Config decides whether lm_head is tied.
        if "tie_word_embeddings" in raw:
            text["tie_word_embeddings"] = raw["tie_word_embeddings"]
    else:
        text = dict(raw)
        prefix = "model."
    fields = dict(TEXT_DEFAULTS)
    fields.update({k: v for k, v in text.items() if k in TEXT_DEFAULTS})
    if fields["enable_moe_block"]:
        raise ReferenceError("config: enable_moe_block is not supported by this reference")
    if fields["hidden_activation"] not in ("gelu_pytorch_tanh", "gelu_tanh"):
        raise ReferenceError(f"config: unsupported hidden_activation {fields['hidden_activation']}")
    layer_count = int(fields["num_hidden_layers"])
    layer_types = fields["layer_types"]
    if layer_types is None:
        layer_types = [FULL if (i + 1) % 6 == 0 else SLIDING for i in range(layer_count)]
    layer_types = list(layer_types)
    if len(layer_types) != layer_count:
        raise ReferenceError(f"config: layer_types has {len(layer_types)} entries, "
                             f"num_hidden_layers is {layer_count}")
    for index, layer_type in enumerate(layer_types):
        if layer_type not in (SLIDING, FULL):
            raise ReferenceError(f"config: layer_types[{index}] is {layer_type!r}")
    if layer_types and layer_types[-1] != FULL:
        layer_types[-1] = FULL  # transformers forces the last layer to full attention
    fields["layer_types"] = layer_types
    rope = fields["rope_parameters"] or {}
    fields["rope_parameters"] = {t: dict(rope.get(t) or DEFAULT_ROPE[t]) for t in (SLIDING, FULL)}
    if not 0 <= fields["num_kv_shared_layers"] <= layer_count:
        raise ReferenceError(f"config: num_kv_shared_layers {fields['num_kv_shared_layers']} "
                             f"out of range for {layer_count} layers")
    return TextConfig(fields, prefix)


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as handle:
        return parse_config(json.load(handle))


# ---------------------------------------------------------------------------------------------
# Per-layer geometry


def layer_head_dim(config, layer):
    if config.layer_types[layer] == FULL and config.global_head_dim:
        return int(config.global_head_dim)
    return int(config.head_dim)


def layer_kv_heads(config, layer):
    if config.attention_k_eq_v and config.layer_types[layer] == FULL:
        if config.num_global_key_value_heads is None:
            raise ReferenceError("config: attention_k_eq_v needs num_global_key_value_heads")
        return int(config.num_global_key_value_heads)
    return int(config.num_key_value_heads)


def first_shared_layer(config):
    return config.num_hidden_layers - config.num_kv_shared_layers


def kv_source_layer(config, layer):
    """The layer whose K/V `layer` attends to (itself unless it is a KV-shared layer)."""
    first_shared = first_shared_layer(config)
    if layer < first_shared:
        return layer
    wanted = config.layer_types[layer]
    for candidate in range(first_shared - 1, -1, -1):
        if config.layer_types[candidate] == wanted:
            return candidate
    raise ReferenceError(f"layer {layer}: KV-shared {wanted} layer has no earlier non-shared "
                         f"layer of the same type to read K/V from")


def mlp_width(config, layer):
    first_shared = first_shared_layer(config)
    wide = config.use_double_wide_mlp and layer >= first_shared > 0
    return int(config.intermediate_size) * (2 if wide else 1)


def rope_inverse_frequencies(config, layer):
    """inv_freq of length head_dim/2 for `layer` (zeros for pairs left unrotated)."""
    layer_type = config.layer_types[layer]
    params = config.rope_parameters[layer_type]
    head_dim = layer_head_dim(config, layer)
    theta = float(params["rope_theta"])
    rope_type = params.get("rope_type", "default")
    if rope_type == "default":
        # transformers uses config.head_dim (the sliding one) for the default type.
        dim = int(config.head_dim)
        inverse = 1.0 / theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    elif rope_type == "proportional":
        dim = head_dim
        rotated = int(float(params.get("partial_rotary_factor", 1.0)) * dim // 2)
        inverse = np.zeros(dim // 2)
        inverse[:rotated] = 1.0 / theta ** (np.arange(0, 2 * rotated, 2, dtype=np.float64) / dim)
        inverse = inverse / float(params.get("factor", 1.0))
    else:
        raise ReferenceError(f"config: unsupported rope_type {rope_type!r} for {layer_type}")
    if 2 * len(inverse) != head_dim:
        raise ReferenceError(f"layer {layer}: rope dim {2 * len(inverse)} != head dim {head_dim}")
    return inverse


# ---------------------------------------------------------------------------------------------
# Math


def rms_norm(values, weight, eps):
    normed = values / np.sqrt(np.mean(values * values, axis=-1, keepdims=True) + eps)
    return normed if weight is None else normed * weight


def gelu_tanh(values):
    return 0.5 * values * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (values + 0.044715 * values ** 3)))


def apply_rope(values, inverse_frequencies, positions):
    """values [T, heads, hd]; rotate-half convention (dim i pairs with i + hd/2)."""
    half = values.shape[-1] // 2
    angles = positions[:, None] * inverse_frequencies[None, :]  # [T, hd/2]
    cos = np.cos(angles)[:, None, :]
    sin = np.sin(angles)[:, None, :]
    first, second = values[..., :half], values[..., half:]
    return np.concatenate([first * cos - second * sin, second * cos + first * sin], axis=-1)


def attention(queries, keys, values, sliding_window):
    """queries [T, H, hd], keys/values [T, KVH, hd]; causal (optionally banded); scale 1."""
    steps, heads, _ = queries.shape
    kv_heads = keys.shape[1]
    group = heads // kv_heads
    positions = np.arange(steps)
    visible = positions[None, :] <= positions[:, None]
    if sliding_window is not None:
        visible &= positions[None, :] > positions[:, None] - sliding_window
    output = np.empty_like(queries)
    for head in range(heads):
        kv_head = head // group
        scores = queries[:, head, :] @ keys[:, kv_head, :].T
        scores = np.where(visible, scores, -np.inf)
        scores -= scores.max(axis=1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=1, keepdims=True)
        output[:, head, :] = weights @ values[:, kv_head, :]
    return output


# ---------------------------------------------------------------------------------------------
# Model


class Weights:
    """Tensor lookup by short name (prefix added) with shape checks and clear errors."""

    def __init__(self, tensors, config):
        self.tensors = tensors
        self.config = config

    def get(self, short_name, shape=None, top_level=False):
        name = short_name if top_level else self.config.tensor_prefix + short_name
        if name not in self.tensors:
            raise ReferenceError(f"missing tensor {name}")
        value = self.tensors[name]
        if shape is not None and list(value.shape) != list(shape):
            raise ReferenceError(f"tensor {name}: shape {list(value.shape)}, expected {list(shape)}")
        return value

    def has(self, short_name):
        return self.config.tensor_prefix + short_name in self.tensors


def per_layer_inputs(weights, config, ids, embedded):
    """[T, L, P] per-layer inputs, or None when hidden_size_per_layer_input is 0."""
    ple_dim = int(config.hidden_size_per_layer_input or 0)
    if ple_dim == 0:
        return None
    layers = config.num_hidden_layers
    hidden = config.hidden_size
    if max(ids) >= config.vocab_size_per_layer_input:
        raise ReferenceError(f"token id {max(ids)} >= vocab_size_per_layer_input")
    table = weights.get("embed_tokens_per_layer.weight",
                        [config.vocab_size_per_layer_input, layers * ple_dim])
    from_table = table[ids].reshape(len(ids), layers, ple_dim) * math.sqrt(ple_dim)
    projection = weights.get("per_layer_model_projection.weight", [layers * ple_dim, hidden])
    projected = (embedded @ projection.T / math.sqrt(hidden)).reshape(len(ids), layers, ple_dim)
    projected = rms_norm(projected, weights.get("per_layer_projection_norm.weight", [ple_dim]),
                         config.rms_norm_eps)
    return (projected + from_table) / math.sqrt(2.0)


def decoder_layer(weights, config, layer, x, ple, shared_kv, positions):
    prefix = f"layers.{layer}."
    eps = config.rms_norm_eps
    hidden = config.hidden_size
    heads = config.num_attention_heads
    head_dim = layer_head_dim(config, layer)
    steps = x.shape[0]

    def norm_weight(name, size=hidden):
        return weights.get(prefix + name + ".weight", [size])

    def linear(name, out_features, in_features):
        return weights.get(prefix + name + ".weight", [out_features, in_features])

    residual = x
    normed = rms_norm(x, norm_weight("input_layernorm"), eps)
    inverse_frequencies = rope_inverse_frequencies(config, layer)
    queries = (normed @ linear("self_attn.q_proj", heads * head_dim, hidden).T)
    queries = queries.reshape(steps, heads, head_dim)
    queries = rms_norm(queries, norm_weight("self_attn.q_norm", head_dim), eps)
    queries = apply_rope(queries, inverse_frequencies, positions)

    source = kv_source_layer(config, layer)
    if source == layer:
        kv_heads = layer_kv_heads(config, layer)
        if heads % kv_heads:
            raise ReferenceError(f"layer {layer}: {heads} query heads not divisible by {kv_heads}")
        raw_keys = (normed @ linear("self_attn.k_proj", kv_heads * head_dim, hidden).T)
        raw_keys = raw_keys.reshape(steps, kv_heads, head_dim)
        uses_k_as_v = config.attention_k_eq_v and config.layer_types[layer] == FULL
        if uses_k_as_v:
            if weights.has(prefix + "self_attn.v_proj.weight"):
                raise ReferenceError(f"layer {layer}: attention_k_eq_v full layer has a v_proj")
            raw_values = raw_keys
        else:
            raw_values = (normed @ linear("self_attn.v_proj", kv_heads * head_dim, hidden).T)
            raw_values = raw_values.reshape(steps, kv_heads, head_dim)
        keys = apply_rope(rms_norm(raw_keys, norm_weight("self_attn.k_norm", head_dim), eps),
                          inverse_frequencies, positions)
        values = rms_norm(raw_values, None, eps)
        shared_kv[layer] = (keys, values)
    else:
        keys, values = shared_kv[source]
        if keys.shape[2] != head_dim:
            raise ReferenceError(f"layer {layer}: shared K/V head dim {keys.shape[2]} != {head_dim}")

    window = config.sliding_window if config.layer_types[layer] == SLIDING else None
    attended = attention(queries, keys, values, window).reshape(steps, heads * head_dim)
    attended = attended @ linear("self_attn.o_proj", hidden, heads * head_dim).T
    x = residual + rms_norm(attended, norm_weight("post_attention_layernorm"), eps)

    residual = x
    normed = rms_norm(x, norm_weight("pre_feedforward_layernorm"), eps)
    width = mlp_width(config, layer)
    gate = normed @ linear("mlp.gate_proj", width, hidden).T
    up = normed @ linear("mlp.up_proj", width, hidden).T
    mixed = (gelu_tanh(gate) * up) @ linear("mlp.down_proj", hidden, width).T
    x = residual + rms_norm(mixed, norm_weight("post_feedforward_layernorm"), eps)

    if ple is not None:
        ple_dim = ple.shape[-1]
        residual = x
        gated = gelu_tanh(x @ linear("per_layer_input_gate", ple_dim, hidden).T) * ple[:, layer, :]
        gated = gated @ linear("per_layer_projection", hidden, ple_dim).T
        x = residual + rms_norm(gated, norm_weight("post_per_layer_input_norm"), eps)

    return x * weights.get(prefix + "layer_scalar", [1])[0]


def forward(tensors, config, ids):
    """Returns (logits [T, V], hidden [L + 1, T, hidden]) in float64."""
    ids = [int(i) for i in ids]
    if not ids:
        raise ReferenceError("empty token sequence")
    if min(ids) < 0 or max(ids) >= config.vocab_size:
        raise ReferenceError(f"token id out of range [0, {config.vocab_size})")
    weights = Weights(tensors, config)
    hidden = config.hidden_size
    embedding_table = weights.get("embed_tokens.weight", [config.vocab_size, hidden])
    x = embedding_table[ids] * math.sqrt(hidden)
    ple = per_layer_inputs(weights, config, ids, x)
    positions = np.arange(len(ids), dtype=np.float64)
    hidden_states = [x]
    shared_kv = {}
    for layer in range(config.num_hidden_layers):
        x = decoder_layer(weights, config, layer, x, ple, shared_kv, positions)
        hidden_states.append(x)
    x = rms_norm(x, weights.get("norm.weight", [hidden]), config.rms_norm_eps)
    if config.tie_word_embeddings:
        head = embedding_table
    else:
        head = weights.get("lm_head.weight", [config.vocab_size, hidden], top_level=True)
    logits = x @ head.T
    cap = config.final_logit_softcapping
    if cap:
        logits = cap * np.tanh(logits / cap)
    return logits, np.stack(hidden_states)


def load_model(model_dir):
    return load_config(model_dir), read_checkpoint(model_dir)


def top1_margin(logits):
    """Smallest gap between the best and second-best logit over all rows."""
    ordered = np.sort(logits, axis=-1)
    return float(np.min(ordered[..., -1] - ordered[..., -2]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--tokens", required=True, help="comma-separated token ids")
    parser.add_argument("--out", help="write logits as little-endian float32 [T, vocab]")
    parser.add_argument("--hidden-out", help="write hidden states float32 [L + 1, T, hidden]")
    arguments = parser.parse_args()
    try:
        ids = [int(t) for t in arguments.tokens.split(",") if t.strip()]
    except ValueError:
        parser.error("--tokens must be comma-separated integers")
    try:
        config, tensors = load_model(arguments.model_dir)
        logits, hidden_states = forward(tensors, config, ids)
    except Exception as error:  # report any load/shape problem as one line
        print(f"error: {error}", file=sys.stderr)
        return 1
    if arguments.out:
        logits.astype("<f4").tofile(arguments.out)
    if arguments.hidden_out:
        hidden_states.astype("<f4").tofile(arguments.hidden_out)
    print(f"logits shape {list(logits.shape)}, min top-1 margin {top1_margin(logits):.6g}")
    print("argmax per position:", ",".join(str(int(i)) for i in logits.argmax(axis=-1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
