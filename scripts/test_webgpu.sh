#!/usr/bin/env bash
# The WebGPU kernels (web/webgpu) against their CPU references, in Node through Dawn on the
# SwiftShader Vulkan driver that Debian's chromium ships (no GPU needed). Takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/../web/webgpu"
icd=/usr/lib/chromium/vk_swiftshader_icd.json
[ -f "$icd" ] || { echo "error: $icd not found (scripts/setup.sh installs chromium)" >&2; exit 1; }
runtime_dir=$(mktemp -d)
trap 'rm -rf "$runtime_dir"' EXIT
VK_ICD_FILENAMES="$icd" XDG_RUNTIME_DIR="$runtime_dir" node --test test/
