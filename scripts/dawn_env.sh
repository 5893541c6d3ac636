# Sourced by the WebGPU test stages: Dawn (the `webgpu` npm package) in Node on the SwiftShader
# Vulkan driver that Debian's chromium ships, so WebGPU runs without a GPU. Mesa's lavapipe (22.3)
# is too old for Dawn. Needs a runtime directory; uses chromium's libvulkan.so.1 when the system
# has no Vulkan loader.
dawn_icd=/usr/lib/chromium/vk_swiftshader_icd.json
[ -f "$dawn_icd" ] || { echo "error: $dawn_icd not found (scripts/setup.sh installs chromium)" >&2; exit 1; }
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  export LD_LIBRARY_PATH="/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export VK_ICD_FILENAMES="$dawn_icd"
dawn_runtime_dir=$(mktemp -d)
export XDG_RUNTIME_DIR="$dawn_runtime_dir"
trap 'rm -rf "$dawn_runtime_dir"' EXIT
