// Shared browser-test harness: serves build/web on a free loopback port, drives Debian's
// Chromium (never a downloaded browser) through playwright-core, and offers the few
// actions the tests need: wait for frames, type and press keys, screenshot, pixel stats.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../cmake/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = process.env.ATTNVIZ_BUILD_DIR || path.join(ROOT, 'build');
export const WEB = process.env.ATTNVIZ_WEB_DIR || path.join(BUILD, 'web');
export const SHOTS = process.env.ATTNVIZ_SHOTS_DIR || path.join(BUILD, 'e2e-screenshots');

const CHROMIUM_FLAGS = [
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox', '--disable-gpu',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic',
];

// Starts the server and the browser; returns a session whose close() stops both. `device`
// adds browser-context options for mobile emulation: { isMobile, hasTouch, deviceScaleFactor }.
// The page opens on the trained model; `lab` (the default, for the lab's tests) adds ?lab, which
// opens it on the one-layer lab. A link (`hash`) chooses for itself either way.
export async function openApp({ width = 1280, height = 720, hash = '', query = '', device = {}, lab = true } = {}) {
  query = [query, lab ? 'lab' : ''].filter(Boolean).join('&');
  const site = await startServer({ root: WEB, host: '127.0.0.1', port: 0 });
  let browser;
  try {
    browser = await chromium.launch({ executablePath: process.env.ATTNVIZ_CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    const context = await browser.newContext({ viewport: { width, height }, ...device });
    const page = await context.newPage();
    const consoleLines = [];
    const requested = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(site.url + (query ? '?' + query : '') + (hash ? '#' + hash : ''));
    await page.waitForFunction(() => window.attnviz && (window.attnviz.ready || window.attnviz.error), null, { timeout: 60000 });
    const error = await page.evaluate(() => window.attnviz.error);
    if (error) throw new Error(`app failed to load: ${error}\n${consoleLines.join('\n')}`);
    return {
      page, context, browser, site, consoleLines, requested,
      close: async () => { await browser.close(); await site.close(); },
    };
  } catch (e) {
    if (browser) await browser.close();
    await site.close();
    throw e;
  }
}

export async function frame(page) {
  return page.evaluate(() => window.attnviz.frame());
}

// Waits until the app has drawn n more frames.
export async function waitFrames(page, n = 3) {
  const start = await frame(page);
  await page.waitForFunction((target) => window.attnviz.frame() >= target, start + n, { timeout: 30000, polling: 16 });
}

// The app's state as the page hook reports it (config, ui, tokens, error, layout rects…).
export function state(page) {
  return page.evaluate(() => window.attnviz.getState());
}

// A real mouse click on a recorded widget rectangle, at fraction (fx, fy) of its size; the
// pointer rests, presses and releases on separate frames, as ImGui 1.86 samples once per frame.
export async function click(page, rect, fx = 0.5, fy = 0.5) {
  await page.mouse.move(rect.x + rect.w * fx, rect.y + rect.h * fy);
  await waitFrames(page, 2);
  await page.mouse.down();
  await waitFrames(page, 2);
  await page.mouse.up();
  await waitFrames(page, 3);
}

// ImGui 1.86 samples key state once per frame: hold each key for two frames at least.
export async function press(page, key) {
  await page.keyboard.down(key);
  await waitFrames(page, 2);
  await page.keyboard.up(key);
  await waitFrames(page, 2);
}

export async function chord(page, modifier, key) {
  await page.keyboard.down(modifier);
  await waitFrames(page, 1);
  await press(page, key);
  await page.keyboard.up(modifier);
  await waitFrames(page, 2);
}

export async function typeText(page, text) {
  for (const ch of text) {
    await page.keyboard.type(ch);
    await waitFrames(page, 1);
  }
  await waitFrames(page, 2);
}

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  const png = await page.screenshot({ path: file });
  return { file, png };
}

// Decodes a PNG in a blank page (outside the app's CSP) and counts what it shows.
export async function pixelStats(context, png) {
  const scratch = await context.newPage();
  try {
    return await scratch.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      const colors = new Set();
      let bright = 0;
      for (let i = 0; i < data.length; i += 4 * 7) {
        colors.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        if (data[i] + data[i + 1] + data[i + 2] > 300) bright++;
      }
      return { width: bitmap.width, height: bitmap.height, distinctColors: colors.size, brightSamples: bright };
    }, png.toString('base64'));
  } finally {
    await scratch.close();
  }
}

// A tap on a recorded widget rectangle (touch events; the context needs hasTouch), then frames
// for the app's press and release (touch.cpp plays a tap over two frames).
export async function tap(page, rect, fx = 0.5, fy = 0.5) {
  await page.touchscreen.tap(rect.x + rect.w * fx, rect.y + rect.h * fy);
  await waitFrames(page, 4);
}

// Touch points through the DevTools protocol, as fingers move on a screen: `paths` is one array
// of {x, y} per finger, all of the same length; the fingers touch at the first point, move through
// the others one frame apart and lift at the last. The first move follows the touch at once, as a
// finger that drags does (held still for 450 ms it would be a long press, and frames are slow here).
export async function touchGesture(page, paths) {
  const cdp = await page.context().newCDPSession(page);
  const at = (k) => paths.map((p, id) => ({ x: p[k].x, y: p[k].y, id }));
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0) });
  for (let k = 1; k < paths[0].length; ++k) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(k) });
    await waitFrames(page, 1);
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await waitFrames(page, 4);
  await cdp.detach();
}

// A straight path from a to b in n steps (n + 1 points).
export function line(a, b, n = 8) {
  return Array.from({ length: n + 1 }, (_, k) => ({ x: a.x + (b.x - a.x) * k / n, y: a.y + (b.y - a.y) * k / n }));
}
