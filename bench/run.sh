#!/usr/bin/env bash
# bench/run.sh [MAX_T] — build and run every benchmark, print one table.
#
# Natively (g++, AVX2) and as WebAssembly SIMD128 under node (single thread, --no-liftoff),
# with onnxruntime-web and tfjs-backend-wasm (pinned devDependencies) interleaved with the wasm
# core in one process. MAX_T (default 4096) stops after the shapes up to that many tokens.
# The JSON lines stay in build/bench-results/ for a closer look. Last, when build/web has been
# built (cmake/dev.sh build), the page's load: bytes and time to first frame in headless
# Chromium (bench/load.mjs); skipped otherwise. Then the GPT's benchmarks (bench/model.sh: model
# trace, training against tfjs-backend-wasm and PyTorch, per-op profiles).
#
#   bash bench/run.sh --model-only [bench/model.sh's options]   only the GPT's benchmarks
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${1:-}" = "--model-only" ]; then
  shift
  exec bash "$ROOT/bench/model.sh" "$@"
fi
MAX_T="${1:-4096}"
NATIVE="$ROOT/build/native-bench"
WASM="$ROOT/build/wasm-bench"
RESULTS="$ROOT/build/bench-results"
export NODE_PATH=/usr/share/nodejs   # emcc needs Debian's acorn

log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }
cd "$ROOT"

if [ ! -d bench/node_modules/onnxruntime-web ] || [ ! -d bench/node_modules/@tensorflow/tfjs-backend-wasm ]; then
  log "npm ci in bench/ (onnxruntime-web, tfjs-backend-wasm, as pinned in bench/package-lock.json)"
  (cd bench && npm ci --no-audit --no-fund >&2)
fi

log "native build ($NATIVE)"
[ -f "$NATIVE/CMakeCache.txt" ] || cmake -S . -B "$NATIVE" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$NATIVE" --target attnviz-bench >&2

log "wasm build ($WASM)"
[ -f "$WASM/CMakeCache.txt" ] ||
  emcmake cmake -S . -B "$WASM" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNVIZ_BUILD_APP=OFF -DATTNVIZ_BUILD_TESTS=OFF >&2
cmake --build "$WASM" --target attnviz-bench >&2

mkdir -p "$RESULTS"
log "native run (shapes up to T = $MAX_T)"
"$NATIVE/attnviz-bench" "$MAX_T" > "$RESULTS/native.jsonl"
log "wasm run with the peers (shapes up to T = $MAX_T)"
node --no-experimental-fetch --no-liftoff bench/run_wasm.mjs "$WASM" "$MAX_T" > "$RESULTS/wasm.jsonl"

node bench/report.mjs "$RESULTS/native.jsonl" "$RESULTS/wasm.jsonl" | tee "$RESULTS/table.txt"

if [ -f "$ROOT/build/web/index.html" ]; then
  if [ ! -d "$ROOT/node_modules/playwright-core" ]; then
    log "npm ci (playwright-core, as pinned in package-lock.json)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  log "page load in headless Chromium (bench/load.mjs)"
  node bench/load.mjs --web "$ROOT/build/web" --json "$RESULTS/load.json" | tee "$RESULTS/load.txt"
else
  log "no build/web/index.html: page load benchmark skipped (cmake/dev.sh build, then node bench/load.mjs)"
fi

log "the GPT: model trace, training throughput, profiles (bench/model.sh)"
bash "$ROOT/bench/model.sh"
