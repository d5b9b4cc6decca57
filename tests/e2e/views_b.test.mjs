// All heads, Lines, Compare and Lessons, driven through the real UI: tabs and tiles are clicked
// at the rectangles the app records, tokens hovered with the mouse, lessons stepped with the
// Next button. Values the views print are checked against the trace (window.attnviz.trace /
// compute), which is the engine's own output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, screenshot, pixelStats, state, click } from './harness.mjs';

async function openTab(page, view) {
  const s = await state(page);
  assert.ok(s.layout[`tab_${view}`], `the app records the ${view} tab`);
  await click(page, s.layout[`tab_${view}`]);
  assert.equal((await state(page)).ui.view, view);
}

// Sets up a config through the hook (setup only), waits for the recompute.
async function setConfig(page, config, ui = {}) {
  const s = await state(page);
  const err = await page.evaluate((st) => window.attnviz.setState(st), { config: { ...s.config, ...config }, ui: { ...ui } });
  assert.equal(err, '');
  await waitFrames(page, 4);
}

function noPageErrors(app) {
  const errors = app.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error'));
  assert.deepEqual(errors, []);
}

test('All heads: clicking the second head\'s tile selects head 1, and the tiles draw every head', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await setConfig(page, { text: 'the cat sat on the mat', heads: 4, d_model: 16 });
    await openTab(page, 'heads');
    await waitFrames(page, 3);
    let s = await state(page);
    for (const name of ['heads_tile_0', 'heads_tile_1', 'heads_tile_2', 'heads_tile_3', 'heads_mean'])
      assert.ok(s.layout[name] && s.layout[name].w > 20, `${name} is drawn`);
    assert.equal(s.ui.selected_head, 0);
    await click(page, s.layout.heads_tile_1);
    s = await state(page);
    assert.equal(s.ui.selected_head, 1, 'clicking the second tile selects head 1');
    await click(page, s.layout.heads_tile_3);
    assert.equal((await state(page)).ui.selected_head, 3);
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    const { png } = await screenshot(page, 'views_b-heads-1280');
    const stats = await pixelStats(app.context, png);
    assert.ok(stats.distinctColors > 40, 'the tiles show the weights in colour');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('Lines: hovering a query isolates its lines; hovering a key reports the key side', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await setConfig(page, { text: 'the cat sat on the mat', heads: 2, mask: 'causal' });
    await openTab(page, 'lines');
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-lines-1280');
    const s = await state(page);
    const canvas = s.layout.lines_canvas;
    assert.ok(canvas && canvas.h > 50, 'the lines canvas is laid out');
    const rows = s.layout.lines_rows;  // {x: left column's left edge, w: to the right column's right edge, y, h = T rows}
    const T = s.tokens.length;
    const pitch = rows.h / T;

    // Query 2 ("sat") under causal masking sees keys 0..2: 3 lines per head, 2 heads shown.
    await page.mouse.move(rows.x + 10, rows.y + pitch * 2.5);
    await waitFrames(page, 4);
    let hovered = await state(page);
    assert.equal(hovered.hovered_token, 2);
    assert.equal(hovered.hovered_side, 'query');
    assert.equal(hovered.readout.lines_hovered, 'query 2');
    const trace = await page.evaluate(() => window.attnviz.trace());
    const expected = trace.heads.reduce((n, h) => n + h.weights[2].filter((w, j) => h.mask[2][j] && w >= 1 / 512).length, 0);
    assert.equal(Number(hovered.readout.lines_drawn), expected, 'one line per allowed key per shown head');
    assert.equal(expected, 6);
    await screenshot(page, 'views_b-lines-hover-query');

    // Key 0 ("the") is seen by every query under causal masking.
    await page.mouse.move(rows.x + rows.w - 10, rows.y + pitch * 0.5);
    await waitFrames(page, 4);
    hovered = await state(page);
    assert.equal(hovered.hovered_token, 0);
    assert.equal(hovered.hovered_side, 'key');
    assert.equal(Number(hovered.readout.lines_drawn), 2 * T);

    // Turning head 1 off halves the hovered key's lines.
    await click(page, hovered.layout.lines_head_1);
    assert.deepEqual((await state(page)).ui.heads_shown, [true, false]);
    await page.mouse.move(rows.x + rows.w - 10, rows.y + pitch * 0.5);
    await waitFrames(page, 4);
    assert.equal(Number((await state(page)).readout.lines_drawn), T);
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('Compare: the causal preset runs the right side causal and reports the largest output difference', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await setConfig(page, { text: 'the cat sat on the mat', mask: 'none' });
    await openTab(page, 'compare');
    await waitFrames(page, 4);
    let s = await state(page);
    assert.ok(s.layout.preset_causal, 'the causal preset is on screen');
    await click(page, s.layout.preset_causal);
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.compare.mask, 'causal');
    assert.equal(s.config.mask, 'none', 'the left side is unchanged');
    assert.equal(s.compare_error, '');

    const right = { ...s.config, ...s.compare, text: s.config.text };
    const [l, r] = await page.evaluate(([a, b]) => [window.attnviz.compute(a), window.attnviz.compute(b)], [s.config, right]);
    let best = 0, at = [0, 0];
    l.output.forEach((row, i) => row.forEach((v, c) => {
      const d = Math.abs(r.output[i][c] - v);
      if (d > best) { best = d; at = [i, c]; }
    }));
    assert.ok(best > 0, 'a causal mask changes the outputs');
    const shown = Number(s.readout.compare_max_output_diff);
    assert.ok(Math.abs(shown - best) <= 1e-6 * Math.max(1, best), `shown ${shown} vs computed ${best}`);
    assert.equal(s.readout.compare_max_output_at, at.join(','));
    assert.match(s.readout.compare_differences, /mask causal \(left none\)/);
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-compare-causal-1280');

    // The right-hand options open under the presets, showing the right config's values.
    await click(page, s.layout.compare_options);
    s = await state(page);
    assert.ok(s.layout.compare_mask, 'the options table is open');
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-compare-options-1280');

    // Linformer changes the weights' shape: no difference heatmap, the outputs still compare.
    await click(page, s.layout['preset_Linformer k=4']);
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.compare.linformer_k, 4);
    assert.ok(s.readout.compare_max_output_diff !== undefined);
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-compare-linformer-1280');

    // The engine's refusal shows under the right side: with d_k = 3, RoPE (which rotates pairs) is refused.
    await setConfig(page, { d_model: 6, heads: 2, positional: 'sinusoidal', linformer_k: 0 });
    s = await state(page);
    await click(page, s.layout.preset_RoPE);
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.compare.positional, 'rope');
    assert.match(s.compare_error, /even/);
    assert.equal(s.readout.compare_error, s.compare_error, 'the view shows the engine\'s message');
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-compare-error-1280');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('Lessons: the toolbar opens lesson 1, Next steps through, lesson 4 sets a causal mask', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await waitFrames(page, 3);
    let s = await state(page);
    await click(page, s.layout.lessons_button);
    s = await state(page);
    assert.equal(s.ui.lesson, 0);
    assert.equal(s.readout.lesson, '1. Dot products as similarity');
    assert.equal(s.readout.lesson_step, '1/3');
    assert.equal(s.text, 'the cat sat on the mat');
    assert.equal(s.config.positional, 'none');
    assert.equal(s.ui.view, 'matrices');
    assert.equal(s.ui.matrix, 'scores');
    assert.deepEqual(s.ui.pinned, [2, 1]);
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-lesson1-1280');

    // Next until lesson 4 ("Masks"): its first step applies a causal mask.
    for (let i = 0; i < 20 && !(s.readout.lesson || '').startsWith('4.'); i++) {
      await click(page, s.layout.lesson_next);
      s = await state(page);
    }
    assert.equal(s.readout.lesson, '4. Masks: causal and padding');
    assert.equal(s.readout.lesson_step, '1/4');
    assert.equal(s.config.mask, 'causal');
    const trace = await page.evaluate(() => window.attnviz.trace());
    assert.equal(trace.heads[0].weights[0][5], 0, 'query 0 gives key 5 no weight under the causal mask');
    await click(page, s.layout.lesson_next);
    await click(page, (await state(page)).layout.lesson_next);
    s = await state(page);
    assert.equal(s.config.mask, 'padding');
    assert.deepEqual(s.tokens, ['the', 'cat', 'sat', '[PAD]', '[PAD]']);
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-lesson4-padding-1280');

    // Previous goes back a step and re-applies it.
    await click(page, s.layout.lesson_prev);
    s = await state(page);
    assert.equal(s.readout.lesson_step, '2/4');
    assert.equal(s.config.mask, 'causal');
    assert.equal(s.ui.matrix, 'mask');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('Lessons: the article\'s module lesson uses the Chinese sentence, per character, with seed_module', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await waitFrames(page, 3);
    const err = await page.evaluate(() => {
      const s = window.attnviz.getState();
      return window.attnviz.setState({ config: s.config, ui: { lesson: 7, lesson_step: 0 } });
    });
    assert.equal(err, '');
    await waitFrames(page, 6);
    let s = await state(page);
    assert.equal(s.readout.lesson, '8. The article\'s module and its two departures');
    assert.deepEqual(s.tokens, [...'注意力机制是一种加权机制']);
    assert.equal(s.config.variant, 'seed_module');
    const trace = await page.evaluate(() => window.attnviz.trace());
    assert.equal(trace.skips_qkv_projection, true);
    assert.equal(trace.scales_by_sqrt_dmodel, true);
    await page.waitForTimeout(1500);  // the CJK font arrives asynchronously
    await waitFrames(page, 6);
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-lesson8-1280');

    // Step 3 is a compare step: the right side is the paper's attention.
    await click(page, s.layout.lesson_next);
    await click(page, (await state(page)).layout.lesson_next);
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.ui.view, 'compare');
    assert.equal(s.compare.variant, 'standard');
    assert.equal(s.config.variant, 'seed_module');
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-lesson8-compare-1280');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('Presentation mode and 1920×1080: each view fits and the lesson text is large', async () => {
  const app = await openApp({ width: 1920, height: 1080 });
  try {
    const { page } = app;
    await waitFrames(page, 3);
    let s = await state(page);
    await click(page, s.layout.lessons_button);
    s = await state(page);
    for (let i = 0; i < 20 && !(s.readout.lesson || '').startsWith('5.'); i++) {  // to lesson 5, whose first step shows all heads
      await click(page, s.layout.lesson_next);
      s = await state(page);
    }
    assert.equal(s.readout.lesson, '5. Multi-head attention');
    assert.equal(s.ui.view, 'heads');
    await page.mouse.move(5, 5);
    await waitFrames(page, 3);
    await screenshot(page, 'views_b-heads-lesson-1920');
    for (const view of ['lines', 'compare']) {
      await openTab(page, view);
      await page.mouse.move(5, 5);
      await waitFrames(page, 4);
      await screenshot(page, `views_b-${view}-1920`);
    }
    const before = (await state(page)).layout;
    await click(page, (await state(page)).layout.presentation_button);
    s = await state(page);
    assert.equal(s.ui.presentation, true);
    assert.equal(s.layout['window:controls'], undefined, 'the controls column is hidden');
    await openTab(page, 'heads');
    await page.mouse.move(5, 5);
    await waitFrames(page, 6);
    s = await state(page);
    assert.ok(s.layout.lesson_next.h >= 1.3 * before.lesson_next.h,
      `the lesson's text and buttons grow (${before.lesson_next.h}px → ${s.layout.lesson_next.h}px)`);
    if (before['window:lesson']) assert.ok(s.layout['window:lesson'].h > before['window:lesson'].h, 'the lesson gets more room');
    await screenshot(page, 'views_b-presentation-1920');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('Screenshots of the three views at 1280×720 with many tokens and heads', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    const text = Array.from({ length: 120 }, (_, i) => `w${i % 37}`).join(' ');
    await setConfig(page, { text, heads: 16, d_model: 32, mask: 'causal' });
    for (const view of ['heads', 'lines', 'compare']) {
      await openTab(page, view);
      await page.mouse.move(5, 5);
      await waitFrames(page, 4);
      await screenshot(page, `views_b-${view}-T120-1280`);
    }
    await openTab(page, 'lines');
    const s = await state(page);
    const rows = s.layout.lines_rows;
    await page.mouse.move(rows.x + 10, rows.y + rows.h * 0.75);
    await waitFrames(page, 4);
    const h = await state(page);
    assert.equal(h.hovered_side, 'query');
    assert.ok(h.hovered_token > 80 && h.hovered_token < 100, `hovered ${h.hovered_token}`);
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('Lessons: every step of every lesson computes, and the scaling lesson shows the saturation it describes', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await waitFrames(page, 3);
    let s = await state(page);
    await click(page, s.layout.lessons_button);
    s = await state(page);
    const meanRowMax = (trace) => {
      const w = trace.heads[0].weights;
      return w.reduce((sum, row) => sum + Math.max(...row), 0) / w.length;
    };
    const seen = new Set();
    const rowMax = {};
    for (let i = 0; i < 60; i++) {
      const where = `${s.readout.lesson} ${s.readout.lesson_step}`;
      seen.add(where);
      if (s.ui.view === 'compare') await waitFrames(page, 3);  // the right side runs once its tab shows
      s = await state(page);
      assert.equal(s.error, '', `${where}: the example computes`);
      if (s.ui.view === 'compare') assert.equal(s.compare_error, '', `${where}: the right side computes`);
      if (s.readout.lesson.startsWith('2.') && s.readout.lesson_step !== '3/3')
        rowMax[s.readout.lesson_step] = meanRowMax(await page.evaluate(() => window.attnviz.trace()));
      const next = s.layout.lesson_next;
      if (s.readout.lesson.startsWith('8.') && s.readout.lesson_step === '4/4') break;
      await click(page, next);
      s = await state(page);
    }
    assert.equal(seen.size, 32, 'eight lessons, 32 steps, each visited once');
    assert.ok(rowMax['1/3'] > 0.9, `unscaled with d_k = 64, the largest weight per row is near 1 (${rowMax['1/3']})`);
    assert.ok(rowMax['2/3'] < rowMax['1/3'] - 0.2, `scaled by 1/√d_k, the weights spread (${rowMax['2/3']})`);
    noPageErrors(app);
  } finally {
    await app.close();
  }
});
