#!/usr/bin/python3
"""Checks the float64 reference against a fixture folder's golden logits (and hidden states).

Usage: /usr/bin/python3 tools/reference/validate_golden.py tests/data/tiny-a [more folders...]
Exit status 1 if any sequence differs by more than --tolerance or the greedy run disagrees.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gemma4_ref import forward, load_model, top1_margin  # noqa: E402


def greedy_continuation(tensors, config, prompt, steps):
    ids = list(prompt)
    margins = []
    for _ in range(steps):
        logits, _ = forward(tensors, config, ids)
        margins.append(top1_margin(logits[-1:]))
        ids.append(int(np.argmax(logits[-1])))
    return ids[len(prompt):], min(margins)


def validate(folder, tolerance):
    config, tensors = load_model(folder)
    with open(os.path.join(folder, "golden", "manifest.json")) as handle:
        manifest = json.load(handle)
    ok = True
    for sequence in manifest["sequences"]:
        logits, hidden = forward(tensors, config, sequence["ids"])
        golden = np.fromfile(os.path.join(folder, "golden", sequence["logits"]), dtype="<f4")
        golden = golden.reshape(sequence["logits_shape"]).astype(np.float64)
        difference = float(np.max(np.abs(logits - golden)))
        margin = top1_margin(logits)
        line = (f"{folder}: {sequence['name']:8s} T={len(sequence['ids']):4d} "
                f"max|logit diff|={difference:.3e}  margin ours={margin:.6f} "
                f"manifest={sequence['min_top1_margin']:.6f}")
        ok &= difference < tolerance
        if "hidden" in sequence:
            golden_hidden = np.fromfile(os.path.join(folder, "golden", sequence["hidden"]), "<f4")
            golden_hidden = golden_hidden.reshape(sequence["hidden_shape"]).astype(np.float64)
            per_layer = np.max(np.abs(hidden - golden_hidden), axis=(1, 2))
            scale = np.max(np.abs(golden_hidden), axis=(1, 2))
            line += "\n    hidden max|diff| per row: " + " ".join(f"{d:.1e}" for d in per_layer)
            line += "\n    hidden max|value| per row: " + " ".join(f"{s:.1e}" for s in scale)
            ok &= bool(np.all(per_layer <= tolerance * np.maximum(1.0, scale)))
        print(line)
    greedy = manifest.get("greedy")
    if greedy:
        continuation, margin = greedy_continuation(
            tensors, config, greedy["prompt"], len(greedy["continuation"]))
        same = continuation == greedy["continuation"]
        ok &= same
        print(f"{folder}: greedy {len(continuation)} tokens identical={same} margin ours={margin:.6f} "
              f"manifest={greedy['min_top1_margin']:.6f}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    arguments = parser.parse_args()
    results = [validate(folder, arguments.tolerance) for folder in arguments.folders]
    print("PASS" if all(results) else "FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
