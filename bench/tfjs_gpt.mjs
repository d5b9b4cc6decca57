// tfjs_gpt.mjs — the tfjs peer of attnviz's trainer benchmark (bench/model_run.mjs): a
// nanoGPT-shaped model written with tfjs-core ops and trained by tfjs's own autodiff
// (tf.variableGrads) and Adam, on whichever backend is active (model_run.mjs: wasm, one thread).
//
// The model is nanoGPT's (as bench/train_torch.py and attnviz's): wte + learned wpe; pre-LayerNorm
// blocks of causal multi-head self-attention (q·kᵀ/√hs, a -1e9 mask above the diagonal, softmax,
// ·v) and an MLP C -> 4C, GELU (erf form) -> C; final LayerNorm; logits = ln_f(x)·wteᵀ (tied).
// With shape.mlp === false the blocks are attention-only, as attnviz's ModelConfig::mlp = false:
// x += attn(ln_1(x)) alone, no ln_2 or MLP parameters.
// Linear weights are stored (in, out), as tf.layers.dense keeps its kernel, so every forward
// product is a plain x·W. The embedding is tf.gather with a custom gradient (tf.scatterND,
// which sums the rows of repeated tokens): the wasm backend has no UnsortedSegmentSum, gather's
// registered gradient. One step: loss, gradients, global-norm clipping to 1.0 (as attnviz and
// torch), Adam (β 0.9 / 0.99, ε 1e-8; tfjs has no AdamW, so no weight decay).
//
//   import './tfjs_gradients.mjs' first: tfjs-core alone computes no gradient.

export function tfjsGpt(tf, shape, seed = 1337) {
  const { n_layer: L, n_head: H, n_embd: C, block_size: T, vocab_size: V, batch: B, mlp = true } = shape;
  const hs = C / H, BT = B * T;
  let s = seed;
  const normal = (dims, std) => tf.variable(tf.randomNormal(dims, 0, std, 'float32', s++));
  const filled = (dims, value) => tf.variable(tf.fill(dims, value));
  const residualStd = 0.02 / Math.sqrt(2 * L);
  const p = {
    wte: normal([V, C], 0.02),   // (V, C)
    wpe: normal([T, C], 0.02),   // (T, C)
    h: Array.from({ length: L }, () => ({
      ln1g: filled([C], 1), ln1b: filled([C], 0),
      attnW: normal([C, 3 * C], 0.02), attnB: filled([3 * C], 0),         // c_attn (C, 3C)
      projW: normal([C, C], residualStd), projB: filled([C], 0),          // attn.c_proj (C, C)
      ...(mlp && {
        ln2g: filled([C], 1), ln2b: filled([C], 0),
        fcW: normal([C, 4 * C], 0.02), fcB: filled([4 * C], 0),             // mlp.c_fc (C, 4C)
        fcprojW: normal([4 * C, C], residualStd), fcprojB: filled([C], 0),  // mlp.c_proj (4C, C)
      }),
    })),
    lnfg: filled([C], 1), lnfb: filled([C], 0),
  };
  const variables = [p.wte, p.wpe, ...p.h.flatMap((l) => Object.values(l)), p.lnfg, p.lnfb];
  const parameters = variables.reduce((n, v) => n + v.size, 0);

  // 0 on and below the diagonal, -1e9 above: added to the scores, it leaves exp(...) = 0 there
  const maskValues = new Float32Array(T * T);
  for (let i = 0; i < T; ++i) for (let j = i + 1; j < T; ++j) maskValues[i * T + j] = -1e9;
  const mask = tf.tensor2d(maskValues, [T, T]);

  const layerNorm = (x, g, b) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b);
  };
  const gelu = (x) => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
  const heads = (x) => x.reshape([B, T, H, hs]).transpose([0, 2, 1, 3]);  // (BT, C) -> (B, H, T, hs)

  function loss(ids, idsColumn, targetsOneHot) {
    const embed = tf.customGrad((wte) => ({
      value: tf.gather(wte, ids),                                   // (BT, C)
      gradFunc: (dy) => tf.scatterND(idsColumn, dy, [V, C]),       // dwte: rows summed per token
    }));
    let x = embed(p.wte).reshape([B, T, C]).add(p.wpe).reshape([BT, C]);
    for (const l of p.h) {
      // x = x + attn(ln_1(x))
      const qkv = tf.matMul(layerNorm(x, l.ln1g, l.ln1b), l.attnW).add(l.attnB);  // (BT, 3C)
      const [q, k, v] = tf.split(qkv, 3, 1).map(heads);
      const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hs)).add(mask));  // (B, H, T, T)
      const y = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([BT, C]);
      x = x.add(tf.matMul(y, l.projW).add(l.projB));
      if (!mlp) continue;
      // x = x + mlp(ln_2(x))
      const hidden = gelu(tf.matMul(layerNorm(x, l.ln2g, l.ln2b), l.fcW).add(l.fcB));  // (BT, 4C)
      x = x.add(tf.matMul(hidden, l.fcprojW).add(l.fcprojB));
    }
    const logits = tf.matMul(layerNorm(x, p.lnfg, p.lnfb), p.wte, false, true);  // (BT, V)
    return tf.losses.softmaxCrossEntropy(targetsOneHot, logits);                 // mean over BT
  }

  const optimizer = tf.train.adam(1e-4, 0.9, 0.99, 1e-8);
  return {
    parameters,
    // One optimizer step on ids / targets (Int32Array, B·T each); returns the loss before the update.
    step(ids, targets) {
      const value = tf.tidy(() => {
        const idsTensor = tf.tensor1d(ids, 'int32');
        const onehot = tf.oneHot(tf.tensor1d(targets, 'int32'), V).cast('float32');
        const { value, grads } = tf.variableGrads(() => loss(idsTensor, idsTensor.reshape([BT, 1]), onehot), variables);
        // torch.nn.utils.clip_grad_norm_(1.0): scale every gradient by min(1, 1 / (norm + 1e-6))
        const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
        const scale = tf.minimum(1, tf.div(1, norm.add(1e-6)));
        const clipped = {};
        for (const [name, g] of Object.entries(grads)) clipped[name] = g.mul(scale);
        optimizer.applyGradients(clipped);
        return value;
      });
      const lossValue = value.dataSync()[0];
      value.dispose();
      return lossValue;
    },
    dispose() {
      variables.forEach((v) => v.dispose());
      mask.dispose();
      optimizer.dispose();
    },
  };
}
