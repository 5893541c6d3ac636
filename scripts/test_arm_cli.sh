#!/usr/bin/env bash
# The cross-built gemma4 CLI under qemu-user, end to end on the tiny-a fixture:
# - `--version` names the tier each emulated CPU picks;
# - `gemma4 logits` (f32, q8_0, q4_0) agrees with the x86-64 build to 1e-4 (float sums run in a
#   different order on the two, so not to the bit), and gives the same bits on every AArch64 tier;
# - `gemma4 serve` answers a chat completion over HTTP on 127.0.0.1.
# Usage: bash scripts/test_arm_cli.sh ARM_GEMMA4 X86_GEMMA4 SYSROOT   (called by scripts/test_arm.sh)
set -euo pipefail
arm_cli="$1"
host_cli="$2"
libs="$(cd "$3" && pwd)/usr/lib/aarch64-linux-gnu"
model=tests/data/tiny-a
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test_arm_cli: FAIL: $*" >&2; exit 1; }

on_arm() {  # CPU ARGS...
  local cpu="$1"
  shift
  qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu "$cpu" -E LD_LIBRARY_PATH="$libs" "$arm_cli" "$@"
}

for pair in max:i8mm cortex-a76:dotprod cortex-a72:neon; do
  cpu="${pair%%:*}"
  tier="${pair##*:}"
  version="$(on_arm "$cpu" --version)"
  grep -q "^kernels: portable neon.*(in use: $tier)$" <<<"$version" || fail "-cpu $cpu: --version says: $version"
done
echo "test_arm_cli: --version names the tier of each CPU"

# The chat prompt of the canonical check, as tiny-a's token ids (its vocabulary has 512).
tokens=2,105,236,107,311,463,506,279,29,71,236,106,107,105,436,107,5,9,200,300,400,511,17,18
for dtype in f32 q8_0 q4_0; do
  "$host_cli" logits --model "$model" --no-weight-cache --tokens "$tokens" --dtype "$dtype" \
    --threads 2 --out "$work/x86.$dtype" >/dev/null
  for cpu in max cortex-a72; do
    on_arm "$cpu" logits --model "$model" --no-weight-cache --tokens "$tokens" --dtype "$dtype" \
      --threads 2 --out "$work/arm.$cpu.$dtype" >/dev/null
  done
  cmp -s "$work/arm.max.$dtype" "$work/arm.cortex-a72.$dtype" || fail "$dtype: i8mm and neon logits differ"
  python3 - "$work/x86.$dtype" "$work/arm.max.$dtype" "$dtype" <<'EOF' || fail "$dtype: AArch64 logits differ from x86-64"
import struct, sys
def floats(path):
    data = open(path, "rb").read()
    return struct.unpack("<%df" % (len(data) // 4), data)
x86, arm = floats(sys.argv[1]), floats(sys.argv[2])
assert len(x86) == len(arm) == 24 * 512, (len(x86), len(arm))
worst = max(abs(a - b) for a, b in zip(x86, arm))
print("test_arm_cli: %s logits, AArch64 vs x86-64: max |diff| %.3g" % (sys.argv[3], worst))
sys.exit(0 if worst <= 1e-4 else 1)
EOF
done

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
on_arm max serve --model "$model" --no-weight-cache --host 127.0.0.1 --port "$port" --threads 2 \
  2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "gemma4 serve exited: $(cat "$work/serve.log")"
  sleep 0.2
done
reply="$(curl -s --max-time 120 "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"What is the capital of France? Answer in one word."}],"max_tokens":8,"temperature":0}')"
python3 - "$reply" <<'EOF' || fail "chat completion through gemma4 serve: $reply"
import json, sys
reply = json.loads(sys.argv[1])
choice = reply["choices"][0]
assert reply["object"] == "chat.completion", reply
assert choice["finish_reason"] in ("stop", "length"), choice
assert reply["usage"]["completion_tokens"] >= 1, reply["usage"]
print("test_arm_cli: gemma4 serve under qemu answered (%d tokens, finish_reason %s)"
      % (reply["usage"]["completion_tokens"], choice["finish_reason"]))
EOF
