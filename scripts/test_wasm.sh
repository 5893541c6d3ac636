#!/usr/bin/env bash
# The WebAssembly stage: builds the engine with Debian's emscripten (build-wasm/) and runs the
# native golden-logits, matmul, batch-invariance, panel, weight-type, batched-forward and chat tests
# compiled to wasm, under Node; then the JS package on the CPU and on WebGPU.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(pwd)}"
# Debian's emscripten runs its JS optimizer with Node and finds its modules here.
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"
tests=(wasm_golden_logits_test wasm_matmul_test wasm_matmul_invariance_test wasm_quant_panels_test
       wasm_weight_type_accuracy_test wasm_batch_forward_test wasm_chat_template_test wasm_output_parser_test
       wasm_row_source_test wasm_file_reader_test wasm_model_file_test wasm_model_file_format_test)

emcmake cmake -S . -B build-wasm -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-wasm -j"$jobs" --target "${tests[@]}"
for t in "${tests[@]}"; do
  echo "== $t (wasm, node)"
  # Node 20's fetch breaks the emscripten 3.1.6 loader's file reads; the tests read files anyway.
  (cd build-wasm/tests && timeout 600 node --no-experimental-fetch "$t.js" --gtest_brief=1)
done
# The JS package (web/engine/) on tiny-a: answers equal the native CLI's, streaming, typed errors;
# and with device 'webgpu' (Dawn on SwiftShader, required here: a missing adapter fails).
cmake --build build-wasm -j"$jobs" --target gemma4_engine
echo "== web/engine (node --test)"
(source scripts/dawn_env.sh && cd web/engine && GEMMA4_REQUIRE_WEBGPU=1 timeout 300 node --no-experimental-fetch --test test/)
