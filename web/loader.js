// Loads the Emscripten module (attnviz_app.js) and exposes window.attnviz, the page's
// test and automation hook. Every number the hook returns comes from the wasm core.
//   ready, error        loaded?  / why the page could not start
//   frame()             frames drawn so far
//   getState()          {config, ui, compare, text, tokens, error, layout, …}
//   setState(state)     the same shape back (config + ui + compare); returns '' or the message
//   trace()             the current trace (the engine's Trace JSON)
//   compute(config)     a trace for any config through the same core, or {error}
//   importJson(text)    a trace or config JSON, as the file picker and drag-and-drop do
'use strict';
(function () {
  const loader = document.getElementById('loader');
  const fill = document.getElementById('loader-fill');
  const text = document.getElementById('loader-text');
  const canvas = document.getElementById('canvas');
  const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

  function fail(message) {
    loader.classList.remove('hidden');
    loader.classList.add('error');
    text.textContent = message;
    window.attnviz.error = message;
  }

  // The hook exists from the start so tests can poll `ready` without racing the load.
  window.attnviz = { ready: false, error: null, frame: () => 0 };

  if (typeof WebAssembly !== 'object') {
    fail('This browser has no WebAssembly support, which attnviz needs.');
    return;
  }

  // Calls an exported C function with one UTF-8 string argument, on the heap (not the
  // stack), so that large JSON documents fit; returns the C function's string result.
  function callWithString(M, name, str) {
    const size = M.lengthBytesUTF8(str) + 1;
    const ptr = M._malloc(size);
    try {
      M.stringToUTF8(str, ptr, size);
      return M.UTF8ToString(M['_' + name](ptr));
    } finally {
      M._free(ptr);
    }
  }

  function readHashState() {
    const m = /^#state=(.*)$/s.exec(location.hash);
    if (!m) return null;
    try {
      return decodeURIComponent(m[1]);
    } catch {
      return { error: 'The link is damaged (bad %-encoding); showing the default view.' };
    }
  }

  function setupImport(M) {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.json,application/json';
    input.style.display = 'none';
    document.body.appendChild(input);
    const importFile = (file) => {
      if (file.size > MAX_IMPORT_BYTES) {
        window.attnviz.importJson('{"too_large": true}');
        return;
      }
      file.text().then((t) => window.attnviz.importJson(t));
    };
    input.addEventListener('change', () => {
      if (input.files.length) importFile(input.files[0]);
      input.value = '';
    });
    window.attnviz._openImport = () => input.click();
    canvas.addEventListener('dragover', (e) => e.preventDefault());
    canvas.addEventListener('drop', (e) => {
      e.preventDefault();
      if (e.dataTransfer.files.length) importFile(e.dataTransfer.files[0]);
    });
  }

  canvas.addEventListener('webglcontextlost', (e) => e.preventDefault(), false);

  window.Module = {
    canvas: canvas,
    print: (s) => console.log(s),
    printErr: (s) => console.warn(s),
    setStatus: (s) => {
      // Emscripten reports "Downloading data... (x/y)" while fetching.
      const m = /\((\d+(?:\.\d+)?)\/(\d+)\)/.exec(s || '');
      if (m) fill.style.width = (100 * Number(m[1]) / Number(m[2])).toFixed(0) + '%';
    },
    onAbort: (what) => fail('attnviz stopped: ' + what + '. Reload the page to start again.'),
    onRuntimeInitialized: function () {
      const M = window.Module;
      const hook = window.attnviz;
      hook.frame = () => M._attnviz_frame_count();
      hook.getState = () => JSON.parse(M.UTF8ToString(M._attnviz_state_json()));
      hook.setState = (state) => callWithString(M, 'attnviz_set_state', typeof state === 'string' ? state : JSON.stringify(state));
      hook.trace = () => JSON.parse(M.UTF8ToString(M._attnviz_trace_json()));
      hook.compute = (config) => JSON.parse(callWithString(M, 'attnviz_compute', typeof config === 'string' ? config : JSON.stringify(config)));
      hook.importJson = (t) => callWithString(M, 'attnviz_import_json', t);
      hook.downloads = [];
      hook._onDownload = (name, bytes) => hook.downloads.push({ name, size: bytes.length, text: name.endsWith('.png') ? null : new TextDecoder().decode(bytes) });
      setupImport(M);

      const fromHash = readHashState();
      if (fromHash && fromHash.error) hook.linkError = fromHash.error;
      else if (fromHash) {
        const err = hook.setState(fromHash);
        if (err) hook.linkError = 'This link could not be opened: ' + err;
      }
      if (hook.linkError) callWithString(M, 'attnviz_notify', hook.linkError);  // the default view stays
      fill.style.width = '100%';
      loader.classList.add('hidden');
      canvas.focus();
      hook.ready = true;
    },
  };

  const script = document.createElement('script');
  script.src = 'attnviz_app.js';
  script.onerror = () => fail('Could not load attnviz_app.js.');
  document.body.appendChild(script);
})();
