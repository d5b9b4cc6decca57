// What a class full of students may paste or choose never breaks the page: each bad input gets
// the engine's message where the person is looking (next to the text box or the control), the
// last good view stays, and unusual but valid text (RTL, emoji ZWJ, control characters) works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, waitFrames, screenshot, chord, press, typeText, state, click } from './harness.mjs';


async function apply(page, config) {
  const err = await page.evaluate((c) => window.attnviz.setState({ config: c }), config);
  assert.equal(err, '', 'the state itself is well-formed');
  await waitFrames(page, 4);
  return state(page);
}

test('bad inputs show the engine message and keep the last good view; odd valid text works', async () => {
  const app = await openApp();
  try {
    const { page } = app;
    const good = (await state(page)).tokens;
    const layout = async (name) => (await state(page)).layout[name];
    // Near the left end of a widget: for InputInt/InputDouble groups that is the text field,
    // not the −/+ buttons or the label.
    const clickField = async (r) => click(page, r, Math.min(20, r.w / 2) / r.w);
    const expectRefused = async (message) => {
      const s = await state(page);
      assert.match(s.error, message);
      assert.deepEqual(s.tokens, good, 'the last good trace stays on screen');
    };

    // The sentence box: emptied, whitespace only, then a 100 000-character paste.
    await clickField(await layout('text_box'));
    await chord(page, 'Control', 'a');
    await press(page, 'Backspace');
    await expectRefused(/^text: expected at least one token/);
    await page.keyboard.insertText('   ');
    await waitFrames(page, 4);
    await expectRefused(/^text: expected at least one token/);
    await chord(page, 'Control', 'a');
    await press(page, 'Backspace');
    await page.keyboard.insertText('word '.repeat(20000));
    await waitFrames(page, 6);
    await expectRefused(/^text: expected at most 4096 tokens, got 20000/);
    await screenshot(page, 'inputs-refused-long-text');

    // Controls: temperature 0 and a negative window, typed.
    assert.equal(await page.evaluate(() => window.attnviz.setState({ config: { text: 'the cat sat on the mat', pattern: { kind: 'local', window: 1 } } })), '');
    await waitFrames(page, 4);
    for (const [field, value, message] of [['temperature', '0', /^temperature: expected a finite number > 0, got 0/],
                                           ['window', '-1', /^pattern\.window: expected an integer from 0 to 4096, got -1/]]) {
      await clickField(await layout(field));
      await chord(page, 'Control', 'a');
      await typeText(page, value);
      await press(page, 'Enter');
      const s = await state(page);
      assert.match(s.error, message);
      assert.deepEqual(s.tokens, good);
      await clickField(await layout(field));
      await chord(page, 'Control', 'a');
      await typeText(page, '1');
      await press(page, 'Enter');
      assert.equal((await state(page)).error, '', `${field} back to a good value`);
    }

    // Valid but unusual text: right-to-left, emoji ZWJ sequences, control characters.
    const accepted = [
      ['مرحبا بالعالم שלום עולם', ['مرحبا', 'بالعالم', 'שלום', 'עולם']],
      ['family 👩‍👩‍👧 flag 🇫🇷', ['family', '👩‍👩‍👧', 'flag', '🇫🇷']],
      ['tab\there\u0007bell', null],
    ];
    for (const [text, tokens] of accepted) {
      const s = await apply(page, { text });
      assert.equal(s.error, '', text);
      if (tokens) assert.deepEqual(s.tokens, tokens);
      else assert.ok(s.tokens.length >= 2);
    }

    // A row with no allowed key: causal ∩ a window of 0 leaves the diagonal; strided with
    // padding everywhere leaves nothing — weights are exactly 0, never NaN.
    const s = await apply(page, { text: '[PAD] [PAD] [PAD]', mask: 'padding' });
    assert.equal(s.error, '');
    const trace = await page.evaluate(() => window.attnviz.trace());
    assert.deepEqual(trace.heads[0].empty_rows, [0, 1, 2]);
    trace.heads[0].weights.flat().forEach((w) => assert.equal(w, 0));
    await screenshot(page, 'inputs-empty-rows');
    assert.deepEqual(app.consoleLines.filter((l) => l.startsWith('pageerror')), []);
  } finally {
    await app.close();
  }
});
