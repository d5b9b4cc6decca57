// Loads the Emscripten module (attnviz_app.js) and exposes window.attnviz, the page's
// test and automation hook. Every number the hook returns comes from the wasm core.
//   ready, error        loaded?  / why the page could not start
//   frame()             frames drawn so far
//   getState()          {config, ui, compare, text, tokens, error, layout, …}
//   setState(state)     the same shape back (config + ui + compare); returns '' or the message
//   trace()             the current trace (the engine's Trace JSON)
//   matrix(name, head, first_row, row_count)
//                       one matrix of the current trace, {name, head, rows, cols, first_row, values}
//                       (values: the rows asked for, every row by default), or null
//   compute(config)     a trace for any config through the same core, or {error}
//   importJson(text)    a trace or config JSON, as the file picker and drag-and-drop do
//   frameStats(count)   the last frames' timings, {work_ms: [...], interval_ms: [...]}, oldest first
'use strict';
(function () {
  const loader = document.getElementById('loader');
  const fill = document.getElementById('loader-fill');
  const text = document.getElementById('loader-text');
  const canvas = document.getElementById('canvas');
  const MAX_IMPORT_BYTES = 64 * 1024 * 1024;
  const MAX_MODEL_BYTES = 256 * 1024 * 1024;

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
        callWithString(M, 'attnviz_notify', 'import: ' + file.name + ' is larger than 64 MiB; attnviz imports traces and configs up to 64 MiB');
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
      if (!e.dataTransfer.files.length) return;
      const files = [...e.dataTransfer.files];
      if (files.some((f) => /\.safetensors$/i.test(f.name))) window.attnviz._loadModelFiles(files);  // a model (setupModel)
      else if (/^image\//.test(files[0].type) || /\.(png|jpe?g|gif|bmp|webp)$/i.test(files[0].name)) window.attnviz._loadImageFile(files[0]);
      else importFile(files[0]);
    });
  }

  // Text goes through a hidden text field while ImGui edits text, so that IME composition
  // (Chinese, Japanese, Korean), paste and on-screen keyboards work on a canvas app. Its
  // keypress events stop here: SDL would otherwise type the same character a second time.
  // On a touch screen a tap on one of the app's text fields focuses it inside the touch's own
  // handler, since browsers open the on-screen keyboard only for a focus a user gesture makes.
  // The field always holds one space: an on-screen keyboard's Backspace then has something to
  // delete, and the deletion (it sends no usable key code) becomes a Backspace for the app.
  function setupTextField(M) {
    const KEEP = ' ';
    const field = document.createElement('textarea');
    field.id = 'text-input';
    field.setAttribute('autocomplete', 'off');
    field.setAttribute('autocapitalize', 'off');
    field.setAttribute('autocorrect', 'off');
    field.setAttribute('spellcheck', 'false');
    field.setAttribute('enterkeyhint', 'done');
    field.setAttribute('aria-label', 'text input for the focused attnviz field');
    document.body.appendChild(field);
    const reset = () => { field.value = KEEP; field.setSelectionRange(KEEP.length, KEEP.length); };
    reset();
    let composing = false;
    const send = (t) => { if (t) callWithString(M, 'attnviz_text_input', t); };
    const key = (k) => callWithString(M, 'attnviz_key_tap', k);
    field.addEventListener('keypress', (e) => e.stopPropagation());
    // A real Enter key reaches the app through SDL; the field must not also insert a line break.
    field.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.isComposing) e.preventDefault(); });
    field.addEventListener('compositionstart', () => { composing = true; });
    field.addEventListener('compositionend', (e) => { composing = false; send(e.data); reset(); });
    field.addEventListener('input', (e) => {
      if (composing || e.isComposing) return;
      if (e.inputType === 'insertText' || e.inputType === 'insertReplacementText') send(e.data);
      else if (e.inputType === 'insertFromPaste' || e.inputType === 'insertFromDrop') send(field.value.slice(KEEP.length).replace(/[\r\n]+/g, ' '));
      else if (e.inputType === 'deleteContentBackward') key('Backspace');
      else if (e.inputType === 'insertLineBreak') key('Enter');
      reset();
    });
    field.addEventListener('focus', reset);
    window.attnviz._textFocus = (want) => {
      if (want && document.activeElement !== field) field.focus({ preventScroll: true });
      else if (!want && document.activeElement === field) canvas.focus({ preventScroll: true });
    };
    window.attnviz._textCaret = (x, y) => {
      field.style.left = Math.max(0, x) + 'px';
      field.style.top = Math.max(0, y) + 'px';
    };
    let tapStart = null;
    canvas.addEventListener('touchstart', (e) => {
      const t = e.changedTouches[0];
      tapStart = e.touches.length === 1 ? { x: t.clientX, y: t.clientY } : null;
    }, { passive: true });
    canvas.addEventListener('touchend', (e) => {
      const t = e.changedTouches[0];
      if (!tapStart || e.touches.length !== 0 || Math.hypot(t.clientX - tapStart.x, t.clientY - tapStart.y) > 10) return;
      const r = canvas.getBoundingClientRect();
      if (M._attnviz_text_field_at(t.clientX - r.left, t.clientY - r.top)) field.focus({ preventScroll: true });
    }, { passive: true });
  }

  // The part of the canvas an on-screen keyboard covers without resizing the page (iOS): the
  // app keeps its panels and the field being typed in above it.
  function setupKeyboardInset(M) {
    const vv = window.visualViewport;
    if (!vv) return;
    const report = () => {
      const covered = vv.scale > 0.99 ? canvas.clientHeight - (vv.offsetTop + vv.height) : 0;
      M._attnviz_set_keyboard_inset(Math.max(0, Math.round(covered)));
    };
    vv.addEventListener('resize', report);
    vv.addEventListener('scroll', report);
    report();
  }

  // The CJK font is fetched only when Chinese, Japanese or Korean text first appears.
  function setupCjkFont(M) {
    window.attnviz._fetchCjkFont = () => {
      fetch('fonts/cjk.ttf')
        .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error('HTTP ' + r.status))))
        .then((buf) => {
          const bytes = new Uint8Array(buf);
          const ptr = M._malloc(bytes.length);
          M.HEAPU8.set(bytes, ptr);
          M._attnviz_cjk_font_loaded(ptr, bytes.length);
          M._free(ptr);
        })
        .catch((e) => callWithString(M, 'attnviz_notify', 'Chinese/Japanese/Korean font could not load (' + e.message + ')'));
    };
  }

  // Model bytes into the heap, then the core's loader; its message (or "") comes back.
  // `vocab` is a vocab.json's text for a nanoGPT-shaped file ('' when none).
  function loadModelBytes(M, bytes, name, shipped, vocab = '') {
    const heapString = (str) => {
      const size = M.lengthBytesUTF8(str) + 1, ptr = M._malloc(size);
      M.stringToUTF8(str, ptr, size);
      return ptr;
    };
    const ptr = M._malloc(Math.max(bytes.length, 1)), namePtr = heapString(name), vocabPtr = heapString(vocab);
    try {
      M.HEAPU8.set(bytes, ptr);
      return M.UTF8ToString(M._attnviz_model_loaded(ptr, bytes.length, namePtr, shipped ? 1 : 0, vocabPtr));
    } finally {
      M._free(ptr);
      M._free(namePtr);
      M._free(vocabPtr);
    }
  }

  // The shipped model is fetched after the first frame, when the app asks: its progress goes to
  // the app's progress bar. A user's model file (picked or dropped) is read locally, never sent.
  function setupModel(M) {
    window.attnviz._fetchModel = async (url) => {
      try {
        const r = await fetch(url);
        if (!r.ok) throw new Error('HTTP ' + r.status);
        // Content-Length counts the bytes on the wire: the file's own size only when not compressed
        const total = r.headers.get('Content-Encoding') ? 0 : Number(r.headers.get('Content-Length') || 0);
        const parts = [];
        let received = 0;
        const reader = r.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          received += value.length;
          M._attnviz_model_progress(received, total);
        }
        const bytes = new Uint8Array(received);
        let at = 0;
        for (const p of parts) { bytes.set(p, at); at += p.length; }
        const name = url.replace(/^.*\//, '').replace(/\.safetensors$/, '');
        loadModelBytes(M, bytes, name, true);
      } catch (e) {
        callWithString(M, 'attnviz_model_failed', 'The trained model could not load (' + e.message + '); the one-layer lab still works.');
      }
    };
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.safetensors,.json';
    input.multiple = true;  // a nanoGPT-shaped file with its vocab.json
    input.style.display = 'none';
    document.body.appendChild(input);
    input.addEventListener('change', () => {
      if (input.files.length) window.attnviz._loadModelFiles([...input.files]);
      input.value = '';
    });
    window.attnviz._openModelFile = () => input.click();
    // A .safetensors file, and the .json beside it if one was given (its vocabulary).
    window.attnviz._loadModelFiles = async (files) => {
      const model = files.find((f) => /\.safetensors$/i.test(f.name));
      const vocab = files.find((f) => /\.json$/i.test(f.name));
      if (!model) {
        callWithString(M, 'attnviz_notify', 'Open a .safetensors model file (and its vocab.json, for a nanoGPT-shaped model)');
        return;
      }
      if (model.size > MAX_MODEL_BYTES || (vocab && vocab.size > MAX_IMPORT_BYTES)) {
        callWithString(M, 'attnviz_notify', model.name + ': larger than 256 MiB; attnviz opens character models up to 256 MiB');
        return;
      }
      const bytes = new Uint8Array(await model.arrayBuffer());
      const err = loadModelBytes(M, bytes, model.name, false, vocab ? await vocab.text() : '');
      if (err) callWithString(M, 'attnviz_notify', err);
    };
  }

  // The Images view's files: a dataset's Vision Transformer and its gallery, fetched the first
  // time the view shows that dataset (never at start-up). An image file dropped on the page is
  // decoded by the browser into gray values (ink bright: a picture with a light background is
  // inverted, as the datasets store white ink on black) and handed to the app, which checks its size.
  function setupImages(M) {
    const heapString = (str) => {
      const size = M.lengthBytesUTF8(str) + 1, ptr = M._malloc(size);
      M.stringToUTF8(str, ptr, size);
      return ptr;
    };
    const withString = (str, f) => {
      const ptr = heapString(str);
      try { return f(ptr); } finally { M._free(ptr); }
    };
    window.attnviz._fetchImageModel = async (dataset) => {
      const fail = (msg) => withString(dataset, (d) => withString(msg, (m) => M._attnviz_image_failed(d, m)));
      try {
        const [model, gallery] = await Promise.all(['.safetensors', '.gallery.json'].map(async (ext) => {
          const r = await fetch('models/vit_' + dataset + ext);
          if (!r.ok) throw new Error('models/vit_' + dataset + ext + ': HTTP ' + r.status);
          return ext === '.safetensors' ? new Uint8Array(await r.arrayBuffer()) : r.text();
        }));
        const ptr = M._malloc(Math.max(model.length, 1));
        let err;
        try {
          M.HEAPU8.set(model, ptr);
          err = withString(dataset, (d) => M.UTF8ToString(M._attnviz_image_model_loaded(d, ptr, model.length)));
        } finally {
          M._free(ptr);
        }
        if (!err) err = withString(dataset, (d) => withString(gallery, (g) => M.UTF8ToString(M._attnviz_image_gallery_loaded(d, g))));
        if (err) fail('The ' + dataset + ' model could not load: ' + err);
      } catch (e) {
        fail('The ' + dataset + ' model could not be fetched (' + e.message + '); the other views still work.');
      }
    };
    window.attnviz._loadImageFile = async (file) => {
      let bitmap;
      try {
        bitmap = await createImageBitmap(file);
      } catch {
        callWithString(M, 'attnviz_notify', file.name + ': not an image the browser can read (PNG, JPEG, GIF, BMP or WebP)');
        return;
      }
      const c = document.createElement('canvas');
      c.width = bitmap.width;
      c.height = bitmap.height;
      const g = c.getContext('2d');
      g.drawImage(bitmap, 0, 0);
      const rgba = g.getImageData(0, 0, c.width, c.height).data;
      const n = c.width * c.height, gray = new Float32Array(n);
      let mean = 0;
      for (let i = 0; i < n; ++i) {
        gray[i] = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255 * (rgba[4 * i + 3] / 255);
        mean += gray[i] / n;
      }
      if (mean > 0.5) for (let i = 0; i < n; ++i) gray[i] = 1 - gray[i];
      const ptr = M._malloc(Math.max(n, 1) * 4);
      try {
        M.HEAPF32.set(gray, ptr >> 2);
        const err = M.UTF8ToString(M._attnviz_image_dropped(c.width, c.height, ptr));
        if (err) callWithString(M, 'attnviz_notify', err);
      } finally {
        M._free(ptr);
      }
    };
    // the test hooks: the image's trace (model trace JSON) and the training pass on any pixels
    window.attnviz.imageTrace = () => JSON.parse(M.UTF8ToString(M._attnviz_image_trace_json()));
    window.attnviz.classifyImage = (pixels) => {
      const ptr = M._malloc(Math.max(pixels.length, 1) * 4);
      try {
        M.HEAPF32.set(Float32Array.from(pixels), ptr >> 2);
        return JSON.parse(M.UTF8ToString(M._attnviz_image_classify(ptr, pixels.length)));
      } finally {
        M._free(ptr);
      }
    };
  }

  // The Train view's worker (train_worker.js, its own instance of the core), made when the app
  // first sends it a command; its snapshots go into the app's heap, its events as JSON. A worker
  // that dies (an error it did not catch, memory it could not get) is reported, and the next
  // command makes a new one. `_trainKill` ends it as a crash would (for the tests).
  function setupTrainer(M) {
    let worker = null;
    const event = (obj) => callWithString(M, 'attnviz_train_event', JSON.stringify(obj));
    const toHeap = (bytes) => {
      const ptr = M._malloc(Math.max(bytes.byteLength, 1));
      M.HEAPU8.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), ptr);
      return ptr;
    };
    const spawn = () => {
      worker = new Worker('train_worker.js?build=' + window.attnviz.build);
      worker.onmessage = (e) => {
        const m = e.data;
        if (m.type === 'snapshot') {
          const size = M.lengthBytesUTF8(m.json) + 1, json = M._malloc(size);
          M.stringToUTF8(m.json, json, size);
          const attention = toHeap(m.attention);
          try {
            M._attnviz_train_snapshot(json, attention, m.attention.length);
          } finally {
            M._free(json);
            M._free(attention);
          }
        } else if (m.type === 'model') {
          const size = M.lengthBytesUTF8(m.purpose) + 1, purpose = M._malloc(size);
          M.stringToUTF8(m.purpose, purpose, size);
          const bytes = toHeap(m.bytes);
          try {
            M._attnviz_train_file(bytes, m.bytes.length, purpose);
          } finally {
            M._free(bytes);
            M._free(purpose);
          }
        } else {
          if (m.type === 'died') {
            worker.terminate();
            worker = null;
          }
          event(m);
        }
      };
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        worker = null;
        event({ type: 'died', message: 'the training worker stopped (' + (e.message || 'an error') + ')' });
      };
    };
    window.attnviz._trainPost = (json) => {
      if (!worker) spawn();
      worker.postMessage(JSON.parse(json));
    };
    window.attnviz._trainKill = () => {
      if (!worker) return;
      worker.terminate();
      worker = null;
      event({ type: 'died', message: 'the training worker was stopped' });
    };
  }

  // preventDefault() on loss asks the browser to restore the context; the app then rebuilds
  // its GL objects (main.cpp notices the restored context) without a reload.
  // A long press shows what hover shows (touch.cpp), not the browser's context menu.
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());

  canvas.addEventListener('webglcontextlost', (e) => { e.preventDefault(); window.attnviz.contextLosses = (window.attnviz.contextLosses || 0) + 1; }, false);

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
      hook.matrix = (name, head = 0, first_row = 0, row_count = -1) =>
        JSON.parse(callWithString(M, 'attnviz_matrix_json', JSON.stringify({ name, head, first_row, row_count })));
      hook.compute = (config) => JSON.parse(callWithString(M, 'attnviz_compute', typeof config === 'string' ? config : JSON.stringify(config)));
      hook.importJson = (t) => callWithString(M, 'attnviz_import_json', t);
      hook.downloads = [];
      hook._onDownload = (name, bytes) => hook.downloads.push({ name, size: bytes.length, text: name.endsWith('.png') ? null : new TextDecoder().decode(bytes) });
      hook.fonts = () => JSON.parse(M.UTF8ToString(M._attnviz_fonts_json()));
      hook.frameStats = (count = 600) => JSON.parse(M.UTF8ToString(M._attnviz_frame_stats_json(count)));
      setupImport(M);
      setupTextField(M);
      setupKeyboardInset(M);
      setupCjkFont(M);
      setupModel(M);
      setupImages(M);
      setupTrainer(M);

    },
    // main() has run: the app's state exists, so the link's state can be applied.
    postRun: function () {
      const M = window.Module;
      const hook = window.attnviz;
      const fromHash = readHashState();
      if (fromHash && fromHash.error) hook.linkError = fromHash.error;
      else if (fromHash) {
        const err = hook.setState(fromHash);
        if (err) hook.linkError = 'This link could not be opened: ' + err;
      }
      if (hook.buildNotice) callWithString(M, 'attnviz_notify', hook.buildNotice);
      if (hook.linkError) callWithString(M, 'attnviz_notify', hook.linkError);  // the default view stays
      fill.style.width = '100%';
      loader.classList.add('hidden');
      canvas.focus();
      hook.ready = true;
    },
  };

  // WebAssembly SIMD128 or not: a tiny module using i8x16.splat/popcnt validates only where
  // SIMD is supported. Without it (or with ?nosimd in the address) the scalar build loads.
  const simdModule = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  const forcedScalar = new URLSearchParams(location.search).has('nosimd');
  const simd = !forcedScalar && WebAssembly.validate(simdModule);
  window.attnviz.build = simd ? 'simd128' : 'no-simd';
  if (!simd) {
    window.attnviz.buildNotice = forcedScalar
      ? 'Running the scalar build (asked for with ?nosimd): same numbers, slower kernels.'
      : 'This browser has no WebAssembly SIMD: running the scalar build (same numbers, slower kernels).';
  }
  const script = document.createElement('script');
  script.src = simd ? 'attnviz_app.js' : 'attnviz_app_nosimd.js';
  script.onerror = () => fail('Could not load ' + script.src + '.');
  document.body.appendChild(script);
})();
