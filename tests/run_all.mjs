// Runs every attnviz test suite and prints one closing line "N passed, N failed".
//   native Catch2 (ctest in build/native: core tests, CLI, fuzz corpus replays), the same under
//   ASan + UBSan (ctest in build/native-asan), wasm Catch2 under node (ctest in build/wasm),
//   browser end-to-end tests (node --test tests/e2e, headless Chromium).
// Exits non-zero when any test fails or a suite runs no test at all.
import { spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const BUILD = path.resolve(args[args.indexOf('--build') + 1] || path.join(ROOT, 'build'));
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;

function run(cmd, argv, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code, out }));
    child.on('error', (e) => resolve({ code: 127, out: String(e) }));
  });
}

async function ctestSuite(name, dir) {
  if (!fs.existsSync(path.join(dir, 'CTestTestfile.cmake'))) return { name, passed: 0, failed: 1, note: `no CTest tree in ${dir}` };
  const { code, out } = await run('ctest', ['--output-on-failure', '-j2', '--timeout', '600'], { cwd: dir });
  const m = /(\d+)% tests passed, (\d+) tests? failed out of (\d+)/.exec(out);
  if (!m) return { name, passed: 0, failed: 1, note: `ctest printed no summary (exit ${code})` };
  const failed = Number(m[2]), total = Number(m[3]);
  return { name, passed: total - failed, failed, note: code === 0 ? '' : `ctest exit ${code}` };
}

async function e2eSuite() {
  const dir = path.join(ROOT, 'tests/e2e');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).map((f) => path.join(dir, f));
  const { code, out } = await run(process.execPath, ['--test', '--test-reporter=tap', ...files],
                                  { cwd: ROOT, env: { ...process.env, ATTNVIZ_BUILD_DIR: BUILD } });
  const pass = /^# pass (\d+)/m.exec(out), fail = /^# fail (\d+)/m.exec(out);
  if (!pass || !fail) return { name: 'browser e2e', passed: 0, failed: 1, note: `node --test printed no summary (exit ${code})` };
  return { name: 'browser e2e', passed: Number(pass[1]), failed: Number(fail[1]), note: code === 0 ? '' : `exit ${code}` };
}

const suites = [
  ['native', () => ctestSuite('native Catch2', path.join(BUILD, 'native'))],
  ['asan', () => ctestSuite('native ASan+UBSan', path.join(BUILD, 'native-asan'))],
  ['wasm', () => ctestSuite('wasm Catch2 (node)', path.join(BUILD, 'wasm'))],
  ['e2e', e2eSuite],
];

const results = [];
for (const [key, runSuite] of suites) {
  if (only && !only.includes(key)) continue;
  const t0 = Date.now();
  const r = await runSuite();
  r.seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.passed + r.failed === 0) { r.failed = 1; r.note = 'ran no test'; }
  results.push(r);
}

console.log('\nattnviz test summary');
for (const r of results) {
  console.log(`  ${r.name.padEnd(22)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(4)} failed  ${r.seconds} s ${r.note || ''}`);
}
const passed = results.reduce((s, r) => s + r.passed, 0);
const failed = results.reduce((s, r) => s + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
