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
// weights (rows, cols), logits (rows, cols), row_max (rows): each row's max if the caller knows
// it (the SIMD path then skips its own pass over the row; the same numbers either way), or null.
void softmax_rows(float* weights, const double* logits, int rows, int cols, Kernels path, const double* row_max = nullptr);

// Row-wise softmax of scores·scale (scale > 0), for the trace-free forward: no mask, float
// scores. `weights` may be `scores` (in place).   weights (rows, cols), scores (rows, cols).
void softmax_rows_scaled(float* weights, const float* scores, float scale, int rows, int cols, Kernels path);

//-----------------------------------------------------------------------------
// Attention building blocks (the trace-free attention in forward.cpp; SIMD path only, its scalar
// path composes matmul and softmax_rows_scaled)
//-----------------------------------------------------------------------------
// A right-hand matrix B (K, N) that several products share (a head's K_hᵀ and V_h, used by every
// block of query rows) is packed once into the panel layout matmul's tiles read, instead of once
// per product: packed_size(K, N) floats, filled by pack or pack_transposed, read by matmul_packed.
std::size_t packed_size(int K, int N);

// packed = B.   B (K, N), its rows `ld` floats apart (a head's columns of a (S, d) matrix: ld = d).
void pack(float* packed, const float* B, std::size_t ld, int K, int N);

// packed = Btᵀ, i.e. B (K, N) whose columns are the rows of Bt (N, K), those `ld` floats apart:
// K_hᵀ packed straight from K's rows, without a transposed copy.
void pack_transposed(float* packed, const float* Bt, std::size_t ld, int K, int N);

// C = A·B with B packed, or C += A·B with `accumulate` (each element then starts from C's value
// instead of 0).   C (M, N), its rows `ldc` floats apart; A (M, K) contiguous.
// bias (N) or null: added to every row as the finished sums are stored, rounded after the sum:
// the same bits as a pass of its own adding it (a Linear layer's bias, at no extra pass).
void matmul_packed(float* C, std::size_t ldc, const float* A, const float* packed, int M, int K, int N, bool accumulate = false,
                   const float* bias = nullptr);

// C = A[:, k_begin .. k_end)·B[k_begin .. k_end, :]: the terms outside the range left out, which
// gives the bits of the whole product where they are exact zeros (a causal mask's triangle: a sum
// that starts from +0 and adds ±0 is unchanged). B packed for all K rows; A (M, K) contiguous.
void matmul_packed_range(float* C, std::size_t ldc, const float* A, const float* packed, int M, int K, int N, int k_begin,
                         int k_end);

// The fewest leading columns (at least n) of a B packed for N columns that matmul_packed can read
// as a matrix of their own, with the same `packed` pointer: its first packed_prefix(n, N) columns.
int packed_prefix(int n, int N);

// The same with A given transposed: A(i, k) = At[k·lda + i], At (K, M) with its rows `lda` floats
// apart (M of its columns used): a weight's gradient doutᵀ·inp straight from dout (N, OC), without
// a transposed copy. The same sums in the same order as matmul_packed on the copy: the same bits.
void matmul_packed_at(float* C, std::size_t ldc, const float* At, std::size_t lda, const float* packed, int M, int K, int N,
                      bool accumulate = false);

// out (cols, rows) = inᵀ, in (rows, cols) with its rows `ld` floats apart: 4×4 blocks moved as
// four vectors and transposed in registers (shuffles), the edges one float at a time.
void transpose(float* out, const float* in, std::size_t ld, int rows, int cols);

// Unnormalized softmax in base 2: weights(i, j) = 2^(x(i, j) - max_j x(i, :)), and
// inv_sums[i] = 1 / Σ_j weights(i, j), the factor that normalizes row i (or any product of it).
// `weights` may be `x` (in place).   weights (rows, cols), x (rows, cols), inv_sums (rows).
void exp2_rows(float* weights, float* inv_sums, const float* x, int rows, int cols);

// The largest of x[0 .. n) (none NaN), vectorized; -inf for n = 0. Of +0 and -0 it may return either.
float row_max(const float* x, int n);

// out[j] = exp(x[j] - shift) for j < n, and their sum; x[j] <= shift (shift is the max, for a
// softmax). `out` may be `x`. Vectorized (Cephes' expf polynomial, about 2 ulp).
float exp_shifted(float* out, const float* x, float shift, int n);

// The first j in [begin, n) with x[j] > floor (never a NaN), or n: a scan for the rare element
// that beats a running threshold (a top-k list's last entry), 4 vectors compared at a time.
int first_above(const float* x, int begin, int n, float floor);

// GELU, erf form: out = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), and (derivative not null) its derivative
// Φ(x) + x·φ(x) from the same Φ and φ: the backward then needs no erf or exp of its own.
// Vectorized with Abramowitz & Stegun's erf 7.1.26 (absolute error below 1.5e-7) and the exp above.
void gelu(float* out, float* derivative, const float* x, std::size_t n);
// dx = derivative·dout (set, not added; dx may be `derivative`, in place).
void gelu_backward(float* dx, const float* derivative, const float* dout, std::size_t n);

// x(i, :) *= factors[i].   x (rows, cols), its rows `ld` floats apart; factors (rows).
void scale_rows(float* x, std::size_t ld, const float* factors, int rows, int cols);

// The float lanes the softmax's row sum uses: the SIMD path's vector width, 1 for scalar. A
// row's cells are summed lane by lane (cell j in lane j mod lanes), then the lanes together.
int lanes(Kernels path);

// True when none of x[0 .. n) is NaN or ±infinity. Vectorized whatever the path (it is a check,
// not arithmetic the scalar path is compared on): the trace validates every input matrix and
// checks every stage for overflow, and an element-by-element early-exit loop cost about a fifth
// of a full recompute at (64, 256, 8) in wasm.
bool all_finite(const float* x, std::size_t n);

// The SIMD path's name for this build: "avx2" | "wasm-simd128" | "sse2" | "wasm-no-simd" | "vector128".
const char* simd_path_name();

}  // namespace attnviz::kernels
