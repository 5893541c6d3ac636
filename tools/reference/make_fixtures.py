#!/usr/bin/python3
"""Generates the extra golden fixtures under tests/data/fixtures/ with the float64 reference.

Each fixture is a complete Hugging Face style checkpoint with random (seeded) weights plus
golden/manifest.json and golden/*.logits.f32 in the same format as tests/data/tiny-a.
Deterministic: rerunning rewrites byte-identical files.

Usage: /usr/bin/python3 tools/reference/make_fixtures.py [--only NAME] [--out-root DIR]
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gemma4_ref import (FULL, SLIDING, forward, kv_source_layer, layer_head_dim,  # noqa: E402
                        layer_kv_heads, load_model, mlp_width, parse_config, top1_margin)
from safetensors_io import write_safetensors_file, write_sharded_checkpoint  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
TINY_A = os.path.join(REPO_ROOT, "tests", "data", "tiny-a")
DEFAULT_OUT_ROOT = os.path.join(REPO_ROOT, "tests", "data", "fixtures")

# Fixed margins every fixture must clear so that float32 engines can be judged by argmax.
MIN_MARGIN = 2e-2
SHORT_LENGTH = 5
LONG_LENGTH = 40
GREEDY_STEPS = 16
# The chat rendering of "What is the capital of France? Answer in one word." (tiny-a's prompt).
GREEDY_PROMPT = [2, 105, 188, 107, 158, 117, 110, 129, 183, 181, 208, 185, 214, 174, 233, 234,
                 223, 227, 172, 106, 107, 105, 192, 107]

S, F = SLIDING, FULL

FIXTURES = [
    {
        "name": "flat-gqa",
        "dtype": "F32",
        "shards": 1,
        "config": {
            "architectures": ["Gemma4ForCausalLM"],
            "model_type": "gemma4_text",
            "vocab_size": 512,
            "hidden_size": 48,
            "intermediate_size": 64,
            # layer_types, rope_parameters and final_logit_softcapping are deliberately absent:
            # defaults give [s,s,s,s,s,f,s,s] and the last layer is forced to full attention.
            "num_hidden_layers": 8,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "global_head_dim": 32,
            "attention_k_eq_v": False,
            "sliding_window": 6,
            "vocab_size_per_layer_input": 512,
            "hidden_size_per_layer_input": 8,
            "num_kv_shared_layers": 2,
            "use_double_wide_mlp": False,
            "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-06,
            "hidden_activation": "gelu_pytorch_tanh",
            "pad_token_id": 0,
            "bos_token_id": 2,
            "eos_token_id": [1, 106],
            "tie_word_embeddings": False,
        },
    },
    {
        "name": "kv-eq",
        "dtype": "F16",
        "shards": 1,
        "config": {
            "architectures": ["Gemma4ForConditionalGeneration"],
            "model_type": "gemma4",
            "eos_token_id": [1, 106],
            "tie_word_embeddings": True,
            "text_config": {
                "model_type": "gemma4_text",
                "vocab_size": 512,
                "hidden_size": 64,
                "intermediate_size": 128,
                "num_hidden_layers": 5,
                "num_attention_heads": 4,
                "num_key_value_heads": 1,
                "head_dim": 16,
                "global_head_dim": 32,
                "num_global_key_value_heads": 2,
                "attention_k_eq_v": True,
                "sliding_window": 5,
                "vocab_size_per_layer_input": 512,
                "hidden_size_per_layer_input": 0,
                "num_kv_shared_layers": 0,
                "use_double_wide_mlp": False,
                "max_position_embeddings": 4096,
                "rms_norm_eps": 1e-06,
                "hidden_activation": "gelu_pytorch_tanh",
                "final_logit_softcapping": 30.0,
                "pad_token_id": 0,
                "bos_token_id": 2,
                "eos_token_id": 1,
                "tie_word_embeddings": True,
                "enable_moe_block": False,
                "layer_types": [S, F, S, S, F],
                "rope_parameters": {
                    "full_attention": {"partial_rotary_factor": 0.5, "rope_theta": 1000000.0,
                                       "rope_type": "proportional"},
                    "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"},
                },
            },
        },
    },
    {
        "name": "sharded",
        "dtype": "BF16",
        "shards": 2,
        "config": {
            "architectures": ["Gemma4ForConditionalGeneration"],
            "model_type": "gemma4",
            "eos_token_id": [1, 106],
            "tie_word_embeddings": True,
            "text_config": {
                "model_type": "gemma4_text",
                "vocab_size": 512,
                "hidden_size": 48,
                "intermediate_size": 96,
                "num_hidden_layers": 8,
                "num_attention_heads": 6,
                "num_key_value_heads": 2,
                "head_dim": 8,
                "global_head_dim": 16,
                "num_global_key_value_heads": None,
                "attention_k_eq_v": False,
                "sliding_window": 4,
                "vocab_size_per_layer_input": 512,
                "hidden_size_per_layer_input": 8,
                # First shared layer is 6: layer 6 (sliding) reads layer 5 and layer 7 (full)
                # reads layer 4, i.e. the full source comes before the sliding one.
                "num_kv_shared_layers": 2,
                "use_double_wide_mlp": True,
                "max_position_embeddings": 4096,
                "rms_norm_eps": 1e-05,
                "hidden_activation": "gelu_pytorch_tanh",
                "final_logit_softcapping": 20.0,
                "pad_token_id": 0,
                "bos_token_id": 2,
                "eos_token_id": 1,
                "tie_word_embeddings": True,
                "enable_moe_block": False,
                "layer_types": [S, F, S, S, F, S, S, F],
                "rope_parameters": {
                    "full_attention": {"partial_rotary_factor": 0.25, "rope_theta": 200000.0,
                                       "rope_type": "proportional", "factor": 2.0},
                    "sliding_attention": {"rope_theta": 5000.0, "rope_type": "default"},
                },
            },
        },
    },
]


def random_weights(config, rng):
    """Random tensors shaped like a real checkpoint for `config` (names with prefix)."""
    hidden = config.hidden_size
    heads = config.num_attention_heads
    ple_dim = int(config.hidden_size_per_layer_input or 0)
    layers = config.num_hidden_layers
    tensors = {}

    def linear(out_features, in_features):
        return rng.normal(0.0, in_features ** -0.5, size=(out_features, in_features))

    def norm(size):
        return np.clip(1.0 + 0.2 * rng.normal(size=size), 0.4, 1.6)

    top = config.tensor_prefix
    tensors[top + "embed_tokens.weight"] = rng.normal(0.0, 0.5, size=(config.vocab_size, hidden))
    if ple_dim:
        tensors[top + "embed_tokens_per_layer.weight"] = rng.normal(
            0.0, 0.5, size=(config.vocab_size_per_layer_input, layers * ple_dim))
        tensors[top + "per_layer_model_projection.weight"] = linear(layers * ple_dim, hidden)
        tensors[top + "per_layer_projection_norm.weight"] = norm(ple_dim)
    for layer in range(layers):
        prefix = f"{top}layers.{layer}."
        head_dim = layer_head_dim(config, layer)
        for name in ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                     "post_feedforward_layernorm"):
            tensors[prefix + name + ".weight"] = norm(hidden)
        tensors[prefix + "layer_scalar"] = rng.uniform(0.5, 1.5, size=(1,))
        tensors[prefix + "self_attn.q_proj.weight"] = linear(heads * head_dim, hidden)
        tensors[prefix + "self_attn.q_norm.weight"] = norm(head_dim)
        tensors[prefix + "self_attn.o_proj.weight"] = linear(hidden, heads * head_dim)
        if kv_source_layer(config, layer) == layer:
            kv_heads = layer_kv_heads(config, layer)
            tensors[prefix + "self_attn.k_proj.weight"] = linear(kv_heads * head_dim, hidden)
            tensors[prefix + "self_attn.k_norm.weight"] = norm(head_dim)
            if not (config.attention_k_eq_v and config.layer_types[layer] == FULL):
                tensors[prefix + "self_attn.v_proj.weight"] = linear(kv_heads * head_dim, hidden)
        width = mlp_width(config, layer)
        tensors[prefix + "mlp.gate_proj.weight"] = linear(width, hidden)
        tensors[prefix + "mlp.up_proj.weight"] = linear(width, hidden)
        tensors[prefix + "mlp.down_proj.weight"] = linear(hidden, width)
        if ple_dim:
            tensors[prefix + "per_layer_input_gate.weight"] = linear(ple_dim, hidden)
            tensors[prefix + "per_layer_projection.weight"] = linear(hidden, ple_dim)
            tensors[prefix + "post_per_layer_input_norm.weight"] = norm(hidden)
    tensors[top + "norm.weight"] = norm(hidden)
    if not config.tie_word_embeddings:
        # Same scale as the embedding table so logits look like a tied model's.
        tensors["lm_head.weight"] = rng.normal(0.0, 0.5, size=(config.vocab_size, hidden))
    return tensors


def write_checkpoint(folder, spec, tensors):
    with open(os.path.join(folder, "config.json"), "w") as handle:
        json.dump(spec["config"], handle, indent=2)
        handle.write("\n")
    shutil.copyfile(os.path.join(TINY_A, "generation_config.json"),
                    os.path.join(folder, "generation_config.json"))
    if parse_config(spec["config"]).vocab_size == 512:
        shutil.copyfile(os.path.join(TINY_A, "tokenizer.json"), os.path.join(folder, "tokenizer.json"))
    if spec["shards"] > 1:
        write_sharded_checkpoint(folder, tensors, spec["dtype"], spec["shards"])
    else:
        write_safetensors_file(os.path.join(folder, "model.safetensors"), tensors, spec["dtype"])


def greedy(tensors, config, prompt, steps):
    """Greedy continuation, re-running the full sequence each step (no cache)."""
    ids = list(prompt)
    margins = []
    for _ in range(steps):
        logits, _ = forward(tensors, config, ids)
        margins.append(top1_margin(logits[-1:]))
        ids.append(int(np.argmax(logits[-1])))
    return ids[len(prompt):], min(margins)


def pick_sequence(tensors, config, rng, length, attempts=200):
    """First random sequence whose logits clear MIN_MARGIN at every position."""
    for _ in range(attempts):
        ids = [int(i) for i in rng.integers(0, config.vocab_size, size=length)]
        logits, hidden = forward(tensors, config, ids)
        if top1_margin(logits) > MIN_MARGIN:
            return ids, logits, hidden
    return None


def build_fixture(spec, out_root):
    """Tries weight seeds until every sequence and the greedy run clear MIN_MARGIN."""
    config = parse_config(spec["config"])
    folder = os.path.join(out_root, spec["name"])
    for seed in range(1000, 1100):
        rng = np.random.default_rng(seed)
        if os.path.isdir(folder):
            shutil.rmtree(folder)
        os.makedirs(os.path.join(folder, "golden"))
        write_checkpoint(folder, spec, random_weights(config, rng))
        # Compute from the stored (rounded) weights, exactly what an engine will load.
        config, tensors = load_model(folder)
        short = pick_sequence(tensors, config, rng, SHORT_LENGTH)
        long = pick_sequence(tensors, config, rng, LONG_LENGTH)
        if short is None or long is None:
            continue
        continuation, greedy_margin = greedy(tensors, config, GREEDY_PROMPT, GREEDY_STEPS)
        if greedy_margin <= MIN_MARGIN or len(set(continuation)) < 3:
            continue  # a continuation stuck on one token exercises decoding poorly
        distinct_argmax = len(set(np.argmax(long[1], axis=-1).tolist()))
        if distinct_argmax < LONG_LENGTH // 4:
            continue  # degenerate: the model predicts nearly the same token everywhere
        return seed, write_goldens(folder, config, short, long, continuation, greedy_margin)
    raise RuntimeError(f"{spec['name']}: no seed gave margins above {MIN_MARGIN}")


def write_goldens(folder, config, short, long, continuation, greedy_margin):
    sequences = []
    for name, (ids, logits, hidden) in (("short", short), ("long", long)):
        file_name = f"{name}.logits.f32"
        logits.astype("<f4").tofile(os.path.join(folder, "golden", file_name))
        entry = {"name": name, "ids": ids, "logits": file_name, "logits_shape": list(logits.shape),
                 "min_top1_margin": top1_margin(logits)}
        if name == "long":
            hidden_name = f"{name}.hidden.f32"
            hidden.astype("<f4").tofile(os.path.join(folder, "golden", hidden_name))
            entry["hidden"] = hidden_name
            entry["hidden_shape"] = list(hidden.shape)
        sequences.append(entry)
    manifest = {
        "reference": "float64 full-sequence forward (no cache)",
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "num_layers": config.num_hidden_layers,
        "sequences": sequences,
        "greedy": {"prompt": GREEDY_PROMPT, "continuation": continuation,
                   "min_top1_margin": greedy_margin},
    }
    with open(os.path.join(folder, "golden", "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=1)
        handle.write("\n")
    return manifest


def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(folder) for name in names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="generate only this fixture")
    parser.add_argument("--out-root", default=DEFAULT_OUT_ROOT)
    arguments = parser.parse_args()
    rows = []
    for spec in FIXTURES:
        if arguments.only and spec["name"] != arguments.only:
            continue
        seed, manifest = build_fixture(spec, arguments.out_root)
        folder = os.path.join(arguments.out_root, spec["name"])
        margins = {s["name"]: s["min_top1_margin"] for s in manifest["sequences"]}
        margins["greedy"] = manifest["greedy"]["min_top1_margin"]
        size = folder_bytes(folder) / 1e6
        rows.append(f"| `{spec['name']}` | {seed} | {margins['short']:.4f} | {margins['long']:.4f} "
                    f"| {margins['greedy']:.4f} | {size:.2f} MB |")
        print(rows[-1])
    if not arguments.only:
        with open(os.path.join(arguments.out_root, "MARGINS.md"), "w") as handle:
            handle.write("# Generated by tools/reference/make_fixtures.py; do not edit\n\n"
                         "| fixture | weight seed | short margin | long margin | greedy margin "
                         "| size |\n|---|---|---|---|---|---|\n")
            handle.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
