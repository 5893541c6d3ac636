#!/usr/bin/env bash
# Decode throughput with and without a JSON Schema constraint, at 1 and N concurrent requests, on
# the serving engine (`gemma4 batch`): the grammar's cost per token (mask, logits ban, state
# advance) against the same decoding unconstrained. Every request generates exactly G tokens both
# ways: unconstrained ones ignore stop tokens, constrained ones follow a schema that cannot be
# complete before G tokens (an array of at least 1,000 strings). Same machine, same threads, same run.
#
#   bash bench/grammar/decode_with_schema.sh MODEL_DIR [THREADS] [N] [G] [DTYPE]
#
# Prints a Markdown table; JSON results land in ${OUT_DIR:-/tmp/gemma4-decode-schema}.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:?usage: decode_with_schema.sh MODEL_DIR [THREADS] [N] [G] [DTYPE]}
threads=${2:-2}
n=${3:-8}
gen=${4:-64}
dtype=${5:-q8_0}
out=${OUT_DIR:-/tmp/gemma4-decode-schema}
bin=${GEMMA4:-./build/gemma4}
mkdir -p "$out"

make_input() {  # count constrained(0/1) file
  python3 - "$1" "$2" "$3" "$gen" <<'PY'
import json, sys
count, constrained, path, g = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3], int(sys.argv[4])
schema = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}, "minItems": 1000}},
          "required": ["items"], "additionalProperties": False}
with open(path, "w") as f:
    for i in range(count):
        r = {"id": i, "messages": [{"role": "user", "content": f"List {i + 3} fruits as JSON."}],
             "max_tokens": g, "temperature": 0.7, "seed": i}
        if constrained:
            r["response_format"] = {"type": "json_schema", "json_schema": {"name": "list", "schema": schema}}
        else:
            r["ignore_eos"] = True
        f.write(json.dumps(r) + "\n")
PY
}

run() {  # parallel constrained name
  make_input "$1" "$2" "$out/$3.jsonl"
  "$bin" batch --model "$model" --dtype "$dtype" --threads "$threads" --parallel "$1" -i "$out/$3.jsonl" \
    -o "$out/$3.out.jsonl" --json "$out/$3.json" >/dev/null 2>&1
}

echo "| requests | gen tok/s unconstrained | gen tok/s with the schema | ratio |"
echo "|---|---|---|---|"
for p in 1 "$n"; do
  run "$p" 0 "free-$p"
  run "$p" 1 "schema-$p"
  python3 - "$out" "$p" "$gen" <<'PY'
import json, sys
out, p, g = sys.argv[1], sys.argv[2], int(sys.argv[3])
free = json.load(open(f"{out}/free-{p}.json"))
schema = json.load(open(f"{out}/schema-{p}.json"))
for line in open(f"{out}/schema-{p}.out.jsonl"):
    r = json.loads(line)
    tokens = r.get("usage", {}).get("completion_tokens")
    if tokens != g:
        sys.exit(f"a constrained request generated {tokens} tokens, not {g}: {line[:200]}")
print(f"| {p} | {free['gen_tok_s']:.2f} | {schema['gen_tok_s']:.2f} | {schema['gen_tok_s'] / free['gen_tok_s']:.3f} |")
PY
done
