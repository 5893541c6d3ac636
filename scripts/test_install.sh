#!/usr/bin/env bash
# The install stage of CI: `cmake --install` into a scratch prefix, a consumer project outside the
# tree built against it with find_package(gemma4) and run on tests/data/tiny-a (its greedy answer
# must equal `gemma4 batch`'s), `cpack` .deb and .tar.gz unpacked (dpkg -x, tar) and their
# binaries run, `--version` checked against git, the bash completions exercised.
# Reuses the Release build in build/ that scripts/test.sh made. Usage: bash scripts/test_install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
version=$(sed -n 's/^project(gemma4 VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

cmake --build "$build" --target gemma4 >/dev/null

# --version: the CMake version, the commit of this checkout, the kernel paths.
check_version() {
  local out commit
  out=$("$1" --version) || fail "$1 --version exited non-zero"
  [ "$(sed -n 1p <<<"$out")" = "gemma4 $version" ] || fail "$1 --version: first line '$(sed -n 1p <<<"$out")'"
  commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  grep -qx "commit: $commit" <<<"$out" || fail "$1 --version does not name commit $commit: $out"
  grep -q "^kernels: portable" <<<"$out" || fail "$1 --version lists no kernel paths: $out"
}
check_version "$build/gemma4"

# cmake --install + find_package(gemma4) from a project outside the tree.
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/gemma4 include/gemma4/engine.h include/gemma4/version.h lib/libgemma4.a \
         lib/cmake/gemma4/gemma4Config.cmake share/bash-completion/completions/gemma4 share/doc/gemma4/LICENSE; do
  [ -f "$prefix/$f" ] || fail "cmake --install did not install $f"
done
check_version "$prefix/bin/gemma4"
cmake -S tests/install/consumer -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null

prompt="The quick brown fox jumps over"
answer=$("$work/consumer/consumer" tests/data/tiny-a "$prompt" 12 2>/dev/null)
printf '{"id":1,"prompt":"%s","max_tokens":12,"temperature":0}\n' "$prompt" > "$work/in.jsonl"
"$prefix/bin/gemma4" batch --model tests/data/tiny-a --dtype f32 --input "$work/in.jsonl" \
  --output "$work/out.jsonl" 2>/dev/null
expected=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({"prompt_tokens": r["usage"]["prompt_tokens"], "tokens": r["tokens"]}, separators=(",", ":")))' "$work/out.jsonl")
[ "$answer" = "$expected" ] || fail "consumer answered $answer, gemma4 batch $expected"
[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["tokens"]))' "$answer")" = 12 ] \
  || fail "consumer generated the wrong number of tokens: $answer"

# Bash completions: commands, a command's flags, a flag's choices.
complete_words() {
  # shellcheck disable=SC1090
  (source "$prefix/share/bash-completion/completions/gemma4"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _gemma4; echo "${COMPREPLY[*]}")
}
[ "$(complete_words "$prefix/bin/gemma4" se)" = "serve" ] || fail "completion of 'se'"
grep -qw -- "--max-body" <<<"$(complete_words "$prefix/bin/gemma4" serve --max)" || fail "completion of serve --max"
[ "$(complete_words "$prefix/bin/gemma4" run --dtype q)" = "q8_0 q4_0" ] || fail "completion of --dtype q"

# cpack: a .deb and a .tar.gz, each unpacked and run.
rm -rf "$build/packages"
(cd "$build" && cpack >/dev/null 2>&1) || fail "cpack failed"
deb=$(ls "$build"/packages/gemma4_"$version"_*.deb)
tgz=$(ls "$build"/packages/gemma4-"$version"-*.tar.gz)
dpkg-deb -f "$deb" Depends | grep -q libcurl4 || fail "the .deb declares no Depends on libcurl4"
dpkg -x "$deb" "$work/deb"
check_version "$work/deb/usr/bin/gemma4"
[ -f "$work/deb/usr/lib/cmake/gemma4/gemma4Config.cmake" ] || fail "the .deb lacks the CMake package"
[ -f "$work/deb/usr/share/doc/gemma4/examples/gemma4.service" ] || fail "the .deb lacks the systemd unit"
mkdir "$work/tgz" && tar -xzf "$tgz" -C "$work/tgz"
check_version "$(ls "$work"/tgz/*/bin/gemma4)"
"$work/deb/usr/bin/gemma4" run --model tests/data/tiny-a --dtype f32 --temperature 0 --max-tokens 4 hi >/dev/null 2>&1 \
  || fail "the .deb's binary cannot run tiny-a"
echo "test_install: ok (install, find_package consumer, completions, .deb, .tar.gz)"
