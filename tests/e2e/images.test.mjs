// The Images view (issue 13): a small Vision Transformer over an image from a gallery, drawn with
// the mouse, or dropped on the page. Drawing with real mouse events gives the core's prediction
// for that bitmap (the training pass's classify_images, a second path, agrees); a gallery image's
// overlay is the class token's attention in the trace; rollout and a hovered patch's attention are
// the trace's too; bad input (an empty drawing, a picture of the wrong size, a file that is no
// image) gives a message and keeps the last good view. Screenshots at 1280×720 and 1920×1080.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, state, click, screenshot } from './harness.mjs';

const images = async (page) => (await state(page)).images;

async function waitImages(page, predicate, what, timeout = 30000) {
  const start = Date.now();
  for (;;) {
    const s = await images(page);
    if (predicate(s)) return s;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}; images: ${JSON.stringify({ ...s, pixels: undefined })}`);
    await page.waitForTimeout(100);
  }
}

async function openImages(page, dataset = 'digits') {
  await waitFrames(page, 3);
  await click(page, (await state(page)).layout.tab_images);
  if (dataset !== 'digits') await click(page, (await state(page)).layout['images.' + dataset]);
  const s = await waitImages(page, (s) => s.loaded && s.gallery_size > 0 && s.class_probs, `the ${dataset} model and gallery`);
  assert.equal((await state(page)).ui.view, 'images');
  return s;
}

const overlay = async (page) => (await state(page)).readout['images.overlay'].split(',').map(Number);
const close = (a, b, tol) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= tol);

test('a gallery image: the class bars are the trace\'s, the overlay is the class token\'s attention, rollout and a hovered patch too', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    const s = await openImages(page);
    assert.equal(s.dataset, 'digits');
    assert.equal(s.gallery, 0);
    assert.equal(s.config.image_size, 8);
    assert.equal(s.pixels.length, 64);
    const trace = await page.evaluate(() => window.attnviz.imageTrace());
    const T = trace.T, N = T - 1;
    assert.equal(N, 16);
    assert.deepEqual(trace.tokens.slice(0, 3), ['CLS', 'r0c0', 'r0c1']);
    assert.ok(close(s.class_probs, trace.predictions.class_probs, 1e-6));
    // the overlay: the mean over the layer's heads of the class token's weights on each patch
    const heads = trace.layers[0].heads.map((h) => h.trace.weights);
    const mean = Array.from({ length: N }, (_, n) => heads.reduce((a, w) => a + w[0][1 + n], 0) / heads.length);
    assert.ok(close(await overlay(page), mean, 1e-5), 'the mean head\'s overlay is the trace\'s class-token row');
    // rollout: each layer's mean attention plus the identity, rows normalized, multiplied through the layers
    await click(page, (await state(page)).layout['images.rollout']);
    await waitFrames(page, 2);
    assert.equal((await images(page)).overlay, 'rollout');
    let R = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (i === j ? 1 : 0)));
    for (const layer of trace.layers) {
      const ws = layer.heads.map((h) => h.trace.weights);
      const A = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (ws.reduce((a, w) => a + w[i][j], 0) / ws.length + (i === j ? 1 : 0)) / 2));
      R = A.map((row) => Array.from({ length: T }, (_, j) => row.reduce((a, x, k) => a + x * R[k][j], 0)));
    }
    assert.ok(close(await overlay(page), R[0].slice(1), 1e-5), 'the rollout overlay is the trace\'s rollout of the class token');
    const shot = await screenshot(page, 'images-digits-rollout-1280');
    assert.ok(shot.png.length > 10000);
    // a hovered patch: its own row of the layer's mean attention
    const canvas = (await state(page)).layout['images.canvas'];
    await page.mouse.move(canvas.x + canvas.w * (2.5 / 4), canvas.y + canvas.h * (1.5 / 4));  // patch row 1, column 2
    await waitFrames(page, 3);
    const hovered = await images(page);
    assert.equal(hovered.hovered_patch, 1 * 4 + 2);
    assert.equal((await state(page)).readout['images.overlay_query'], String(1 + 6));
  } finally {
    await app.close();
  }
});

test('drawing a digit with the mouse gives the core\'s prediction for that bitmap; undo, clear, bad input', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    await openImages(page);
    await click(page, (await state(page)).layout['images.clear']);
    const cleared = await images(page);
    assert.ok(cleared.pixels.every((p) => p === 0));
    assert.match(cleared.error, /empty/);
    // a "1": a vertical stroke down the middle, with real mouse events held across frames
    const r = (await state(page)).layout['images.canvas'];
    const at = (x, y) => [r.x + r.w * (x + 0.5) / 8, r.y + r.h * (y + 0.5) / 8];
    await page.mouse.move(...at(4, 0));
    await waitFrames(page, 2);
    await page.mouse.down();
    for (let y = 0; y < 8; ++y) {
      await page.mouse.move(...at(4, y), { steps: 2 });
      await waitFrames(page, 2);
    }
    await page.mouse.up();
    await waitFrames(page, 3);
    const drawn = await images(page);
    for (let y = 0; y < 8; ++y) assert.equal(drawn.pixels[y * 8 + 4], 1, `pixel (4, ${y}) painted`);
    assert.equal(drawn.pixels.filter((p) => p > 0).length, 8, 'only the stroke is ink');
    assert.equal(drawn.error, '');
    assert.equal(drawn.gallery, -1);
    // the view's probabilities are the core's for this bitmap, by the training pass too
    const second = await page.evaluate((px) => window.attnviz.classifyImage(px), drawn.pixels);
    assert.ok(close(drawn.class_probs, second.probs, 1e-5), `${drawn.class_probs} vs ${second.probs}`);
    const best = second.probs.indexOf(Math.max(...second.probs));
    assert.equal(drawn.predicted, best);
    assert.equal((await state(page)).readout['images.predicted'], drawn.config.classes[best]);
    console.log(`a drawn vertical stroke reads as ${drawn.config.classes[best]} (${(100 * second.probs[best]).toFixed(1)} %)`);
    await screenshot(page, 'images-digits-drawn-1280');
    // undo: the whole stroke at once, back to the cleared image
    await click(page, (await state(page)).layout['images.undo']);
    assert.ok((await images(page)).pixels.every((p) => p === 0));
    // a picture of the wrong size dropped on the page: a message, the last good image stays
    await click(page, (await state(page)).layout['images.gallery0']);
    const before = await images(page);
    const refused = await page.evaluate(async () => {
      const c = new OffscreenCanvas(20, 10);
      c.getContext('2d').fillRect(0, 0, 5, 5);
      const blob = await c.convertToBlob({ type: 'image/png' });
      await window.attnviz._loadImageFile(new File([blob], 'wide.png', { type: 'image/png' }));
      return window.attnviz.getState().images;
    });
    assert.equal(refused.notice, 'image: expected 8×8 pixels (the model\'s input), got 20×10');
    assert.deepEqual(refused.pixels, before.pixels);
    // a file that is no image
    await page.evaluate(async () => window.attnviz._loadImageFile(new File(['not a picture'], 'notes.png', { type: 'image/png' })));
    await waitFrames(page, 2);
    assert.deepEqual((await images(page)).pixels, before.pixels);
    // the right size: shown and traced (a light picture with dark ink is inverted to the datasets' white on black)
    const shown = await page.evaluate(async () => {
      const c = new OffscreenCanvas(8, 8);
      const g = c.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, 8, 8);
      g.fillStyle = '#000';
      g.fillRect(2, 1, 4, 1);
      g.fillRect(5, 1, 1, 6);
      const blob = await c.convertToBlob({ type: 'image/png' });
      await window.attnviz._loadImageFile(new File([blob], 'seven.png', { type: 'image/png' }));
      return window.attnviz.getState().images;
    });
    assert.equal(shown.notice, '');
    assert.equal(shown.pixels[1 * 8 + 3], 1);
    assert.equal(shown.pixels[7 * 8 + 0], 0);
  } finally {
    await app.close();
  }
});

test('Fashion-MNIST: 28×28 images in 4 patches of 14×14, the positions\' maps; screenshots at 1920×1080', async () => {
  const app = await openApp({ width: 1920, height: 1080 });
  const { page } = app;
  try {
    const s = await openImages(page, 'fashion');
    assert.equal(s.config.image_size, 28);
    assert.equal(s.config.patch_size, 14);
    assert.equal(s.pixels.length, 784);
    const trace = await page.evaluate(() => window.attnviz.imageTrace());
    assert.equal(trace.T, 5);
    assert.equal(trace.patches.length, 4);
    assert.ok(close(s.class_probs, trace.predictions.class_probs, 1e-6));
    const overlayNow = await overlay(page);
    assert.equal(overlayNow.length, 4);
    await screenshot(page, 'images-fashion-1920');
    assert.deepEqual((await state(page)).overflow?.Views ?? 0, 0);
  } finally {
    await app.close();
  }
});

test('the lesson "Attention over an image", in presentation mode: patches, the class token, rollout, a head switched off', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    await waitFrames(page, 3);
    let s = await state(page);
    await click(page, s.layout.presentation_button);
    s = await state(page);
    assert.equal(await page.evaluate((st) => window.attnviz.setState(st), { config: s.config, ui: { ...s.ui, lesson: 16, lesson_step: 0 } }), '');
    const settled = async () => {
      await waitImages(page, (i) => i.loaded && i.class_probs && i.gallery === 0, 'the lesson\'s image');
      await page.mouse.move(5, 5);
      await waitFrames(page, 4);
      s = await state(page);
      assert.deepEqual(s.overflow, {}, `${s.readout.lesson} ${s.readout.lesson_step}: content cut off at a window's right edge`);
    };
    const next = async () => {
      await click(page, s.layout.lesson_next);
      await settled();
    };
    await settled();
    assert.equal(s.readout.lesson, '17. Attention over an image');
    assert.equal(s.ui.view, 'images');
    assert.equal(s.images.overlay, 'none');
    assert.equal(s.images.config.classes[s.images.predicted], '1');
    await next();
    assert.equal(s.images.overlay, 'class_token');
    assert.equal(s.images.layer, 1);
    await screenshot(page, 'images-lesson-17-presentation-1280');
    await next();
    assert.equal(s.images.overlay, 'rollout');
    await next();
    assert.deepEqual(s.images.heads_off, [[0, 2]]);
    assert.equal(s.images.config.classes[s.images.predicted], '8', 'head 2 of layer 0 switched off: the 1 reads as an 8');
    assert.ok(Math.max(...s.images.class_probs) > 0.9);
    await screenshot(page, 'images-lesson-17-head-off-1280');
    // the box under head 2 switches it on again: a 1 once more (scrolled into view first)
    for (let k = 0; k < 10 && s.layout['images.off2'].y + s.layout['images.off2'].h > 700; ++k) {
      await page.mouse.move(400, 400);
      await page.mouse.wheel(0, 200);
      await waitFrames(page, 3);
      s = await state(page);
    }
    await click(page, s.layout['images.off2']);
    await waitFrames(page, 3);
    s = await state(page);
    assert.deepEqual(s.images.heads_off, []);
    assert.equal(s.images.config.classes[s.images.predicted], '1');
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror')), []);
  } finally {
    await app.close();
  }
});

test('"Open in every view": the image model and its image in the pipeline, matrices, heads, lines, cell, atlas, residual, predictions', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    const before = await openImages(page);
    const imageTrace = await page.evaluate(() => window.attnviz.imageTrace());
    await click(page, (await state(page)).layout['images.open']);
    await waitFrames(page, 4);
    let s = await state(page);
    assert.equal(s.ui.view, 'pipeline');
    assert.equal(s.ui.source, 'model');
    assert.equal(s.model.name, 'vit_digits');
    assert.equal(s.error, '');
    assert.deepEqual(s.model.tokens.slice(0, 3), ['CLS', 'r0c0', 'r0c1']);
    assert.equal(s.model.tokens.length, 17);
    // the per-head views show the engine's trace of the chosen layer: the Images view's numbers
    const layerTrace = await page.evaluate(() => window.attnviz.trace());
    assert.deepEqual(layerTrace.tokens, imageTrace.tokens);
    const w = layerTrace.heads[0].weights, want = imageTrace.layers[s.ui.layer].heads[0].trace.weights;
    assert.ok(w.every((row, i) => row.every((x, j) => Math.abs(x - want[i][j]) < 1e-6)), 'the same weights');
    assert.ok(w[0][16] > 0, 'no mask: the class token sees the last patch');
    await screenshot(page, 'images-open-pipeline-1280');
    for (const view of ['matrices', 'heads', 'lines', 'compare', 'predictions', 'atlas', 'residual']) {
      await click(page, (await state(page)).layout['tab_' + view]);
      await waitFrames(page, 3);
      s = await state(page);
      assert.equal(s.ui.view, view);
      assert.equal(s.error, '', `${view}: no error`);
      if (view === 'atlas' || view === 'predictions') await screenshot(page, `images-open-${view}-1280`);
    }
    // switching a head off in the atlas traces the image again without it
    await click(page, (await state(page)).layout.tab_atlas);
    const probsBefore = (await state(page)).model.top[0].map((e) => e.p);
    await click(page, (await state(page)).layout['atlas_on_0_2']);
    await waitFrames(page, 3);
    s = await state(page);
    assert.deepEqual(s.ui.ablation.heads, [[0, 2]]);
    assert.equal(s.error, '');
    assert.notDeepEqual(s.model.top[0].map((e) => e.p), probsBefore, 'the class token\'s answer changes with head 2 of layer 0 off');
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror')), []);
    assert.ok(before.loaded);
  } finally {
    await app.close();
  }
});

test('a ViT file of one\'s own opens in the Images view; a damaged one is refused naming the tensor, the last good view kept', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    await openImages(page);
    const before = await images(page);
    // the digits model with patch_embed's shape edited in its header: refused, nothing changes
    const refused = await page.evaluate(async () => {
      const bytes = new Uint8Array(await (await fetch('models/vit_digits.safetensors')).arrayBuffer());
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = new TextDecoder().decode(bytes.subarray(8, 8 + n)).replace('"transformer.patch_embed.weight":{"dtype":"F16","shape":[32,4]',
                                                                                 '"transformer.patch_embed.weight":{"dtype":"F16","shape":[4,32]');
      const edited = new Uint8Array(bytes);
      edited.set(new TextEncoder().encode(header), 8);
      await window.attnviz._loadModelFiles([new File([edited], 'vit_bad.safetensors')]);
      return window.attnviz.getState();
    });
    assert.match(refused.model.load_error, /transformer\.patch_embed\.weight: expected shape \[32, 4\], got \[4, 32\]/);
    assert.equal(refused.images.dataset, 'digits');
    assert.deepEqual(refused.images.pixels, before.pixels);
    // the same file intact, under another name: the Images view shows it, ready to draw on
    const opened = await page.evaluate(async () => {
      const bytes = await (await fetch('models/vit_digits.safetensors')).arrayBuffer();
      await window.attnviz._loadModelFiles([new File([bytes], 'my_vit.safetensors')]);
      return window.attnviz.getState();
    });
    assert.equal(opened.images.dataset, 'my_vit.safetensors');
    assert.equal(opened.images.loaded, true);
    assert.equal(opened.images.config.image_size, 8);
    assert.match(opened.images.error, /empty/);
    assert.equal(opened.ui.view, 'images');
    await waitFrames(page, 3);
    assert.equal((await state(page)).ui.view, 'images');
  } finally {
    await app.close();
  }
});
