// report.mjs — one table from the benchmark's JSON lines (native and wasm), the ratios against
// the peers, and issue 5's targets, each marked met or not.
//
//   node bench/report.mjs native.jsonl wasm.jsonl
import fs from 'node:fs';

const rows = process.argv.slice(2).flatMap((f) =>
  fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))).filter((r) => r.mode);

const shapes = [...new Set(rows.map((r) => `${r.T},${r.d},${r.heads}`))];
const fmt = (x, digits = 2) => (x === undefined ? '' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(digits));
const pad = (s, n, right = false) => (right ? String(s).padEnd(n) : String(s).padStart(n));

//-----------------------------------------------------------------------------
// The table
//-----------------------------------------------------------------------------
const header = ['(T, d, heads)', 'engine', 'kernels', 'mode', 'median ms', 'GFLOP/s', 'runs', 'peak MiB'];
const widths = [15, 18, 13, 10, 10, 8, 5, 9];
const line = (cells) => cells.map((c, i) => pad(c, widths[i], i < 4)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const shape of shapes) {
  const [T, d, h] = shape.split(',');
  for (const r of rows.filter((x) => `${x.T},${x.d},${x.heads}` === shape)) {
    const cells = [`(${T}, ${d}, ${h})`, r.engine, r.kernels, r.mode];
    if (r.error) console.log(line(cells) + `  error: ${r.error}`);
    else console.log(line([...cells, fmt(r.ms, 3), fmt(r.gflops, 1), r.runs, r.peak_bytes === undefined ? '' : fmt(r.peak_bytes / 2 ** 20)]));
  }
}

//-----------------------------------------------------------------------------
// Ratios and targets (wasm: the browser's case; native alongside)
//-----------------------------------------------------------------------------
const find = (engine, kernels, mode, shape) =>
  rows.find((r) => r.engine === engine && (kernels === null || r.kernels === kernels) && r.mode === mode &&
                   `${r.T},${r.d},${r.heads}` === shape && !r.error);
const best = (engine, mode, shape) => rows
  .filter((r) => r.engine === engine && r.mode === mode && `${r.T},${r.d},${r.heads}` === shape && !r.error)
  .sort((a, b) => a.ms - b.ms)[0];
const simdKernels = (engine) => rows.find((r) => r.engine === engine && r.kernels !== 'scalar')?.kernels;

console.log('\nRatios (> 1: attnviz faster; peers at their fastest graph)');
console.log(line(['(T, d, heads)', 'engine', 'mode', 'vs onnxrt-web', 'vs tfjs-wasm', 'simd/scalar', 'trace/fwd', '']).trimEnd());
for (const shape of shapes) {
  for (const engine of ['attnviz wasm', 'attnviz native']) {
    const simd = simdKernels(engine);
    for (const mode of ['forward', 'attention']) {
      const a = find(engine, simd, mode, shape);
      if (!a) continue;
      const ort = best('onnxruntime-web', mode, shape), tfjs = best('tfjs-backend-wasm', mode, shape);
      const scalar = find(engine, 'scalar', mode, shape), trace = find(engine, simd, 'trace', shape);
      const [T, d, h] = shape.split(',');
      console.log(line([`(${T}, ${d}, ${h})`, engine, mode,
        ort && engine.includes('wasm') ? `${fmt(ort.ms / a.ms)}x (${ort.kernels.replace('wasm ', '')})` : '',
        tfjs && engine.includes('wasm') ? `${fmt(tfjs.ms / a.ms)}x` : '',
        scalar ? `${fmt(scalar.ms / a.ms)}x` : '',
        trace && mode === 'forward' ? `${fmt(trace.ms / a.ms)}x` : '', '']).trimEnd());
    }
  }
}

console.log('\nIssue 5 targets (WebAssembly SIMD128, one thread)');
const target = (text, ok, value) => console.log(`  [${ok === undefined ? 'n/a' : ok ? 'met' : 'NOT met'}] ${text}: ${value}`);
const wasm = 'attnviz wasm', simd = simdKernels(wasm);
for (const shape of ['256,512,8', '1024,512,8']) {
  const a = find(wasm, simd, 'forward', shape), o = best('onnxruntime-web', 'forward', shape);
  target(`full forward ${shape} >= 1.3x onnxruntime-web`, a && o ? o.ms / a.ms >= 1.3 : undefined,
         a && o ? `${fmt(o.ms / a.ms)}x (${fmt(a.ms)} vs ${fmt(o.ms)} ms, ${fmt(a.gflops, 1)} GFLOP/s)` : 'missing');
}
{
  const shape = '1024,512,8', a = find(wasm, simd, 'attention', shape), o = best('onnxruntime-web', 'attention', shape);
  target(`attention alone ${shape} >= 1.3x onnxruntime-web`, a && o ? o.ms / a.ms >= 1.3 : undefined,
         a && o ? `${fmt(o.ms / a.ms)}x (${fmt(a.ms)} vs ${fmt(o.ms)} ms)` : 'missing');
}
{
  const shape = '256,512,8', a = find(wasm, simd, 'forward', shape), s = find(wasm, 'scalar', 'forward', shape);
  target(`SIMD vs scalar, full forward ${shape} >= 3x`, a && s ? s.ms / a.ms >= 3 : undefined,
         a && s ? `${fmt(s.ms / a.ms)}x (${fmt(a.ms)} vs ${fmt(s.ms)} ms)` : 'missing');
}
for (const shape of shapes) {
  const a = find(wasm, simd, 'forward', shape), t = find(wasm, simd, 'trace', shape);
  const terr = rows.find((r) => r.engine === wasm && r.mode === 'trace' && `${r.T},${r.d},${r.heads}` === shape && r.error);
  if (a && t) target(`full trace <= 1.25x plain forward at ${shape}`, t.ms / a.ms <= 1.25, `${fmt(t.ms / a.ms)}x (${fmt(t.ms)} vs ${fmt(a.ms)} ms)`);
  else if (terr) target(`full trace at ${shape}`, undefined, terr.error);
}
for (const shape of shapes.filter((s) => +s.split(',')[0] <= 64)) {
  const t = find(wasm, simd, 'trace', shape);
  if (t) target(`teaching size ${shape}: full recompute (trace) < 2 ms`, t.ms < 2, `${fmt(t.ms, 3)} ms`);
}
