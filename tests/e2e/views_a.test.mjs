// Pipeline, Matrices and "One cell, worked out", driven with the mouse: open the tabs by
// clicking, pin cells by clicking heatmaps, pick a matrix and a head, export it as CSV. Every
// number checked comes from window.attnviz.trace(): the views must show the trace's values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, screenshot } from './harness.mjs';

const getState = (page) => page.evaluate(() => window.attnviz.getState());
const getTrace = (page) => page.evaluate(() => window.attnviz.trace());
const f32 = Math.fround;

// Starts from a known sentence and config (setup only; the test then uses the mouse).
async function setup(page, configPatch, uiPatch = {}, text = 'the cat sat on the mat') {
  const s = await getState(page);
  const config = { ...s.config, ...configPatch };
  config.text = text;
  const err = await page.evaluate((st) => window.attnviz.setState(st), { config, ui: { ...s.ui, pinned: null, ...uiPatch } });
  assert.ok(!err, `setState refused: ${err}`);
  await waitFrames(page, 4);
}

async function clickRect(page, r, fx = 0.5, fy = 0.5) {
  await page.mouse.click(r.x + r.w * fx, r.y + r.h * fy);
  await waitFrames(page, 4);
}

// Clicks cell (i, j) of the heatmap whose grid rect is `name`, scrolling the pipeline into view first.
async function clickCell(page, name, rows, cols, i, j, viewport) {
  for (let tries = 0; tries < 40; ++tries) {
    const s = await getState(page);
    const g = s.layout[name];
    assert.ok(g && g.w > 0, `the app reports where the ${name} heatmap is`);
    const cellY = g.y + (i + 0.5) * (g.h / rows);
    if (cellY > 40 && cellY < viewport.height - 20) {
      await page.mouse.click(g.x + (j + 0.5) * (g.w / cols), cellY);
      await waitFrames(page, 4);
      return;
    }
    // Wheel over the view's scrollbar: over a heatmap the wheel would zoom instead of scrolling.
    const v = s.layout.pipeline_view;
    await page.mouse.move(v.x + v.w - 4, v.y + v.h / 2);
    await page.mouse.wheel(0, cellY > 40 ? 120 : -120);
    await waitFrames(page, 3);
  }
  assert.fail(`could not scroll ${name} into view`);
}

// RFC 4180 fields: quoted ones may hold commas and doubled quotes.
function parseCsv(text) {
  return text.trim().split('\n').map((line) => {
    const fields = [];
    const re = /("(?:[^"]|"")*"|[^,]*)(,|$)/g;
    for (let m; (m = re.exec(line)) && m[0] !== '';) {
      fields.push(m[1].startsWith('"') ? m[1].slice(1, -1).replaceAll('""', '"') : m[1]);
      if (m[2] === '') break;
    }
    return fields;
  });
}

const num = (s) => Number(s.replace('−', '-'));

// The worked-out panel's numbers for the pinned cell agree with the trace.
function checkReadout(readout, trace, head, i, j) {
  const h = trace.heads[head];
  assert.equal(num(readout['cell.head']), head);
  assert.equal(num(readout['cell.query']), i);
  assert.equal(num(readout['cell.key']), j);
  assert.equal(f32(num(readout['cell.scores'])), f32(h.scores[i][j]), 'the panel shows the trace\'s raw score');
  // Σ_d q_i[d]·k_j[d], summed here from the trace's Q and K: the panel's products add up to the same.
  const keys = h.K_projected ?? h.K;
  const dot = h.Q[i].reduce((acc, q, d) => acc + q * keys[j][d], 0);
  assert.ok(Math.abs(num(readout['cell.dot_sum']) - dot) <= 1e-5 * Math.max(1, Math.abs(dot)), 'the listed products sum to q_i·k_j');
  assert.equal(readout['cell.dot_sum_shown'], readout['cell.scores_shown'], 'Σ q·k equals scores(i,j) to the shown precision');
  assert.equal(f32(num(readout['cell.scale'])), f32(h.scale));
  assert.equal(f32(num(readout['cell.weight'])), f32(h.weights[i][j]), 'the panel shows the trace\'s weight');
  assert.equal(num(readout['cell.allowed']), h.mask[i][j] ? 1 : 0);
  if (h.mask[i][j]) {
    assert.equal(f32(num(readout['cell.scaled'])), f32(h.scaled[i][j]));
    const worked = num(readout['cell.weight_worked']);
    assert.ok(Math.abs(worked - h.weights[i][j]) <= 1e-5 * Math.max(1e-3, h.weights[i][j]), `exp/Σexp ${worked} ≠ weight ${h.weights[i][j]}`);
  }
  for (let d = 0; d < trace.head_dim; ++d) {
    assert.equal(f32(num(readout[`cell.out.${d}`])), f32(h.out[i][d]), 'the panel shows the trace\'s out row');
    assert.ok(Math.abs(num(readout[`cell.out_sum.${d}`]) - h.out[i][d]) <= 1e-5, `Σ_j w_ij·v_j differs from out[${i}][${d}]`);
  }
}

test('pipeline: clicking the tab and a weights cell pins it; the worked-out cell shows the trace\'s numbers', async () => {
  const viewport = { width: 1280, height: 720 };
  const app = await openApp(viewport);
  try {
    const { page } = app;
    await waitFrames(page, 5);
    await setup(page, { mask: 'causal', heads: 2, d_model: 16, positional: 'sinusoidal' }, { view: 'matrices', selected_head: 0 });
    assert.equal((await getState(page)).ui.view, 'matrices');

    // With nothing pinned the panel works out (0, 0).
    let s = await getState(page);
    let trace = await getTrace(page);
    checkReadout(s.readout, trace, 0, 0, 0);

    await clickRect(page, s.layout.tab_pipeline);
    s = await getState(page);
    assert.equal(s.ui.view, 'pipeline', 'clicking the Pipeline tab shows the pipeline');
    for (const stage of ['pipeline_X', 'pipeline_positional', 'pipeline_X_in', 'pipeline_Q', 'pipeline_K', 'pipeline_V', 'pipeline_scores',
      'pipeline_scaled', 'pipeline_mask', 'pipeline_weights', 'pipeline_out', 'pipeline_concat', 'pipeline_output'])
      assert.ok(s.layout[stage] && s.layout[stage].w > 0, `the pipeline draws the ${stage} stage`);
    await screenshot(page, 'views_a-pipeline-1280');

    // Head 1, then an allowed cell of the weights: query 3 "on", key 1 "cat".
    await clickRect(page, s.layout.pipeline_head_1);
    assert.equal((await getState(page)).ui.selected_head, 1, 'the head selector picks head 1');
    const T = trace.T;
    await clickCell(page, 'pipeline_weights', T, T, 3, 1, viewport);
    s = await getState(page);
    assert.deepEqual(s.ui.pinned, [3, 1], 'clicking a weights cell pins it');
    trace = await getTrace(page);
    checkReadout(s.readout, trace, 1, 3, 1);
    await screenshot(page, 'views_a-pipeline-pinned-1280');

    // A masked cell (causal: key 4 after query 1): weight exactly 0, and the panel says why.
    await clickCell(page, 'pipeline_weights', T, T, 1, 4, viewport);
    s = await getState(page);
    assert.deepEqual(s.ui.pinned, [1, 4]);
    assert.equal(trace.heads[1].mask[1][4], false);
    checkReadout(s.readout, trace, 1, 1, 4);
    assert.equal(num(s.readout['cell.weight']), 0);
    await screenshot(page, 'views_a-cell-masked-1280');

    // The scores heatmap pins too.
    await clickCell(page, 'pipeline_scores', T, T, 5, 2, viewport);
    s = await getState(page);
    assert.deepEqual(s.ui.pinned, [5, 2], 'clicking a scores cell pins it');
    checkReadout(s.readout, trace, 1, 5, 2);
    const errors = app.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error'));
    assert.deepEqual(errors, []);
  } finally {
    await app.close();
  }
});

test('matrices: pick scores and head 1 with the mouse, export CSV equal to the trace', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await waitFrames(page, 5);
    await setup(page, { mask: 'none', heads: 2, d_model: 16 }, { view: 'pipeline', selected_head: 0, matrix: 'weights' });
    let s = await getState(page);
    await clickRect(page, s.layout.tab_matrices);
    s = await getState(page);
    assert.equal(s.ui.view, 'matrices');

    await clickRect(page, s.layout.matrix_combo);
    s = await getState(page);
    assert.ok(s.layout.matrix_item_scores, 'the matrix list is open');
    await clickRect(page, s.layout.matrix_item_scores);
    s = await getState(page);
    assert.equal(s.ui.matrix, 'scores', 'the list picks scores');
    await clickRect(page, s.layout.matrices_head_1);
    s = await getState(page);
    assert.equal(s.ui.selected_head, 1);
    await screenshot(page, 'views_a-matrices-1280');

    await clickRect(page, s.layout.matrix_export_csv);
    const downloads = await page.evaluate(() => window.attnviz.downloads);
    const csv = downloads.at(-1);
    assert.equal(csv.name, 'attnviz-scores-head1.csv');
    const trace = await getTrace(page);
    const lines = parseCsv(csv.text);
    assert.deepEqual(lines[0].slice(1), trace.tokens, 'the header names the key tokens');
    assert.equal(lines.length, trace.T + 1);
    for (let i = 0; i < trace.T; ++i) {
      assert.equal(lines[i + 1][0], trace.tokens[i]);
      lines[i + 1].slice(1).forEach((v, j) => assert.equal(f32(Number(v)), f32(trace.heads[1].scores[i][j]), `scores[${i}][${j}]`));
    }

    // A click on the big heatmap pins the cell for the worked-out panel.
    const g = s.layout.matrix_grid;
    await page.mouse.click(g.x + (2.5 * g.w) / trace.T, g.y + (4.5 * g.h) / trace.T);
    await waitFrames(page, 4);
    s = await getState(page);
    assert.deepEqual(s.ui.pinned, [4, 2]);
    checkReadout(s.readout, trace, 1, 4, 2);

    // A matrix that is not in this configuration (RoPE only) is said so, not drawn as zeros.
    assert.ok(!(await page.evaluate((st) => window.attnviz.setState(st), { config: s.config, ui: { ...s.ui, matrix: 'Q_unrotated' } })));
    await waitFrames(page, 4);
    s = await getState(page);
    assert.equal(s.layout.matrix_export_csv, undefined, 'no export button for a matrix the trace does not hold');
  } finally {
    await app.close();
  }
});

test('pipeline of the source module, RoPE and Linformer; 1920×1080', async () => {
  const viewport = { width: 1920, height: 1080 };
  const app = await openApp(viewport);
  try {
    const { page } = app;
    await waitFrames(page, 5);
    await setup(page, { mask: 'causal', heads: 2, d_model: 16 }, { view: 'pipeline', selected_head: 0 });
    await screenshot(page, 'views_a-pipeline-1920');

    await setup(page, { mask: 'causal', variant: 'seed_module', scale: 'inv_sqrt_dmodel', positional: 'sinusoidal' }, { view: 'pipeline' });
    let trace = await getTrace(page);
    assert.equal(trace.skips_qkv_projection, true);
    assert.equal(trace.scales_by_sqrt_dmodel, true);
    assert.deepEqual(trace.heads[0].Q, trace.X_in.map((row) => row.slice(0, trace.head_dim)), 'Q is the head slice of X_in');
    await clickCell(page, 'pipeline_weights', trace.T, trace.T, 2, 5, viewport);
    let s = await getState(page);
    assert.deepEqual(s.ui.pinned, [2, 5]);
    checkReadout(s.readout, trace, 0, 2, 5);
    assert.equal(f32(num(s.readout['cell.scale'])), f32(1 / 4), 'the module divides by √d_model = 4');
    await screenshot(page, 'views_a-pipeline-seed-module-1920');
    await setup(page, { mask: 'causal', variant: 'seed_module', scale: 'inv_sqrt_dmodel' }, { view: 'pipeline', pinned: [3, 1] });
    await page.setViewportSize({ width: 1280, height: 720 });
    await waitFrames(page, 6);
    await screenshot(page, 'views_a-pipeline-seed-module-1280');

    await setup(page, { mask: 'none', variant: 'standard', scale: 'inv_sqrt_dk', positional: 'rope' }, { view: 'pipeline', pinned: [3, 1] });
    s = await getState(page);
    assert.ok(s.layout.pipeline_Q_unrotated?.w > 0, 'RoPE shows Q before the rotation');
    assert.equal(s.layout.pipeline_positional, undefined, 'RoPE adds no positional vector');
    trace = await getTrace(page);
    checkReadout(s.readout, trace, 0, 3, 1);
    await screenshot(page, 'views_a-pipeline-rope-1280');

    await setup(page, { positional: 'sinusoidal', linformer_k: 3 }, { view: 'pipeline', pinned: [4, 2] });
    s = await getState(page);
    trace = await getTrace(page);
    assert.equal(trace.N, 3);
    assert.ok(s.layout.pipeline_K_projected?.w > 0, 'Linformer shows E·K');
    checkReadout(s.readout, trace, 0, 4, 2);
    await screenshot(page, 'views_a-pipeline-linformer-1280');

    // Presentation mode (fonts × 1.5, controls hidden): the pipeline and the panel stay readable.
    await setup(page, { linformer_k: 0, mask: 'causal' }, { view: 'pipeline', pinned: [3, 1], presentation: true });
    s = await getState(page);
    assert.equal(s.ui.presentation, true);
    checkReadout(s.readout, await getTrace(page), 0, 3, 1);
    await screenshot(page, 'views_a-pipeline-presentation-1280');

    // A long row (more than 16 keys, a local pattern): the panel lists the largest terms and still sums them all.
    const long = 'a teacher could run a twenty minute class on attention with it without touching any code at all today';
    await setup(page, { mask: 'none', pattern: { kind: 'local', window: 3, global: [0], random: 1, stride: 2 } },
      { view: 'pipeline', pinned: [10, 8], presentation: false }, long);
    s = await getState(page);
    trace = await getTrace(page);
    assert.ok(trace.T > 16);
    checkReadout(s.readout, trace, 0, 10, 8);
    await screenshot(page, 'views_a-pipeline-long-1280');
  } finally {
    await app.close();
  }
});
