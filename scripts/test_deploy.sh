#!/usr/bin/env bash
# The deployment stage of CI: 3 replicas of `gemma4 serve` on tiny-a behind nginx on 127.0.0.1
# (affinity, streaming, body limit, rolling restart, failover, throughput printed), the checked-in
# nginx example equal to what its generator writes and accepted by `nginx -t`, and the Kubernetes
# manifests checked as YAML. Reuses the Release build in build/. Usage: bash scripts/test_deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake --build "$build" --target gemma4 >/dev/null

# deploy/nginx/gemma4.conf is the generator's output for three local replicas, and valid nginx.
expected=$(python3 deploy/nginx/render_conf.py --replica 127.0.0.1:8081 --replica 127.0.0.1:8082 \
  --replica 127.0.0.1:8083 --listen 8080)
[ "$expected" = "$(cat deploy/nginx/gemma4.conf)" ] || {
  echo "test_deploy: FAIL: deploy/nginx/gemma4.conf is not what render_conf.py writes" >&2; exit 1; }
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
printf 'pid %s/nginx.pid;\nevents {}\nhttp {\n  include %s/deploy/nginx/gemma4.conf;\n}\n' "$check" "$(pwd)" > "$check/nginx.conf"
nginx -t -q -p "$check" -c "$check/nginx.conf" -e "$check/error.log"

python3 tests/deploy/k8s_manifest_test.py .
python3 tests/deploy/nginx_replicas_test.py "$build/gemma4" .
echo "test_deploy: ok"
