// Walking skeleton, end to end: the served page loads, a sentence typed with real keyboard
// events becomes the app's tokens, a heatmap is drawn, and the canvas is not blank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, chord, press, typeText, screenshot, pixelStats } from './harness.mjs';

test('typing a sentence shows its tokens and an attention heatmap', async () => {
  const app = await openApp({ width: 1280, height: 720 });
  try {
    const { page } = app;
    await waitFrames(page, 5);
    const before = await page.evaluate(() => window.attnviz.getState());
    const box = before.layout.text_box;
    assert.ok(box && box.w > 0, 'the app reports where its text box is');

    // Focus the text box with a real click, select everything, delete it, type a new sentence.
    await page.mouse.click(box.x + box.w / 2, box.y + box.h / 2);
    await waitFrames(page, 3);
    await chord(page, 'Control', 'a');
    await press(page, 'Backspace');
    const sentence = 'attention is all you need';
    await typeText(page, sentence);
    await waitFrames(page, 5);

    const state = await page.evaluate(() => window.attnviz.getState());
    assert.equal(state.text, sentence);
    assert.deepEqual(state.tokens, sentence.split(' '));
    assert.equal(state.error, '');
    const trace = await page.evaluate(() => window.attnviz.trace());
    assert.deepEqual(trace.tokens, sentence.split(' '));
    assert.equal(trace.heads[0].weights.length, 5, 'the weights have one row per token');
    assert.equal(trace.heads[0].weights[0].length, 5, 'the weights have one column per token');

    const { png } = await screenshot(page, 'skeleton');
    const stats = await pixelStats(app.context, png);
    assert.equal(stats.width, 1280);
    assert.ok(stats.distinctColors > 20, `canvas looks blank: only ${stats.distinctColors} colours`);
    assert.ok(stats.brightSamples > 50, 'no bright pixels: no text or heatmap drawn');
    const errors = app.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error'));
    assert.deepEqual(errors, []);
  } finally {
    await app.close();
  }
});
