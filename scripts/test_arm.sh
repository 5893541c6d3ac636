#!/usr/bin/env bash
# AArch64 stage: cross-builds the kernel, model and engine tests with g++-aarch64-linux-gnu
# (cmake/aarch64-linux-gnu.cmake) and runs them under qemu-user on emulated CPUs that pick each
# kernel tier by themselves:
#   max         every extension: picks i8mm; the kernel tests also run neon and dotprod on it
#   cortex-a76  Armv8.2 + dot products: picks dotprod
#   cortex-a72  Armv8.0: picks the NEON baseline
# Each run checks which tier the process picked (GEMMA4_EXPECT_KERNEL_PATH, kernels_cpu_dispatch_test).
# The gemma4 CLI is cross-built too, against Debian's arm64 libcurl, OpenSSL and cpp-httplib
# unpacked by scripts/arm64_sysroot.sh, and checked end to end: its logits on tiny-a against the
# x86-64 build's (build/gemma4), the same bits on every tier, and a chat completion through
# `gemma4 serve` under qemu.
# Usage: bash scripts/test_arm.sh   (scripts/setup.sh installs the cross compiler, qemu-user and
# the arm64 libraries; the x86-64 build/gemma4 must be built)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(pwd)}"

sysroot=.cache/arm64-sysroot
host_cli=build/gemma4
[ -f "$sysroot/.packages" ] || { echo "error: no arm64 libraries in $sysroot: run scripts/setup.sh" >&2; exit 1; }
[ -x "$host_cli" ] || { echo "error: no x86-64 $host_cli to compare with: build it first" >&2; exit 1; }

cmake -S . -B build-arm -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DGEMMA4_TEST_CONCERNS="kernels;model;engine" \
  -DGEMMA4_CROSS_SYSROOT="$sysroot" >/dev/null

# The tests that hold the kernels (every tier against portable and the reference, batch and
# row-range invariance, bits recorded on x86-64), the golden logits and the engine.
all_kernel_tests=$(ctest --test-dir build-arm -N -R '^kernels_' | sed -n 's/^ *Test *#[0-9]*: //p' | tr '\n' ' ')
model_tests="model_golden_logits_test model_hidden_states_test model_decode_allocation_test"
engine_tests="engine_generate_test engine_batch_forward_test engine_engine_test"
# shellcheck disable=SC2086
cmake --build build-arm -j"$jobs" --target gemma4 $all_kernel_tests $model_tests $engine_tests

run_on() {  # CPU EXPECTED_TIER CTEST_REGEX
  echo "== qemu-aarch64 -cpu $1 (expects the $2 tier)"
  QEMU_CPU="$1" GEMMA4_EXPECT_KERNEL_PATH="$2" ctest --test-dir build-arm --output-on-failure -j"$jobs" -R "$3"
}
run_on max i8mm '^(kernels_.*|model_golden_logits_test|model_hidden_states_test|model_decode_allocation_test|engine_generate_test|engine_batch_forward_test|engine_engine_test)$'
run_on cortex-a76 dotprod '^(kernels_cpu_dispatch_test|model_golden_logits_test|engine_batch_forward_test)$'
run_on cortex-a72 neon '^(kernels_.*|model_golden_logits_test|engine_batch_forward_test|engine_engine_test)$'
bash scripts/test_arm_cli.sh build-arm/gemma4 "$host_cli" "$sysroot"
echo "test_arm: all AArch64 tiers passed under qemu"
