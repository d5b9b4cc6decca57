// profile_wasm.mjs — where the wasm build spends its time, by function: V8's sampling profiler
// (node:inspector) over attnviz-model-bench.js, which keeps its function names (--profiling-funcs).
//
//   node --no-experimental-fetch --no-liftoff bench/profile_wasm.mjs build/wasm-bench trace CHARS REPS [MODEL]
//   node --no-experimental-fetch --no-liftoff bench/profile_wasm.mjs build/wasm-bench train SHAPE STEPS
//
// trace: model_trace alone (no JSON) of CHARS characters, REPS times, after one warm-up;
// train: STEPS Trainer::step() of SHAPE (issue | shipped | smoke), after two warm-up steps.
// Prints each function's share of the sampled time (self time: inlined callees count as the
// caller's), the largest first. Natively, perf does the same for attnviz-model-bench.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

const require = createRequire(import.meta.url);
const [dir = 'build/wasm-bench', what = 'trace', a = '64', b = '200', modelArg] = process.argv.slice(2);
const core = await require(path.join(path.resolve(dir), 'attnviz-model-bench.js'))();
const text = () => core.UTF8ToString(core._mb_text());

let work;
if (what === 'trace') {
  const model = path.resolve(modelArg ?? 'web/models/attnviz_char.safetensors');
  if (core.ccall('mb_trace_setup', 'number', ['string'], [fs.existsSync(model) ? model : '']) < 0) throw new Error(text());
  console.log(`model_trace of ${a} characters x ${b} (model: ${text()})`);
  core._mb_trace_run(Number(a), 0);
  work = () => { for (let r = 0; r < Number(b); ++r) core._mb_trace_run(Number(a), 0); };
} else if (what === 'train') {
  if (core.ccall('mb_train_start', 'number', ['string'], [a]) < 0) throw new Error(text());
  console.log(`Trainer::step, ${a} shape, x ${b}`);
  core._mb_train_step();
  core._mb_train_step();
  work = () => { for (let r = 0; r < Number(b); ++r) core._mb_train_step(); };
} else throw new Error('expected trace or train');

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });  // µs
await session.post('Profiler.start');
const t0 = performance.now();
work();
const ms = performance.now() - t0;
const { profile } = await session.post('Profiler.stop');

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const name = byId.get(id).callFrame.functionName || '(program)';
  self.set(name, (self.get(name) ?? 0) + dt);
  total += dt;
});
console.log(`${ms.toFixed(0)} ms in all, ${(ms / Number(b)).toFixed(2)} ms each`);
for (const [name, t] of [...self.entries()].sort((x, y) => y[1] - x[1]).slice(0, 25))
  console.log(`${(100 * t / total).toFixed(1).padStart(5)} %  ${name.replace(/std::__2::/g, '').slice(0, 150)}`);
process.exit(0);
