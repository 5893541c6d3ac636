#!/usr/bin/env bash
# The WebAssembly engine against wllama (llama.cpp as WebAssembly) in headless Chromium, and
# against itself in Node and natively, on a full-size random Gemma 4 E2B checkpoint: one run, one
# machine, the same threads. Writes docs/web-bench.md and prints the README's table.
#
#   bash bench/web/compare_wllama.sh MODELS_DIR [THREADS] [DTYPE]
#
# MODELS_DIR receives e2b/ (gemma4 synth) and e2b-DTYPE.gguf (../shared/peer-llamacpp/hf_to_gguf.py)
# when missing. Needs build/gemma4, the wasm build (bash scripts/build_web.sh), web/node_modules
# (npm ci in web/), wllama (npm ci in web/bench/, done here when missing), python3-numpy and
# Debian's chromium. PROMPT_WORDS (default 100) and DECODE (default 32) size the request.
set -euo pipefail
cd "$(dirname "$0")/../.."
models=${1:?usage: compare_wllama.sh MODELS_DIR [THREADS] [DTYPE]}
threads=${2:-2}
dtype=${3:-q4_0}
peer_src=${PEER_DIR:-../shared/peer-llamacpp}
mkdir -p "$models"

[ -f "$models/e2b/model.safetensors" ] || ./build/gemma4 synth --preset e2b --out "$models/e2b"
[ -f "$models/e2b-$dtype.gguf" ] ||
  /usr/bin/python3 "$peer_src/hf_to_gguf.py" "$models/e2b" "$models/e2b-$dtype.gguf" --outtype "$dtype"
[ -d web/bench/node_modules/@wllama/wllama ] || (cd web/bench && npm ci --no-audit --no-fund)
[ -d web/node_modules/puppeteer-core ] || (cd web && npm ci --no-audit --no-fund)
bash scripts/build_web.sh

json="$models/web-bench-$dtype.json"
node web/bench/cpu.mjs --model "$models/e2b" --gguf "$models/e2b-$dtype.gguf" --dtype "$dtype" \
  --threads "$threads" --prompt-words "${PROMPT_WORDS:-100}" --decode "${DECODE:-32}" --json "$json"
node bench/web/render_web_bench.cjs "$json" docs/web-bench.md
echo "wrote docs/web-bench.md"
