#!/usr/bin/env bash
# AArch64 stage: cross-builds the kernel, model and engine tests with g++-aarch64-linux-gnu
# (cmake/aarch64-linux-gnu.cmake) and runs them under qemu-user on emulated CPUs that pick each
# kernel tier by themselves:
#   max         every extension: picks i8mm; the kernel tests also run neon and dotprod on it
#   cortex-a76  Armv8.2 + dot products: picks dotprod
#   cortex-a72  Armv8.0: picks the NEON baseline
# Each run checks which tier the process picked (GEMMA4_EXPECT_KERNEL_PATH, kernels_cpu_dispatch_test).
# Usage: bash scripts/test_arm.sh   (scripts/setup.sh installs the cross compiler and qemu-user)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(pwd)}"

cmake -S . -B build-arm -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DGEMMA4_TEST_CONCERNS="kernels;model;engine" >/dev/null

# The tests that hold the kernels (every tier against portable and the reference, batch and
# row-range invariance, bits recorded on x86-64), the golden logits and the engine.
all_kernel_tests=$(ctest --test-dir build-arm -N -R '^kernels_' | sed -n 's/^ *Test *#[0-9]*: //p' | tr '\n' ' ')
model_tests="model_golden_logits_test model_hidden_states_test model_decode_allocation_test"
engine_tests="engine_generate_test engine_batch_forward_test engine_engine_test"
# shellcheck disable=SC2086
cmake --build build-arm -j"$jobs" --target $all_kernel_tests $model_tests $engine_tests

run_on() {  # CPU EXPECTED_TIER CTEST_REGEX
  echo "== qemu-aarch64 -cpu $1 (expects the $2 tier)"
  QEMU_CPU="$1" GEMMA4_EXPECT_KERNEL_PATH="$2" ctest --test-dir build-arm --output-on-failure -j"$jobs" -R "$3"
}
run_on max i8mm '^(kernels_.*|model_golden_logits_test|model_hidden_states_test|model_decode_allocation_test|engine_generate_test|engine_batch_forward_test|engine_engine_test)$'
run_on cortex-a76 dotprod '^(kernels_cpu_dispatch_test|model_golden_logits_test|engine_batch_forward_test)$'
run_on cortex-a72 neon '^(kernels_.*|model_golden_logits_test|engine_batch_forward_test|engine_engine_test)$'
echo "test_arm: all AArch64 tiers passed under qemu"
