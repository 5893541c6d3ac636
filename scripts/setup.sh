#!/usr/bin/env bash
# Installs every build and test dependency of gemma4 from Debian packages. Idempotent.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcpp-httplib-dev libcli11-dev libhwy-dev libxxhash-dev
  libcurl4-openssl-dev libssl-dev
  python3 python3-numpy
  clang libclang-rt-14-dev
  nginx python3-yaml
  googletest
  chromium
  emscripten
)
# On x86-64, the AArch64 cross build and qemu-user to test it (an ARM machine builds natively).
host_arch="$(dpkg --print-architecture)"
[ "$host_arch" = amd64 ] && packages+=(g++-aarch64-linux-gnu qemu-user)
# node >= 18 and npm run the server's end-to-end tests (Debian's when the machine has none).
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The AArch64 cross build's arm64 libcurl, OpenSSL and cpp-httplib, unpacked (not installed) into
# .cache/arm64-sysroot for the cross-built CLI.
[ "$host_arch" = amd64 ] && bash "$(dirname "$0")/arm64_sysroot.sh"
# The server's end-to-end tests drive `gemma4 serve` with the official `openai` npm client, the
# Vercel AI SDK and LangChain, pinned by tests/server/node/package-lock.json (reinstalled only when
# the lockfile changes).
node_tests="$(dirname "$0")/../tests/server/node"
if [ ! -f "$node_tests/node_modules/.package-lock.json" ] || [ "$node_tests/package-lock.json" -nt "$node_tests/node_modules/.package-lock.json" ]; then
  (cd "$node_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The OpenAI Agents SDK test, pinned by tests/server/agents/package-lock.json (its own folder: zod 4).
agents_tests="$(dirname "$0")/../tests/server/agents"
if [ ! -f "$agents_tests/node_modules/.package-lock.json" ] || [ "$agents_tests/package-lock.json" -nt "$agents_tests/node_modules/.package-lock.json" ]; then
  (cd "$agents_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The chat page's browser tests drive Debian's chromium with puppeteer-core, pinned by
# tests/webui/package-lock.json (it downloads no browser of its own).
webui_tests="$(dirname "$0")/../tests/webui"
if [ ! -f "$webui_tests/node_modules/.package-lock.json" ] || [ "$webui_tests/package-lock.json" -nt "$webui_tests/node_modules/.package-lock.json" ]; then
  (cd "$webui_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The WebGPU kernels' tests run in Node through Dawn (npm `webgpu`, pinned by
# web/webgpu/package-lock.json; a prebuilt binary inside, no download at run time).
webgpu_pkg="$(dirname "$0")/../web/webgpu"
if [ ! -f "$webgpu_pkg/node_modules/.package-lock.json" ] || [ "$webgpu_pkg/package-lock.json" -nt "$webgpu_pkg/node_modules/.package-lock.json" ]; then
  (cd "$webgpu_pkg" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The browser test, the typings check and the demo page (web/): puppeteer-core and typescript,
# pinned by web/package-lock.json;
# drives Debian's chromium (no browser download).
web_pkg="$(dirname "$0")/../web"
if [ ! -f "$web_pkg/node_modules/.package-lock.json" ] || [ "$web_pkg/package-lock.json" -nt "$web_pkg/node_modules/.package-lock.json" ]; then
  (cd "$web_pkg" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: all dependencies present"
