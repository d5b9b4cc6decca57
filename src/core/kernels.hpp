// kernels.hpp — the hot loops of attention, each with a SIMD and a plain scalar path.
//
// All arrays are contiguous and row-major; outputs come first. `Kernels::scalar` selects the
// plain loops, which the SIMD paths are tested against.
#pragma once

#include <cstddef>

#include "attnviz/config.hpp"

namespace attnviz::kernels {

// C = A·B (+ bias broadcast over rows).  C (M, N), A (M, K), B (K, N), bias (N) or nullptr.
void matmul(float* C, const float* A, const float* B, const float* bias, int M, int K, int N,
            Kernels path);

// Row-wise softmax of `logits`, subtracting each row's max for numerical stability. Cells that
// are -inf (masked) get weight exactly 0; a row that is all -inf gets all-zero weights.
// weights (rows, cols), logits (rows, cols).
void softmax_rows(float* weights, const double* logits, int rows, int cols, Kernels path);

// Row-wise softmax of scores·scale (scale > 0), for the trace-free forward: no mask, float
// scores. `weights` may be `scores` (in place).   weights (rows, cols), scores (rows, cols).
void softmax_rows_scaled(float* weights, const float* scores, float scale, int rows, int cols, Kernels path);

// True when none of x[0 .. n) is NaN or ±infinity. Vectorized whatever the path (it is a check,
// not arithmetic the scalar path is compared on): the trace validates every input matrix and
// checks every stage for overflow, and an element-by-element early-exit loop cost about a fifth
// of a full recompute at (64, 256, 8) in wasm.
bool all_finite(const float* x, std::size_t n);

// The SIMD path's name for this build: "avx2" | "wasm-simd128" | "sse2" | "wasm-no-simd" | "vector128".
const char* simd_path_name();

}  // namespace attnviz::kernels
