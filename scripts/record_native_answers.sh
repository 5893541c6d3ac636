#!/usr/bin/env bash
# Records what the native `gemma4 run` answers on tests/data/tiny-a (greedy, and sampled with a
# seed) into web/engine/test/native_answers.json, the expectation of the JS package's test.
# Usage: scripts/record_native_answers.sh [path/to/native/gemma4]   (default build/gemma4)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-build/gemma4}"
prompt="What is the capital of France? Answer in one word."
run() { "$bin" run --model tests/data/tiny-a --dtype f32 --no-weight-cache --threads 2 "$@" "$prompt"; }
greedy=$(run --temperature 0 -n 32; printf x)
sampled=$(run --temperature 1 --top-k 64 --top-p 0.95 --seed 7 -n 24; printf x)
node -e '
// `printf x` kept trailing newlines through $(...); the CLI ends every answer with one more.
const [prompt, greedy, sampled] = process.argv.slice(1).map((s, i) => (i ? s.slice(0, -1).replace(/\n$/, "") : s));
const cases = [
  { name: "greedy", request: { temperature: 0, max_tokens: 32 }, text: greedy },
  { name: "sampled_seed7", request: { temperature: 1, top_k: 64, top_p: 0.95, seed: 7, max_tokens: 24 }, text: sampled },
];
process.stdout.write(JSON.stringify({ model: "tests/data/tiny-a", dtype: "f32", prompt, cases }, null, 2) + "\n");
' "$prompt" "$greedy" "$sampled" > web/engine/test/native_answers.json
echo "wrote web/engine/test/native_answers.json"
