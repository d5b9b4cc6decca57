// onnx_graph.mjs — the attention forward as an ONNX model, protobuf-encoded by hand (a few
// dozen lines instead of a protobuf dependency). Field numbers are onnx.proto's.
//
//   forwardModel(T, d, H, weights, kind)  X (T, d) -> Y (T, d): projections, attention, Wo
//   attentionModel(T, d, H, kind)         Q, K, V (T, d) -> concat (T, d)
// kind "ops": MatMul / Add / Reshape / Transpose / Softmax (ONNX opset 17), what a web developer
// would write; kind "mha": com.microsoft.MultiHeadAttention for the attention part.

//-----------------------------------------------------------------------------
// Protobuf wire format: varints, length-delimited fields, fixed32 floats
//-----------------------------------------------------------------------------
function varint(n) {
  const out = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;  // int64 two's complement
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}
const concatBytes = (parts) => {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const fieldVarint = (field, n) => Uint8Array.from([...varint(field << 3), ...varint(n)]);
const fieldBytes = (field, bytes) => concatBytes([Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes]);
const fieldString = (field, s) => fieldBytes(field, new TextEncoder().encode(s));
const fieldFloat = (field, x) => {
  const b = new Uint8Array(5);
  b[0] = (field << 3) | 5;
  new DataView(b.buffer).setFloat32(1, x, true);
  return b;
};
const message = (...fields) => concatBytes(fields.flat());

//-----------------------------------------------------------------------------
// ONNX messages
//-----------------------------------------------------------------------------
const FLOAT = 1, INT64 = 7;  // TensorProto.DataType
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7;  // AttributeProto.AttributeType

function attribute(name, value) {
  if (Array.isArray(value)) return message(fieldString(1, name), value.map((v) => fieldVarint(8, v)), fieldVarint(20, ATTR_INTS));
  if (Number.isInteger(value)) return message(fieldString(1, name), fieldVarint(3, value), fieldVarint(20, ATTR_INT));
  return message(fieldString(1, name), fieldFloat(2, value), fieldVarint(20, ATTR_FLOAT));
}

function node(op, inputs, outputs, attributes = {}, domain = '') {
  return message(inputs.map((x) => fieldString(1, x)), outputs.map((x) => fieldString(2, x)), fieldString(3, outputs[0]),
                 fieldString(4, op), Object.entries(attributes).map(([k, v]) => fieldBytes(5, attribute(k, v))),
                 domain ? [fieldString(7, domain)] : []);
}

function tensor(name, dims, values, type = FLOAT) {
  const raw = type === FLOAT ? new Uint8Array(Float32Array.from(values).buffer)
                             : new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
  return message(dims.map((n) => fieldVarint(1, n)), fieldVarint(2, type), fieldString(8, name), fieldBytes(9, raw));
}

function valueInfo(name, dims) {
  const shape = message(dims.map((n) => fieldBytes(1, fieldVarint(1, n))));
  const tensorType = message(fieldVarint(1, FLOAT), fieldBytes(2, shape));
  return message(fieldString(1, name), fieldBytes(2, message(fieldBytes(1, tensorType))));
}

function model(nodes, initializers, inputs, outputs) {
  const graph = message(nodes.map((n) => fieldBytes(1, n)), fieldString(2, 'attention'),
                        initializers.map((t) => fieldBytes(5, t)), inputs.map((v) => fieldBytes(11, v)),
                        outputs.map((v) => fieldBytes(12, v)));
  const opset = (domain, version) => fieldBytes(8, message(fieldString(1, domain), fieldVarint(2, version)));
  return message(fieldVarint(1, 8), fieldString(2, 'attnviz-bench'), fieldBytes(7, graph), opset('', 17), opset('com.microsoft', 1));
}

//-----------------------------------------------------------------------------
// The attention graphs
//-----------------------------------------------------------------------------
// Q, K, V (T, d) -> concat (T, d); nodes and initializers appended to the given lists.
function attentionNodes(nodes, inits, T, d, H, kind, [q, k, v], out) {
  const dk = d / H;
  if (kind === 'mha') {  // (1, T, d) in and out
    inits.push(tensor('shape_1td', [3], [1, T, d], INT64), tensor('shape_td', [2], [T, d], INT64));
    for (const x of [q, k, v]) nodes.push(node('Reshape', [x, 'shape_1td'], [`${x}_b`]));
    nodes.push(node('MultiHeadAttention', [`${q}_b`, `${k}_b`, `${v}_b`], ['mha_out'], { num_heads: H }, 'com.microsoft'));
    nodes.push(node('Reshape', ['mha_out', 'shape_td'], [out]));
    return;
  }
  inits.push(tensor('shape_thk', [3], [T, H, dk], INT64), tensor('shape_td', [2], [T, d], INT64),
             tensor('scale', [], [1 / Math.sqrt(dk)]));
  for (const x of [q, k, v]) nodes.push(node('Reshape', [x, 'shape_thk'], [`${x}_thk`]));
  nodes.push(node('Transpose', [`${q}_thk`], ['q_h'], { perm: [1, 0, 2] }));   // (H, T, dk)
  nodes.push(node('Transpose', [`${k}_thk`], ['k_ht'], { perm: [1, 2, 0] }));  // (H, dk, T)
  nodes.push(node('Transpose', [`${v}_thk`], ['v_h'], { perm: [1, 0, 2] }));   // (H, T, dk)
  nodes.push(node('MatMul', ['q_h', 'k_ht'], ['scores']));                      // (H, T, T)
  nodes.push(node('Mul', ['scores', 'scale'], ['scaled']));
  nodes.push(node('Softmax', ['scaled'], ['weights'], { axis: -1 }));
  nodes.push(node('MatMul', ['weights', 'v_h'], ['heads_out']));                // (H, T, dk)
  nodes.push(node('Transpose', ['heads_out'], ['out_thk'], { perm: [1, 0, 2] }));
  nodes.push(node('Reshape', ['out_thk', 'shape_td'], [out]));
}

// weights: { Wq, Wk, Wv, Wo: Float32Array (d·d), bq, bk, bv, bo: Float32Array (d) }
export function forwardModel(T, d, H, w, kind) {
  const nodes = [], inits = [];
  for (const p of ['q', 'k', 'v', 'o']) {
    inits.push(tensor(`W${p}`, [d, d], w[`W${p}`]), tensor(`b${p}`, [d], w[`b${p}`]));
  }
  for (const p of ['q', 'k', 'v']) {
    nodes.push(node('MatMul', ['X', `W${p}`], [`${p}_lin`]));
    nodes.push(node('Add', [`${p}_lin`, `b${p}`], [`${p}_proj`]));
  }
  attentionNodes(nodes, inits, T, d, H, kind, ['q_proj', 'k_proj', 'v_proj'], 'concat');
  nodes.push(node('MatMul', ['concat', 'Wo'], ['o_lin']));
  nodes.push(node('Add', ['o_lin', 'bo'], ['Y']));
  return model(nodes, inits, [valueInfo('X', [T, d])], [valueInfo('Y', [T, d])]);
}

export function attentionModel(T, d, H, kind) {
  const nodes = [], inits = [];
  attentionNodes(nodes, inits, T, d, H, kind, ['Q', 'K', 'V'], 'Y');
  return model(nodes, inits, ['Q', 'K', 'V'].map((x) => valueInfo(x, [T, d])), [valueInfo('Y', [T, d])]);
}
