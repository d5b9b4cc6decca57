// The Train view's worker: its own instance of the core (attnviz_train.js, a module of the core
// and src/worker/train_worker.cpp), training off the page's thread so its frames keep coming.
// Needs no cross-origin isolation: one thread, no shared memory.
//
// Messages from the page:
//   {cmd: 'start', settings, stop_at, run}   a new session (settings: the core's JSON; run: the page's id); runs until stop_at
//                                       steps (-1: until max_steps), then pauses
//   {cmd: 'pause'} / {cmd: 'resume'}    stop (with a snapshot) / go on stepping
//   every command may carry `seq`: snapshots echo the last one, so the page knows which of its
//   commands a snapshot's "running" already reflects
//   {cmd: 'stop'}                       stop, nothing sent (the page dropped the run)
//   {cmd: 'step'}                       one step, then a snapshot (paused)
//   {cmd: 'save', purpose}              the model as a safetensors file, for 'open' or 'export'
// Messages to the page:
//   {type: 'ready', build} / {type: 'died', message}   (then the worker closes)
//   {type: 'started', run} / {type: 'error', message, run}
//   {type: 'snapshot', json, attention: Float32Array}   json: tw_snapshot's, with "running", "run" and "seq"
//   {type: 'model', purpose, bytes: Uint8Array}
'use strict';

const params = new URLSearchParams(self.location.search);
const build = params.get('build') === 'no-simd' ? 'attnviz_train_nosimd' : 'attnviz_train';
importScripts(build + '.js');

const SLICE_MS = 100;  // steps between snapshots: about ten snapshots a second
let core = null;
let running = false;
let stopAt = -1;  // pause when this many steps are taken (-1: run to max_steps)
let timer = null;
let step = 0;    // steps taken, as the core last said
let run = 0;     // the page's id of the run: every message about it carries it
let seq = 0;     // the page's number of the last command handled

function call(name, str) {
  const size = core.lengthBytesUTF8(str) + 1;
  const ptr = core._malloc(size);
  try {
    core.stringToUTF8(str, ptr, size);
    return core.UTF8ToString(core['_' + name](ptr));
  } finally {
    core._free(ptr);
  }
}

function sendSnapshot() {
  const json = core.UTF8ToString(core._tw_snapshot()).replace(/}$/, ',"running":' + running + ',"run":' + run + ',"seq":' + seq + '}');
  const n = core._tw_attention_size();
  const at = core._tw_attention() >> 2;
  const attention = core.HEAPF32.slice(at, at + n);
  self.postMessage({ type: 'snapshot', json, attention }, [attention.buffer]);
}

// One slice of steps, a snapshot, and the next slice after the page's messages had their turn.
function slice() {
  timer = null;
  if (!running) return;
  if (stopAt >= 0 && step >= stopAt) running = false;
  else {
    const status = JSON.parse(core.UTF8ToString(core._tw_run(SLICE_MS, stopAt >= 0 ? stopAt - step : 0)));
    step = status.step;
    if (status.finished || (stopAt >= 0 && step >= stopAt)) running = false;
  }
  sendSnapshot();
  if (running) timer = setTimeout(slice, 0);
}

const waiting = [];  // commands that came while the core loaded
self.onmessage = (e) => (core ? safely(e.data) : waiting.push(e.data));

// A command that throws (a trap in the core: memory it could not get) leaves the module in no
// state to go on: the worker says it died and closes; the page makes a new one when asked.
function safely(m) {
  try {
    handle(m);
  } catch (e) {
    running = false;
    self.postMessage({ type: 'died', message: 'the training worker stopped (' + (e && e.message ? e.message : e) + ')' });
    self.close();
  }
}

function handle(m) {
  if (typeof m.seq === 'number') seq = m.seq;
  if (m.cmd === 'start') {
    running = false;
    if (timer) clearTimeout(timer);
    run = m.run || 0;
    const err = call('tw_start', m.settings);
    if (err) {
      self.postMessage({ type: 'error', message: err, run });
      return;
    }
    stopAt = typeof m.stop_at === 'number' ? m.stop_at : -1;
    step = 0;
    self.postMessage({ type: 'started', run });
    running = true;
    sendSnapshot();  // step 0: the untrained heads
    timer = setTimeout(slice, 0);
  } else if (m.cmd === 'pause') {
    running = false;
    if (timer) clearTimeout(timer);
    timer = null;
    sendSnapshot();
  } else if (m.cmd === 'stop') {
    running = false;
    if (timer) clearTimeout(timer);
    timer = null;
  } else if (m.cmd === 'resume') {
    if (!running) {
      stopAt = -1;
      running = true;
      timer = setTimeout(slice, 0);
    }
  } else if (m.cmd === 'step') {
    running = false;
    if (timer) clearTimeout(timer);
    timer = null;
    step = JSON.parse(core.UTF8ToString(core._tw_run(0, 1))).step;
    sendSnapshot();
  } else if (m.cmd === 'save') {
    const n = core._tw_save();
    const at = core._tw_file();
    const bytes = core.HEAPU8.slice(at, at + n);
    self.postMessage({ type: 'model', purpose: m.purpose, bytes }, [bytes.buffer]);
  }
}

createTrainCore().then((instance) => {
  core = instance;
  self.postMessage({ type: 'ready', build });
  waiting.splice(0).forEach(safely);
}, (err) => {
  // nothing can run without the core: the page hears the worker died and makes a new one when asked
  self.postMessage({ type: 'died', message: 'the training core could not load (' + err + ')' });
  self.close();
});
