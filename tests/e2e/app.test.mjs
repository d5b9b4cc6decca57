// The app shell, end to end in headless Chromium: Chinese input through the page's text field
// (IME path) with the CJK font fetched on demand, controls driven with mouse and keyboard, the
// engine's message next to a refused value with the last good view kept, shared links (good,
// damaged, hostile), exports and imports, the layout at two sizes, and no request leaving the site.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, chord, press, typeText, screenshot, pixelStats, state, click } from './harness.mjs';

async function replaceText(page, rectName, text, { insert = false } = {}) {
  await click(page, (await state(page)).layout[rectName]);
  await chord(page, 'Control', 'a');
  await press(page, 'Backspace');
  if (insert) {
    await page.keyboard.insertText(text);  // what an IME commit or a paste delivers
    await waitFrames(page, 4);
  } else {
    await typeText(page, text);
  }
}

function rectsOverlap(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function assertNoWindowOverlap(layout, width, height) {
  const windows = Object.entries(layout).filter(([k]) => k.startsWith('window:'));
  assert.ok(windows.length >= 4, `expected the layout's windows, got ${windows.map(([k]) => k)}`);
  for (const [name, r] of windows) {
    assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= width + 0.5 && r.y + r.h <= height + 0.5, `${name} leaves the ${width}×${height} canvas`);
  }
  for (let i = 0; i < windows.length; ++i)
    for (let j = i + 1; j < windows.length; ++j)
      assert.ok(!rectsOverlap(windows[i][1], windows[j][1]), `${windows[i][0]} overlaps ${windows[j][0]}`);
}

test('Chinese typed through the text field is tokenized per character and drawn with the CJK font', async () => {
  const app = await openApp();
  try {
    const { page } = app;
    const sentence = '注意力机制是一种加权机制';
    await replaceText(page, 'text_box', sentence, { insert: true });
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    assert.equal(focused, 'text-input', 'the hidden text field has the focus while the sentence is edited');
    const s = await state(page);
    assert.equal(s.text, sentence);
    assert.deepEqual(s.tokens, [...sentence]);
    await page.waitForFunction(() => window.attnviz.fonts().cjk_glyphs >= 10, null, { timeout: 20000 });
    const fonts = await page.evaluate(() => window.attnviz.fonts());
    assert.equal(fonts.cjk_loaded, true);
    assert.equal(fonts.cjk_glyphs, new Set(sentence).size, 'exactly the glyphs in use are rasterized');
    await waitFrames(page, 3);
    await screenshot(page, 'app-chinese');
  } finally {
    await app.close();
  }
});

test('controls recompute at once; a refused value shows the engine message and keeps the last good view', async () => {
  const app = await openApp();
  try {
    const { page } = app;
    // heads 2 → 4 by typing into the field.
    await replaceText(page, 'heads', '4');
    let s = await state(page);
    assert.equal(s.config.heads, 4);
    assert.equal((await page.evaluate(() => window.attnviz.trace())).heads.length, 4);

    // mask none → causal through the combo, with the mouse.
    await click(page, s.layout.mask);
    s = await state(page);
    await click(page, s.layout['mask=causal']);
    s = await state(page);
    assert.equal(s.config.mask, 'causal');
    const trace = await page.evaluate(() => window.attnviz.trace());
    trace.heads[0].mask.forEach((row, i) => row.forEach((allowed, j) => assert.equal(allowed, j <= i)));

    // pattern → sliding_global (Longformer) with the mouse.
    await click(page, s.layout.pattern);
    s = await state(page);
    await click(page, s.layout['pattern=sliding_global']);
    s = await state(page);
    assert.equal(s.config.pattern.kind, 'sliding_global');

    // heads 3 does not divide d_model 16: the engine's message, the last good trace stays.
    const before = await page.evaluate(() => window.attnviz.trace());
    await replaceText(page, 'heads', '3');
    s = await state(page);
    assert.match(s.error, /^heads: expected a divisor of d_model \(16\), got 3/);
    const after = await page.evaluate(() => window.attnviz.trace());
    assert.equal(after.heads.length, before.heads.length, 'the last good trace is still shown');
    const { png } = await screenshot(page, 'app-refused-heads');
    assert.ok((await pixelStats(app.context, png)).distinctColors > 20);
  } finally {
    await app.close();
  }
});

test('a shared link reopens the same view; damaged and hostile links keep the default view', async () => {
  let link;
  let expected;
  {
    const app = await openApp();
    try {
      const { page } = app;
      const err = await page.evaluate(() => window.attnviz.setState({
        config: { text: 'the quick brown fox jumps', d_model: 24, heads: 3, mask: 'causal', positional: 'rope',
                  pattern: { kind: 'local', window: 1 } },
        ui: { view: 'matrices', selected_head: 2, pinned: [3, 1], matrix: 'scores' },
      }));
      assert.equal(err, '');
      await waitFrames(page, 4);
      expected = await state(page);
      link = await page.evaluate(() => location.href);
      assert.match(link, /#state=/);
    } finally {
      await app.close();
    }
  }
  {
    const app = await openApp({ hash: link.split('#')[1] });
    try {
      await waitFrames(app.page, 4);
      const s = await state(app.page);
      assert.deepEqual(s.config, expected.config);
      assert.deepEqual(s.ui, expected.ui);
      assert.deepEqual(s.tokens, ['the', 'quick', 'brown', 'fox', 'jumps']);
      await screenshot(app.page, 'app-shared-link');
    } finally {
      await app.close();
    }
  }
  const hostile = [
    'state=%E0%A4%A',                                              // broken %-encoding
    'state=' + encodeURIComponent('{"config": {"text": "x", "heads": "<script>alert(1)</script>"}}'),
    'state=' + encodeURIComponent('['.repeat(5000)),                // deep nesting
    'state=' + encodeURIComponent('{"config": {"text": "a", "d_model": 1e308}}'),
    'state=' + encodeURIComponent('{"config": {"text": "a"}, "config": {"text": "b"}}'),
  ];
  for (const hash of hostile) {
    const app = await openApp({ hash });
    try {
      await waitFrames(app.page, 3);
      const s = await state(app.page);
      const linkError = await app.page.evaluate(() => window.attnviz.linkError);
      assert.ok(linkError && linkError.length > 10, `a message for ${hash.slice(0, 40)}`);
      assert.deepEqual(s.tokens, ['the', 'cat', 'sat', 'on', 'the', 'mat'], 'the default view is shown');
      const pageErrors = app.consoleLines.filter((l) => l.startsWith('pageerror'));
      assert.deepEqual(pageErrors, []);
    } finally {
      await app.close();
    }
  }
});

test('exports download the trace and CSV; imports accept a trace or a config by file and drop', async () => {
  const app = await openApp();
  try {
    const { page } = app;
    let s = await state(page);
    await click(page, s.layout.export_trace_button);
    const downloads = await page.evaluate(() => window.attnviz.downloads);
    const exported = downloads.find((d) => d.name === 'attnviz-trace.json');
    assert.ok(exported, 'the trace was downloaded');
    assert.deepEqual(JSON.parse(exported.text), await page.evaluate(() => window.attnviz.trace()));

    await click(page, s.layout.export_png_button);
    const png = (await page.evaluate(() => window.attnviz.downloads)).find((d) => d.name === 'attnviz.png');
    assert.ok(png && png.size > 5000, 'the view was downloaded as a PNG');

    // Import the exported trace after changing the text: the trace's config comes back.
    await replaceText(page, 'text_box', 'something else entirely');
    assert.equal((await state(page)).text, 'something else entirely');
    assert.equal(await page.evaluate((t) => window.attnviz.importJson(t), exported.text), '');
    await waitFrames(page, 3);
    assert.deepEqual((await state(page)).tokens, ['the', 'cat', 'sat', 'on', 'the', 'mat']);

    // Drop a config file on the canvas.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['{"text": "dropped files work", "heads": 1}'], 'config.json', { type: 'application/json' }));
      document.getElementById('canvas').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => window.attnviz.getState().tokens.join(' ') === 'dropped files work', null, { timeout: 10000 });
    assert.equal((await state(page)).config.heads, 1);

    // A bad import is refused with the engine's message and changes nothing.
    const err = await page.evaluate(() => window.attnviz.importJson('{"text": "x", "heads": 0}'));
    assert.match(err, /^import: heads: /);
    assert.deepEqual((await state(page)).tokens, ['dropped', 'files', 'work']);
  } finally {
    await app.close();
  }
});

test('the layout fits 1280×720 and 1920×1080 without overlap, follows resizes, and requests only its own files', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    assertNoWindowOverlap((await state(page)).layout, 1280, 720);
    await page.setViewportSize({ width: 1920, height: 1080 });
    await waitFrames(page, 6);
    assertNoWindowOverlap((await state(page)).layout, 1920, 1080);
    await screenshot(page, 'app-1920x1080');
    await page.setViewportSize({ width: 1280, height: 720 });
    await waitFrames(page, 6);
    assertNoWindowOverlap((await state(page)).layout, 1280, 720);
    await click(page, (await state(page)).layout.presentation_button);
    assertNoWindowOverlap((await state(page)).layout, 1280, 720);
    await screenshot(page, 'app-presentation');
    const origin = new URL(app.site.url).origin;
    const foreign = app.requested.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'no request leaves the page\'s own site');
  } finally {
    await app.close();
  }
});

test('without WebAssembly SIMD the scalar build loads, says so, and computes the same numbers', async () => {
  const config = { text: 'the scalar build computes the same attention', d_model: 32, heads: 4, mask: 'causal' };
  const simd = await openApp();
  let reference;
  try {
    assert.equal(await simd.page.evaluate(() => window.attnviz.build), 'simd128');
    reference = await simd.page.evaluate((c) => window.attnviz.compute(c), config);
    assert.equal(reference.stats.kernel_path, 'wasm-simd128');
  } finally {
    await simd.close();
  }
  const app = await openApp({ query: 'nosimd' });
  try {
    const { page } = app;
    assert.equal(await page.evaluate(() => window.attnviz.build), 'no-simd');
    assert.ok(app.requested.some((u) => u.endsWith('/attnviz_app_nosimd.wasm')), 'the scalar module was fetched');
    assert.ok(!app.requested.some((u) => u.endsWith('/attnviz_app.wasm')), 'the SIMD module was not fetched');
    const trace = await page.evaluate((c) => window.attnviz.compute(c), config);
    assert.equal(trace.stats.kernel_path, 'wasm-no-simd');
    trace.heads.forEach((h, k) => h.weights.forEach((row, i) => row.forEach((w, j) =>
      assert.ok(Math.abs(w - reference.heads[k].weights[i][j]) <= 1e-5, `head ${k} weight (${i},${j})`))));
    await waitFrames(page, 3);
    await screenshot(page, 'app-nosimd');
  } finally {
    await app.close();
  }
});

test('a lost WebGL context is restored without a reload and the app keeps drawing', async () => {
  const app = await openApp();
  try {
    const { page } = app;
    await waitFrames(page, 3);
    await page.evaluate(() => {
      const gl = document.getElementById('canvas').getContext('webgl2');
      window.__lose = gl.getExtension('WEBGL_lose_context');
      window.__lose.loseContext();
    });
    await page.waitForFunction(() => window.attnviz.contextLosses === 1, null, { timeout: 10000 });
    await page.waitForTimeout(300);
    await page.evaluate(() => window.__lose.restoreContext());
    await page.waitForFunction(() => !document.getElementById('canvas').getContext('webgl2').isContextLost(), null, { timeout: 10000 });
    await waitFrames(page, 10);
    const s = await state(page);
    assert.deepEqual(s.tokens, ['the', 'cat', 'sat', 'on', 'the', 'mat'], 'the state survived');
    const { png } = await screenshot(page, 'app-context-restored');
    const stats = await pixelStats(app.context, png);
    assert.ok(stats.distinctColors > 20 && stats.brightSamples > 50, 'the app draws again after the context returns');
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror')), []);
  } finally {
    await app.close();
  }
});
