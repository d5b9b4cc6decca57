// Loads the Emscripten module (attnviz_app.js) and exposes window.attnviz, the page's
// test and automation hook. Everything the hook returns comes from the wasm core.
'use strict';
(function () {
  const loader = document.getElementById('loader');
  const fill = document.getElementById('loader-fill');
  const text = document.getElementById('loader-text');
  const canvas = document.getElementById('canvas');

  function fail(message) {
    loader.classList.remove('hidden');
    loader.classList.add('error');
    text.textContent = message;
    window.attnviz.error = message;
  }

  // The hook exists from the start so tests can poll `ready` without racing the load.
  window.attnviz = {
    ready: false,
    error: null,
    frame: () => 0,
    getState: () => null,
  };

  if (typeof WebAssembly !== 'object') {
    fail('This browser has no WebAssembly support, which attnviz needs.');
    return;
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
      const stateJson = M.cwrap('attnviz_state_json', 'string', []);
      const frameCount = M.cwrap('attnviz_frame_count', 'number', []);
      window.attnviz.frame = () => frameCount();
      window.attnviz.getState = () => JSON.parse(stateJson());
      fill.style.width = '100%';
      loader.classList.add('hidden');
      canvas.focus();
      window.attnviz.ready = true;
    },
  };

  const script = document.createElement('script');
  script.src = 'attnviz_app.js';
  script.onerror = () => fail('Could not load attnviz_app.js.');
  document.body.appendChild(script);
})();
