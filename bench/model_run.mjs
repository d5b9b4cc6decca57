// model_run.mjs — the GPT's benchmarks (issue 10) in one node process, one JSON line per
// measurement on stdout (bench/model_report.mjs makes the tables):
//
//   node --no-experimental-fetch --no-liftoff bench/model_run.mjs --wasm DIR --native DIR
//        [--model FILE] [--rounds N] [--only ceiling,trace,images,tasks,throughput,train,profile] [--shapes issue,shipped]
//
//   ceiling  the vector unit's mul+add ceiling and the core's packed matmul at 512³, wasm and native
//   tasks    issue 12: a 2-layer attention-only model trained on induction and sort until right
//            (steps, seconds)
//   throughput  issue 12: Trainer::step's tokens/s on its two small shapes (2 attention-only layers;
//            4 layers with MLP), attnviz wasm and tfjs-backend-wasm (this process, one thread
//            each) and attnviz native (one thread), each series a window of steps per round in turn
//   trace    model_trace of 64 and 511 characters (+ <|bos|>: T = 65 and 512) of the shipped model
//            (--model; init_model of its shape if the file is missing), timed alone, and its
//            JSON (model_trace_to_json) timed separately; wasm, and natively with 1 and 2 threads
//   train    Trainer::step at the issue's comparison shape and the shipped model's shape: attnviz
//            as wasm (in this process, one thread) and tfjs-backend-wasm (in this process, one
//            thread, bench/tfjs_gpt.mjs), attnviz native (1 and 2 threads) and Debian's PyTorch
//            (1 and 2 threads, bench/train_torch.py) as child processes that step when told to.
//            Every series takes one step per round, in turn, so the shared machine's slow
//            moments fall on all of them alike; nothing runs while another series steps.
//   profile  per-op times of attnviz's step (bench/model_bench.cpp, section 5), wasm and native
//
// --shapes picks the training shapes (default issue,shipped; "smoke" is a tiny one that checks
// the harness in seconds); --rounds overrides the timed rounds per shape (train and throughput).
//
// Each engine times its own step (the children report it), so the protocol's overhead is not counted.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const k = process.argv.indexOf(name);
  return k > 0 && k + 1 < process.argv.length ? process.argv[k + 1] : fallback;
};
const wasmDir = path.resolve(arg('--wasm', 'build/wasm-bench'));
const nativeBin = path.join(path.resolve(arg('--native', 'build/native-bench')), 'attnviz-model-bench');
const modelFile = path.resolve(arg('--model', path.join(here, '..', 'web/models/attnviz_char.safetensors')));
const roundsOverride = arg('--rounds', null);
const only = new Set(arg('--only', 'ceiling,trace,images,tasks,throughput,train,profile').split(','));
const python = '/usr/bin/python3';

// Keep in step with bench/model_bench.cpp's kTrainShapes and bench/train_torch.py's SHAPES.
const ALL_SHAPES = [
  { name: 'issue', n_layer: 4, n_head: 4, n_embd: 128, block_size: 128, vocab_size: 2000, batch: 16, rounds: 7 },
  { name: 'shipped', n_layer: 4, n_head: 4, n_embd: 128, block_size: 512, vocab_size: 4071, batch: 8, rounds: 5 },
  { name: 'smoke', n_layer: 2, n_head: 2, n_embd: 32, block_size: 32, vocab_size: 100, batch: 4, rounds: 3 },
];
const WARMUP = 2;  // steps per series before the timed rounds

// Issue 12's throughput shapes (also in bench/model_bench.cpp's kTrainShapes), learned positions
// and tied lm_head in both engines, with the issue's targets: attnviz wasm's tokens/s at least
// `target_ratio` times tfjs-backend-wasm's, one thread each (the issue's author measured tfjs at
// `issue_tfjs`). Each round times a window of `window` steps per series (0.1 to 0.4 s of attnviz
// in wasm: one step of the first shape lasts about 10 ms, too short to time alone on a shared
// machine); one window warms up.
const THROUGHPUT_SHAPES = [
  { name: 'attn2', n_layer: 2, n_head: 4, n_embd: 64, block_size: 32, vocab_size: 16, batch: 32, mlp: false,
    window: 10, rounds: 7, target_ratio: 5, issue_tfjs: 10700 },
  { name: 'mlp4', n_layer: 4, n_head: 4, n_embd: 96, block_size: 64, vocab_size: 256, batch: 16, mlp: true,
    window: 3, rounds: 7, target_ratio: 10, issue_tfjs: 1050 },
];

const SHAPES = arg('--shapes', 'issue,shipped').split(',').map((name) => {
  const s = [...ALL_SHAPES, ...THROUGHPUT_SHAPES].find((x) => x.name === name);
  if (!s) throw new Error(`--shapes: expected names from ${[...ALL_SHAPES, ...THROUGHPUT_SHAPES].map((x) => x.name).join(', ')}, got ${name}`);
  return s;
});

const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const log = (s) => process.stderr.write(`[model bench] ${s}\n`);
const median = (v) => {
  const s = [...v].sort((x, y) => x - y), n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
};
// model_bench.cpp's flops_per_token: c_attn and attn.c_proj are 4·C² a layer, the MLP 8·C² more
const flopsPerToken = (s) => 6 * ((s.mlp === false ? 4 : 12) * s.n_layer * s.n_embd ** 2 + s.vocab_size * s.n_embd) +
                             12 * s.n_layer * s.block_size * s.n_embd;
const describe = (s) => `${s.n_layer} layers${s.mlp === false ? ' attention-only' : ' + MLP'}, d ${s.n_embd}, ${s.n_head} heads, ` +
                        `context ${s.block_size}, vocabulary ${s.vocab_size}, batch ${s.batch}`;

//-----------------------------------------------------------------------------
// Engines
//-----------------------------------------------------------------------------
const core = await require(path.join(wasmDir, 'attnviz-model-bench.js'))();
const text = () => core.UTF8ToString(core._mb_text());
const call = (name, ...args) => core.ccall(name, 'number', args.map((a) => (typeof a === 'string' ? 'string' : 'number')), args);

let tf = null;
async function loadTfjs() {
  if (tf) return tf;
  tf = require('@tensorflow/tfjs-core');
  const tfwasm = require('@tensorflow/tfjs-backend-wasm');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);  // its threaded build does not start in node
  tfwasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  await import('./tfjs_gradients.mjs');
  return tf;
}

// A child process speaking the line protocol (attnviz-model-bench serve, train_torch.py).
function child(command, args) {
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const waiting = [];
  const queued = [];
  let closed = false;
  lines.on('line', (l) => {
    if (!l.startsWith('{')) return;
    const o = JSON.parse(l);
    if (waiting.length) waiting.shift().resolve(o); else queued.push(o);
  });
  proc.on('close', (code) => {
    closed = true;
    for (const w of waiting.splice(0)) w.reject(new Error(`${path.basename(command)} exited (${code})`));
  });
  proc.on('error', (e) => { closed = true; for (const w of waiting.splice(0)) w.reject(e); });
  const next = () => (queued.length ? Promise.resolve(queued.shift())
    : closed ? Promise.reject(new Error(`${path.basename(command)} has exited`))
    : new Promise((resolve, reject) => waiting.push({ resolve, reject })));
  return {
    next,
    async send(line) { proc.stdin.write(line + '\n'); return next(); },
    quit() { if (!closed) proc.stdin.end('quit\n'); },
  };
}

function runJsonLines(command, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)))
      : reject(new Error(`${command} ${args.join(' ')} exited (${code})`))));
  });
}

//-----------------------------------------------------------------------------
// ceiling
//-----------------------------------------------------------------------------
if (only.has('ceiling')) {
  log('ceilings: mul+add chains and the packed matmul at 512^3 (wasm, native 1 and 2 threads)');
  core._mb_ceiling();
  for (const line of text().split('\n')) print(JSON.parse(line));
  for (const o of await runJsonLines(nativeBin, ['ceiling', '2'])) print(o);
}

//-----------------------------------------------------------------------------
// trace
//-----------------------------------------------------------------------------
if (only.has('trace')) {
  log(`model trace (${fs.existsSync(modelFile) ? modelFile : 'no model file: init_model of its shape'})`);
  if (call('mb_trace_setup', fs.existsSync(modelFile) ? modelFile : '') < 0) throw new Error(`model: ${text()}`);
  const source = text();
  // Per size: a warm-up, then the trace alone `runs` times in a row (the JSON's hundreds of MB in
  // between would make each trace also pay for memory the JSON left behind), then the JSON apart.
  const sizes = [64, 511], runs = { 64: 40, 511: 10 }, jsonRuns = { 64: 5, 511: 3 };
  const ms = { 64: [], 511: [] }, json = { 64: [], 511: [] }, info = {};
  for (const chars of sizes) {
    const run = (withJson) => {
      const t = core._mb_trace_run(chars, withJson ? 1 : 0);
      if (t < 0) throw new Error(`trace: ${text()}`);
      return t;
    };
    run(false);
    for (let r = 0; r < runs[chars]; ++r) ms[chars].push(run(false));
    for (let r = 0; r < jsonRuns[chars]; ++r) {
      run(true);
      json[chars].push(core._mb_trace_json_ms());
    }
    info[chars] = { T: core._mb_trace_T(), json_bytes: core._mb_trace_json_bytes() };
  }
  for (const chars of sizes)
    print({ kind: 'trace', engine: 'attnviz wasm', threads: 1, model: source, chars, T: info[chars].T,
            trace_ms: +median(ms[chars]).toFixed(3), json_ms: +median(json[chars]).toFixed(3),
            json_bytes: info[chars].json_bytes, runs: ms[chars].length });
  for (const threads of [1, 2])
    for (const o of await runJsonLines(nativeBin, ['trace', fs.existsSync(modelFile) ? modelFile : '', String(threads)])) print(o);
}

//-----------------------------------------------------------------------------
// images (issue 13): one image's full trace (model_trace + rollout) by each shipped image model
//-----------------------------------------------------------------------------
if (only.has('images')) {
  for (const name of ['vit_digits', 'vit_fashion']) {
    const file = path.join(here, '..', 'web', 'models', name + '.safetensors');
    if (!fs.existsSync(file)) { log(`images: ${file} missing (cmake/dev.sh train-vit)`); continue; }
    log(`image trace: ${name}, wasm then native`);
    core.ccall('mb_image_trace', null, ['string'], [file]);
    const o = JSON.parse(text());
    if (o.error) throw new Error(`image trace ${name}: ${o.error}`);
    print(o);
    for (const n of await runJsonLines(nativeBin, ['image', file, '1'])) print(n);
  }
}

//-----------------------------------------------------------------------------
// tasks (issue 12): a model trained on a synthetic task until it is right, wasm then native
//-----------------------------------------------------------------------------
if (only.has('tasks')) {
  for (const name of ['induction', 'sort']) {
    log(`task ${name}: wasm, then native (one thread each)`);
    core.ccall('mb_task', null, ['string'], [name]);
    const o = JSON.parse(text());
    if (o.error) throw new Error(`task ${name}: ${o.error}`);
    print(o);
    for (const n of await runJsonLines(nativeBin, ['task', name])) print(n);
  }
}

//-----------------------------------------------------------------------------
// Training series (throughput and train): the engines' steps, timed in rounds
//-----------------------------------------------------------------------------
// A stream of random ids in [2, V) and B random windows of T + 1 from it, as the trainers draw.
function batches(shape, seed = 7) {
  const { batch: B, block_size: T, vocab_size: V } = shape;
  let x = seed >>> 0;
  const rand = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32; };
  const stream = Int32Array.from({ length: 1 << 17 }, () => 2 + Math.floor(rand() * (V - 2)));
  return () => {
    const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; ++b) {
      const start = Math.floor(rand() * (stream.length - T - 1));
      ids.set(stream.subarray(start, start + T), b * T);
      targets.set(stream.subarray(start + 1, start + 1 + T), b * T);
    }
    return { ids, targets };
  };
}

// The series of one shape that `wanted(engine, threads)` picks, each with its step().
async function trainSeries(shape, wanted = () => true) {
  const series = [];
  // attnviz, wasm, in this process
  if (wanted('attnviz wasm', 1)) {
    if (call('mb_train_start', shape.name) < 0) series.push({ engine: 'attnviz wasm', threads: 1, error: text() });
    else {
      const info = JSON.parse(text());
      series.push({ engine: 'attnviz wasm', threads: 1, parameters: info.parameters,
                    step: async () => ({ ms: core._mb_train_step(), loss: core._mb_train_loss() }), stop: () => core._mb_train_stop() });
    }
  }
  // tfjs-backend-wasm, in this process
  if (wanted('tfjs-backend-wasm', 1)) {
    try {
      const t = await loadTfjs();
      const { tfjsGpt } = await import('./tfjs_gpt.mjs');
      const model = tfjsGpt(t, shape);
      const next = batches(shape);
      series.push({ engine: 'tfjs-backend-wasm', threads: 1, parameters: model.parameters,
                    kernels: (await t.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'wasm simd' : 'wasm',
                    step: async () => {
                      const { ids, targets } = next();
                      const t0 = performance.now();
                      const loss = model.step(ids, targets);
                      return { ms: performance.now() - t0, loss };
                    },
                    stop: () => model.dispose() });
    } catch (e) {
      series.push({ engine: 'tfjs-backend-wasm', threads: 1, error: `setup: ${e.message}`.slice(0, 300) });
    }
  }
  // native attnviz and PyTorch, as children
  for (const [engine, command, args] of [
    ['attnviz native', nativeBin, ['serve', shape.name]],
    ['pytorch', python, [path.join(here, 'train_torch.py'), shape.name]],
  ])
    for (const threads of [1, 2]) {
      if (!wanted(engine, threads)) continue;
      const c = child(command, [...args, String(threads)]);
      try {
        const ready = await c.next();
        if (ready.error) throw new Error(ready.error);
        series.push({ engine, threads, parameters: ready.parameters, version: ready.torch,
                      step: () => c.send('step'), stop: () => c.quit() });
      } catch (e) {
        c.quit();
        series.push({ engine, threads, error: `setup: ${e.message}`.slice(0, 300) });
      }
    }
  return series;
}

// Rounds of `window` steps per series, every series in turn, so the shared machine's slow moments
// fall on all of them alike and nothing runs while another series steps; the first `warmup`
// rounds are not timed. s.ms gets each timed window's time: the sum of its steps' own times.
async function runRounds(series, { warmup, rounds, window }) {
  for (const s of series) s.ms = [];
  for (let round = 0; round < warmup + rounds; ++round) {
    for (const s of series) {
      if (s.error) continue;
      try {
        let ms = 0;
        for (let k = 0; k < window; ++k) {
          const r = await s.step();
          if (!(r.ms > 0)) throw new Error(r.error ?? 'no time');
          ms += r.ms;
          s.lastLoss = r.loss;
          s.firstLoss ??= r.loss;
        }
        s.lastWindow = ms;
        if (round >= warmup) s.ms.push(ms);
      } catch (e) {
        s.error = `step: ${e.message}`.slice(0, 300);
      }
    }
    log(`  round ${round + 1}/${warmup + rounds}${round < warmup ? ' (warm-up)' : ''}: ` + series.filter((s) => !s.error)
      .map((s) => `${s.engine}${s.threads > 1 ? ' x2' : ''} ${(s.lastWindow / window).toFixed(0)} ms`).join(', '));
  }
}

// One JSON line per series (times per step: its windows' over `window`), and the series stopped.
function printSeries(kind, shape, series, window, extra = {}) {
  const tokens = shape.batch * shape.block_size;
  for (const s of series) {
    const row = { kind, shape: shape.name, engine: s.engine, threads: s.threads, n_layer: shape.n_layer,
                  n_head: shape.n_head, n_embd: shape.n_embd, block_size: shape.block_size, vocab_size: shape.vocab_size,
                  batch: shape.batch, mlp: shape.mlp !== false, tokens_per_step: tokens, flops_per_token: flopsPerToken(shape),
                  window, ...extra };
    if (s.parameters) row.parameters = s.parameters;
    if (s.version) row.version = s.version;
    if (s.kernels) row.kernels = s.kernels;
    if (s.error) row.error = s.error;
    else {
      const perStep = s.ms.map((ms) => ms / window), ms = median(perStep);
      Object.assign(row, { ms: +ms.toFixed(2), min_ms: +Math.min(...perStep).toFixed(2), max_ms: +Math.max(...perStep).toFixed(2),
                           runs: perStep.length, tokens_per_s: +(tokens / ms * 1e3).toFixed(1),
                           gflops: +(tokens * flopsPerToken(shape) / ms * 1e-6).toFixed(2),
                           first_loss: +s.firstLoss.toFixed(4), last_loss: +s.lastLoss.toFixed(4) });
    }
    print(row);
    try { s.stop?.(); } catch { /* already gone */ }
  }
}

//-----------------------------------------------------------------------------
// throughput (issue 12)
//-----------------------------------------------------------------------------
if (only.has('throughput')) {
  for (const shape of THROUGHPUT_SHAPES) {
    const rounds = Number(roundsOverride ?? shape.rounds);
    log(`throughput, ${shape.name} (${describe(shape)}): 1 warm-up + ${rounds} rounds of ${shape.window} steps`);
    const series = await trainSeries(shape, (engine, threads) => threads === 1 && engine !== 'pytorch');
    await runRounds(series, { warmup: 1, rounds, window: shape.window });
    printSeries('throughput', shape, series, shape.window, { target_ratio: shape.target_ratio, issue_tfjs_tokens_per_s: shape.issue_tfjs });
  }
}

//-----------------------------------------------------------------------------
// train
//-----------------------------------------------------------------------------
if (only.has('train')) {
  for (const shape of SHAPES) {
    const rounds = Number(roundsOverride ?? shape.rounds);
    log(`training, ${shape.name} shape (${describe(shape)}): ${WARMUP} warm-up + ${rounds} rounds`);
    const series = await trainSeries(shape);
    await runRounds(series, { warmup: WARMUP, rounds, window: 1 });
    printSeries('train', shape, series, 1);
  }
}

//-----------------------------------------------------------------------------
// profile
//-----------------------------------------------------------------------------
if (only.has('profile')) {
  for (const shape of SHAPES) {
    log(`per-op profile, ${shape.name} shape: wasm (1 thread, linear layers split), native 1 and 2 threads`);
    if (call('mb_profile', shape.name, 3) < 0) print({ kind: 'profile', engine: 'attnviz wasm', shape: shape.name, error: text() });
    else print(JSON.parse(text()));
    for (const threads of [1, 2])
      for (const o of await runJsonLines(nativeBin, ['profile', shape.name, String(threads), '3'])) print(o);
  }
}
process.exit(0);  // tfjs's wasm backend keeps the event loop alive
