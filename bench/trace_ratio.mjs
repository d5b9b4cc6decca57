// trace_ratio.mjs — the full trace (attnviz::run) against the plain forward, interleaved in one
// process: the "full-trace mode costs at most 1.25× the plain forward", quickly, without
// the peers (bench/run.sh prints the same ratio among everything else).
//
//   node --no-experimental-fetch --no-liftoff bench/trace_ratio.mjs <build/wasm-bench> [max_T] [rounds]
//
// From T = 1024 it also times the trace with a sliding window of 64 (pattern "local").
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const buildDir = path.resolve(process.argv[2] ?? 'build/wasm-bench');
const maxT = Number(process.argv[3] ?? 1024), rounds = Number(process.argv[4] ?? 7);
const core = await require(path.join(buildDir, 'attnviz-bench.js'))();
const FORWARD = 0, TRACE = 2;
const median = (v) => [...v].sort((a, b) => a - b)[(v.length - 1) >> 1];

for (let i = 0; i < core._bench_shape_count(); ++i) {
  const [T, d, h] = [0, 1, 2].map((f) => core._bench_shape(i, f));
  if (T > maxT) continue;
  core._bench_setup(i);
  core._bench_run(FORWARD, 0), core._bench_run(TRACE, 0);  // warm-up
  const f = [], t = [];
  for (let r = 0; r < rounds; ++r) {
    f.push(core._bench_run(FORWARD, 0));
    t.push(core._bench_run(TRACE, 0));
  }
  const ratios = f.map((x, k) => t[k] / x);
  console.log(`(${T}, ${d}, ${h})  forward ${median(f).toFixed(3)} ms  trace ${median(t).toFixed(3)} ms  ` +
              `ratio of medians ${(median(t) / median(f)).toFixed(2)}  median per-round ratio ${median(ratios).toFixed(2)}`);
  if (T >= 1024) {  // long sequences keep one head (as the app does); a window of 64 spares the others most keys
    const w = [];
    for (let r = 0; r < Math.min(rounds, 3); ++r) w.push(core._bench_run_window(64));
    console.log(`(${T}, ${d}, ${h})  trace with a sliding window of 64: ${median(w).toFixed(3)} ms (full pattern ${median(t).toFixed(3)} ms)`);
  }
}
