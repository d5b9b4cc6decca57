// attnviz/forward.hpp — the forward pass without its trace: only the output, for speed.
//
// Index
//   1. forward     X_in -> output: projections, attention, output projection
//   2. attention   Q, K, V -> concat: every head's softmax(Q_h·K_hᵀ/√dk)·V_h, side by side
//
// run() (attnviz/core.hpp) materializes every intermediate for the interface; these two compute
// the same numbers (within 1e-5 relative) through the same kernels while holding only a block of
// one head's scores at a time, so memory stays O(T·d + rows·S). They cover the standard variant:
// self-attention, no mask, full pattern, scale 1/√dk, temperature 1, no RoPE / ALiBi / Linformer
// (an additive positional encoding is already part of X_in). Benchmarks and peers use them.
#pragma once

#include "attnviz/config.hpp"
#include "attnviz/expected.hpp"

namespace attnviz {

// output = concat·Wo + bo, with Q = X_in·Wq + bq (likewise K, V) and concat = attention(Q, K, V).
// X_in (T, d); weights: Wq Wk Wv Wo (d, d) and bq bk bv bo (d), all present (a resolved config's
// weights, e.g. Trace::config.weights). Returns (T, d), or an error "<field>: <expected>".
Expected<Matrix> forward(const Matrix& X_in, const Weights& weights, int heads, Kernels kernels = Kernels::simd);

// concat[:, h·dk .. (h+1)·dk) = softmax(Q_h·K_hᵀ / √dk)·V_h, the softmax over each row.
// Q (T, d), K (S, d), V (S, d), head h in columns [h·dk, (h+1)·dk), dk = d / heads. Returns (T, d).
Expected<Matrix> attention(const Matrix& Q, const Matrix& K, const Matrix& V, int heads, Kernels kernels = Kernels::simd);

}  // namespace attnviz
