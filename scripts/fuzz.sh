#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs each for SECONDS
# (default 60). Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   FUZZ_JOBS=N   run N targets at a time (default 1)
#   FUZZ_BUILD=D  build folder (default build-fuzz; one configured with GEMMA4_FUZZ=ON is reused)
# The committed seeds in fuzz/corpus/<target>/ are read, never written: new inputs go to
# $FUZZ_BUILD/corpus/<target>/, crashes to $FUZZ_BUILD/artifacts/<target>/, logs to
# $FUZZ_BUILD/logs/<target>.log. Exits non-zero when any target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
all_targets=(safetensors_header safetensors_index config_json generation_config tokenizer_json
             tokenizer_roundtrip chat_template output_parser tool_dsl server_request json_schema grammar_text model_file)
targets=("${@:-${all_targets[@]}}")

# A folder already configured with GEMMA4_FUZZ=ON (scripts/test.sh's sanitizer build) is used as it is.
if ! grep -qs '^GEMMA4_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DGEMMA4_FUZZ=ON -DGEMMA4_BUILD_TESTS=OFF -DGEMMA4_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]/#/fuzz_}"

run_one() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t" "$build/logs"
  # Inputs that take over 10 s (with ASan) count as hangs; 2 GB RSS as a memory blow-up.
  if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "fuzz/corpus/$t" >"$build/logs/$t.log" 2>&1; then
    echo "fuzz_$t: clean, $(grep -m1 '^stat::number_of_executed_units' "$build/logs/$t.log" | awk '{print $2}') runs," \
         "$(grep -o 'cov: [0-9]*' "$build/logs/$t.log" | tail -1)"
  else
    echo "fuzz_$t: FAILED, see $build/logs/$t.log and $build/artifacts/$t/"
    return 1
  fi
}

status=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
