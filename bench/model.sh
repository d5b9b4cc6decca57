#!/usr/bin/env bash
# bench/model.sh [--only ceiling,trace,images,tasks,throughput,train,profile] [--shapes issue,shipped] [--rounds N] [--model FILE]
#
# The GPT's benchmarks (issue 10), alone or as the last part of bench/run.sh (cmake/dev.sh bench):
#   - the shipped model's full model trace of 64 and 511 characters (T = 65 and 512 with <|bos|>),
#     wasm (one thread) and native, model_trace alone and its JSON apart;
#   - training throughput (tokens/s, GFLOP/s) of Trainer::step at the issue's comparison shape and
#     the shipped model's shape: attnviz wasm (one thread) with tfjs-backend-wasm (one thread) in
#     the same node process, attnviz native (1 and 2 threads) with Debian's PyTorch (1 and 2
#     threads), all interleaved step by step;
#   - issue 12: a 2-layer attention-only model trained on induction and sort until right, and
#     training throughput on its two small shapes, attnviz wasm and native beside tfjs-backend-wasm;
#   - the vector ceilings the ratios are taken against, and per-op profiles of attnviz's step.
# JSON lines in build/bench-results/model.jsonl, tables in build/bench-results/model.txt.
# About 10 minutes; run it on an otherwise idle machine. `--shapes smoke --only train,profile`
# checks the harness in seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NATIVE="$ROOT/build/native-bench"
WASM="$ROOT/build/wasm-bench"
RESULTS="$ROOT/build/bench-results"
export NODE_PATH=/usr/share/nodejs   # emcc needs Debian's acorn

log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
cd "$ROOT"

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  log "installing Debian's python3-torch (the PyTorch peer)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch >&2
fi
if [ ! -d bench/node_modules/@tensorflow/tfjs-backend-wasm ]; then
  log "npm ci in bench/ (tfjs-backend-wasm, onnxruntime-web, as pinned in bench/package-lock.json)"
  (cd bench && npm ci --no-audit --no-fund >&2)
fi

log "native build of attnviz-model-bench ($NATIVE)"
[ -f "$NATIVE/CMakeCache.txt" ] || cmake -S . -B "$NATIVE" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$NATIVE" --target attnviz-model-bench >&2

log "wasm build of attnviz-model-bench ($WASM)"
[ -f "$WASM/CMakeCache.txt" ] ||
  emcmake cmake -S . -B "$WASM" -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNVIZ_BUILD_APP=OFF -DATTNVIZ_BUILD_TESTS=OFF >&2
cmake --build "$WASM" --target attnviz-model-bench >&2

mkdir -p "$RESULTS"
log "the GPT: trace, training against tfjs-backend-wasm and PyTorch, profiles (bench/model_run.mjs); load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
node --no-experimental-fetch --no-liftoff bench/model_run.mjs --wasm "$WASM" --native "$NATIVE" "$@" > "$RESULTS/model.jsonl"
node bench/model_report.mjs "$RESULTS/model.jsonl" | tee "$RESULTS/model.txt"
