// The trained model on screen (issue 11), driven through the real UI: the page opens on the
// shipped model, its predictions view prints what the core computed, the layer and head
// selectors point every per-head view at that layer, links carry the model, layer and head, and
// model files are dropped on the canvas. The reference for every number is the native core's
// model trace (build/native/attnviz-trace --model), a separate build of the same C++: wasm and
// native agree to float32 rounding (FMA natively, multiply-then-add in wasm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApp, waitFrames, screenshot, state, click, chord, press, typeText, BUILD } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHIPPED = path.join(ROOT, 'web/models/attnviz_char.safetensors');
const FIXTURES = path.join(ROOT, 'tests/fixtures/model');
const SENTENCE = 'the cat sat on the mat. the cat sat on the mat.';  // the opening text (app.hpp kModelSentence)

// The native core's model trace of `text`.
function nativeTrace(model, text, vocab) {
  const args = ['--model', model, ...(vocab ? ['--vocab', vocab] : [])];
  const out = execFileSync(path.join(BUILD, 'native/attnviz-trace'), args, { input: JSON.stringify({ text }), maxBuffer: 1 << 30 });
  return JSON.parse(out);
}

async function waitModel(page) {
  await page.waitForFunction(() => {
    const m = window.attnviz.getState().model;
    return (m.loaded && m.T > 0) || m.load_error;
  }, null, { timeout: 60000 });
  await waitFrames(page, 4);
  const s = await state(page);
  assert.equal(s.model.load_error, '', 'the shipped model loads');
  return s;
}

// [[token, "0.6810"], …] as the predictions view prints them → [{token, p}]
function parseTop(readout) {
  return JSON.parse(readout).map(([token, p]) => ({ token, p: Number(p) }));
}

function assertTopEqual(shown, reference, tol, what) {
  assert.equal(shown.length, reference.length, `${what}: ${reference.length} predictions`);
  for (let k = 0; k < reference.length; ++k) {
    assert.equal(shown[k].token, reference[k].token, `${what}: rank ${k} token`);
    assert.ok(Math.abs(shown[k].p - reference[k].prob) <= tol, `${what}: rank ${k} p ${shown[k].p} vs ${reference[k].prob}`);
  }
}

function noPageErrors(app) {
  assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error')), []);
}

test('the page opens on the trained model: it loads after the first frame, and the predictions on screen are the core\'s', async () => {
  const reference = nativeTrace(SHIPPED, SENTENCE);
  const app = await openApp({ width: 1280, height: 720, lab: false });
  try {
    const { page, site } = app;
    const s = await waitModel(page);
    assert.equal(s.ui.source, 'model');
    assert.equal(s.ui.view, 'predictions');
    assert.equal(s.model.name, 'attnviz_char');
    assert.deepEqual(s.model.tokens, reference.tokens);
    assert.equal(s.model.received, fs.statSync(SHIPPED).size, 'every byte of the model arrived');
    assert.ok(app.requested.some((u) => u.endsWith('/models/attnviz_char.safetensors')), 'the page fetched the shipped model');
    assert.deepEqual(app.requested.filter((u) => !u.startsWith(site.url) && !u.startsWith('data:') && !u.startsWith('blob:')), [],
      'no request leaves the page\'s origin');

    // the last position (the default): its top 5 as printed, against the native core and the page's own numbers
    const T = reference.T;
    assert.equal(s.readout.pred_position, String(T - 1));
    assertTopEqual(parseTop(s.readout.pred_top), reference.predictions.top[T - 1], 2e-4, 'last position vs native');
    assertTopEqual(parseTop(s.readout.pred_top), s.model.top[T - 1].map((e) => ({ token: e.token, prob: e.p })), 5.1e-5, 'last position vs wasm');
    assert.ok(Math.abs(Number(s.readout.pred_mean_loss) - reference.predictions.mean_loss) < 2e-4);
    // the repeated phrase: the second copy costs the model far less than the first
    const half = (T - 1) / 2;
    const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
    const first = mean(s.model.losses.slice(0, Math.floor(half))), second = mean(s.model.losses.slice(Math.ceil(half)));
    assert.ok(second < first, `second copy ${second} below first ${first}`);
    await screenshot(page, 'model-predictions-1280');

    // a click on the chip of position 5 ("c" of "cat" follows "the "): its predictions and loss
    await click(page, s.layout.pred_chip_5);
    const c = await state(page);
    assert.equal(c.readout.pred_position, '5');
    assertTopEqual(parseTop(c.readout.pred_top), reference.predictions.top[5], 2e-4, 'position 5');
    assert.ok(Math.abs(Number(c.readout.pred_loss) - reference.predictions.losses[5]) < 2e-4, 'the loss of the actual next character');

    // Export trace: with the model, the whole model trace
    await click(page, c.layout.export_trace_button);
    const exported = await page.evaluate(() => {
      const d = window.attnviz.downloads.at(-1);
      const t = JSON.parse(d.text);
      return { name: d.name, layers: t.layers.length, mean_loss: t.predictions.mean_loss, tokens: t.tokens };
    });
    assert.equal(exported.name, 'attnviz-model-trace.json');
    assert.equal(exported.layers, reference.layers.length);
    assert.deepEqual(exported.tokens, reference.tokens);
    assert.ok(Math.abs(exported.mean_loss - c.model.mean_loss) < 1e-6);
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('layer and head selectors point every per-head view at that layer; the link carries model, layer and head', async () => {
  const reference = nativeTrace(SHIPPED, SENTENCE);
  let link;
  const app = await openApp({ width: 1920, height: 1080, lab: false });
  try {
    const { page } = app;
    let s = await waitModel(page);
    await click(page, s.layout.layer_2);
    s = await state(page);
    await click(page, s.layout.head_1);
    s = await state(page);
    assert.equal(s.ui.layer, 2);
    assert.equal(s.ui.selected_head, 1);
    const trace = await page.evaluate(() => window.attnviz.trace());
    const want = reference.layers[2].heads[1].trace.weights;
    const got = trace.heads[1].weights;
    let worst = 0;
    for (let i = 0; i < want.length; ++i) for (let j = 0; j < want[i].length; ++j) worst = Math.max(worst, Math.abs(got[i][j] - want[i][j]));
    assert.ok(worst < 1e-5, `layer 2 head 1 weights match the native core (max difference ${worst})`);
    await click(page, s.layout.tab_heads);
    await waitFrames(page, 3);
    await screenshot(page, 'model-layer2-heads-1920');
    link = page.url();
    noPageErrors(app);
  } finally {
    await app.close();
  }
  // the link opens the model at layer 2, head 1, in the All heads view
  const again = await openApp({ width: 1280, height: 720, hash: new URL(link).hash.slice(1), lab: false });
  try {
    const s = await waitModel(again.page);
    assert.equal(s.ui.source, 'model');
    assert.equal(s.ui.layer, 2);
    assert.equal(s.ui.selected_head, 1);
    assert.equal(s.ui.view, 'heads');
  } finally {
    await again.close();
  }
});

test('model picker: the lab is one click away; a damaged file keeps the model; a dropped nanoGPT-shaped file loads', async () => {
  const app = await openApp({ width: 1280, height: 720, lab: false });
  try {
    const { page } = app;
    let s = await waitModel(page);
    // the lab: tokens without the model's <|bos|>
    await click(page, s.layout.model_combo);
    s = await state(page);
    await click(page, s.layout['model=lab']);
    s = await state(page);
    assert.equal(s.ui.source, 'lab');
    assert.equal(s.tokens[0], 'the');
    // back to the model
    await click(page, s.layout.model_combo);
    s = await state(page);
    await click(page, s.layout['model=model']);
    s = await state(page);
    assert.equal(s.ui.source, 'model');
    assert.equal(s.tokens[0], '<|bos|>');

    // files dropped on the canvas, through the page's own drop handler
    const drop = (files) => page.evaluate(async (list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([Uint8Array.from(atob(f.b64), (ch) => ch.charCodeAt(0))], f.name));
      document.getElementById('canvas').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      await new Promise((r) => setTimeout(r, 300));
    }, files.map((f) => ({ name: path.basename(f), b64: fs.readFileSync(f).toString('base64') })));

    await drop([path.join(FIXTURES, 'bad_truncated.safetensors')]);
    await waitFrames(page, 3);
    s = await state(page);
    assert.match(s.model.load_error, /^bad_truncated\.safetensors: /, 'the damaged file\'s message');
    assert.equal(s.model.name, 'attnviz_char', 'the last good model stays');
    assert.ok(s.model.T > 0);
    await screenshot(page, 'model-bad-file-1280');

    const nano = path.join(FIXTURES, 'nanogpt_char.safetensors'), vocab = path.join(FIXTURES, 'nanogpt_char.vocab.json');
    await drop([nano, vocab]);
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.model.load_error, '');
    assert.equal(s.model.name, 'nanogpt_char.safetensors');
    assert.equal(s.ui.source, 'model');
    // its 20 characters have no "c" and no unknown token: the text is refused, with the reason
    assert.match(s.model.error, /^text: the character "c" at byte 4 is not in the model's vocabulary/);
    // a text in its vocabulary, typed
    await click(page, s.layout.text_box);
    await chord(page, 'Control', 'a');
    const text = 'the red hat.';  // within its context of 16
    await typeText(page, text);
    s = await state(page);
    assert.equal(s.text, text);
    assert.equal(s.model.error, '');
    const reference = nativeTrace(nano, text, vocab);
    assert.deepEqual(s.model.tokens, reference.tokens);
    assert.equal(s.model.T, reference.T);
    for (let t = 0; t < reference.T; ++t)
      assertTopEqual(s.model.top[t].map((e) => ({ token: e.token, p: e.p })), reference.predictions.top[t], 2e-5, `nanoGPT position ${t}`);
    assert.equal(s.ui.model, 'nanogpt_char.safetensors', 'the link names the file (it cannot carry it)');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

// The atlas's label for a head, by the view's rule, from the native core's role scores.
function expectedRole(roles) {
  let name = 'broad', score = roles.mean_distance;
  for (const [role, key] of [['previous-token', 'previous_token'], ['first-token', 'first_token'], ['self', 'self'], ['induction', 'induction']])
    if (roles[key] >= 0.3 && (name === 'broad' || roles[key] > score)) { name = role; score = roles[key]; }
  return { name, score };
}

test('atlas: every layer × head labelled with its role; switching a head off changes the loss by what the core computes', async () => {
  const intact = nativeTrace(SHIPPED, SENTENCE);
  const args = ['--model', SHIPPED];
  const ablated = JSON.parse(execFileSync(path.join(BUILD, 'native/attnviz-trace'), args,
    { input: JSON.stringify({ text: SENTENCE, ablation: { heads: [[1, 1]] } }), maxBuffer: 1 << 30 }));
  let link;
  const app = await openApp({ width: 1280, height: 720, lab: false });
  try {
    const { page } = app;
    let s = await waitModel(page);
    await click(page, s.layout.tab_atlas);
    await waitFrames(page, 3);
    s = await state(page);
    const L = intact.layers.length, H = intact.layers[0].heads.length;
    for (let l = 0; l < L; ++l)
      for (let h = 0; h < H; ++h) {
        assert.ok(s.layout[`atlas_${l}_${h}`], `tile ${l},${h} is drawn`);
        const want = expectedRole(intact.layers[l].heads[h].roles);
        const [name, score] = s.readout[`atlas_${l}_${h}`].split(' ');
        assert.equal(name, want.name, `layer ${l} head ${h}'s role`);
        assert.ok(Math.abs(Number(score) - want.score) < 1e-4, `layer ${l} head ${h}'s score ${score} vs ${want.score}`);
      }
    assert.equal(s.readout.atlas_1_1.split(' ')[0], 'previous-token', 'the previous-token head of the model card');
    await screenshot(page, 'model-atlas-1280');

    // layer 1 head 1 off: the loss the page shows is the core's ablated loss
    await click(page, s.layout.atlas_on_1_1);
    await waitFrames(page, 3);
    s = await state(page);
    assert.deepEqual(s.ui.ablation.heads, [[1, 1]]);
    assert.ok(Math.abs(s.model.mean_loss - ablated.predictions.mean_loss) < 1e-5, `ablated ${s.model.mean_loss} vs ${ablated.predictions.mean_loss}`);
    assert.ok(Math.abs(s.model.intact_mean_loss - intact.predictions.mean_loss) < 1e-5);
    assert.ok(s.model.mean_loss > s.model.intact_mean_loss, 'the previous-token head was worth something');
    await screenshot(page, 'model-atlas-ablated-1280');
    await click(page, s.layout.tab_predictions);
    s = await state(page);
    const change = ablated.predictions.mean_loss - intact.predictions.mean_loss;
    assert.ok(Math.abs(Number(s.readout.pred_loss_change) - change) < 2e-4, `loss change ${s.readout.pred_loss_change} vs ${change}`);
    let changed = 0;
    for (let t = 0; t < intact.T; ++t) changed += intact.predictions.top[t][0].id !== ablated.predictions.top[t][0].id;
    assert.equal(Number(s.readout.pred_changed), changed, 'the positions whose top prediction changed');
    await screenshot(page, 'model-predictions-ablated-1280');
    link = page.url();

    // Compare: the ablated model (left) against the intact one (right), layer by layer
    await click(page, s.layout.tab_compare);
    await waitFrames(page, 4);
    s = await state(page);
    assert.match(s.readout.compare_differences, /^the intact model, layer 0 /);
    assert.equal(Number(s.readout.compare_max_output_diff), 0, 'layer 0 comes before the switch: the same numbers');
    await click(page, s.layout.layer_2);
    await waitFrames(page, 4);
    s = await state(page);
    assert.match(s.readout.compare_differences, /^the intact model, layer 2 /);
    assert.ok(Number(s.readout.compare_max_output_diff) > 0, 'layer 2 reads a residual stream without layer 1 head 1');
    await screenshot(page, 'model-compare-intact-1280');

    // one click restores (from the predictions view)
    await click(page, s.layout.tab_predictions);
    s = await state(page);
    await click(page, s.layout.restore_button);
    s = await state(page);
    assert.deepEqual(s.ui.ablation.heads, []);
    assert.ok(Math.abs(s.model.mean_loss - intact.predictions.mean_loss) < 1e-5);

    // a tile's click opens its layer and head in the pipeline
    await click(page, s.layout.tab_atlas);
    s = await state(page);
    await click(page, s.layout.atlas_2_3, 0.5, 0.6);
    s = await state(page);
    assert.equal(s.ui.layer, 2);
    assert.equal(s.ui.selected_head, 3);
    assert.equal(s.ui.view, 'pipeline');
    noPageErrors(app);
  } finally {
    await app.close();
  }
  const again = await openApp({ width: 1280, height: 720, hash: new URL(link).hash.slice(1), lab: false });
  try {
    const s = await waitModel(again.page);
    assert.deepEqual(s.ui.ablation.heads, [[1, 1]], 'the link keeps the ablation');
    assert.ok(Math.abs(s.model.mean_loss - ablated.predictions.mean_loss) < 1e-5);
  } finally {
    await again.close();
  }
});

test('Continue appends the characters the core\'s greedy decode gives, one a frame, each with its attention', async () => {
  // the reference: the native core's trace, its most likely ordinary next character appended, 8 times
  const N = 8;
  let text = SENTENCE;
  for (let i = 0; i < N; ++i) {
    const t = nativeTrace(SHIPPED, text);
    text += t.predictions.top[t.T - 1].find((e) => e.token !== '<|bos|>' && e.token !== '<|unk|>').token;
  }
  const app = await openApp({ width: 1280, height: 720, lab: false });
  try {
    const { page } = app;
    let s = await waitModel(page);
    await click(page, s.layout.generate_count, 0.2);
    await chord(page, 'Control', 'a');
    await typeText(page, String(N));
    await press(page, 'Enter');
    s = await state(page);
    await click(page, s.layout.continue_button);
    await page.waitForFunction(() => !window.attnviz.getState().model.generating, null, { timeout: 60000, polling: 16 });
    await waitFrames(page, 3);
    s = await state(page);
    assert.equal(s.text, text, 'the greedy continuation');
    assert.equal(s.model.generated, text.slice(SENTENCE.length));
    assert.equal(s.model.T, [...text].length + 1, 'the model traced the whole new text');
    assert.ok(s.layout.pred_last_attention, 'the last character\'s attention in every layer is drawn');
    await screenshot(page, 'model-continue-1280');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('residual stream: norms and the logit lens, whose last stage is the model\'s own prediction', async () => {
  const reference = nativeTrace(SHIPPED, SENTENCE);
  const app = await openApp({ width: 1920, height: 1080, lab: false });
  try {
    const { page } = app;
    let s = await waitModel(page);
    await click(page, s.layout.tab_residual);
    await waitFrames(page, 3);
    s = await state(page);
    assert.ok(s.layout.residual_norms, 'the norms heatmap is drawn');
    const lens = JSON.parse(s.readout.lens_last);
    assert.equal(lens.length, reference.layers.length + 1, 'the embeddings and every layer');
    const last = reference.predictions.top[reference.T - 1][0];
    assert.equal(lens.at(-1)[0], last.token, 'the last stage is the model\'s prediction');
    assert.ok(Math.abs(Number(lens.at(-1)[1]) - last.prob) < 2e-4);
    await screenshot(page, 'model-residual-1920');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('the trained model\'s lessons, in presentation mode: each step sets the model, text, view, layer, head and what is switched off', async () => {
  const app = await openApp({ width: 1280, height: 720, lab: false });
  try {
    const { page } = app;
    let s = await waitModel(page);
    // a teacher in front of a projector: presentation mode, then the lessons
    await click(page, s.layout.presentation_button);
    s = await state(page);
    assert.equal(s.ui.presentation, true);
    // lesson 9, "What a trained head looks at", opened from the toolbar's list via its link state
    assert.equal(await page.evaluate((st) => window.attnviz.setState({ config: st.config, ui: { ...st.ui, lesson: 8, lesson_step: 0 } }), s), '');
    await waitFrames(page, 4);
    s = await state(page);
    const expected = [
      ['9. What a trained head looks at', 'heads', 1, 1, []],
      ['9. What a trained head looks at', 'lines', 1, 1, []],
      ['9. What a trained head looks at', 'atlas', 1, 1, []],
      ['10. Copying: the induction head', 'predictions', 1, 1, []],
      ['10. Copying: the induction head', 'atlas', 1, 1, []],
      ['11. Switch a head off', 'predictions', 1, 1, []],
      ['11. Switch a head off', 'predictions', 1, 1, [[1, 1]]],
      ['11. Switch a head off', 'atlas', 1, 1, [[1, 1]]],
      ['12. Random weights vs trained', 'compare', 1, 1, []],
      ['12. Random weights vs trained', 'predictions', 1, 1, []],
      ['13. The feed-forward network', 'residual', 0, 0, []],
      ['13. The feed-forward network', 'predictions', 0, 0, []],
    ];
    for (let k = 0; k < expected.length; ++k) {
      const [title, view, layer, head, heads] = expected[k];
      if (k > 0) {
        await click(page, s.layout.lesson_next);
        await waitFrames(page, 4);
        s = await state(page);
      }
      assert.equal(s.readout.lesson, title, `step ${k}`);
      assert.equal(s.ui.source, 'model', `step ${k} is on the model`);
      assert.equal(s.text, SENTENCE);
      assert.equal(s.ui.view, view, `step ${k}'s view`);
      assert.equal(s.ui.layer, layer);
      assert.equal(s.ui.selected_head, head);
      assert.deepEqual(s.ui.ablation.heads, heads);
      assert.equal(s.ui.presentation, true, `step ${k} stays in presentation mode`);
      if (k === 0 || expected[k - 1][0] !== title) {  // each lesson's first step, as the projector shows it
        await page.mouse.move(5, 5);
        await waitFrames(page, 4);
        s = await state(page);
        await screenshot(page, `model-lesson-${title.split('.')[0]}-presentation-1280`);
        assert.deepEqual(s.overflow, {}, `step ${k} (${title}): content cut off at a window's right edge`);
      }
      if (view === 'compare') {
        await waitFrames(page, 6);
        s = await state(page);
        assert.equal(s.compare_error, '');
        await screenshot(page, 'model-lesson-random-vs-trained-1280');
      }
    }
    assert.deepEqual(s.ui.ablation.mlp, [0], 'the last step switches layer 0\'s MLP off');
    assert.ok(s.model.mean_loss > s.model.intact_mean_loss + 1, 'and the loss jumps');
    await screenshot(page, 'model-lesson-mlp-off-1280');
    noPageErrors(app);
  } finally {
    await app.close();
  }
});

test('the model\'s views at 1280×720 and 1920×1080: drawn, nothing cut off at a window\'s right edge', async () => {
  for (const [width, height] of [[1280, 720], [1920, 1080]]) {
    const app = await openApp({ width, height, lab: false });
    try {
      const { page } = app;
      let s = await waitModel(page);
      for (const view of ['predictions', 'atlas', 'residual', 'pipeline', 'matrices', 'heads', 'lines', 'compare']) {
        await click(page, s.layout[`tab_${view}`]);
        await waitFrames(page, 4);
        s = await state(page);
        assert.equal(s.ui.view, view);
        assert.deepEqual(s.overflow, {}, `${view} at ${width}×${height}: content cut off at a window's right edge`);
        await screenshot(page, `model-view-${view}-${width}`);
      }
      noPageErrors(app);
    } finally {
      await app.close();
    }
  }
});
