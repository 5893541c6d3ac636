#!/usr/bin/env bash
# The WebGPU kernels and forward pass (web/webgpu) against their CPU references, in Node through
# Dawn on SwiftShader (scripts/dawn_env.sh; no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/dawn_env.sh
cd web/webgpu
node --test test/
