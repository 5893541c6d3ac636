#!/usr/bin/env bash
# Records what the native engine computes for tests/data/tiny-a with q8_0 and q4_0 weights (f32
# KV cache): the greedy continuation of 32 tokens after the golden chat prompt, and the logits of
# every position of prompt + continuation. The WebGPU forward test (web/webgpu/test) compares
# against them. Each greedy step reruns `gemma4 logits` over the whole sequence (the native
# forward pass is batch-invariant, so this equals decoding token by token).
# Usage: scripts/record_webgpu_native.sh [path/to/native/gemma4]   (default build/gemma4)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/gemma4}"
model=tests/data/tiny-a
out=web/webgpu/test/data
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompt=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).greedy.prompt.join(","))' "$model/golden/manifest.json")
for dtype in q8_0 q4_0; do
  ids="$prompt"
  for _ in $(seq 32); do
    "$bin" logits --model "$model" --dtype "$dtype" --kv-type f32 --no-weight-cache --threads 2 \
      --tokens "$ids" --out "$tmp/logits.f32" 2>/dev/null
    next=$(node -e '
const b = require("fs").readFileSync(process.argv[1]);
const x = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), V = 512, last = x.subarray(x.length - V);
let best = 0; for (let i = 1; i < V; ++i) if (last[i] > last[best]) best = i;
console.log(best);' "$tmp/logits.f32")
    ids="$ids,$next"
  done
  "$bin" logits --model "$model" --dtype "$dtype" --kv-type f32 --no-weight-cache --threads 2 \
    --tokens "$ids" --out "$out/tiny-a.$dtype.logits.f32" 2>/dev/null
  echo "$dtype $ids" >> "$tmp/ids.txt"
done
node -e '
const fs = require("fs");
const prompt = process.argv[1].split(",").map(Number);
const cases = {};
for (const line of fs.readFileSync(process.argv[2], "utf8").trim().split("\n")) {
  const [dtype, ids] = line.split(" ");
  const all = ids.split(",").map(Number);
  cases[dtype] = { continuation: all.slice(prompt.length), logits: `tiny-a.${dtype}.logits.f32` };
}
const doc = { model: "tests/data/tiny-a", kv_type: "f32", prompt, note: "logits: float32 [prompt + continuation, vocab] of the native engine", cases };
fs.writeFileSync(process.argv[3], JSON.stringify(doc, null, 2) + "\n");
' "$prompt" "$tmp/ids.txt" "$out/native_tiny_a.json"
echo "wrote $out/native_tiny_a.json"
