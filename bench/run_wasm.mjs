// run_wasm.mjs — the wasm benchmarks: attnviz's core (attnviz-bench.js) and its npm peers,
// interleaved in one node process, single thread. One JSON line per measurement on stdout.
//
//   node --no-experimental-fetch --no-liftoff bench/run_wasm.mjs <build/wasm-bench> [max_T]
//
// Each shape: every engine computes the same inputs and weights (drawn by the C++ bench) and
// its output is compared with attnviz's (relative 1e-3) before anything is timed; then every
// series runs once per round, so the shared machine's slow moments hit all of them alike.
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { forwardModel, attentionModel } from './onnx_graph.mjs';

const require = createRequire(import.meta.url);
const buildDir = path.resolve(process.argv[2] ?? 'build/wasm-bench');
const maxT = Number(process.argv[3] ?? 4096);
const FORWARD = 0, ATTENTION = 1, TRACE = 2;

//-----------------------------------------------------------------------------
// Engines
//-----------------------------------------------------------------------------
const core = await require(path.join(buildDir, 'attnviz-bench.js'))();
const simdName = core.UTF8ToString(core._bench_simd_name());

const ort = await import('onnxruntime-web');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const tf = require('@tensorflow/tfjs-core');
const tfwasm = require('@tensorflow/tfjs-backend-wasm');
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);  // its threaded build does not start in node
tfwasm.setThreadsCount(1);
await tf.setBackend('wasm');
await tf.ready();
const tfSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');

//-----------------------------------------------------------------------------
// Helpers
//-----------------------------------------------------------------------------
const copyOut = (ptr, n) => new Float32Array(core.HEAPF32.buffer, ptr, n).slice();  // HEAPF32 may move on growth

function relativeDifference(a, b) {
  let e = 0, m = 1e-30;
  for (let i = 0; i < b.length; ++i) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return a.length === b.length ? e / m : Infinity;
}

const median = (v) => {
  const s = [...v].sort((x, y) => x - y), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
};

function repetitions(T, slow) {
  if (T >= 4096) return slow ? 1 : 3;
  if (T >= 1024) return slow ? 3 : 5;
  return T >= 256 ? 9 : 31;
}

//-----------------------------------------------------------------------------
// Series: one engine, one mode; run() returns the output (Float32Array, T·d)
//-----------------------------------------------------------------------------
function coreSeries(shape, mode, scalar) {
  return {
    engine: 'attnviz wasm', kernels: scalar ? 'scalar' : simdName, mode: ['forward', 'attention', 'trace'][mode],
    flops: core._bench_flops(shape.index, mode), slow: scalar,
    run() {
      if (core._bench_run(mode, scalar) < 0) throw new Error(core.UTF8ToString(core._bench_error()));
      return null;  // read by output() only when checking, so timing excludes the copy
    },
    output() { return copyOut(core._bench_data(12), shape.T * shape.d); },
    peak() { return core._bench_peak_bytes(); },
  };
}

async function ortSeries(shape, mode, kind, inputs) {
  const { T, d, heads } = shape;
  const bytes = mode === FORWARD ? forwardModel(T, d, heads, inputs.weights, kind) : attentionModel(T, d, heads, kind);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const feeds = () => mode === FORWARD
    ? { X: new ort.Tensor('float32', inputs.X, [T, d]) }
    : { Q: new ort.Tensor('float32', inputs.Q, [T, d]), K: new ort.Tensor('float32', inputs.K, [T, d]),
        V: new ort.Tensor('float32', inputs.V, [T, d]) };
  let last = null;
  return {
    engine: 'onnxruntime-web', kernels: `wasm ${kind}`, mode: ['forward', 'attention'][mode],
    flops: core._bench_flops(shape.index, mode), slow: false, async: true,
    async run() { last = (await session.run(feeds())).Y; return last; },
    output() { return last.data; },
  };
}

function tfjsSeries(shape, mode, inputs) {
  const { T, d, heads } = shape, dk = d / heads;
  const w = {};
  for (const [k, v] of Object.entries(inputs.weights)) w[k] = tf.tensor(v, v.length === d ? [d] : [d, d]);
  const split = (x) => tf.transpose(tf.reshape(x, [T, heads, dk]), [1, 0, 2]);  // (H, T, dk)
  const attention = (q, k, v) => {
    const weights = tf.softmax(tf.mul(tf.matMul(split(q), split(k), false, true), 1 / Math.sqrt(dk)));
    return tf.reshape(tf.transpose(tf.matMul(weights, split(v)), [1, 0, 2]), [T, d]);
  };
  let last = null;
  return {
    engine: 'tfjs-backend-wasm', kernels: tfSimd ? 'wasm simd' : 'wasm', mode: ['forward', 'attention'][mode],
    flops: core._bench_flops(shape.index, mode), slow: true,
    run() {
      const y = tf.tidy(() => {
        if (mode === ATTENTION)
          return attention(tf.tensor(inputs.Q, [T, d]), tf.tensor(inputs.K, [T, d]), tf.tensor(inputs.V, [T, d]));
        const x = tf.tensor(inputs.X, [T, d]);
        const [q, k, v] = ['q', 'k', 'v'].map((p) => tf.add(tf.matMul(x, w[`W${p}`]), w[`b${p}`]));
        return tf.add(tf.matMul(attention(q, k, v), w.Wo), w.bo);
      });
      last = y.dataSync();
      y.dispose();
      return last;
    },
    output() { return last; },
    dispose() { Object.values(w).forEach((t) => t.dispose()); },
  };
}

//-----------------------------------------------------------------------------
// The run
//-----------------------------------------------------------------------------
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');

for (let index = 0; index < core._bench_shape_count(); ++index) {
  const shape = { index, T: core._bench_shape(index, 0), d: core._bench_shape(index, 1), heads: core._bench_shape(index, 2) };
  if (shape.T > maxT) break;
  const { T, d, heads } = shape;
  core._bench_setup(index);
  const n = T * d;
  const inputs = {
    X: copyOut(core._bench_data(0), n), Q: copyOut(core._bench_data(9), n), K: copyOut(core._bench_data(10), n),
    V: copyOut(core._bench_data(11), n), weights: {},
  };
  ['Wq', 'Wk', 'Wv', 'Wo', 'bq', 'bk', 'bv', 'bo'].forEach((k, i) => { inputs.weights[k] = copyOut(core._bench_data(1 + i), i < 4 ? d * d : d); });

  const series = [];
  const failed = [];
  for (const mode of [FORWARD, ATTENTION, TRACE]) for (const scalar of [0, 1]) if (!(mode === TRACE && scalar)) series.push(coreSeries(shape, mode, scalar));
  for (const mode of [FORWARD, ATTENTION])
    for (const kind of ['ops', 'mha']) {
      try { series.push(await ortSeries(shape, mode, kind, inputs)); }
      catch (e) { failed.push({ engine: 'onnxruntime-web', kernels: `wasm ${kind}`, mode: ['forward', 'attention'][mode], error: `session: ${e.message}` }); }
    }
  for (const mode of [FORWARD, ATTENTION]) series.push(tfjsSeries(shape, mode, inputs));

  // warm-up and check: attnviz's scalar forward / attention is the reference for every engine
  const reference = {};
  for (const s of series) {
    try {
      await s.run();
      const out = s.output();
      if (s.engine === 'attnviz wasm' && s.kernels === 'scalar') reference[s.mode] = out;
      s.out = out;
    } catch (e) { s.error = `run: ${e.message}`.slice(0, 200); }
  }
  for (const s of series) {
    if (s.error) continue;
    const want = reference[s.mode === 'trace' ? 'forward' : s.mode];
    const diff = relativeDifference(s.out, want);
    const bound = s.engine === 'attnviz wasm' ? 1e-5 : 1e-3;
    if (!(diff <= bound)) s.error = `output differs from attnviz's by ${diff.toExponential(2)} (relative; bound ${bound})`;
    s.check = diff;
    delete s.out;
  }

  const rounds = repetitions(T, false);
  for (const s of series) s.ms = [];
  for (let rep = 0; rep < rounds; ++rep)
    for (const s of series) {
      if (s.error || rep >= repetitions(T, s.slow)) continue;
      try {
        const t0 = performance.now();
        await s.run();
        s.ms.push(performance.now() - t0);
        if (s.peak) s.peakBytes = Math.max(s.peakBytes ?? 0, s.peak());
      } catch (e) { s.error = `run: ${e.message}`.slice(0, 200); }
    }

  for (const s of [...series, ...failed]) {
    const row = { engine: s.engine, kernels: s.kernels, mode: s.mode, T, d, heads };
    if (s.error) row.error = s.error;
    else {
      const ms = median(s.ms);
      Object.assign(row, { ms: +ms.toFixed(4), runs: s.ms.length, gflops: +(s.flops / ms * 1e-6).toFixed(2), check: s.check });
      if (s.peakBytes !== undefined) row.peak_bytes = s.peakBytes;
    }
    print(row);
    s.dispose?.();
  }
}
print({ engine: 'attnviz wasm', heap_bytes: core.HEAP8.length });
