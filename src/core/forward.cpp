// forward.cpp — the trace-free forward pass (attnviz/forward.hpp), on the kernels run() uses.
//
// Per head, queries are taken a block of rows at a time: scores = Q_blk·K_hᵀ (rows, S), softmax
// in place, out = weights·V_h (rows, dk) into the head's columns of concat. Only one block of
// scores is alive, sized to stay in cache, so memory does not grow with H·T·S.
#include "attnviz/forward.hpp"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>
#include <vector>

#include "kernels.hpp"

namespace attnviz {
namespace {

std::string shape_text(std::size_t rows, std::size_t cols) {
    return std::to_string(rows) + "x" + std::to_string(cols);
}

// Rows of scores per block (scalar path): about 256 KiB of them, so the block stays in L2
// between the softmax and weights·V; at least 64 rows, since each block's two matmuls repack
// K_hᵀ and V_h (with 16 rows at T = 1024 the repacking cost more than a tenth of the attention
// time).
int block_rows(int S) { return std::clamp(65536 / std::max(S, 1), 64, 256); }

// Rows of scores per block (SIMD path): about 256 KiB of them, so the block stays in L2 between
// the softmax and weights·V; nothing is repacked per block, so small blocks cost nothing extra.
int block_rows_simd(int S) { return std::clamp(65536 / std::max(S, 1), 16, 256); }

// Columns [h·dk, (h+1)·dk) of x (rows, d), contiguous.   out (rows, dk)
void head_columns(float* out, const Matrix& x, int h, int dk) {
    const std::size_t rows = x.shape(0), d = x.shape(1);
    for (std::size_t r = 0; r < rows; ++r)
        std::copy_n(x.data() + r * d + h * dk, dk, out + r * dk);
}

// The same columns, transposed.   out (dk, rows)
void head_columns_transposed(float* out, const Matrix& x, int h, int dk) {
    const std::size_t rows = x.shape(0), d = x.shape(1);
    for (std::size_t r = 0; r < rows; ++r)
        for (int c = 0; c < dk; ++c) out[c * rows + r] = x.data()[r * d + h * dk + c];
}

// The scalar path: the plain kernels run() is compared with, one block of query rows at a time.
Matrix attention_scalar(const Matrix& Q, const Matrix& K, const Matrix& V, int heads) {
    const Kernels path = Kernels::scalar;
    const int T = static_cast<int>(Q.shape(0)), S = static_cast<int>(K.shape(0));
    const int d = static_cast<int>(Q.shape(1)), dk = d / heads;
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dk)));
    const int rows = std::min(block_rows(S), T);
    Matrix concat = Matrix::from_shape({static_cast<std::size_t>(T), static_cast<std::size_t>(d)});
    std::vector<float> q(static_cast<std::size_t>(T) * dk);       // (T, dk)   Q_h
    std::vector<float> kt(static_cast<std::size_t>(dk) * S);      // (dk, S)   K_hᵀ
    std::vector<float> v(static_cast<std::size_t>(S) * dk);       // (S, dk)   V_h
    std::vector<float> scores(static_cast<std::size_t>(rows) * S);  // (rows, S) then the weights
    std::vector<float> out(static_cast<std::size_t>(rows) * dk);  // (rows, dk)
    for (int h = 0; h < heads; ++h) {
        head_columns(q.data(), Q, h, dk);
        head_columns_transposed(kt.data(), K, h, dk);
        head_columns(v.data(), V, h, dk);
        for (int i0 = 0; i0 < T; i0 += rows) {
            const int n = std::min(rows, T - i0);
            kernels::matmul(scores.data(), q.data() + static_cast<std::size_t>(i0) * dk, kt.data(), nullptr, n, dk, S, path);
            // softmax, subtracting each row's max for numerical stability
            kernels::softmax_rows_scaled(scores.data(), scores.data(), scale, n, S, path);
            kernels::matmul(out.data(), scores.data(), v.data(), nullptr, n, S, dk, path);
            for (int i = 0; i < n; ++i)
                std::copy_n(out.data() + static_cast<std::size_t>(i) * dk, dk, concat.data() + static_cast<std::size_t>(i0 + i) * d + h * dk);
        }
    }
    return concat;
}

// The SIMD path. Per head, K_hᵀ and V_h are packed into the matmul's panel layout once, straight
// from K's and V's rows (no transposed copy, no repacking per block of query rows). Q_h is
// copied times log2(e)/√dk, so the scores come out in base 2 and the softmax is 2^(s - max)
// with no multiply; its 1/Σ is applied to the block's (rows, dk) output, written in place into
// concat, rather than to the (rows, S) weights.
Matrix attention_simd(const Matrix& Q, const Matrix& K, const Matrix& V, int heads) {
    const int T = static_cast<int>(Q.shape(0)), S = static_cast<int>(K.shape(0));
    const std::size_t d = Q.shape(1);
    const int dk = static_cast<int>(d) / heads;
    const float q_scale = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(dk)));  // log2(e)/√dk
    const int rows = std::min(block_rows_simd(S), T);
    Matrix concat = Matrix::from_shape({static_cast<std::size_t>(T), d});
    std::vector<float> q(static_cast<std::size_t>(T) * dk);         // (T, dk)   Q_h·log2(e)/√dk
    std::vector<float> kt(kernels::packed_size(dk, S));             // K_hᵀ (dk, S), packed
    std::vector<float> v(kernels::packed_size(S, dk));              // V_h (S, dk), packed
    std::vector<float> scores(static_cast<std::size_t>(rows) * S);  // (rows, S) then the weights
    std::vector<float> inv_sums(static_cast<std::size_t>(rows));    // (rows)
    for (int h = 0; h < heads; ++h) {
        const std::size_t col = static_cast<std::size_t>(h) * dk;
        for (int r = 0; r < T; ++r)
            for (int c = 0; c < dk; ++c) q[static_cast<std::size_t>(r) * dk + c] = Q.data()[r * d + col + c] * q_scale;
        kernels::pack_transposed(kt.data(), K.data() + col, d, dk, S);
        kernels::pack(v.data(), V.data() + col, d, S, dk);
        for (int i0 = 0; i0 < T; i0 += rows) {
            const int n = std::min(rows, T - i0);
            float* out = concat.data() + static_cast<std::size_t>(i0) * d + col;  // (n, dk), rows d apart
            kernels::matmul_packed(scores.data(), S, q.data() + static_cast<std::size_t>(i0) * dk, kt.data(), n, dk, S);
            kernels::exp2_rows(scores.data(), inv_sums.data(), scores.data(), n, S);
            kernels::matmul_packed(out, d, scores.data(), v.data(), n, S, dk);
            kernels::scale_rows(out, d, inv_sums.data(), n, dk);
        }
    }
    return concat;
}

Matrix attention_unchecked(const Matrix& Q, const Matrix& K, const Matrix& V, int heads, Kernels path) {
    return path == Kernels::simd ? attention_simd(Q, K, V, heads) : attention_scalar(Q, K, V, heads);
}

// out = a·b + bias.   out (M, N), a (M, K), b (K, N), bias (N)
Matrix linear(const Matrix& a, const Matrix& b, const Vector& bias, Kernels path) {
    Matrix out = Matrix::from_shape({a.shape(0), b.shape(1)});
    kernels::matmul(out.data(), a.data(), b.data(), bias.data(), static_cast<int>(a.shape(0)),
                    static_cast<int>(a.shape(1)), static_cast<int>(b.shape(1)), path);
    return out;
}

Unexpected heads_error(int heads, std::size_t d) {
    return fail("heads: expected a divisor of d_model (" + std::to_string(d) + ") from 1 to 64, got " + std::to_string(heads));
}

bool valid_heads(int heads, std::size_t d) {
    return heads >= 1 && heads <= limits::max_heads && d % static_cast<std::size_t>(heads) == 0;
}

}  // namespace

Expected<Matrix> attention(const Matrix& Q, const Matrix& K, const Matrix& V, int heads, Kernels kernels) {
    const std::size_t d = Q.shape(1);
    if (Q.shape(0) == 0 || d == 0) return fail("Q: expected a non-empty matrix, got " + shape_text(Q.shape(0), d));
    if (K.shape(0) == 0 || K.shape(1) != d)
        return fail("K: expected a Sx" + std::to_string(d) + " matrix (keys x d_model, S >= 1), got " + shape_text(K.shape(0), K.shape(1)));
    if (V.shape(0) != K.shape(0) || V.shape(1) != d)
        return fail("V: expected a " + shape_text(K.shape(0), d) + " matrix (like K), got " + shape_text(V.shape(0), V.shape(1)));
    if (!valid_heads(heads, d)) return heads_error(heads, d);
    try {
        return attention_unchecked(Q, K, V, heads, kernels);
    } catch (const std::bad_alloc&) {
        return fail("attention: expected inputs whose blocks fit in memory");
    }
}

Expected<Matrix> forward(const Matrix& X_in, const Weights& w, int heads, Kernels kernels) {
    const std::size_t d = X_in.shape(1);
    if (X_in.shape(0) == 0 || d == 0) return fail("X_in: expected a non-empty matrix, got " + shape_text(X_in.shape(0), d));
    if (!valid_heads(heads, d)) return heads_error(heads, d);
    const std::pair<const char*, const std::optional<Matrix>*> matrices[] = {
        {"Wq", &w.Wq}, {"Wk", &w.Wk}, {"Wv", &w.Wv}, {"Wo", &w.Wo}};
    for (const auto& [name, m] : matrices)
        if (!*m || (*m)->shape(0) != d || (*m)->shape(1) != d)
            return fail(std::string("weights.") + name + ": expected a " + shape_text(d, d) + " matrix (d_model x d_model), got " +
                        (*m ? shape_text((*m)->shape(0), (*m)->shape(1)) : std::string("none")));
    const std::pair<const char*, const std::optional<Vector>*> biases[] = {
        {"bq", &w.bq}, {"bk", &w.bk}, {"bv", &w.bv}, {"bo", &w.bo}};
    for (const auto& [name, b] : biases)
        if (!*b || (*b)->shape(0) != d)
            return fail(std::string("weights.") + name + ": expected " + std::to_string(d) + " numbers (d_model), got " +
                        (*b ? std::to_string((*b)->shape(0)) : std::string("none")));
    try {
        const Matrix Q = linear(X_in, *w.Wq, *w.bq, kernels);  // (T, d)
        const Matrix K = linear(X_in, *w.Wk, *w.bk, kernels);  // (T, d)
        const Matrix V = linear(X_in, *w.Wv, *w.bv, kernels);  // (T, d)
        const Matrix concat = attention_unchecked(Q, K, V, heads, kernels);
        return linear(concat, *w.Wo, *w.bo, kernels);
    } catch (const std::bad_alloc&) {
        return fail("forward: expected inputs whose projections fit in memory");
    }
}

}  // namespace attnviz
