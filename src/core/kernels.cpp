// kernels.cpp — matmul and softmax, SIMD and scalar.
//
// The SIMD path is written once with GCC/Clang vector extensions (`vector_size`), which g++
// lowers to AVX2 natively and Emscripten's clang lowers to SIMD128. xsimd 8.1 has no wasm
// architecture, and intrinsics would mean two copies of every kernel; the extensions give one
// source for both targets. The one operation they cannot spell is fused multiply-add, so
// natively (with -mfma) fma() uses the AVX2/FMA intrinsic; SIMD128 has no FMA, so in wasm it is
// a multiply then an add.
#include "kernels.hpp"

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace attnviz::kernels {
namespace {

//-----------------------------------------------------------------------------
// Vector types: 8 floats with AVX2, 4 floats otherwise (SIMD128, SSE2)
//-----------------------------------------------------------------------------
#if defined(__AVX2__)
constexpr int W = 8;  // float lanes
typedef float        vf __attribute__((vector_size(32)));
typedef std::int32_t vi __attribute__((vector_size(32)));
typedef double       vd __attribute__((vector_size(32)));
typedef std::int64_t vl __attribute__((vector_size(32)));
#else
constexpr int W = 4;
typedef float        vf __attribute__((vector_size(16)));
typedef std::int32_t vi __attribute__((vector_size(16)));
typedef double       vd __attribute__((vector_size(16)));
typedef std::int64_t vl __attribute__((vector_size(16)));
#endif
constexpr int WD = W / 2;  // double lanes

// Unaligned loads and stores: memcpy compiles to one vector move in both compilers.
inline vf load(const float* p)      { vf v; std::memcpy(&v, p, sizeof v); return v; }
inline void store(float* p, vf v)   { std::memcpy(p, &v, sizeof v); }
inline vd loadd(const double* p)    { vd v; std::memcpy(&v, p, sizeof v); return v; }
// Broadcasts, spelled as initializer lists: both compilers make one splat of them
// (v128.load32_splat / f32x4.splat; vbroadcastss). `vf{} + x` does not: 0 + x is not x for
// x = -0, so clang kept a vector add and a shuffle per broadcast in the matmul's inner loop.
#if defined(__AVX2__)
inline vf splat(float x)            { return vf{x, x, x, x, x, x, x, x}; }
inline vd splatd(double x)          { return vd{x, x, x, x}; }
#else
inline vf splat(float x)            { return vf{x, x, x, x}; }
inline vd splatd(double x)          { return vd{x, x}; }
#endif

inline vf fma(vf a, vf b, vf c) {  // a·b + c
#if defined(__AVX2__) && defined(__FMA__)
    return _mm256_fmadd_ps(a, b, c);
#else
    return a * b + c;
#endif
}

// Lane-wise select by an all-ones / all-zeros mask, spelled with bit operations because
// vector ?: is not accepted alike by both compilers.
inline vf select(vi mask, vf yes, vf no) {
    return (vf)(((vi)yes & mask) | ((vi)no & ~mask));
}
inline vd selectd(vl mask, vd yes, vd no) {
    return (vd)(((vl)yes & mask) | ((vl)no & ~mask));
}
inline vd maxd(vd a, vd b) { return selectd(a > b, a, b); }

inline float hsum(vf v) {
    float s = 0;
    for (int l = 0; l < W; ++l) s += v[l];
    return s;
}

//-----------------------------------------------------------------------------
// matmul: register-blocked tiles of MR rows × NV vectors, vector body plus scalar tail
//-----------------------------------------------------------------------------
// The tile keeps MR·NV accumulators, NV loads of B and one broadcast of A live: 2×4 vectors of
// 4 floats in wasm (13 live, under the ~13 where V8 starts spilling, see PERF_NOTES.md) and 4×2
// vectors of 8 floats with AVX2 (11 of 16 ymm registers).
#if defined(__AVX2__)
constexpr int MR = 4, NV = 2;
#else
constexpr int MR = 2, NV = 4;
#endif

// C[i0 .. i0+R, j0 .. j0+V·W) (+)= A[:, k0 .. k1)·B[k0 .. k1, :] for one tile: the first slice
// of k starts from the bias (or 0), later ones (`from_c`) from C's partial sums, so every element
// is still summed in plain k order. `panel` holds B's rows k0 .. k1 of columns [j0, j0+V·W)
// packed, row k at panel + (k - k0)·V·W.
//
// The inner loop walks A's rows and the panel by pointer increments: indexed addressing
// (a[r·K + k], panel[k·V·W]) costs a shift and an add per load in wasm, which has no scaled
// addressing mode, and measured 36 GFLOP/s against 43 with the pointers (512³, node 20
// --no-liftoff, bench/matmul_micro.cpp). It is deliberately not unrolled: unrolled by 2 or 4,
// clang hoists the next steps' loads of B and V8 spills (18-28 GFLOP/s).
// With `lda` > 0, A is given transposed: A(i, k) = At[k·lda + i] (At (K, M), its rows lda floats
// apart), read by the same pointer walk with a step of lda: C = Atᵀ·B with no transposed copy (a
// weight's gradient doutᵀ·inp), each element the same sum in the same order as with A itself.
// `post` (the columns' bias) or null: added to the finished sums as they are stored (the last
// slice of k), a rounding of its own after the sum's: the bits of a second pass adding it.
template <int R, int V>
inline void matmul_tile(float* C, const float* A, const float* panel, const float* bias, int K, int N, int i0,
                        int j0, int k0, int k1, bool from_c, int lda = 0, const float* post = nullptr) {
    vf acc[R][V];
    float* c = C + static_cast<long>(i0) * N + j0;
    for (int v = 0; v < V; ++v) {
        const vf b0 = bias ? load(bias + j0 + v * W) : vf{};
        for (int r = 0; r < R; ++r) acc[r][v] = from_c ? load(c + static_cast<long>(r) * N + v * W) : b0;
    }
    const float* b = panel;
    if (lda > 0) {
        const float* a = A + static_cast<long>(k0) * lda + i0;  // A(i0 .. i0+R, k0): R neighbours in At's row k0
        for (int k = k0; k < k1; ++k) {
            vf bv[V];
            for (int v = 0; v < V; ++v) bv[v] = load(b + v * W);
            b += V * W;
            for (int r = 0; r < R; ++r) {
                const vf ar = splat(a[r]);
                for (int v = 0; v < V; ++v) acc[r][v] = fma(ar, bv[v], acc[r][v]);
            }
            a += lda;
        }
    } else {
        const float* a[R];
        for (int r = 0; r < R; ++r) a[r] = A + static_cast<long>(i0 + r) * K + k0;
        for (int k = k0; k < k1; ++k) {
            vf bv[V];
            for (int v = 0; v < V; ++v) bv[v] = load(b + v * W);
            b += V * W;
            for (int r = 0; r < R; ++r) {
                const vf ar = splat(*a[r]++);
                for (int v = 0; v < V; ++v) acc[r][v] = fma(ar, bv[v], acc[r][v]);
            }
        }
    }
    if (post)
        for (int v = 0; v < V; ++v) {
            const vf pv = load(post + j0 + v * W);
            for (int r = 0; r < R; ++r) acc[r][v] += pv;
        }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) store(c + static_cast<long>(r) * N + v * W, acc[r][v]);
}

// Cache blocking. B's vector columns are first copied, once, into panels of V vectors' width
// ((K, V·W) each, contiguous), so the tiles read B sequentially (B's rows are N floats apart,
// often a power of two, and would otherwise share a few cache sets and stall the prefetcher).
// Then C is computed MC rows × KC steps of k at a time: the A block (MC·KC floats, 64 KiB)
// stays in L2 and each KC-row slice of a panel (16 KiB in wasm) stays in L1 while every row
// tile of the block passes over it.
constexpr int MC = 64, KC = 256;

// The rows of C a block takes: MC, or up to half as many again where that spares a last block of
// a few rows, which would pass over all of B again for them (a trace of 64 characters and
// <|bos|>, M = 65: one block, not 64 rows and then 1 that reads the 2 MB unembedding alone).
// A multiple of MR. Blocks change no sum: each element is the same sum in the same order.
inline int row_block(int M) {
    const int blocks = std::max(1, (M + MC / 2) / MC);
    return ((M + blocks - 1) / blocks + MR - 1) / MR * MR;
}

// panel (K, V·W) = B[:, j0 .. j0+V·W)
template <int V>
inline void pack_panel(float* panel, const float* B, int K, int N, int j0) {
    for (int k = 0; k < K; ++k)
        std::memcpy(panel + static_cast<long>(k) * V * W, B + static_cast<long>(k) * N + j0, sizeof(float) * V * W);
}

// Rows [i0, i1) of one panel's columns, for k in [k0, k1).
// from_c: start from C's values (a later slice of k, or C += A·B).
template <int V>
inline void matmul_block(float* C, const float* A, const float* panel, const float* bias, int i0, int i1, int K, int N,
                         int j0, int k0, int k1, bool from_c, int lda = 0, const float* post = nullptr) {
    const float* slice = panel + static_cast<long>(k0) * V * W;
    int i = i0;
    for (; i + MR <= i1; i += MR) matmul_tile<MR, V>(C, A, slice, bias, K, N, i, j0, k0, k1, from_c, lda, post);
    for (; i < i1; ++i) matmul_tile<1, V>(C, A, slice, bias, K, N, i, j0, k0, k1, from_c, lda, post);
}

void matmul_simd(float* C, const float* A, const float* B, const float* bias, int M, int K, int N) {
    const int wide = N / (NV * W) * (NV * W);  // columns in panels of NV vectors
    const int vector_columns = N - N % W;       // then panels of one vector
    // not std::vector: its zero-fill cost about a tenth of a 16-row product (the trace's row
    // blocks), and every float of it is overwritten
    const std::unique_ptr<float[]> buffer(new float[std::max<std::size_t>(static_cast<std::size_t>(K) * vector_columns, 1)]);
    float* const panels = buffer.get();
    for (int j = 0; j < wide; j += NV * W) pack_panel<NV>(panels + static_cast<long>(j) * K, B, K, N, j);
    for (int j = wide; j < vector_columns; j += W) pack_panel<1>(panels + static_cast<long>(j) * K, B, K, N, j);
    const int mc = row_block(M);
    for (int i0 = 0; i0 < M; i0 += mc) {
        const int i1 = std::min(M, i0 + mc);
        for (int k0 = 0; k0 < K || k0 == 0; k0 += KC) {  // K == 0 still writes the bias
            const int k1 = std::min(K, k0 + KC);
            for (int j = 0; j < wide; j += NV * W)
                matmul_block<NV>(C, A, panels + static_cast<long>(j) * K, bias, i0, i1, K, N, j, k0, k1, k0 != 0);
            for (int j = wide; j < vector_columns; j += W)
                matmul_block<1>(C, A, panels + static_cast<long>(j) * K, bias, i0, i1, K, N, j, k0, k1, k0 != 0);
        }
    }
    int j = vector_columns;
    // scalar tail: the last N mod W columns, summed in the same k order as the vector body
    for (int i = 0; i < M; ++i)
        for (int jj = j; jj < N; ++jj) {
            float acc = bias ? bias[jj] : 0.0f;
            for (int k = 0; k < K; ++k)
                acc += A[static_cast<long>(i) * K + k] * B[static_cast<long>(k) * N + jj];
            C[static_cast<long>(i) * N + jj] = acc;
        }
}

// The scalar path is the plain one-number-at-a-time baseline that `kernels: "scalar"` selects
// and the SIMD path is measured against; without these the compilers' auto-vectorizers would
// quietly turn its loops into SIMD code too (clang with -msimd128, g++ with -mavx2).
#if defined(__clang__)
#define ATTNVIZ_SCALAR_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#define ATTNVIZ_SCALAR_FN
#else
#define ATTNVIZ_SCALAR_LOOP
#define ATTNVIZ_SCALAR_FN __attribute__((optimize("no-tree-vectorize")))
#endif

ATTNVIZ_SCALAR_FN
void matmul_scalar(float* C, const float* A, const float* B, const float* bias, int M, int K, int N) {
    for (int i = 0; i < M; ++i) {
        float* c = C + static_cast<long>(i) * N;
        ATTNVIZ_SCALAR_LOOP
        for (int j = 0; j < N; ++j) c[j] = bias ? bias[j] : 0.0f;
        for (int k = 0; k < K; ++k) {
            const float a = A[static_cast<long>(i) * K + k];
            const float* b = B + static_cast<long>(k) * N;
            ATTNVIZ_SCALAR_LOOP
            for (int j = 0; j < N; ++j) c[j] += a * b[j];
        }
    }
}

//-----------------------------------------------------------------------------
// softmax
//-----------------------------------------------------------------------------
// exp(x) for x <= 0, the softmax's domain (logits minus their max). Cephes' expf: x = n·ln2 + r
// with |r| <= ln2/2, a degree-6 polynomial for e^r, and 2^n built in the exponent bits. Inputs
// below ln(FLT_MIN) (including -inf, the masked cells) give exactly 0. Max error about 2 ulp.
inline vf exp_nonpositive(vf x) {
    const vf min_x = splat(-87.33654475f);           // ln(FLT_MIN)
    const vi underflow = x < min_x;
    x = select(underflow, min_x, x);
    // n = round(x·log2 e) by adding 1.5·2^23: the sum's last mantissa bits are n (|n| <= 126),
    // which costs an add and a subtract where a float-to-int conversion costs V8 about eight
    // instructions (i32x4.trunc_sat_f32x4_s checks NaN and saturation)
    const vf magic = splat(12582912.0f);
    const vf t = x * splat(1.44269504088896341f) + magic;
    const vf nf = t - magic;
    const vi n = (vi)t - (vi)magic;
    vf r = x - nf * splat(0.693359375f);             // ln2 split in two for an exact product
    r = r - nf * splat(-2.12194440e-4f);
    vf p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    const vf y = p * r * r + r + splat(1.0f);
    const vf pow2n = (vf)((n + 127) << 23);
    return select(underflow, vf{}, y * pow2n);
}

double row_max_simd(const double* x, int n) {
    const double neg_inf = -std::numeric_limits<double>::infinity();
    vd m = splatd(neg_inf);
    int j = 0;
    for (; j + WD <= n; j += WD) m = maxd(m, loadd(x + j));
    double best = neg_inf;
    for (int l = 0; l < WD; ++l) best = m[l] > best ? m[l] : best;
    for (; j < n; ++j) best = x[j] > best ? x[j] : best;
    return best;
}

// x[0 .. W) - m in double (cannot overflow), rounded to float: <= 0 when m is the row max,
// possibly -inf.
inline vf shifted(const double* x, double m) {
#if defined(__AVX2__)
    typedef float half __attribute__((vector_size(16)));
#else
    typedef float half __attribute__((vector_size(8)));
#endif
    const half a = __builtin_convertvector(loadd(x) - splatd(m), half);
    const half b = __builtin_convertvector(loadd(x + WD) - splatd(m), half);
#if defined(__AVX2__)
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7);
#else
    return __builtin_shufflevector(a, b, 0, 1, 2, 3);
#endif
}

// m: the row's max, or NaN to find it here
void softmax_row_simd(float* w, const double* logits, int n, double m) {
    if (std::isnan(m)) m = row_max_simd(logits, n);
    if (m == -std::numeric_limits<double>::infinity()) {  // every key masked
        std::memset(w, 0, sizeof(float) * n);
        return;
    }
    // one pass: shift, round to float, exp, sum (the float rounding as the two-pass form's)
    vf sum = vf{};
    int j = 0;
    for (; j + W <= n; j += W) {
        const vf e = exp_nonpositive(shifted(logits + j, m));
        store(w + j, e);
        sum += e;
    }
    float total = hsum(sum);
    for (; j < n; ++j) {
        w[j] = std::exp(static_cast<float>(logits[j] - m));
        total += w[j];
    }
    // total >= 1: the max cell contributes exp(0) = 1
    const float inv = 1.0f / total;
    j = 0;
    for (; j + W <= n; j += W) store(w + j, load(w + j) * splat(inv));
    for (; j < n; ++j) w[j] *= inv;
}

ATTNVIZ_SCALAR_FN
void softmax_row_scalar(float* w, const double* logits, int n) {
    double m = -std::numeric_limits<double>::infinity();
    ATTNVIZ_SCALAR_LOOP
    for (int j = 0; j < n; ++j) m = logits[j] > m ? logits[j] : m;
    if (m == -std::numeric_limits<double>::infinity()) {
        ATTNVIZ_SCALAR_LOOP
        for (int j = 0; j < n; ++j) w[j] = 0.0f;
        return;
    }
    float total = 0;
    ATTNVIZ_SCALAR_LOOP
    for (int j = 0; j < n; ++j) {
        w[j] = std::exp(static_cast<float>(logits[j] - m));
        total += w[j];
    }
    ATTNVIZ_SCALAR_LOOP
    for (int j = 0; j < n; ++j) w[j] /= total;
}

// max over a row of floats
float row_max_simd(const float* x, int n) {
    vf m = splat(-std::numeric_limits<float>::infinity());
    int j = 0;
    for (; j + W <= n; j += W) {
        const vf v = load(x + j);
        m = select(v > m, v, m);
    }
    float best = -std::numeric_limits<float>::infinity();
    for (int l = 0; l < W; ++l) best = m[l] > best ? m[l] : best;
    for (; j < n; ++j) best = x[j] > best ? x[j] : best;
    return best;
}

// w = exp((s - max)·scale) / sum: one pass for the max, one for exp and the sum, one to normalize
void softmax_row_scaled_simd(float* w, const float* scores, float scale, int n) {
    const float m = row_max_simd(scores, n);
    const vf vm = splat(m), vscale = splat(scale);
    vf sum = vf{};
    int j = 0;
    for (; j + W <= n; j += W) {
        const vf e = exp_nonpositive((load(scores + j) - vm) * vscale);
        store(w + j, e);
        sum += e;
    }
    float total = hsum(sum);
    for (; j < n; ++j) {
        w[j] = std::exp((scores[j] - m) * scale);
        total += w[j];
    }
    const vf inv = splat(1.0f / total);  // total >= 1: the max cell contributes exp(0) = 1
    j = 0;
    for (; j + W <= n; j += W) store(w + j, load(w + j) * inv);
    for (; j < n; ++j) w[j] *= inv[0];
}

ATTNVIZ_SCALAR_FN
void softmax_row_scaled_scalar(float* w, const float* scores, float scale, int n) {
    float m = -std::numeric_limits<float>::infinity();
    ATTNVIZ_SCALAR_LOOP
    for (int j = 0; j < n; ++j) m = scores[j] > m ? scores[j] : m;
    float total = 0;
    ATTNVIZ_SCALAR_LOOP
    for (int j = 0; j < n; ++j) {
        w[j] = std::exp((scores[j] - m) * scale);
        total += w[j];
    }
    ATTNVIZ_SCALAR_LOOP
    for (int j = 0; j < n; ++j) w[j] /= total;
}

}  // namespace

void matmul(float* C, const float* A, const float* B, const float* bias, int M, int K, int N,
            Kernels path) {
    if (path == Kernels::simd)
        matmul_simd(C, A, B, bias, M, K, N);
    else
        matmul_scalar(C, A, B, bias, M, K, N);
}

void softmax_rows(float* weights, const double* logits, int rows, int cols, Kernels path, const double* row_max) {
    for (int i = 0; i < rows; ++i) {
        float* w = weights + static_cast<long>(i) * cols;
        const double* x = logits + static_cast<long>(i) * cols;
        if (path == Kernels::simd)
            softmax_row_simd(w, x, cols, row_max ? row_max[i] : std::numeric_limits<double>::quiet_NaN());
        else
            softmax_row_scalar(w, x, cols);
    }
}

void softmax_rows_scaled(float* weights, const float* scores, float scale, int rows, int cols, Kernels path) {
    for (int i = 0; i < rows; ++i) {
        float* w = weights + static_cast<long>(i) * cols;
        const float* x = scores + static_cast<long>(i) * cols;
        if (path == Kernels::simd)
            softmax_row_scaled_simd(w, x, scale, cols);
        else
            softmax_row_scaled_scalar(w, x, scale, cols);
    }
}

int lanes(Kernels path) { return path == Kernels::scalar ? 1 : W; }

bool all_finite(const float* x, std::size_t n) {
    // x - x is 0 for finite x and NaN for NaN and ±inf; NaN != 0 holds, so a lane of `bad` is
    // all ones once it saw one
    // all ones once it saw one. Four vectors an iteration: the sum of their x - x is 0 unless
    // one of them was NaN (NaN + anything is NaN), then one compare per iteration.
    vi bad = vi{};
    std::size_t k = 0;
    for (; k + 4 * W <= n; k += 4 * W) {
        const vf a = load(x + k), b = load(x + k + W), c = load(x + k + 2 * W), d = load(x + k + 3 * W);
        const vf zero = (a - a) + (b - b) + ((c - c) + (d - d));
        bad |= zero != vf{};
    }
    for (; k + W <= n; k += W) {
        const vf v = load(x + k);
        bad |= (v - v) != vf{};
    }
    bool ok = true;
    for (int l = 0; l < W; ++l) ok &= bad[l] == 0;
    for (; k < n; ++k) ok &= std::isfinite(x[k]);
    return ok;
}

const char* simd_path_name() {
#if defined(__wasm_simd128__)
    return "wasm-simd128";
#elif defined(__AVX2__)
    return "avx2";
#elif defined(__SSE2__)
    return "sse2";
#elif defined(__wasm__)
    return "wasm-no-simd";  // the fallback build for browsers without SIMD128: vectors lowered to scalars
#else
    return "vector128";
#endif
}


//=============================================================================
// Attention building blocks (kernels.hpp, "Attention building blocks"): pre-packed matmul,
// base-2 softmax without the normalizing pass. SIMD path only; forward.cpp's scalar path
// composes matmul and softmax_rows_scaled. Reuses matmul's tiles and panel layout above.
//=============================================================================
namespace {

// Where packed_size's floats go, as in matmul_simd: columns [0, wide) in panels of NV vectors
// at packed + j·K, [wide, vector_columns) in panels of one vector, and the last N mod W columns
// in one more vector-wide panel, zero-padded.
struct PackedLayout {
    int wide, vector_columns;
    PackedLayout(int N) : wide(N / (NV * W) * (NV * W)), vector_columns(N - N % W) {}
};

// panel (K, PW) = columns [j0, j0 + valid) of B, the rest 0, with B(k, j) = b[k·row + j·col]
template <int PW>
void gather_panel(float* panel, const float* b, std::size_t row, std::size_t col, int K, int j0, int valid) {
    for (int k = 0; k < K; ++k)
        for (int c = 0; c < PW; ++c)
            panel[static_cast<long>(k) * PW + c] = c < valid ? b[k * row + (j0 + c) * col] : 0.0f;
}

// max(a, b) for the clamp and the row max: one f32x4.pmax (maxps) in wasm, where the generic
// compare-and-select costs a compare and three bit operations
inline vf max_ps(vf a, vf b) {
#if defined(__wasm_simd128__)
    return __builtin_wasm_pmax_f32x4(a, b);  // wasm_f32x4_pmax, without its header's v128_t casts
#else
    return select(a < b, b, a);
#endif
}

// 2^x for x <= 0. x = n + f with n = round(x), |f| <= 1/2; 2^f by a degree-5 polynomial
// (Chebyshev fit, max relative error 1.6e-7) in Estrin's form, whose shorter dependency chain
// measured the exp pass about 7% faster than Horner's (1024 x 1024 x 8 heads, node 20
// --no-liftoff); 2^n added into the exponent bits. Inputs below
// -125 give 2^-125 (about 2e-38) instead of smaller numbers: one pmax instead of a clamp and a
// final select, at no cost to a softmax whose weights sum to at least 1.
inline vf exp2_nonpositive(vf x) {
    x = max_ps(x, splat(-125.0f));
    // x + 1.5·2^23 rounds to an integer n held in the last mantissa bits (see exp_nonpositive);
    // shifted left by 23 those bits are n·2^23 (the rest shifts out), the exponent increment
    const vf magic = splat(12582912.0f);
    const vf t = x + magic;
    const vf f = x - (t - magic);
    const vf f2 = f * f;
    const vf p01 = f * splat(6.9314718246e-1f) + splat(1.0000001192f);
    const vf p23 = f * splat(5.5503569543e-2f) + splat(2.4022106826e-1f);
    const vf p45 = f * splat(1.3390863314e-3f) + splat(9.6760317683e-3f);
    const vf p = (p45 * f2 + p23) * f2 + p01;
    return (vf)((vi)p + ((vi)t << 23));
}

float row_max_pmax(const float* x, int n) {
    vf m = splat(-std::numeric_limits<float>::infinity());
    int j = 0;
    for (; j + W <= n; j += W) m = max_ps(m, load(x + j));
    float best = -std::numeric_limits<float>::infinity();
    for (int l = 0; l < W; ++l) best = m[l] > best ? m[l] : best;
    for (; j < n; ++j) best = x[j] > best ? x[j] : best;
    return best;
}

}  // namespace

float row_max(const float* x, int n) { return row_max_pmax(x, n); }

std::size_t packed_size(int K, int N) {
    return static_cast<std::size_t>(K) * static_cast<std::size_t>((N + W - 1) / W * W);
}

void pack(float* packed, const float* B, std::size_t ld, int K, int N) {
    const PackedLayout p(N);
    for (int j = 0; j < p.wide; j += NV * W) pack_panel<NV>(packed + static_cast<long>(j) * K, B, K, static_cast<int>(ld), j);
    for (int j = p.wide; j < p.vector_columns; j += W) pack_panel<1>(packed + static_cast<long>(j) * K, B, K, static_cast<int>(ld), j);
    if (p.vector_columns < N)
        gather_panel<W>(packed + static_cast<long>(p.vector_columns) * K, B, ld, 1, K, p.vector_columns, N - p.vector_columns);
}

void pack_transposed(float* packed, const float* Bt, std::size_t ld, int K, int N) {
    // each full panel is a block of Bt's rows transposed: (PW, K) -> (K, PW), by 4×4 blocks in
    // registers (gathering it one float at a time cost 4 % of a model trace in wasm)
    const PackedLayout p(N);
    for (int j = 0; j < p.wide; j += NV * W) transpose(packed + static_cast<long>(j) * K, Bt + j * ld, ld, NV * W, K);
    for (int j = p.wide; j < p.vector_columns; j += W) transpose(packed + static_cast<long>(j) * K, Bt + j * ld, ld, W, K);
    if (p.vector_columns < N)
        gather_panel<W>(packed + static_cast<long>(p.vector_columns) * K, Bt, 1, ld, K, p.vector_columns, N - p.vector_columns);
}

namespace {

// matmul_packed and matmul_packed_at: A itself (lda 0) or given transposed (At, rows lda apart).
// The sums run over k in [k_begin, k_end) only (0 and K for the whole product).
void matmul_packed_any(float* C, std::size_t ldc, const float* A, std::size_t lda, const float* packed, int M, int K, int N,
                       bool accumulate, const float* bias, int k_begin, int k_end) {
    const PackedLayout p(N);
    const int ld = static_cast<int>(ldc), la = static_cast<int>(lda);
    const int mc = row_block(M);
    for (int i0 = 0; i0 < M; i0 += mc) {
        const int i1 = std::min(M, i0 + mc);
        for (int k0 = k_begin; k0 < k_end; k0 += KC) {
            const int k1 = std::min(k_end, k0 + KC);
            const float* post = k1 == k_end ? bias : nullptr;  // the bias once the sums are whole
            const bool from_c = accumulate || k0 != k_begin;
            for (int j = 0; j < p.wide; j += NV * W)
                matmul_block<NV>(C, A, packed + static_cast<long>(j) * K, nullptr, i0, i1, K, ld, j, k0, k1, from_c, la, post);
            for (int j = p.wide; j < p.vector_columns; j += W)
                matmul_block<1>(C, A, packed + static_cast<long>(j) * K, nullptr, i0, i1, K, ld, j, k0, k1, from_c, la, post);
        }
    }
    if (p.vector_columns == N) return;
    // the last N mod W columns: one zero-padded vector per row, then its first columns copied (or added)
    const float* tail = packed + static_cast<long>(p.vector_columns) * K + static_cast<long>(k_begin) * W;
    for (int i = 0; i < M; ++i) {
        float row[W];
        if (la > 0) matmul_tile<1, 1>(row, A + i, tail, nullptr, K, W, 0, 0, k_begin, k_end, false, la);
        else matmul_tile<1, 1>(row, A + static_cast<long>(i) * K, tail, nullptr, K, W, 0, 0, k_begin, k_end, false);
        float* c = C + i * ldc + p.vector_columns;
        for (int j = 0; j < N - p.vector_columns; ++j) {
            c[j] = accumulate ? c[j] + row[j] : row[j];
            if (bias) c[j] += bias[p.vector_columns + j];
        }
    }
}

}  // namespace

void matmul_packed(float* C, std::size_t ldc, const float* A, const float* packed, int M, int K, int N, bool accumulate,
                   const float* bias) {
    matmul_packed_any(C, ldc, A, 0, packed, M, K, N, accumulate, bias, 0, K);
}

void matmul_packed_range(float* C, std::size_t ldc, const float* A, const float* packed, int M, int K, int N, int k_begin,
                         int k_end) {
    if (k_begin >= k_end) {  // an empty sum
        for (int i = 0; i < M; ++i) std::fill_n(C + i * ldc, N, 0.0f);
        return;
    }
    matmul_packed_any(C, ldc, A, 0, packed, M, K, N, false, nullptr, k_begin, k_end);
}

int packed_prefix(int n, int N) { return std::min(N, (n + NV * W - 1) / (NV * W) * (NV * W)); }

void matmul_packed_at(float* C, std::size_t ldc, const float* At, std::size_t lda, const float* packed, int M, int K, int N,
                      bool accumulate) {
    matmul_packed_any(C, ldc, At, lda, packed, M, K, N, accumulate, nullptr, 0, K);
}

namespace {
// Four floats whatever W is: the transpose's block.
typedef float v4 __attribute__((vector_size(16)));
inline v4 load4(const float* p)    { v4 v; std::memcpy(&v, p, sizeof v); return v; }
inline void store4(float* p, v4 v) { std::memcpy(p, &v, sizeof v); }
#if defined(__clang__)
#define ATTNVIZ_SHUFFLE(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
typedef std::int32_t v4i __attribute__((vector_size(16)));
#define ATTNVIZ_SHUFFLE(a, b, i, j, k, l) __builtin_shuffle(a, b, v4i{i, j, k, l})
#endif
}  // namespace

void transpose(float* out, const float* in, std::size_t ld, int rows, int cols) {
    // tiles of 32×32 keep a tile's source rows and destination rows in L1; inside, 4×4 blocks
    constexpr int tile = 32;
    const int rows4 = rows - rows % 4, cols4 = cols - cols % 4;
    for (int r0 = 0; r0 < rows4; r0 += tile)
        for (int c0 = 0; c0 < cols4; c0 += tile) {
            const int r1 = std::min(rows4, r0 + tile), c1 = std::min(cols4, c0 + tile);
            for (int r = r0; r < r1; r += 4)
                for (int c = c0; c < c1; c += 4) {
                    const float* src = in + r * ld + c;
                    const v4 a = load4(src), b = load4(src + ld), e = load4(src + 2 * ld), f = load4(src + 3 * ld);
                    const v4 ab_lo = ATTNVIZ_SHUFFLE(a, b, 0, 4, 1, 5), ab_hi = ATTNVIZ_SHUFFLE(a, b, 2, 6, 3, 7);
                    const v4 ef_lo = ATTNVIZ_SHUFFLE(e, f, 0, 4, 1, 5), ef_hi = ATTNVIZ_SHUFFLE(e, f, 2, 6, 3, 7);
                    float* dst = out + static_cast<std::size_t>(c) * rows + r;
                    store4(dst, ATTNVIZ_SHUFFLE(ab_lo, ef_lo, 0, 1, 4, 5));
                    store4(dst + rows, ATTNVIZ_SHUFFLE(ab_lo, ef_lo, 2, 3, 6, 7));
                    store4(dst + 2 * static_cast<std::size_t>(rows), ATTNVIZ_SHUFFLE(ab_hi, ef_hi, 0, 1, 4, 5));
                    store4(dst + 3 * static_cast<std::size_t>(rows), ATTNVIZ_SHUFFLE(ab_hi, ef_hi, 2, 3, 6, 7));
                }
        }
    // the edges: the last rows mod 4 rows (every column), the last cols mod 4 columns (the other rows)
    for (int r = rows4; r < rows; ++r)
        for (int c = 0; c < cols; ++c) out[static_cast<std::size_t>(c) * rows + r] = in[r * ld + c];
    for (int r = 0; r < rows4; ++r)
        for (int c = cols4; c < cols; ++c) out[static_cast<std::size_t>(c) * rows + r] = in[r * ld + c];
}
#undef ATTNVIZ_SHUFFLE

float exp_shifted(float* out, const float* x, float shift, int n) {
    const vf vs = splat(shift);
    vf sum = vf{};
    int j = 0;
    for (; j + W <= n; j += W) {
        const vf e = exp_nonpositive(load(x + j) - vs);
        store(out + j, e);
        sum += e;
    }
    float total = hsum(sum);
    for (; j < n; ++j) total += (out[j] = std::exp(x[j] - shift));
    return total;
}

int first_above(const float* x, int begin, int n, float floor) {
    const vf f = splat(floor);
    int j = begin;
    for (; j + 4 * W <= n; j += 4 * W) {
        const vi hit = (load(x + j) > f) | (load(x + j + W) > f) | (load(x + j + 2 * W) > f) | (load(x + j + 3 * W) > f);
#if defined(__wasm_simd128__)
        const bool any = __builtin_wasm_any_true_v128((__attribute__((vector_size(16))) signed char)hit);
#else
        bool any = false;
        for (int l = 0; l < W; ++l) any |= hit[l] != 0;
#endif
        if (any) break;
    }
    for (; j < n; ++j)
        if (x[j] > floor) return j;
    return n;
}

namespace {

// Φ(x) = 0.5·(1 + erf(x/√2)) and φ(x) = exp(-x²/2)/√(2π), with erf by Abramowitz & Stegun 7.1.26:
// erf(z) = 1 - (a1·t + … + a5·t⁵)·exp(-z²), t = 1/(1 + p·z), for z >= 0, odd in z.
// (onep = 1 + erf(x/√2) = 2·Φ(x), for the derivative's single rounding below)
inline void normal_onep_pdf(vf x, vf& onep, vf& pdf) {
    const vf z = select(x < vf{}, -x, x) * splat(0.70710678118654752f);
    const vf t = splat(1.0f) / (splat(1.0f) + splat(0.3275911f) * z);
    vf poly = splat(1.061405429f);
    poly = poly * t + splat(-1.453152027f);
    poly = poly * t + splat(1.421413741f);
    poly = poly * t + splat(-0.284496736f);
    poly = poly * t + splat(0.254829592f);
    const vf g = exp_nonpositive(-z * z);                 // exp(-x²/2)
    const vf erf_abs = splat(1.0f) - poly * t * g;
    const vf erf = select(x < vf{}, -erf_abs, erf_abs);
    onep = splat(1.0f) + erf;
    pdf = g * splat(0.39894228040143268f);
}

inline void normal_cdf_pdf(vf x, vf& cdf, vf& pdf) {
    vf onep;
    normal_onep_pdf(x, onep, pdf);
    cdf = splat(0.5f) * onep;
}

inline void normal_cdf_pdf(float x, float& cdf, float& pdf) {
    vf c, p;
    normal_cdf_pdf(splat(x), c, p);
    cdf = c[0];
    pdf = p[0];
}

}  // namespace

// The derivative Φ(x) + x·φ(x) is spelled out with its roundings: (1 + erf)·0.5 + x·φ in one fused
// step natively (x·φ rounded first), two steps in wasm. That is what g++ made of the backward that
// computed it from x (it contracted Φ's product into the sum); the trainer's bits, and so the
// shipped models' bytes, did not change when the forward began to keep it.
void gelu(float* out, float* derivative, const float* x, std::size_t n) {
    std::size_t j = 0;
    for (; j + W <= n; j += W) {
        vf onep, pdf;
        const vf v = load(x + j);
        normal_onep_pdf(v, onep, pdf);
        store(out + j, v * (splat(0.5f) * onep));
        if (derivative) store(derivative + j, fma(onep, splat(0.5f), v * pdf));
    }
    for (; j < n; ++j) {
        float cdf, pdf;
        normal_cdf_pdf(x[j], cdf, pdf);
        out[j] = x[j] * cdf;
        if (derivative) derivative[j] = cdf + x[j] * pdf;
    }
}

void gelu_backward(float* dx, const float* derivative, const float* dout, std::size_t n) {
    std::size_t j = 0;
    for (; j + W <= n; j += W) store(dx + j, load(derivative + j) * load(dout + j));
    for (; j < n; ++j) dx[j] = derivative[j] * dout[j];
}

void exp2_rows(float* weights, float* inv_sums, const float* x, int rows, int cols) {
    for (int i = 0; i < rows; ++i) {
        float* w = weights + static_cast<long>(i) * cols;
        const float* s = x + static_cast<long>(i) * cols;
        const float m = row_max_pmax(s, cols);
        const vf vm = splat(m);
        vf sum = vf{};
        int j = 0;
        for (; j + W <= cols; j += W) {
            const vf e = exp2_nonpositive(load(s + j) - vm);
            store(w + j, e);
            sum += e;
        }
        float total = hsum(sum);
        for (; j < cols; ++j) {
            w[j] = std::exp2(s[j] - m);
            total += w[j];
        }
        inv_sums[i] = 1.0f / total;  // total >= 1: the max cell contributes 2^0 = 1
    }
}

void scale_rows(float* x, std::size_t ld, const float* factors, int rows, int cols) {
    for (int i = 0; i < rows; ++i) {
        float* r = x + i * ld;
        const vf f = splat(factors[i]);
        int j = 0;
        for (; j + W <= cols; j += W) store(r + j, load(r + j) * f);
        for (; j < cols; ++j) r[j] *= factors[i];
    }
}

}  // namespace attnviz::kernels
