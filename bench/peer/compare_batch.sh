#!/usr/bin/env bash
# Serving throughput side by side: N concurrent greedy requests (P prompt tokens, G new tokens each)
# on gemma4's serving engine (`gemma4 batch`) and on llama.cpp serving N sequences of one context
# (../shared/peer-llamacpp/batch.mjs), each against its own single-request run, same machine,
# same threads, same time window. Wall time includes prefill in both. The last column is gemma4's
# single-stream decode speed (`gemma4 bench`, decode only), to compare the aggregate with one decode stream.
#
#   bash bench/peer/compare_batch.sh MODELS_DIR [THREADS] [N] [P] [G]
#
# MODELS_DIR receives e2b/ (gemma4 synth) and e2b-q4_0.gguf / e2b-q8_0.gguf when missing (see
# compare_llamacpp.sh). Prints a Markdown table; JSON results land in MODELS_DIR/results.
set -euo pipefail
cd "$(dirname "$0")/../.."
models=${1:?usage: compare_batch.sh MODELS_DIR [THREADS] [N] [P] [G]}
threads=${2:-2}
n=${3:-8}
prompt=${4:-128}
gen=${5:-64}
peer_src=${PEER_DIR:-../shared/peer-llamacpp}
peer=/tmp/gemma4-peer-llamacpp
out=${OUT_DIR:-$models/results}
bin=${GEMMA4:-./build/gemma4}
mkdir -p "$models" "$out"

[ -f "$models/e2b/model.safetensors" ] || "$bin" synth --preset e2b --out "$models/e2b"
if [ ! -d "$peer/node_modules" ]; then
  rm -rf "$peer" && cp -r "$peer_src" "$peer"
  (cd "$peer" && npm install --no-audit --no-fund --omit=optional --ignore-scripts >/dev/null)
fi

# N requests of P token ids each (BOS + a different slice of one English text), G tokens each,
# greedy, past any stop token: the same work batch.mjs gives llama.cpp.
make_input() {  # count file
  python3 - "$1" "$2" "$prompt" "$gen" "$models/e2b" "$bin" <<'PY'
import json, subprocess, sys
count, path, p, g, model, binary = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
text = ("The history of computing is a story of abstraction layered upon abstraction. Early machines were "
        "programmed by rewiring panels; later, stored programs let the same hardware perform many tasks. "
        "Compilers translated human-readable code into machine instructions, operating systems shared the "
        "processor among many programs, and networks connected machines across the world. ")
ids = json.loads(subprocess.run([binary, "tokenize", "--model", model, "--text", text * 8, "--no-special"],
                                check=True, capture_output=True, text=True).stdout)
with open(path, "w") as f:
    for i in range(count):
        f.write(json.dumps({"id": i, "tokens": [2] + ids[i * 7: i * 7 + p - 1], "max_tokens": g,
                            "temperature": 0, "ignore_eos": True}) + "\n")
PY
}

echo "| engine | weights | requests | aggregate gen tok/s | one request alone | ratio | single-stream decode tok/s |"
echo "|---|---|---|---|---|---|---|"
for q in ${QUANTS:-q4_0 q8_0}; do
  [ -f "$models/e2b-$q.gguf" ] || /usr/bin/python3 "$peer/hf_to_gguf.py" "$models/e2b" "$models/e2b-$q.gguf" --outtype "$q"
  node "$peer/batch.mjs" --model "$models/e2b-$q.gguf" --threads "$threads" --n "$n" --prompt "$prompt" --gen "$gen" \
    --json "$out/llama-batch-$q.json" >/dev/null
  make_input 1 "$out/one.jsonl"
  make_input "$n" "$out/many.jsonl"
  "$bin" batch --model "$models/e2b" --dtype "$q" --threads "$threads" --parallel 1 -i "$out/one.jsonl" \
    -o "$out/gemma4-one-$q.jsonl" --json "$out/gemma4-batch1-$q.json" >/dev/null 2>&1
  "$bin" batch --model "$models/e2b" --dtype "$q" --threads "$threads" --parallel "$n" -i "$out/many.jsonl" \
    -o "$out/gemma4-many-$q.jsonl" --json "$out/gemma4-batch$n-$q.json" >/dev/null 2>&1
  "$bin" bench --model "$models/e2b" --dtype "$q" --threads "$threads" --prompt "$prompt" --gen "$gen" --reps 1 \
    --json "$out/gemma4-bench-$q.json" >/dev/null 2>&1
  python3 - "$out" "$q" "$n" <<'PY'
import json, sys
out, q, n = sys.argv[1], sys.argv[2], sys.argv[3]
l = json.load(open(f"{out}/llama-batch-{q}.json"))
one = json.load(open(f"{out}/gemma4-batch1-{q}.json"))
many = json.load(open(f"{out}/gemma4-batch{n}-{q}.json"))
decode = json.load(open(f"{out}/gemma4-bench-{q}.json"))["decode_tok_s"]
print(f"| llama.cpp v0.5.0 | {q} | {n} | {l['gen_tok_s']:.2f} | {l['single_gen_tok_s']:.2f} | {l['ratio']:.2f}x | |")
print(f"| gemma4 | {q} | {n} | {many['gen_tok_s']:.2f} ({many['gen_tok_s'] / l['gen_tok_s']:.2f}x llama.cpp) "
      f"| {one['gen_tok_s']:.2f} | {many['gen_tok_s'] / one['gen_tok_s']:.2f}x | {decode:.2f} "
      f"(aggregate = {many['gen_tok_s'] / decode:.2f}x) |")
PY
done
