// bench/load.mjs — how fast the page starts (issue 5, "Load"), never part of the tests.
//
//   node bench/load.mjs [--web build/web] [--runs N] [--no-throttle] [--json FILE]
//
// Serves the built site (build/web) on a free loopback port the way a static host does
// (gzip when the browser asks for it, an ETag and `cache-control: no-cache`, so a warm load
// revalidates and gets 304s), drives Debian's Chromium through playwright-core (never a
// downloaded browser) and times, from navigation start (performance.now() = 0):
//   wasm   the .wasm file fully received (Resource Timing responseEnd)
//   ready  the module is up and main() has run (window.attnviz.ready becomes true)
//   frame  the first frame is drawn (the first requestAnimationFrame callback after which
//          window.attnviz.frame() >= 1)
// over N loads each of: cold (a new browser context per load: empty HTTP cache), warm (one
// context, primed once, a new tab per load), for the SIMD build and for ?nosimd, then the
// same on an emulated classroom wifi (CDP Network.emulateNetworkConditions: 10 Mbit/s down,
// 5 up, 40 ms latency). The ready and frame marks are taken by an init script that watches
// the page's own hook; the shipped page is unchanged. Also: every request the page made
// (from Playwright's request events, not a guessed list), the gzip -9 size of each file
// loaded at startup against the 1.5 MB budget, and the CJK font that loads on demand (timed
// from importing a Chinese sentence to its glyphs being in the atlas).
// Timings in headless Chromium with SwiftShader on a shared machine are noisy: compare
// medians of one run, and run twice to see the spread.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM_FLAGS = [
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox', '--disable-gpu',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic',
];
const WIFI = { offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 5e6 / 8 };
const BUDGET = 1.5e6;  // bytes, gzipped, for everything the page loads at startup
const CJK_SENTENCE = '注意力机制是一种加权机制';
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.ttf': 'font/ttf', '.data': 'application/octet-stream', '.json': 'application/json',
};

function parseArgs(argv) {
  const opts = { web: path.join(ROOT, 'build/web'), runs: 7, throttle: true, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-throttle') opts.throttle = false;
    else if (a === '--web') opts.web = path.resolve(argv[++i]);
    else if (a === '--runs') opts.runs = Number(argv[++i]);
    else if (a === '--json') opts.json = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${a} (use --web DIR --runs N --no-throttle --json FILE)`);
  }
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error('--runs must be a positive integer');
  return opts;
}

// gzip -9 of every file of the site, kept in memory: what the server sends and what is counted.
function readSite(web) {
  const files = new Map();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) { walk(full); continue; }
      const raw = fs.readFileSync(full);
      const gz = execFileSync('gzip', ['-9', '-n', '-c'], { input: raw, maxBuffer: 1 << 30 });
      const rel = '/' + path.relative(web, full).split(path.sep).join('/');
      const etag = '"' + crypto.createHash('sha1').update(raw).digest('hex').slice(0, 16) + '"';
      files.set(rel, { raw, gz, etag, type: MIME[path.extname(full)] || 'application/octet-stream' });
    }
  };
  walk(web);
  return files;
}

// A static host in miniature: gzip when accepted, ETag revalidation, a log of what was sent.
function startServer(files) {
  const log = [];
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, 'http://localhost').pathname;
    const f = files.get(pathname.endsWith('/') ? pathname + 'index.html' : pathname);
    if (!f) {
      log.push({ path: pathname, status: 404, bytes: 0 });
      res.writeHead(404).end();
      return;
    }
    const headers = { 'content-type': f.type, etag: f.etag, 'cache-control': 'no-cache', vary: 'accept-encoding' };
    if (req.headers['if-none-match'] === f.etag) {
      log.push({ path: pathname, status: 304, bytes: 0 });
      res.writeHead(304, headers).end();
      return;
    }
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
    const body = gzip ? f.gz : f.raw;
    if (gzip) headers['content-encoding'] = 'gzip';
    headers['content-length'] = body.length;
    log.push({ path: pathname, status: 200, bytes: body.length });
    res.writeHead(200, headers).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ url: `http://127.0.0.1:${server.address().port}/`, log, close: () => new Promise((r) => server.close(r)) })));
}

// Runs in the page before its own scripts: notes when attnviz.ready turns true and when the
// first frame has been drawn, without touching the page's files.
function marksInitScript() {
  const marks = (window.__loadMarks = { ready: null, frame: null });
  let hook;
  Object.defineProperty(window, 'attnviz', {
    configurable: true,
    enumerable: true,
    get() { return hook; },
    set(obj) {
      let ready = obj.ready;
      Object.defineProperty(obj, 'ready', {
        configurable: true,
        enumerable: true,
        get() { return ready; },
        set(v) { if (v && marks.ready === null) marks.ready = performance.now(); ready = v; },
      });
      hook = obj;
    },
  });
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => raf((t) => {
    try {
      cb(t);
    } finally {
      if (marks.frame === null && hook && hook.frame() >= 1) marks.frame = performance.now();
    }
  });
}

async function openTab(context, throttle) {
  const page = await context.newPage();
  await page.addInitScript(marksInitScript);
  if (throttle) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', WIFI);
  }
  const requests = [];
  page.on('request', (r) => requests.push({ path: new URL(r.url()).pathname, type: r.resourceType() }));
  return { page, requests };
}

// One page load, timed; the tab stays open for the caller.
async function timedLoad(context, url, throttle) {
  const { page, requests } = await openTab(context, throttle);
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.__loadMarks.frame !== null || (window.attnviz && window.attnviz.error), null, { timeout: 120000, polling: 10 });
  const m = await page.evaluate(() => {
    const wasm = performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'));
    return { ...window.__loadMarks, error: window.attnviz.error, build: window.attnviz.build, wasm: wasm ? wasm.responseEnd : null };
  });
  if (m.error) throw new Error(`the page failed to load: ${m.error}`);
  // The trained model, fetched after the first frame: its first predictions on screen (the page
  // opens on it unless ?lab), and when its request started, to show it is not part of startup.
  if (!/[?&]lab\b/.test(url)) {
    await page.waitForFunction(() => { const s = window.attnviz.getState().model; return s.T > 0 || s.load_error; }, null, { timeout: 300000, polling: 10 });
    Object.assign(m, await page.evaluate(() => {
      const model = performance.getEntriesByType('resource').find((e) => e.name.includes('/models/'));
      return { predictions: performance.now(), modelRequested: model ? model.startTime : null, modelReceived: model ? model.responseEnd : null };
    }));
  }
  await page.waitForLoadState('networkidle');   // the favicon comes after the first frame
  return { page, requests, marks: m };
}

async function measure(browser, site, { query, warm, throttle, runs }) {
  const url = site.url + (query ? '?' + query : '');
  const samples = [];
  let requests = null, served = null, build = null;
  let context = null;
  if (warm) {   // one context: its HTTP cache (and V8's wasm code cache) filled by a first load
    context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const prime = await timedLoad(context, url, throttle);
    await prime.page.waitForTimeout(3000);   // V8 caches a module's code some time after it tiers up
    await prime.page.close();
  }
  for (let i = 0; i < runs; i++) {
    const ctx = warm ? context : await browser.newContext({ viewport: { width: 1280, height: 720 } });
    site.log.length = 0;
    const load = await timedLoad(ctx, url, throttle);
    samples.push(load.marks);
    requests = load.requests;
    served = site.log.slice();
    build = load.marks.build;
    await (warm ? load.page.close() : ctx.close());
  }
  if (context) await context.close();
  return { samples, requests, served, build };
}

// After a cold load: import a Chinese sentence, time until its glyphs are in the atlas.
async function cjkOnDemand(browser, site, throttle) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  try {
    const load = await timedLoad(context, site.url, throttle);
    const before = load.requests.length;
    site.log.length = 0;
    const t0 = await load.page.evaluate((text) => {
      const t = performance.now();
      const err = window.attnviz.importJson(JSON.stringify({ text }));
      if (err) throw new Error(err);
      return t;
    }, CJK_SENTENCE);
    await load.page.waitForFunction((n) => window.attnviz.fonts().cjk_glyphs >= n, new Set(CJK_SENTENCE).size, { timeout: 120000, polling: 10 });
    const t1 = await load.page.evaluate(() => performance.now());
    return { ms: t1 - t0, requests: load.requests.slice(before).map((r) => r.path), served: site.log.slice() };
  } finally {
    await context.close();
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const fmt = (xs) => xs.some((x) => x === null) ? 'n/a' : `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
const kb = (n) => (n / 1024).toFixed(1).padStart(9);
const pad = (s, n) => String(s).padEnd(n);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(opts.web, 'index.html'))) throw new Error(`no index.html in ${opts.web}: build the web app first (cmake/dev.sh build)`);
  const files = readSite(opts.web);
  const site = await startServer(files);
  const browser = await chromium.launch({ executablePath: process.env.ATTNVIZ_CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  const version = browser.version();
  const results = [];
  const cjk = [];
  try {
    const nets = opts.throttle ? [false, true] : [false];
    for (const throttle of nets) {
      for (const query of ['', 'nosimd']) {
        for (const warm of [false, true]) {
          const r = await measure(browser, site, { query, warm, throttle, runs: opts.runs });
          results.push({ network: throttle ? 'wifi 10 Mbit/s, 40 ms' : 'loopback', build: r.build, cache: warm ? 'warm' : 'cold', ...r });
          process.stderr.write(`[load] ${results.at(-1).network} ${r.build} ${warm ? 'warm' : 'cold'}: frame ${fmt(r.samples.map((s) => s.frame))} ms\n`);
        }
      }
      cjk.push({ network: throttle ? 'wifi 10 Mbit/s, 40 ms' : 'loopback', ...(await cjkOnDemand(browser, site, throttle)) });
    }
  } finally {
    await browser.close();
    await site.close();
  }

  const out = [];
  out.push(`Time from navigation start, ms: median (min–max) of ${opts.runs} loads. Chromium ${version}, SwiftShader, gzip + ETag server.`);
  out.push(`${pad('network', 24)}${pad('build', 9)}${pad('cache', 6)}${pad('wasm received', 18)}${pad('ready', 18)}${pad('first frame', 18)}${pad('model requested', 20)}model's predictions`);
  for (const r of results) {
    const col = (k) => fmt(r.samples.map((s) => (s[k] === undefined ? null : s[k])));
    out.push(`${pad(r.network, 24)}${pad(r.build, 9)}${pad(r.cache, 6)}${pad(col('wasm'), 18)}${pad(col('ready'), 18)}${pad(col('frame'), 18)}${pad(col('modelRequested'), 20)}${col('predictions')}`);
  }
  const early = results.flatMap((r) => r.samples).filter((s) => s.modelRequested != null && s.modelRequested < s.frame);
  out.push(early.length ? `the model was requested before the first frame in ${early.length} loads` : 'the model was requested after the first frame in every load');

  // What a cold load of each build requested, and the sizes: the startup set against the budget.
  const startup = new Set();
  out.push('');
  out.push('Requests of one load (Playwright request events, in order), then what the server answered (status, bytes sent):');
  for (const r of results.filter((x) => x.network === 'loopback')) {
    out.push(`  ${r.build} ${r.cache}: ${r.requests.map((q) => `${q.path} (${q.type})`).join(', ')}`);
    out.push(`  ${' '.repeat(r.build.length + r.cache.length + 1)}  server: ${r.served.map((s) => `${s.path} ${s.status} ${s.bytes}`).join(', ') || 'nothing'}`);
    if (r.cache === 'cold') for (const q of r.requests) if (!q.path.startsWith('/models/')) startup.add(q.path === '/' ? '/index.html' : q.path);
  }
  // The favicon is asked for again when the app writes its state into the URL hash: only what
  // no startup load requested counts as on demand.
  const onDemand = new Set(cjk.flatMap((c) => c.requests).filter((p) => files.has(p) && !startup.has(p)));
  out.push('');
  for (const c of cjk) {
    const again = c.requests.filter((p) => startup.has(p));
    out.push(`CJK font on demand (${c.network}): ${c.ms.toFixed(0)} ms from importing "${CJK_SENTENCE}" to its glyphs in the atlas; ` +
      `requests: ${c.requests.filter((p) => !startup.has(p)).join(', ') || 'none'}${again.length ? ` (and again: ${again.join(', ')})` : ''}`);
  }
  out.push('');
  out.push(`${pad('file', 30)}${pad('loaded', 22)}${'bytes KiB'.padStart(9)}${'gzip -9 KiB'.padStart(13)}`);
  const totals = {};
  const buildsOf = (p) => results.filter((x) => x.cache === 'cold' && x.network === 'loopback' && x.requests.some((q) => (q.path === '/' ? '/index.html' : q.path) === p)).map((x) => x.build);
  for (const [p, f] of [...files].sort((a, b) => a[0].localeCompare(b[0]))) {
    const builds = buildsOf(p);
    const when = onDemand.has(p) ? 'on demand (CJK text)' : startup.has(p) ? `startup (${builds.length === 2 ? 'both' : builds[0]})`
      : builds.length && p.startsWith('/models/') ? 'after the first frame' : 'never requested';
    out.push(`${pad(p, 30)}${pad(when, 22)}${kb(f.raw.length)}${kb(f.gz.length).padStart(13)}`);
  }
  for (const r of results.filter((x) => x.cache === 'cold' && x.network === 'loopback')) {
    const paths = new Set(r.requests.map((q) => (q.path === '/' ? '/index.html' : q.path)).filter((q) => files.has(q) && !q.startsWith('/models/')));
    const gz = [...paths].reduce((s, p) => s + files.get(p).gz.length, 0);
    const raw = [...paths].reduce((s, p) => s + files.get(p).raw.length, 0);
    totals[r.build] = { raw, gz, files: [...paths] };
    out.push(`startup total, ${pad(r.build, 8)}: ${(gz / 1e6).toFixed(3)} MB gzipped (${(raw / 1e6).toFixed(3)} MB raw), budget ${(BUDGET / 1e6).toFixed(1)} MB: ${gz <= BUDGET ? 'within' : 'OVER'}`);
  }
  const od = [...onDemand].reduce((s, p) => s + files.get(p).gz.length, 0);
  out.push(`on demand: ${(od / 1e6).toFixed(3)} MB gzipped (${[...onDemand].join(', ')})`);
  console.log(out.join('\n'));

  if (opts.json) {
    fs.mkdirSync(path.dirname(opts.json), { recursive: true });
    fs.writeFileSync(opts.json, JSON.stringify({ runs: opts.runs, results, cjk, totals }, null, 1));
  }
}

main().catch((e) => { console.error(`bench/load.mjs: ${e.stack || e.message}`); process.exit(1); });
