// The Train view (issue 12): a model trained in the page by a Web Worker with its own core.
// Training starts from the form's Start button; the loss falls, the probe's heatmaps change and
// frames keep coming while it runs (frame times go to the log); Pause, Resume and Step do what
// they say; the trained model opens in every view, its exported weights load back with the same
// predictions, and a run link trains the same weights again. Bad settings: a learning rate that
// diverges stops with a message, a model too large is refused naming the limit, and a worker
// that dies is reported and can be restarted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, state, click, screenshot } from './harness.mjs';

const training = async (page) => (await state(page)).training;

async function waitTraining(page, predicate, what, timeout = 120000) {
  const start = Date.now();
  for (;;) {
    const t = await training(page);
    if (predicate(t)) return t;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}; training: ${JSON.stringify(t)}`);
    await page.waitForTimeout(200);
  }
}

async function openTrain(app) {
  const { page } = app;
  await waitFrames(page, 3);
  await click(page, (await state(page)).layout.tab_train);
  await waitFrames(page, 3);
  assert.equal((await state(page)).ui.view, 'train');
}

// A run link: the current state with the Train view's settings (and the step to stop at).
async function linkState(page, settings, steps) {
  const s = await page.evaluate(() => JSON.parse(JSON.stringify(window.attnviz.getState())));
  const train = { settings };
  if (steps !== undefined) train.steps = steps;
  return { config: s.config, ui: { ...s.ui, view: 'train' }, compare: s.compare, train };
}

const heatmapPixels = async (page, rect) => page.screenshot({ clip: { x: rect.x, y: rect.y, width: rect.w, height: rect.h } });

test('training in the page: the loss falls, the heads change, frames keep coming; pause, resume, step', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    await openTrain(app);
    const before = await training(page);
    assert.equal(before.status, 'idle');
    assert.equal(before.settings.task, 'induction');
    const sorted = (xs) => [...xs].sort((a, b) => a - b);
    const pct = (xs, p) => sorted(xs)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
    const frameTimes = async (what) => {
      const f0 = await page.evaluate(() => window.attnviz.frame());
      await page.waitForTimeout(2000);
      const f1 = await page.evaluate(() => window.attnviz.frame());
      const stats = await page.evaluate((n) => window.attnviz.frameStats(n), Math.max(2, f1 - f0));
      console.log(`frames ${what}: ${f1 - f0} in 2 s; work ms p50 ${pct(stats.work_ms, 0.5).toFixed(1)} p95 ${pct(stats.work_ms, 0.95).toFixed(1)}; ` +
                  `interval ms p50 ${pct(stats.interval_ms, 0.5).toFixed(1)} p95 ${pct(stats.interval_ms, 0.95).toFixed(1)}`);
      return f1 - f0;
    };
    await frameTimes('before training (the Train view, idle)');
    await click(page, (await state(page)).layout.train_start);
    const early = await waitTraining(page, (t) => t.status === 'running' && t.step >= 20, 'the first steps');
    const layout = (await state(page)).layout;
    assert.ok(layout.train_head_0_1, 'the probe heatmaps are drawn');
    const earlyPixels = await heatmapPixels(page, layout.train_head_0_1);

    // frames keep coming while the worker trains
    const frames = await frameTimes('while training');
    assert.ok(frames >= 10, `the page kept drawing (${frames} frames in 2 s)`);
    await screenshot(page, 'train-mid-run-1280');

    const later = await waitTraining(page, (t) => t.step >= 300, 'step 300');
    console.log(`step ${later.step}: validation loss ${early.first_validation_loss.toFixed(3)} -> ${later.validation.loss.toFixed(3)}, ` +
                `accuracy ${later.validation.accuracy.toFixed(3)}, ${later.tokens_per_s.toFixed(0)} tokens/s, ${later.gflops.toFixed(2)} GFLOP/s`);
    assert.ok(later.validation.loss < 0.8 * later.first_validation_loss, 'the validation loss fell');
    assert.ok(later.snapshots > early.snapshots);
    const laterPixels = await heatmapPixels(page, (await state(page)).layout.train_head_0_1);
    assert.notDeepEqual(laterPixels, earlyPixels, 'the probe heatmap changed');

    // Pause: no more steps; Step: exactly one; Resume: on again
    await click(page, (await state(page)).layout.train_pause);
    const paused = await waitTraining(page, (t) => t.status === 'paused', 'paused');
    await page.waitForTimeout(800);
    assert.equal((await training(page)).step, paused.step, 'no steps while paused');
    await click(page, (await state(page)).layout.train_step);
    const stepped = await waitTraining(page, (t) => t.step === paused.step + 1, 'one step');
    assert.equal(stepped.status, 'paused');
    await click(page, (await state(page)).layout.train_resume);
    await waitTraining(page, (t) => t.status === 'running' && t.step > stepped.step + 5, 'resumed');

    const done = await waitTraining(page, (t) => t.status === 'finished', 'the end of the run', 180000);
    console.log(`finished at step ${done.step}: accuracy ${done.validation.accuracy.toFixed(3)}, induction score ${done.induction_score.toFixed(2)}, ` +
                `previous-token ${done.previous_token_score.toFixed(2)}`);
    assert.ok(done.validation.accuracy > 0.9, 'the induction task is learned');
    await waitFrames(page, 3);
    await screenshot(page, 'train-after-1280');
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror')), []);
  } finally {
    await app.close();
  }
});

test('after training: the model opens in every view, exported weights load back with the same predictions, a run link repeats the run', async () => {
  const app = await openApp({ width: 1920, height: 1080 });
  const { page } = app;
  try {
    await waitFrames(page, 3);
    const settings = { task: 'induction', symbols: 8, length: 16, n_layer: 2, n_head: 4, n_embd: 32, mlp: false, batch_size: 16,
                       learning_rate: 0.003, max_steps: 400, seed: 3 };
    assert.equal(await page.evaluate((s) => window.attnviz.setState(s), await linkState(page, settings, 150)), '');
    const atLink = await waitTraining(page, (t) => t.status === 'paused' && t.step === 150, 'the link\'s step 150');
    await waitFrames(page, 3);
    await screenshot(page, 'train-paused-1920');

    // the link that repeats it
    await click(page, (await state(page)).layout.train_link);
    const link = await page.evaluate(() => window.attnviz.lastCopiedLink);
    assert.match(link, /#state=/);
    assert.match(decodeURIComponent(link), /"train":\{"settings":\{.*\},"steps":150\}/);
    // the address bar's own link keeps the view, not the run (a reload does not train again)
    assert.doesNotMatch(decodeURIComponent(await page.evaluate(() => location.hash)), /"train":\{/);
    const again = await openApp({ width: 1280, height: 720, hash: link.replace(/^[^#]*#/, '') });
    try {
      const repeated = await waitTraining(again.page, (t) => t.status === 'paused' && t.step === 150, 'the linked run');
      assert.equal(repeated.validation.loss, atLink.validation.loss, 'the same weights: the same validation loss, bit for bit');
      assert.equal(repeated.train_loss, atLink.train_loss);
    } finally {
      await again.close();
    }

    // export, then open in every view, then load the exported file back
    await page.evaluate(() => {
      const hook = window.attnviz;
      const record = hook._onDownload;
      hook._onDownload = (name, bytes) => { hook.lastBytes = bytes; record(name, bytes); };
    });
    await click(page, (await state(page)).layout.train_export);
    await page.waitForFunction(() => window.attnviz.downloads.some((d) => d.name.endsWith('.safetensors')), null, { timeout: 30000 });
    const exported = await page.evaluate(() => window.attnviz.downloads.find((d) => d.name.endsWith('.safetensors')).name);
    assert.equal(exported, 'attnviz_induction_2L_step150.safetensors');

    await click(page, (await state(page)).layout.train_open);
    await page.waitForFunction(() => window.attnviz.getState().training.opened_model !== '', null, { timeout: 30000 });
    let s = await state(page);
    assert.equal(s.ui.source, 'model');
    assert.equal(s.ui.view, 'atlas');
    // a sequence of the task's symbols, repeated: the trained model predicts the repeat
    const text = 'abcdefgabcdefg';
    const base = await linkState(page, settings);
    delete base.train;
    assert.equal(await page.evaluate((st) => window.attnviz.setState(st), { ...base, config: { ...base.config, text }, ui: { ...s.ui, view: 'predictions' } }), '');
    await page.waitForFunction((t) => window.attnviz.getState().model.tokens && window.attnviz.getState().model.tokens.join('') === t, text, { timeout: 30000 });
    const opened = (await state(page)).model;
    await waitFrames(page, 3);
    await screenshot(page, 'train-model-predictions-1920');
    // the attention-only model in the other views: the pipeline's worked-out layer, the residual stream
    for (const view of ['pipeline', 'residual', 'atlas']) {
      s = await state(page);
      assert.equal(await page.evaluate((st) => window.attnviz.setState(st), { config: s.config, ui: { ...s.ui, view } }), '');
      await waitFrames(page, 5);
      s = await state(page);
      assert.equal(s.ui.view, view);
      assert.equal(s.model.error || '', '', `${view}: the model traces`);
      await screenshot(page, `train-model-${view}-1920`);
    }
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror')), []);

    const err = await page.evaluate(async () => {
      const hook = window.attnviz;
      await hook._loadModelFiles([new File([hook.lastBytes], 'exported.safetensors')]);
      return '';
    });
    assert.equal(err, '');
    await page.waitForFunction(() => window.attnviz.getState().ui.model === 'exported.safetensors', null, { timeout: 30000 });
    await waitFrames(page, 5);
    const reloaded = (await state(page)).model;
    assert.deepEqual(reloaded.tokens, opened.tokens);
    assert.deepEqual(reloaded.top, opened.top, 'the same predictions from the exported file');
    assert.deepEqual(reloaded.losses, opened.losses);
    const repeatLoss = opened.losses.slice(8).reduce((a, b) => a + b, 0) / opened.losses.slice(8).length;
    console.log(`trained model on "${text}": mean loss on the repeat ${repeatLoss.toFixed(3)} nats`);

    // back to the Train view: the run goes on to its end
    s = await state(page);
    assert.equal(await page.evaluate((st) => window.attnviz.setState(st), { config: s.config, ui: { ...s.ui, view: 'train' } }), '');
    await waitFrames(page, 4);
    await click(page, (await state(page)).layout.train_resume);
    await waitTraining(page, (t) => t.status === 'finished', 'the end of the run');
    await page.mouse.move(5, 5);
    await waitFrames(page, 4);
    await screenshot(page, 'train-after-1920');
  } finally {
    await app.close();
  }
});

test('bad settings: a diverging learning rate stops with a message, a model too large is refused, a dead worker restarts', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    await waitFrames(page, 3);
    const small = { task: 'induction', symbols: 8, length: 16, n_layer: 2, n_head: 4, n_embd: 64, mlp: false, batch_size: 8,
                    max_steps: 400, seed: 1 };
    assert.equal(await page.evaluate((s) => window.attnviz.setState(s), await linkState(page, { ...small, learning_rate: 1 })), '');
    const diverged = await waitTraining(page, (t) => t.status === 'diverged', 'the divergence');
    assert.match(diverged.message, /^diverged at step \d+ .*the learning rate 1 is too high for this model; the last good snapshot is kept$/);
    assert.ok(diverged.kept >= 1);
    assert.ok(Number.isFinite(diverged.validation.loss), 'the last good snapshot is shown');
    await waitFrames(page, 3);
    await screenshot(page, 'train-diverged-1280');

    const huge = { ...small, task: 'copy', length: 100, n_layer: 4, n_head: 8, n_embd: 256, mlp: true, batch_size: 512, learning_rate: 0.003 };
    const refused = await page.evaluate((s) => window.attnviz.setState(s), await linkState(page, huge));
    assert.match(refused, /^state\.train\.settings\.model: needs \d+ MiB to train .*more than the 512 MiB a run in the page may use/);

    // a worker that dies is reported; Restart trains again in a new one
    assert.equal(await page.evaluate((s) => window.attnviz.setState(s), await linkState(page, { ...small, learning_rate: 0.003 })), '');
    await waitTraining(page, (t) => t.status === 'running' && t.step > 5, 'a running run');
    await page.evaluate(() => window.attnviz._trainKill());
    const died = await waitTraining(page, (t) => t.status === 'died', 'the death report');
    assert.match(died.message, /^the training worker was stopped\. Restart trains again in a new worker\.$/);
    await waitFrames(page, 3);
    await click(page, (await state(page)).layout.train_start);
    await waitTraining(page, (t) => t.status === 'running' && t.step > 5, 'the restarted run');
  } finally {
    await app.close();
  }
});

test('the training lessons, in presentation mode: an induction head forms, one layer cannot copy, sorting', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  const { page } = app;
  try {
    await waitFrames(page, 3);
    let s = await state(page);
    await click(page, s.layout.presentation_button);
    s = await state(page);
    const lesson = async (index, step) => {
      assert.equal(await page.evaluate((st) => window.attnviz.setState(st), { config: s.config, ui: { ...s.ui, lesson: index, lesson_step: step } }), '');
      await waitFrames(page, 4);
      s = await state(page);
    };
    const next = async () => {
      await click(page, s.layout.lesson_next);
      await waitFrames(page, 4);
      s = await state(page);
    };
    const shoot = async (name) => {
      await page.mouse.move(5, 5);
      await waitFrames(page, 4);
      s = await state(page);
      await screenshot(page, name);
      assert.deepEqual(s.overflow, {}, `${name}: content cut off at a window's right edge`);
    };

    await lesson(13, 0);
    assert.equal(s.readout.lesson, '14. Watch an induction head form');
    assert.equal(s.ui.view, 'train');
    assert.equal(s.training.settings.n_layer, 2);
    const formed = await waitTraining(page, (t) => t.induction_score >= 0.5 && t.validation.accuracy > 0.9, 'the induction head');
    console.log(`lesson 14: induction head ${formed.induction_score.toFixed(2)} and accuracy ${formed.validation.accuracy.toFixed(3)} at step ${formed.step}`);
    await shoot('train-lesson-14-presentation-1280');
    const snapshots = s.training.snapshots;
    await next();
    await next();
    assert.equal(s.readout.lesson, '14. Watch an induction head form');
    assert.ok(s.training.snapshots >= snapshots, 'the steps that only explain do not restart the run');

    await next();
    assert.equal(s.readout.lesson, '15. Why one layer cannot copy');
    assert.equal(s.training.settings.n_layer, 1);
    const one = await waitTraining(page, (t) => t.status === 'finished', 'the one-layer run');
    await next();
    assert.equal(s.training.reference, 'before: 1 layer, induction');
    const two = await waitTraining(page, (t) => t.status === 'finished', 'the two-layer run');
    console.log(`lesson 15: one layer ${one.validation.accuracy.toFixed(3)}, two layers ${two.validation.accuracy.toFixed(3)}`);
    assert.ok(one.validation.accuracy < 0.5 && two.validation.accuracy > 0.95, 'one layer cannot copy; two can');
    await shoot('train-lesson-15-presentation-1280');

    await next();
    assert.equal(s.readout.lesson, '16. Sorting with attention');
    assert.equal(s.training.settings.task, 'sort');
    const sorted = await waitTraining(page, (t) => t.status === 'finished', 'the sorting run', 240000);
    console.log(`lesson 16: sort accuracy ${sorted.validation.accuracy.toFixed(3)} after ${sorted.step} steps`);
    assert.ok(sorted.validation.accuracy > 0.98);
    await next();
    await shoot('train-lesson-16-presentation-1280');
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror')), []);
  } finally {
    await app.close();
  }
});

test('the Train view on a phone: the form, the run and the heads fit the width', async () => {
  const app = await openApp({ width: 390, height: 844, device: { isMobile: true, hasTouch: true, deviceScaleFactor: 1 } });
  const { page } = app;
  try {
    await waitFrames(page, 3);
    let s = await state(page);
    assert.equal(await page.evaluate((st) => window.attnviz.setState(st), { config: s.config, ui: { ...s.ui, view: 'train' } }), '');
    await waitFrames(page, 4);
    s = await state(page);
    assert.equal(s.narrow, true);
    assert.ok(s.layout.train_task && s.layout.train_start, 'the form and Start are drawn');
    assert.deepEqual(s.overflow, {}, 'the form fits');
    await screenshot(page, 'train-phone-form-390');
    assert.equal(await page.evaluate((st) => window.attnviz.setState(st), await linkState(page, { task: 'induction' })), '');
    await waitTraining(page, (t) => t.step >= 100, 'a running run');
    await waitFrames(page, 4);
    s = await state(page);
    assert.deepEqual(s.overflow, {}, 'the run fits');
    await screenshot(page, 'train-phone-run-390');
  } finally {
    await app.close();
  }
});
