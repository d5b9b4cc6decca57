#!/usr/bin/env bash
# tests/fuzz/run.sh MINUTES [TARGET...] — builds the libFuzzer targets (clang, ASan + UBSan) in
# build/fuzz and runs each for MINUTES minutes, one after another, each one process on one core, then
# merges what it found into the committed corpus tests/fuzz/corpus/<target>/ (-merge=1 into a
# fresh directory, which keeps only inputs that add coverage, then replaces the corpus).
# A crash stops the script with the reproducer (crash-*, timeout-*, oom-*) in build/fuzz/artifacts/;
# fix the cause, copy the file into the corpus as regress-<what> (it becomes a CTest regression,
# native:fuzz-replay-<target>, and merges never drop it),
# and run again. Not part of CI: CI replays the corpora (native:fuzz-replay-*) in every native build.
#
# Targets: tokenizer config url_state run model_file (default: all). Needs clang and libclang-rt-14-dev
# (installed here if missing). Prints per target: seconds run, executions, corpus size.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${ATTNVIZ_BUILD_DIR:-$ROOT/build}/fuzz"
MINUTES="${1:?usage: tests/fuzz/run.sh MINUTES [TARGET...]}"
shift
TARGETS=("$@")
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(config run url_state tokenizer model_file)

log() { printf '\033[1;34m[fuzz]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# largest input per target: texts up to 4 KiB, JSON documents 16 KiB, the run target's choices
# 512 bytes (past the end every choice reads 0, so larger matrices are still built)
max_len() { case "$1" in tokenizer) echo 4096 ;; run) echo 512 ;; *) echo 16384 ;; esac; }

missing=()
for pkg in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -q >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DATTNVIZ_FUZZ=ON -DATTNVIZ_BUILD_APP=OFF >&2
fi
cmake --build "$BUILD" --target $(printf 'attnviz_fuzz_%s ' "${TARGETS[@]}") >&2

mkdir -p "$BUILD/artifacts"
failed=()
for target in "${TARGETS[@]}"; do
  corpus="$ROOT/tests/fuzz/corpus/$target"
  work="$BUILD/work/$target"
  rm -rf "$work" "$work.merged"
  mkdir -p "$work" "$work.merged" "$corpus"
  cp "$corpus"/. "$work"/ -r 2>/dev/null || true
  log "$target: fuzzing for $MINUTES min (corpus $(ls "$corpus" | wc -l) files)"
  start=$SECONDS
  set +e
  "$BUILD/tests/fuzz/attnviz_fuzz_$target" "$work" -max_total_time=$((MINUTES * 60)) \
    -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$target-" >"$BUILD/$target.log" 2>&1
  rc=$?
  set -e
  seconds=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/$target.log" | tail -1 | grep -o '[0-9]*$' || true)
  if [ "$rc" -ne 0 ]; then
    log "$target: the fuzzer stopped with status $rc after $seconds s, ${execs:-?} executions; reproducer(s):"
    ls -1 "$BUILD/artifacts/$target-"* >&2 || true
    grep -m1 -A3 -E 'check failed|ERROR: |runtime error' "$BUILD/$target.log" >&2 || tail -20 "$BUILD/$target.log" >&2
    failed+=("$target")
    continue
  fi
  # named inputs (seed-*: hand-written, regress-*: crashes once found) always stay; of the rest,
  # keep only what adds coverage to them (libFuzzer's merge prefers small inputs)
  find "$corpus" -maxdepth 1 -type f \( -name 'seed-*' -o -name 'regress-*' \) -exec cp {} "$work.merged"/ \;
  # (edge coverage only, -use_counters=0, so the committed corpus stays a few hundred files)
  "$BUILD/tests/fuzz/attnviz_fuzz_$target" -merge=1 -use_counters=0 -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
    "$work.merged" "$corpus" "$work" >"$BUILD/$target.merge.log" 2>&1
  rm -rf "$corpus"
  mv "$work.merged" "$corpus"
  log "$target: ${seconds} s, ${execs:-?} executions, no crash; corpus now $(ls "$corpus" | wc -l) files, $(du -sk "$corpus" | cut -f1) KiB"
done
if [ "${#failed[@]}" -gt 0 ]; then
  log "crashed: ${failed[*]} (reproducers in $BUILD/artifacts/)"
  exit 1
fi
