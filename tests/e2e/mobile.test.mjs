// Phones and tablets, end to end in headless Chromium with mobile emulation (isMobile, hasTouch,
// device pixel ratio): the narrow layout at 390×844 and 844×390 (DPR 3) and 768×1024 (DPR 2),
// every tab looked at, a sentence typed through the on-screen keyboard's field, a weights cell
// tapped, a heatmap pinched, dragged and long-pressed, a panel scrolled by a finger, a shared
// link opened, exports and a lesson, rotation without losing state, and the frame times of
// typing under 4× CPU throttling (logged, never asserted: a shared machine's timings are noise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, state, screenshot, pixelStats, tap, touchGesture, line } from './harness.mjs';

const touchDevice = (deviceScaleFactor) => ({ isMobile: true, hasTouch: true, deviceScaleFactor });
const PHONE = { label: 'phone-390x844', width: 390, height: 844, device: touchDevice(3) };
const PHONE_SIDEWAYS = { label: 'phone-844x390', width: 844, height: 390, device: touchDevice(3) };
const TABLET = { label: 'tablet-768x1024', width: 768, height: 1024, device: touchDevice(2) };
const VIEWS = ['pipeline', 'matrices', 'heads', 'lines', 'compare'];

function rectsOverlap(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

// The narrow layout on a width×height canvas: windows inside it and apart, the panel the full
// width (not a sliver), and no window whose content runs past its right edge (text cut off).
function assertNarrowLayout(s, width, height, where) {
  assert.equal(s.narrow, true, `${where}: the narrow layout`);
  const windows = Object.entries(s.layout).filter(([k]) => k.startsWith('window:') && k !== 'window:menu');
  for (const [name, r] of windows)
    assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.w <= width + 0.5 && r.y + r.h <= height + 0.5, `${where}: ${name} leaves the canvas`);
  for (let i = 0; i < windows.length; ++i)
    for (let j = i + 1; j < windows.length; ++j)
      assert.ok(!rectsOverlap(windows[i][1], windows[j][1]), `${where}: ${windows[i][0]} overlaps ${windows[j][0]}`);
  const panels = windows.filter(([k]) => ['window:input', 'window:controls', 'window:views', 'window:cell', 'window:lesson'].includes(k));
  assert.equal(panels.length, 1, `${where}: one panel at a time, got ${panels.map(([k]) => k)}`);
  assert.ok(panels[0][1].w >= width - 1, `${where}: the panel is the canvas's full width`);
  assert.ok(panels[0][1].h >= height * 0.45, `${where}: the panel has most of the height (${panels[0][1].h} of ${height})`);
  assert.deepEqual(s.overflow, {}, `${where}: content cut off at a window's right edge`);
}

async function openPanel(page, panel) {
  await tap(page, (await state(page)).layout[`panel_tab_${panel}`]);
  const s = await state(page);
  assert.equal(s.panel, panel, `tapping the ${panel} tab shows it`);
  return s;
}

async function pickView(page, view) {
  await openPanel(page, 'view');
  await tap(page, (await state(page)).layout.view_picker);
  await waitFrames(page, 3);  // the list of ten views settles where it fits (above or below the picker)
  await tap(page, (await state(page)).layout[`view=${view}`]);
  await waitFrames(page, 4);
  const s = await state(page);
  assert.equal(s.ui.view, view, `the view picker selects ${view}`);
  return s;
}

// The centre of cell (i, j) of a rows×cols heatmap grid.
function cellCentre(grid, rows, cols, i, j) {
  return { x: grid.x + (j + 0.5) * grid.w / cols, y: grid.y + (i + 0.5) * grid.h / rows };
}

for (const size of [PHONE, PHONE_SIDEWAYS, TABLET]) {
  test(`${size.label}: every tab and view, full width, nothing cut off, drawn at DPR ${size.device.deviceScaleFactor}`, async () => {
    const app = await openApp(size);
    try {
      const { page, context } = app;
      const dpr = size.device.deviceScaleFactor;
      await waitFrames(page, 5);
      let s = await state(page);
      assert.equal(s.panel, 'view', 'the page opens on the view');
      assert.equal(s.touch, false, 'no finger yet');
      assert.equal(s.layout.presentation_button, undefined, 'no presentation mode on a narrow screen');

      // Sharp: the canvas has a device pixel per screen pixel and the font is rasterized for it.
      const canvas = await page.evaluate(() => ({ w: document.getElementById('canvas').width, h: document.getElementById('canvas').height }));
      assert.deepEqual(canvas, { w: size.width * dpr, h: size.height * dpr }, 'canvas backing store at the device pixel ratio');
      const fonts = await page.evaluate(() => window.attnviz.fonts());
      assert.equal(fonts.pixel_ratio, dpr);
      assert.equal(fonts.raster_px, 16 * dpr, 'the 16 px UI font rasterized at 16 × DPR');
      assert.ok(fonts.atlas_width * fonts.atlas_height * 4 <= 16 * 1024 * 1024,
                `the font atlas stays within 16 MiB (${fonts.atlas_width}×${fonts.atlas_height})`);

      for (const panel of ['input', 'controls', 'cell', 'lesson']) {
        s = await openPanel(page, panel);
        assert.equal(s.touch, true, 'the tap came from a finger');
        assertNarrowLayout(s, size.width, size.height, `${size.label} ${panel}`);
        const { png } = await screenshot(page, `mobile-${size.label}-${panel}`);
        const stats = await pixelStats(context, png);
        assert.equal(stats.width, size.width * dpr);
        assert.ok(stats.brightSamples > 50, `${panel}: no text drawn`);
      }
      for (const view of VIEWS) {
        s = await pickView(page, view);
        await waitFrames(page, 4);
        s = await state(page);
        assertNarrowLayout(s, size.width, size.height, `${size.label} ${view}`);
        const { png } = await screenshot(page, `mobile-${size.label}-view-${view}`);
        assert.ok((await pixelStats(context, png)).distinctColors > 20, `${view}: the view looks blank`);
      }
      const errors = app.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error'));
      assert.deepEqual(errors, []);
    } finally {
      await app.close();
    }
  });
}

test('phone: a sentence typed through the on-screen keyboard field; the field stays above the keyboard', async () => {
  const app = await openApp(PHONE);
  try {
    const { page } = app;
    let s = await openPanel(page, 'input');
    await tap(page, s.layout.text_box);
    // Focused inside the touch's own handler: what lets a phone open its keyboard.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'text-input');
    const caretTop = await page.evaluate(() => parseFloat(document.getElementById('text-input').style.top));
    assert.ok(caretTop >= s.layout.text_box.y - 1 && caretTop <= s.layout.text_box.y + s.layout.text_box.h,
              `the hidden field sits at the caret (top ${caretTop}, box ${JSON.stringify(s.layout.text_box)})`);

    // An on-screen keyboard's Backspace is an edit of the field (no key code): one per character.
    const old = s.text;
    for (let k = 0; k < old.length; ++k) await page.evaluate(() => document.execCommand('delete'));
    await waitFrames(page, 2 * old.length + 4);
    s = await state(page);
    assert.equal(s.text, '', 'every Backspace from the on-screen keyboard deleted one character');

    const sentence = 'attention is all you need';
    for (const ch of sentence) {
      await page.keyboard.insertText(ch);  // what an on-screen keyboard delivers: input events, no key codes
      await waitFrames(page, 1);
    }
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.text, sentence);
    assert.deepEqual(s.tokens, sentence.split(' '));
    assert.equal(s.error, '');
    await screenshot(page, 'mobile-phone-typed');

    // A field low in the Controls panel, then a keyboard that shrinks the page (Android) to 430 px.
    s = await openPanel(page, 'controls');
    await tap(page, s.layout.temperature, 0.2, 0.5);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'text-input', 'a numeric field opens the keyboard too');
    await page.setViewportSize({ width: 390, height: 430 });
    await waitFrames(page, 6);
    s = await state(page);
    const t = s.layout.temperature;
    assert.ok(t.y >= s.layout['window:controls'].y && t.y + t.h <= 430, `the field typed in is visible above the keyboard (${JSON.stringify(t)})`);
    await screenshot(page, 'mobile-phone-keyboard-android');

    // A keyboard over the page (iOS): the page reports the covered height and the panel ends above it.
    await page.setViewportSize({ width: 390, height: 844 });
    await waitFrames(page, 4);
    await page.evaluate(() => window.Module._attnviz_set_keyboard_inset(420));
    await waitFrames(page, 6);
    s = await state(page);
    assert.equal(s.keyboard_inset, 420);
    assert.ok(s.layout['window:controls'].y + s.layout['window:controls'].h <= 844 - 420 + 0.5, 'the panel ends above the keyboard');
    assert.ok(s.layout.temperature.y + s.layout.temperature.h <= 844 - 420, 'the field typed in is above the keyboard');
    await screenshot(page, 'mobile-phone-keyboard-ios');
  } finally {
    await app.close();
  }
});

test('phone: tap pins a cell, pinch zooms, a drag pans the heatmap or scrolls the panel, a long press shows the hover', async () => {
  const app = await openApp(PHONE);
  try {
    const { page } = app;
    let s = await pickView(page, 'matrices');
    const T = s.tokens.length;
    const grid = s.layout.matrix_grid;
    const target = cellCentre(grid, T, T, 3, 1);
    await page.touchscreen.tap(target.x, target.y);
    await waitFrames(page, 4);
    s = await state(page);
    assert.deepEqual(s.ui.pinned, [3, 1], 'the tapped weights cell is pinned');
    assert.equal(s.layout.tooltip, undefined, 'a tap leaves nothing hovered');
    await openPanel(page, 'cell');
    s = await state(page);
    assert.equal(s.readout['cell.query'], '3');
    assert.equal(s.readout['cell.key'], '1');
    await screenshot(page, 'mobile-phone-cell-pinned');

    // Pinch: two fingers from 60 px apart to 180 px apart around the grid's centre.
    s = await pickView(page, 'matrices');
    const c = { x: grid.x + grid.w / 2, y: grid.y + grid.h / 2 };
    await touchGesture(page, [line({ x: c.x - 30, y: c.y }, { x: c.x - 90, y: c.y }), line({ x: c.x + 30, y: c.y }, { x: c.x + 90, y: c.y })]);
    s = await state(page);
    const zoom = parseFloat(s.readout.matrix_zoom);
    assert.ok(zoom > 2 && zoom < 4, `a 3× pinch zooms the heatmap about 3× (got ${s.readout.matrix_zoom})`);
    const page_zoom = await page.evaluate(() => ({ scale: window.visualViewport.scale, x: window.scrollX, y: window.scrollY }));
    assert.deepEqual(page_zoom, { scale: 1, x: 0, y: 0 }, 'the browser did not zoom or scroll the page');
    assert.deepEqual(s.ui.pinned, [3, 1], 'pinching pins nothing');
    const keysShown = (text) => Number(/key (\d+)–/.exec(text)[1]);
    const before = keysShown(s.readout.matrix_shown);
    await screenshot(page, 'mobile-phone-pinched');

    // One finger dragged right-to-left pans a zoomed heatmap to later keys.
    await touchGesture(page, [line({ x: c.x + 60, y: c.y }, { x: c.x - 60, y: c.y })]);
    s = await state(page);
    assert.ok(keysShown(s.readout.matrix_shown) > before, `the drag panned to later keys (${s.readout.matrix_shown})`);
    assert.deepEqual(s.ui.pinned, [3, 1], 'dragging pins nothing');

    // A long press shows what hover shows: the tooltip with the cell's value, kept after lifting.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: c.x, y: c.y, id: 0 }] });
    await page.waitForTimeout(700);
    await waitFrames(page, 3);
    s = await state(page);
    assert.equal(s.gesture, 'hover');
    assert.ok(s.layout.tooltip && s.layout.tooltip.w > 0, 'the long press shows the tooltip');
    const tip = s.layout.tooltip;
    assert.ok(tip.x >= 0 && tip.x + tip.w <= 390 && tip.y + tip.h <= 844, `the tooltip fits the phone's screen (${JSON.stringify(tip)})`);
    await screenshot(page, 'mobile-phone-long-press');
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await waitFrames(page, 3);
    assert.ok((await state(page)).layout.tooltip, 'the tooltip stays readable after the finger lifts');
    await cdp.detach();
    await tap(page, s.layout.view_picker, 0.05, 0.5);  // the next touch clears it (and opens the picker)
    await tap(page, (await state(page)).layout['view=pipeline']);
    s = await state(page);
    assert.equal(s.layout.tooltip, undefined);
    assert.deepEqual(s.ui.pinned, [3, 1], 'a long press pins nothing');

    // A vertical drag on the pipeline (heatmaps at their fitted size) scrolls the panel.
    const first = s.layout.pipeline_weights;
    const from = { x: s.layout['window:views'].x + s.layout['window:views'].w / 2, y: 700 };
    await touchGesture(page, [line(from, { x: from.x, y: 350 }, 10)]);
    s = await state(page);
    assert.ok(s.layout.pipeline_weights.y < first.y - 250, `the finger scrolled the pipeline (${first.y} → ${s.layout.pipeline_weights.y})`);
    assert.deepEqual(s.ui.pinned, [3, 1], 'scrolling pins nothing');
    await screenshot(page, 'mobile-phone-scrolled');
  } finally {
    await app.close();
  }
});

test('phone: a shared link opens the same view; exports, a lesson, and the link of a lesson', async () => {
  let link;
  let expected;
  let lessonLink;
  let lessonStep;
  {
    const app = await openApp({ width: 1280, height: 720 });
    try {
      const { page } = app;
      assert.equal(await page.evaluate(() => window.attnviz.setState({
        config: { text: 'the quick brown fox jumps', d_model: 24, heads: 3, mask: 'causal' },
        ui: { view: 'matrices', selected_head: 2, pinned: [3, 1], matrix: 'scores' },
      })), '');
      await waitFrames(page, 4);
      expected = await state(page);
      assert.equal(expected.narrow, false);
      link = await page.evaluate(() => location.href);
    } finally {
      await app.close();
    }
  }
  const app = await openApp({ ...PHONE, hash: link.split('#')[1] });
  try {
    const { page } = app;
    await waitFrames(page, 4);
    let s = await state(page);
    assert.deepEqual(s.config, expected.config, 'the link opens the same config');
    assert.deepEqual(s.ui, expected.ui, 'and the same view, head, matrix and pinned cell');
    assert.equal(s.panel, 'view');
    assert.deepEqual(await page.evaluate(() => window.attnviz.trace().heads[2].scores), await page.evaluate(
      (c) => window.attnviz.compute(c).heads[2].scores, expected.config));
    await screenshot(page, 'mobile-phone-link');

    // Exports from the menu and from the matrices view.
    await tap(page, s.layout.menu_button);
    s = await state(page);
    assert.ok(s.layout['window:menu'], 'the menu opens');
    assert.equal(s.layout.presentation_button, undefined, 'the menu offers no presentation mode');
    await screenshot(page, 'mobile-phone-menu');
    await tap(page, s.layout.export_png_button);
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.layout['window:menu'], undefined, 'the menu closed');
    await tap(page, s.layout.matrix_export_csv);
    const downloads = await page.evaluate(() => window.attnviz.downloads);
    const png = downloads.find((d) => d.name === 'attnviz.png');
    assert.ok(png && png.size > 10000, 'Export PNG downloads the view');
    const csv = downloads.find((d) => d.name === 'attnviz-scores-head2.csv');
    assert.ok(csv, `Export CSV downloads the matrix (got ${downloads.map((d) => d.name)})`);
    assert.equal(csv.text.trim().split('\n').length, 6, 'a header and one line per query');

    // A lesson from its tab: open the first one and step forward.
    s = await openPanel(page, 'lesson');
    await tap(page, s.layout.lesson_open_0);
    s = await state(page);
    assert.equal(s.ui.lesson, 0);
    const steps = s.readout.lesson_step;
    await tap(page, s.layout.lesson_next);
    s = await state(page);
    assert.match(steps, /^1\//);
    assert.match(s.readout.lesson_step, /^2\//, 'Next goes to step 2');
    assertNarrowLayout(s, 390, 844, 'lesson step 2');
    await screenshot(page, 'mobile-phone-lesson');
    lessonLink = await page.evaluate(() => location.href);
    lessonStep = s.readout.lesson_step;
  } finally {
    await app.close();
  }
  // The lesson's link, in a fresh browser (one at a time: two SwiftShader browsers share two
  // cores). Its first frames draw the lesson before the first trace exists: this once crashed.
  const second = await openApp({ ...PHONE, hash: lessonLink.split('#')[1] });
  try {
    await waitFrames(second.page, 4);
    const t = await state(second.page);
    assert.equal(t.panel, 'lesson', 'a link into a lesson opens on the lesson');
    assert.equal(t.readout.lesson_step, lessonStep);
  } finally {
    await second.close();
  }
});

test('rotation and resizing switch layouts without losing any state', async () => {
  const app = await openApp(PHONE);
  try {
    const { page } = app;
    assert.equal(await page.evaluate(() => window.attnviz.setState({
      config: { text: 'a b c d e f', d_model: 16, heads: 4, positional: 'rope' },
      ui: { view: 'heads', selected_head: 3, pinned: [4, 2] },
    })), '');
    await waitFrames(page, 4);
    let s = await openPanel(page, 'cell');
    const before = { config: s.config, ui: s.ui, compare: s.compare, panel: s.panel };
    for (const [w, h, narrow] of [[844, 390, true], [1280, 720, false], [768, 1024, true], [390, 844, true]]) {
      await page.setViewportSize({ width: w, height: h });
      await waitFrames(page, 6);
      s = await state(page);
      assert.equal(s.narrow, narrow, `${w}×${h}: ${narrow ? 'narrow' : 'wide'} layout`);
      assert.deepEqual({ config: s.config, ui: s.ui, compare: s.compare, panel: s.panel }, before, `${w}×${h} keeps the state`);
      if (narrow) assertNarrowLayout(s, w, h, `${w}×${h}`);
      else for (const win of ['toolbar', 'input', 'controls', 'views', 'cell']) assert.ok(s.layout[`window:${win}`], `wide: ${win}`);
      await screenshot(page, `mobile-rotated-${w}x${h}`);
    }
  } finally {
    await app.close();
  }
});

test('phone under 4× CPU throttling: typing a 16-token sentence at d_model 64, 4 heads (frame times logged)', async () => {
  const app = await openApp(PHONE);
  try {
    const { page } = app;
    assert.equal(await page.evaluate(() => window.attnviz.setState({ config: { text: 'x', d_model: 64, heads: 4 } })), '');
    await waitFrames(page, 4);
    let s = await openPanel(page, 'input');
    await tap(page, s.layout.text_box);
    await page.evaluate(() => document.execCommand('delete'));
    await waitFrames(page, 4);
    assert.equal((await state(page)).text, '');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'text-input', 'typing goes through the hidden field');

    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const sentence = 'the students read the shared link on their phones and then saw every single head attend';
    assert.equal(sentence.split(' ').length, 16);
    const first = await page.evaluate(() => window.attnviz.frame());
    for (const ch of sentence) {
      await page.keyboard.insertText(ch);
      await waitFrames(page, 1);
    }
    await waitFrames(page, 6);
    const last = await page.evaluate(() => window.attnviz.frame());
    const stats = await page.evaluate((n) => window.attnviz.frameStats(n), Math.min(600, last - first));
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await cdp.detach();

    s = await state(page);
    assert.equal(s.text, sentence, 'every character typed arrived');
    assert.equal(s.tokens.length, 16);
    const trace = await page.evaluate(() => window.attnviz.trace());
    assert.equal(trace.heads.length, 4);
    assert.equal(trace.config.d_model, 64);
    assert.ok(stats.work_ms.length > 50, 'frames were measured while typing');
    const summary = (xs) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
      return `median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
    };
    const over50 = stats.interval_ms.filter((x) => x > 50).length;
    console.log(`# frame times, 390×844 DPR 3, 4× CPU throttling, typing 16 tokens at d_model 64, 4 heads, ${stats.work_ms.length} frames:`);
    console.log(`#   work inside a frame: ${summary(stats.work_ms)}`);
    console.log(`#   frame to frame:      ${summary(stats.interval_ms)}; ${over50} of ${stats.interval_ms.length} over 50 ms`);
  } finally {
    await app.close();
  }
});

test('phone: the trained model in the narrow layout: its views and controls, full width, nothing cut off', async () => {
  const app = await openApp({ ...PHONE, lab: false });
  try {
    const { page } = app;
    await page.waitForFunction(() => window.attnviz.getState().model.T > 0, null, { timeout: 60000 });
    await waitFrames(page, 4);
    let s = await state(page);
    assert.equal(s.ui.source, 'model');
    for (const panel of ['input', 'controls']) {
      s = await openPanel(page, panel);
      assertNarrowLayout(s, PHONE.width, PHONE.height, `model ${panel}`);
      await screenshot(page, `mobile-model-${panel}`);
    }
    for (const view of ['predictions', 'atlas', 'residual']) {
      s = await pickView(page, view);
      await waitFrames(page, 4);
      s = await state(page);
      assertNarrowLayout(s, PHONE.width, PHONE.height, `model ${view}`);
      await screenshot(page, `mobile-model-view-${view}`);
    }
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error')), []);
  } finally {
    await app.close();
  }
});
