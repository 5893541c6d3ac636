#!/usr/bin/env bash
# Side-by-side benchmark of gemma4 and llama.cpp (the ../shared/peer-llamacpp harness) on a
# full-size random Gemma 4 E2B checkpoint, same machine, same threads, same time window.
#
#   bash bench/peer/compare_llamacpp.sh MODELS_DIR [THREADS] [REPS]
#
# PROMPTS (default "512 2048 4096") sets the prompt lengths; prompts of 4096 tokens or more run
# once with G = 8 (their row is about time to first token). QUANTS (default "q4_0 q8_0").
# GEMMA4_KERNELS=avx2 in the environment measures gemma4's AVX2 path (llama.cpp picks its own).
#
# MODELS_DIR receives e2b/ (gemma4 synth), e2b-q4_0.gguf and e2b-q8_0.gguf (hf_to_gguf.py) when
# missing. Needs build/gemma4, node + npm, and python3-numpy for the conversion.
set -euo pipefail
cd "$(dirname "$0")/../.."
models=${1:?usage: compare_llamacpp.sh MODELS_DIR [THREADS] [REPS]}
threads=${2:-2}
reps=${3:-3}
peer_src=${PEER_DIR:-../shared/peer-llamacpp}
peer=/tmp/gemma4-peer-llamacpp
out=${OUT_DIR:-$models/results}
mkdir -p "$models" "$out"

[ -f "$models/e2b/model.safetensors" ] || ./build/gemma4 synth --preset e2b --out "$models/e2b"
if [ ! -d "$peer/node_modules" ]; then
  rm -rf "$peer" && cp -r "$peer_src" "$peer"
  (cd "$peer" && npm install --no-audit --no-fund --omit=optional --ignore-scripts >/dev/null)
fi
for q in q4_0 q8_0; do
  [ -f "$models/e2b-$q.gguf" ] || /usr/bin/python3 "$peer/hf_to_gguf.py" "$models/e2b" "$models/e2b-$q.gguf" --outtype "$q"
done

rss_of() { grep "Maximum resident" "$1" | awk '{printf "%.0f", $6 * 1024}'; }
echo "| engine | weights | P | prefill tok/s | TTFT s | decode tok/s | peak RSS GiB |"
echo "|---|---|---|---|---|---|---|"
for q in ${QUANTS:-q4_0 q8_0}; do
  for p in ${PROMPTS:-512 2048 4096}; do
    if [ "$p" -ge 4096 ]; then r=1 g=8; else r=$reps g=64; fi
    /usr/bin/time -v node "$peer/bench.mjs" --model "$models/e2b-$q.gguf" --threads "$threads" --prompt "$p" \
      --gen "$g" --reps "$r" --json "$out/llama-$q-$p.json" >/dev/null 2>"$out/llama-$q-$p.time"
    ./build/gemma4 bench --model "$models/e2b" --dtype "$q" --threads "$threads" --prompt "$p" --gen "$g" \
      --reps "$r" --json "$out/gemma4-$q-$p.json" >/dev/null 2>&1
    python3 - "$out" "$q" "$p" "$(rss_of "$out/llama-$q-$p.time")" <<'PY'
import json, sys
out, q, p, llama_rss = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
l = json.load(open(f"{out}/llama-{q}-{p}.json"))
g = json.load(open(f"{out}/gemma4-{q}-{p}.json"))
lt, gt = int(p) / l['prefill_tok_s'], int(p) / g['prefill_tok_s']
print(f"| llama.cpp v0.5.0 | {q} | {p} | {l['prefill_tok_s']:.1f} | {lt:.1f} | {l['decode_tok_s']:.2f} | {llama_rss / 2**30:.2f} |")
print(f"| gemma4 | {q} | {p} | {g['prefill_tok_s']:.1f} ({g['prefill_tok_s'] / l['prefill_tok_s']:.2f}x) | {gt:.1f} "
      f"| {g['decode_tok_s']:.2f} ({g['decode_tok_s'] / l['decode_tok_s']:.2f}x) "
      f"| {g['peak_rss_bytes'] / 2**30:.2f} ({g['peak_rss_bytes'] / llama_rss:.2f}x) |")
PY
  done
done
