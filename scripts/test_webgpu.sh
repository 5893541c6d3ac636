#!/usr/bin/env bash
# The WebGPU kernels (web/webgpu) against their CPU references, in Node through Dawn on the
# SwiftShader Vulkan driver that Debian's chromium ships (no GPU needed). Takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/../web/webgpu"
icd=/usr/lib/chromium/vk_swiftshader_icd.json
[ -f "$icd" ] || { echo "error: $icd not found (scripts/setup.sh installs chromium)" >&2; exit 1; }
# Dawn loads libvulkan.so.1; without the system's Vulkan loader, use the one chromium ships.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  export LD_LIBRARY_PATH="/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
runtime_dir=$(mktemp -d)
trap 'rm -rf "$runtime_dir"' EXIT
VK_ICD_FILENAMES="$icd" XDG_RUNTIME_DIR="$runtime_dir" node --test test/
