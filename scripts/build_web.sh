#!/usr/bin/env bash
# Builds the browser build of the engine (build-wasm/web-engine-browser/gemma4_engine_web.{js,wasm,
# worker.js}) with Debian's emscripten: what the demo page (web/demo/) and the browser test load;
# and the Node module (build-wasm/web-engine/) that web/engine/ and web/bin/gemma4-web.mjs load.
# A second run with nothing changed takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's emscripten runs its JS optimizer with Node and finds its modules here.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(pwd)}"
if ! command -v emcmake >/dev/null; then
  echo "build_web: emscripten is missing (sudo apt-get install emscripten, or bash scripts/setup.sh)" >&2
  exit 1
fi
jobs="${GEMMA4_JOBS:-$(nproc 2>/dev/null || echo 2)}"
[ -f build-wasm/build.ninja ] || emcmake cmake -S . -B build-wasm -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-wasm -j"$jobs" --target gemma4_engine_web gemma4_engine
