// The GPT's operations (src/core/gpt.hpp): every backward against float64 central differences of
// a float64 reference forward written here, the attention against the engine's run(), and the
// passes' determinism across thread counts. Tolerance: relative 1e-4 of the gradient's largest
// magnitude (float32 arithmetic against float64 differences with step 1e-4, whose truncation
// error is about 1e-8).
#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "attnviz/core.hpp"
#include "attnviz/model.hpp"
#include "gpt.hpp"
#include "kernels.hpp"

namespace {

using Vec = std::vector<double>;

std::vector<float> random_floats(std::size_t n, float spread, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> u(-spread, spread);
    std::vector<float> v(n);
    for (float& x : v) x = u(gen);
    return v;
}

Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

// Σ r·f(x): the scalar whose gradient a backward computes when handed dout = r.
double weighted(const Vec& out, const std::vector<float>& r) {
    double s = 0;
    for (std::size_t i = 0; i < out.size(); ++i) s += out[i] * r[i];
    return s;
}

// ∂/∂x_k of loss(x) by central differences, in double.
Vec numeric_gradient(const std::function<double(const Vec&)>& loss, Vec x) {
    Vec g(x.size());
    for (std::size_t k = 0; k < x.size(); ++k) {
        const double h = 1e-4 * std::max(1.0, std::abs(x[k])), keep = x[k];
        x[k] = keep + h;
        const double up = loss(x);
        x[k] = keep - h;
        const double down = loss(x);
        x[k] = keep;
        g[k] = (up - down) / (2 * h);
    }
    return g;
}

void require_close(const std::vector<float>& got, const Vec& want, const char* what, double rel = 1e-4) {
    REQUIRE(got.size() == want.size());
    double scale = 0, worst = 0;
    for (double w : want) scale = std::max(scale, std::abs(w));
    for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    INFO(what << ": largest difference " << worst << " against a largest magnitude " << scale << " (relative " << worst / scale
              << ", bound " << rel << ")");
    CHECK(scale > 0);
    CHECK(worst <= rel * scale);
}

//-----------------------------------------------------------------------------
// float64 references of each forward
//-----------------------------------------------------------------------------
Vec ref_layernorm(const Vec& x, const Vec& w, const Vec& b, int N, int C) {
    Vec out(x.size());
    for (int i = 0; i < N; ++i) {
        double m = 0, v = 0;
        for (int c = 0; c < C; ++c) m += x[i * C + c];
        m /= C;
        for (int c = 0; c < C; ++c) v += (x[i * C + c] - m) * (x[i * C + c] - m);
        v /= C;
        for (int c = 0; c < C; ++c) out[i * C + c] = (x[i * C + c] - m) / std::sqrt(v + 1e-5) * w[c] + b[c];
    }
    return out;
}

Vec ref_matmul(const Vec& x, const Vec& w, const Vec& b, int N, int C, int OC) {
    Vec out(static_cast<std::size_t>(N) * OC);
    for (int i = 0; i < N; ++i)
        for (int o = 0; o < OC; ++o) {
            double s = b.empty() ? 0 : b[o];
            for (int c = 0; c < C; ++c) s += x[i * C + c] * w[o * C + c];
            out[i * OC + o] = s;
        }
    return out;
}

// alibi: head h subtracts 2^(-8(h+1)/H)·(t - u) from its scaled scores (written out here, not alibi_slope)
Vec ref_attention(const Vec& qkv, int B, int T, int C, int H, bool alibi = false, bool causal = true) {
    const int hs = C / H;
    Vec out(static_cast<std::size_t>(B) * T * C, 0.0);
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t) {
                const double* q = &qkv[(b * T + t) * 3 * C + h * hs];
                const int keys = causal ? t + 1 : T;
                Vec s(keys);
                double m = -1e300;
                for (int u = 0; u < keys; ++u) {
                    const double* k = &qkv[(b * T + u) * 3 * C + C + h * hs];
                    double dot = 0;
                    for (int c = 0; c < hs; ++c) dot += q[c] * k[c];
                    s[u] = dot / std::sqrt(static_cast<double>(hs)) - (alibi ? std::pow(2.0, -8.0 * (h + 1) / H) * std::abs(t - u) : 0.0);
                    m = std::max(m, s[u]);
                }
                double sum = 0;
                for (double& e : s) sum += (e = std::exp(e - m));
                for (int u = 0; u < keys; ++u) {
                    const double* v = &qkv[(b * T + u) * 3 * C + 2 * C + h * hs];
                    for (int c = 0; c < hs; ++c) out[(b * T + t) * C + h * hs + c] += s[u] / sum * v[c];
                }
            }
    return out;
}

// RoPE: q and k of head h at position t, pair (2i, 2i+1) rotated by t·10000^(-2i/hs) (written out
// here from the paper's complex form: (a + ib)·e^{iθ})
Vec ref_rope(Vec qkv, int B, int T, int C, int H) {
    const int hs = C / H;
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t)
            for (int part = 0; part < 2; ++part)
                for (int h = 0; h < H; ++h)
                    for (int i = 0; i < hs / 2; ++i) {
                        double* x = &qkv[(b * T + t) * 3 * C + part * C + h * hs + 2 * i];
                        const std::complex<double> z = std::complex<double>(x[0], x[1]) *
                                                       std::polar(1.0, t / std::pow(10000.0, 2.0 * i / hs));
                        x[0] = z.real();
                        x[1] = z.imag();
                    }
    return qkv;
}

Vec ref_gelu(const Vec& x) {
    Vec out(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0)));
    return out;
}

double ref_crossentropy(const Vec& logits, const std::vector<int>& targets, int BT, int V) {
    double total = 0;
    int counted = 0;
    for (int i = 0; i < BT; ++i) {
        if (targets[i] < 0) continue;
        double m = -1e300, sum = 0;
        for (int j = 0; j < V; ++j) m = std::max(m, logits[i * V + j]);
        for (int j = 0; j < V; ++j) sum += std::exp(logits[i * V + j] - m);
        total += std::log(sum) - (logits[i * V + targets[i]] - m);
        ++counted;
    }
    return total / counted;
}

}  // namespace

using namespace attnviz;

TEST_CASE("kernels::transpose: every element moves to its mirrored place, blocks and edges, rows with padding", "[gpt]") {
    for (const auto& [rows, cols, ld] : {std::array{1, 1, 1}, std::array{4, 4, 4}, std::array{3, 7, 9}, std::array{33, 65, 72},
                                         std::array{64, 32, 32}, std::array{37, 5, 5}, std::array{4071, 65, 72}}) {
        const auto in = random_floats(static_cast<std::size_t>(rows) * ld, 1.0f, static_cast<unsigned>(rows * 131 + cols));
        std::vector<float> out(static_cast<std::size_t>(rows) * cols, -7.0f);
        kernels::transpose(out.data(), in.data(), ld, rows, cols);
        int wrong = 0;
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) wrong += out[static_cast<std::size_t>(c) * rows + r] != in[static_cast<std::size_t>(r) * ld + c];
        INFO(rows << "x" << cols << " ld " << ld);
        CHECK(wrong == 0);
    }
}

TEST_CASE("kernels::matmul_packed_at: A read transposed in place gives matmul_packed's bits on the transposed copy", "[gpt]") {
    // M rows past the tile's and the block's (MR, MC = 64), K past a slice of k (KC = 256), N with a
    // vector tail; At's rows padded (lda > M); with and without accumulate
    for (const auto& [M, K, N, lda] : {std::array{1, 1, 1, 1}, std::array{5, 7, 9, 6}, std::array{96, 1024, 96, 96},
                                       std::array{67, 300, 13, 70}, std::array{384, 64, 96, 384}}) {
        INFO(M << "x" << K << " · " << K << "x" << N << ", lda " << lda);
        const auto At = random_floats(static_cast<std::size_t>(K) * lda, 1.0f, static_cast<unsigned>(M * 7 + K));
        const auto B = random_floats(static_cast<std::size_t>(K) * N, 1.0f, static_cast<unsigned>(N * 3 + K));
        std::vector<float> A(static_cast<std::size_t>(M) * K);  // the transposed copy
        for (int i = 0; i < M; ++i)
            for (int k = 0; k < K; ++k) A[static_cast<std::size_t>(i) * K + k] = At[static_cast<std::size_t>(k) * lda + i];
        std::vector<float> packed(kernels::packed_size(K, N));
        kernels::pack(packed.data(), B.data(), N, K, N);
        for (const bool accumulate : {false, true}) {
            std::vector<float> want = random_floats(static_cast<std::size_t>(M) * N, 1.0f, 5), got = want;
            kernels::matmul_packed(want.data(), N, A.data(), packed.data(), M, K, N, accumulate);
            kernels::matmul_packed_at(got.data(), N, At.data(), lda, packed.data(), M, K, N, accumulate);
            CHECK(got == want);
        }
    }
}

TEST_CASE("kernels::matmul_packed_range and packed_prefix: the whole product's bits where the terms left out are zeros", "[gpt]") {
    // K past a slice of k (KC = 256) with ranges crossing it; N with a vector tail; M past a tile
    for (const auto& [M, K, N] : {std::array{16, 64, 24}, std::array{5, 300, 13}, std::array{33, 512, 32}, std::array{3, 17, 96}}) {
        const auto B = random_floats(static_cast<std::size_t>(K) * N, 1.0f, static_cast<unsigned>(N + K));
        std::vector<float> packed(kernels::packed_size(K, N));
        kernels::pack(packed.data(), B.data(), N, K, N);
        for (const auto& [k_begin, k_end] : {std::array{0, K}, std::array{0, K / 3 + 1}, std::array{K / 2, K}, std::array{7, K - 5}}) {
            INFO(M << "x" << K << " · " << K << "x" << N << ", k in [" << k_begin << ", " << k_end << ")");
            auto A = random_floats(static_cast<std::size_t>(M) * K, 1.0f, static_cast<unsigned>(M + k_begin));
            for (int i = 0; i < M; ++i)  // zeros outside the range, of either sign
                for (int k = 0; k < K; ++k)
                    if (k < k_begin || k >= k_end) A[static_cast<std::size_t>(i) * K + k] = (k % 2 ? -0.0f : 0.0f);
            std::vector<float> want(static_cast<std::size_t>(M) * N), got(want.size(), 5.0f);  // got: overwritten
            kernels::matmul_packed(want.data(), N, A.data(), packed.data(), M, K, N);
            kernels::matmul_packed_range(got.data(), N, A.data(), packed.data(), M, K, N, k_begin, k_end);
            CHECK(got == want);
        }
        for (int n = 1; n <= N; ++n) {  // the leading columns read from the same packed B
            INFO(M << "x" << K << " · " << K << "x" << N << ", the first " << n << " columns");
            const int cols = kernels::packed_prefix(n, N);
            REQUIRE(cols >= n);
            REQUIRE(cols <= N);
            const auto A = random_floats(static_cast<std::size_t>(M) * K, 1.0f, static_cast<unsigned>(n));
            std::vector<float> whole(static_cast<std::size_t>(M) * N), prefix(static_cast<std::size_t>(M) * N, 5.0f);
            kernels::matmul_packed(whole.data(), N, A.data(), packed.data(), M, K, N);
            kernels::matmul_packed(prefix.data(), N, A.data(), packed.data(), M, K, cols);
            int wrong = 0;
            for (int i = 0; i < M; ++i)
                for (int j = 0; j < n; ++j) wrong += prefix[static_cast<std::size_t>(i) * N + j] != whole[static_cast<std::size_t>(i) * N + j];
            CHECK(wrong == 0);
        }
    }
}

TEST_CASE("kernels::matmul_packed and matmul: M rows at once give each row's bits alone (the row blocks change no sum)", "[gpt]") {
    // M around the row block (64, or one block up to 96 rows): 65 (a trace of 64 characters and
    // <|bos|>), 97 and 130 (two blocks), 200
    for (const auto& [M, K, N] : {std::array{65, 128, 70}, std::array{97, 40, 19}, std::array{130, 300, 33}, std::array{200, 16, 8}}) {
        INFO(M << "x" << K << " · " << K << "x" << N);
        const auto A = random_floats(static_cast<std::size_t>(M) * K, 1.0f, static_cast<unsigned>(M));
        const auto B = random_floats(static_cast<std::size_t>(K) * N, 1.0f, static_cast<unsigned>(N));
        const auto bias = random_floats(static_cast<std::size_t>(N), 1.0f, 3);
        std::vector<float> packed(kernels::packed_size(K, N));
        kernels::pack(packed.data(), B.data(), N, K, N);
        std::vector<float> whole(static_cast<std::size_t>(M) * N), rows(whole.size()), plain(whole.size()), plain_rows(whole.size());
        kernels::matmul_packed(whole.data(), N, A.data(), packed.data(), M, K, N, false, bias.data());
        kernels::matmul(plain.data(), A.data(), B.data(), bias.data(), M, K, N, Kernels::simd);
        for (int i = 0; i < M; ++i) {
            const std::size_t at = static_cast<std::size_t>(i) * N;
            kernels::matmul_packed(rows.data() + at, N, A.data() + static_cast<std::size_t>(i) * K, packed.data(), 1, K, N, false, bias.data());
            kernels::matmul(plain_rows.data() + at, A.data() + static_cast<std::size_t>(i) * K, B.data(), bias.data(), 1, K, N, Kernels::simd);
        }
        CHECK(whole == rows);
        CHECK(plain == plain_rows);
    }
}

TEST_CASE("kernels::first_above: the first element above the floor from any start, as a plain scan finds it", "[gpt]") {
    for (int n : {0, 1, 15, 16, 17, 64, 100, 4071}) {
        auto x = random_floats(static_cast<std::size_t>(n), 1.0f, static_cast<unsigned>(n + 1));
        if (n > 20) x[20] = std::numeric_limits<float>::quiet_NaN();  // never above anything
        for (float floor : {-2.0f, 0.5f, 0.99f, 2.0f})
            for (int begin : {0, 1, 7, 16, n / 2, n}) {
                if (begin > n) continue;
                INFO("n " << n << " floor " << floor << " begin " << begin);
                int want = begin;
                while (want < n && !(x[static_cast<std::size_t>(want)] > floor)) ++want;
                CHECK(kernels::first_above(x.data(), begin, n, floor) == want);
            }
    }
}

TEST_CASE("layernorm_backward matches float64 central differences", "[gpt]") {
    const int N = 6, C = 8;
    const auto x = random_floats(N * C, 2.0f, 1), w = random_floats(C, 1.5f, 2), b = random_floats(C, 0.5f, 3);
    const auto r = random_floats(N * C, 1.0f, 4);
    std::vector<float> out(N * C), mean(N), rstd(N), dx(N * C, 0.0f), dw(C, 0.0f), db(C, 0.0f);
    gpt::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
    require_close(out, ref_layernorm(to_double(x), to_double(w), to_double(b), N, C), "forward", 1e-5);
    gpt::layernorm_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
    require_close(dx, numeric_gradient([&](const Vec& v) { return weighted(ref_layernorm(v, to_double(w), to_double(b), N, C), r); }, to_double(x)), "dinp");
    require_close(dw, numeric_gradient([&](const Vec& v) { return weighted(ref_layernorm(to_double(x), v, to_double(b), N, C), r); }, to_double(w)), "dweight");
    require_close(db, numeric_gradient([&](const Vec& v) { return weighted(ref_layernorm(to_double(x), to_double(w), v, N, C), r); }, to_double(b)), "dbias");
}

TEST_CASE("matmul_backward matches float64 central differences, with and without bias, uneven sizes", "[gpt]") {
    for (const auto& shape : {std::array{5, 7, 9}, std::array{17, 12, 36}, std::array{3, 33, 10}}) {
        const int N = shape[0], C = shape[1], OC = shape[2];  // plain ints: lambdas cannot capture structured bindings in C++17
        INFO("N " << N << " C " << C << " OC " << OC);
        const auto x = random_floats(N * C, 1.0f, 5), w = random_floats(OC * C, 1.0f, 6), b = random_floats(OC, 1.0f, 7);
        const auto r = random_floats(N * OC, 1.0f, 8);
        std::vector<float> out(N * OC), dx(N * C, 0.0f), dw(OC * C, 0.0f), db(OC, 0.0f);
        gpt::matmul_forward(out.data(), x.data(), w.data(), b.data(), N, C, OC);
        require_close(out, ref_matmul(to_double(x), to_double(w), to_double(b), N, C, OC), "forward", 1e-5);
        gpt::matmul_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), N, C, OC);
        require_close(dx, numeric_gradient([&](const Vec& v) { return weighted(ref_matmul(v, to_double(w), to_double(b), N, C, OC), r); }, to_double(x)), "dinp");
        require_close(dw, numeric_gradient([&](const Vec& v) { return weighted(ref_matmul(to_double(x), v, to_double(b), N, C, OC), r); }, to_double(w)), "dweight");
        require_close(db, numeric_gradient([&](const Vec& v) { return weighted(ref_matmul(to_double(x), to_double(w), v, N, C, OC), r); }, to_double(b)), "dbias");
    }
}

TEST_CASE("attention_backward matches float64 central differences (causal mask or none, softmax, scaling, ALiBi)", "[gpt]") {
    for (const auto& shape : {std::array{2, 5, 8, 2, 0, 1}, std::array{1, 11, 12, 3, 0, 1}, std::array{2, 7, 8, 2, 1, 1},
                              std::array{1, 11, 12, 3, 1, 1}, std::array{2, 5, 8, 2, 0, 0}, std::array{1, 10, 12, 3, 0, 0}}) {
        const int B = shape[0], T = shape[1], C = shape[2], H = shape[3];
        const bool alibi = shape[4] == 1, causal = shape[5] == 1;
        INFO("B " << B << " T " << T << " C " << C << " H " << H << " alibi " << alibi << " causal " << causal);
        const auto qkv = random_floats(B * T * 3 * C, 1.5f, 9);
        const auto r = random_floats(B * T * C, 1.0f, 10);
        // dqkv starts as anything: attention_backward sets it, it does not add into it
        std::vector<float> out(B * T * C), att(B * H * T * T), dqkv(qkv.size(), 7.0f);
        gpt::attention_forward(out.data(), att.data(), qkv.data(), B, T, C, H, alibi, causal);
        require_close(out, ref_attention(to_double(qkv), B, T, C, H, alibi, causal), "forward", 1e-5);
        bool future_weighted = false;  // without the mask, some query puts weight on a later key
        for (int p = 0; p < B * H; ++p)
            for (int t = 0; t < T; ++t) {
                double sum = 0;
                for (int u = 0; u < T; ++u) {
                    const float a = att[(p * T + t) * T + u];
                    if (u > t && causal) CHECK(a == 0.0f);  // masked: exactly 0
                    future_weighted |= u > t && a > 0.0f;
                    sum += a;
                }
                CHECK(std::abs(sum - 1.0) < 1e-6);
            }
        CHECK(future_weighted == !causal);
        gpt::attention_backward(dqkv.data(), r.data(), qkv.data(), att.data(), B, T, C, H, causal);
        require_close(dqkv, numeric_gradient([&](const Vec& v) { return weighted(ref_attention(v, B, T, C, H, alibi, causal), r); }, to_double(qkv)), "dinp");
    }
}

TEST_CASE("extract_patches cuts raster-order patches, patch_encoder_backward matches float64 central differences", "[gpt]") {
    // a 4×4 image of its pixel indices, 2×2 patches: patch 1 is the top right, pixels 2, 3, 6, 7
    std::vector<float> image(16), patches(16);
    for (int i = 0; i < 16; ++i) image[i] = static_cast<float>(i);
    gpt::extract_patches(patches.data(), image.data(), 1, 4, 2);
    CHECK(patches == std::vector<float>{0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15});

    const int B = 2, N = 4, P = 4, C = 6, T = N + 1;
    const auto x = random_floats(B * N * P, 1.0f, 41), w = random_floats(C * P, 0.5f, 42), b = random_floats(C, 0.5f, 43);
    const auto cls = random_floats(C, 0.5f, 44), wpe = random_floats(T * C, 0.5f, 45), r = random_floats(B * T * C, 1.0f, 46);
    // float64 reference: out[b,0] = cls + wpe[0]; out[b,1+n] = x[b,n]·wᵀ + b + wpe[1+n]
    const auto ref = [&](const Vec& xv, const Vec& wv, const Vec& bv, const Vec& clsv, const Vec& wpev) {
        Vec out(static_cast<std::size_t>(B) * T * C);
        for (int bb = 0; bb < B; ++bb)
            for (int t = 0; t < T; ++t)
                for (int c = 0; c < C; ++c) {
                    double v = wpev[t * C + c];
                    if (t == 0) {
                        v += clsv[c];
                    } else {
                        v += bv[c];
                        for (int k = 0; k < P; ++k) v += xv[(bb * N + t - 1) * P + k] * wv[c * P + k];
                    }
                    out[(bb * T + t) * C + c] = v;
                }
        return out;
    };
    std::vector<float> out(B * T * C);
    gpt::patch_encoder_forward(out.data(), x.data(), w.data(), b.data(), cls.data(), wpe.data(), B, N, P, C);
    const Vec X = to_double(x), W = to_double(w), Bv = to_double(b), CLS = to_double(cls), WPE = to_double(wpe);
    require_close(out, ref(X, W, Bv, CLS, WPE), "forward", 1e-6);
    std::vector<float> dw(w.size(), 0.0f), db(b.size(), 0.0f), dcls(cls.size(), 0.0f), dwpe(wpe.size(), 0.0f);
    gpt::patch_encoder_backward(dw.data(), db.data(), dcls.data(), dwpe.data(), r.data(), x.data(), B, N, P, C);
    require_close(dw, numeric_gradient([&](const Vec& v) { return weighted(ref(X, v, Bv, CLS, WPE), r); }, W), "dpatchw");
    require_close(db, numeric_gradient([&](const Vec& v) { return weighted(ref(X, W, v, CLS, WPE), r); }, Bv), "dpatchb");
    require_close(dcls, numeric_gradient([&](const Vec& v) { return weighted(ref(X, W, Bv, v, WPE), r); }, CLS), "dcls");
    require_close(dwpe, numeric_gradient([&](const Vec& v) { return weighted(ref(X, W, Bv, CLS, v), r); }, WPE), "dwpe");
}

TEST_CASE("rope_backward, through attention, matches float64 central differences — values are not rotated", "[gpt]") {
    for (const auto& shape : {std::array{2, 6, 8, 2}, std::array{1, 13, 12, 3}}) {
        const int B = shape[0], T = shape[1], C = shape[2], H = shape[3];
        INFO("B " << B << " T " << T << " C " << C << " H " << H);
        const auto qkv = random_floats(B * T * 3 * C, 1.5f, 31);
        const auto r = random_floats(B * T * C, 1.0f, 32);
        std::vector<float> rotated = qkv;
        gpt::rope_forward(rotated.data(), B, T, C, H);
        require_close(rotated, ref_rope(to_double(qkv), B, T, C, H), "rotation", 1e-6);
        for (int row = 0; row < B * T; ++row)  // v untouched, and position 0 not rotated at all
            for (int c = 0; c < C; ++c) {
                CHECK(rotated[row * 3 * C + 2 * C + c] == qkv[row * 3 * C + 2 * C + c]);
                if (row % T == 0) CHECK(rotated[row * 3 * C + c] == qkv[row * 3 * C + c]);
            }
        std::vector<float> out(B * T * C), att(B * H * T * T), dqkv(qkv.size(), 0.0f);
        gpt::attention_forward(out.data(), att.data(), rotated.data(), B, T, C, H);
        gpt::attention_backward(dqkv.data(), r.data(), rotated.data(), att.data(), B, T, C, H);
        gpt::rope_backward(dqkv.data(), B, T, C, H);
        const auto loss = [&](const Vec& v) { return weighted(ref_attention(ref_rope(v, B, T, C, H), B, T, C, H), r); };
        require_close(dqkv, numeric_gradient(loss, to_double(qkv)), "dinp");
    }
}

TEST_CASE("gelu_backward matches float64 central differences (erf form), from the derivative the forward keeps", "[gpt]") {
    const int n = 67;  // a scalar tail after the vectors
    const auto x = random_floats(n, 4.0f, 11), r = random_floats(n, 1.0f, 12);
    std::vector<float> out(n), plain(n), derivative(n), dx(n, 5.0f);
    gpt::gelu_forward(out.data(), derivative.data(), x.data(), n);
    gpt::gelu_forward(plain.data(), nullptr, x.data(), n);
    CHECK(out == plain);  // keeping the derivative does not change the output
    require_close(out, ref_gelu(to_double(x)), "forward", 1e-6);
    gpt::gelu_backward(dx.data(), derivative.data(), r.data(), n);  // set: the 5s are gone
    require_close(dx, numeric_gradient([&](const Vec& v) { return weighted(ref_gelu(v), r); }, to_double(x)), "dinp");
    gpt::gelu_backward(derivative.data(), derivative.data(), r.data(), n);  // in place, as gpt_backward does
    CHECK(derivative == dx);
}

TEST_CASE("matmul_forward's bias and matmul_backward's set_dinp give the bits of a separate pass and of adding into zeros", "[gpt]") {
    for (const auto& shape : {std::array{5, 7, 9}, std::array{33, 300, 70}, std::array{16, 96, 384}}) {  // K > 256: two k-slices
        const int N = shape[0], C = shape[1], OC = shape[2];
        INFO("N " << N << " C " << C << " OC " << OC);
        const auto x = random_floats(N * C, 1.0f, 31), w = random_floats(OC * C, 1.0f, 32), b = random_floats(OC, 1.0f, 33);
        const auto dout = random_floats(N * OC, 1.0f, 34);
        std::vector<float> with_bias(N * OC), then_bias(N * OC);
        gpt::matmul_forward(with_bias.data(), x.data(), w.data(), b.data(), N, C, OC);
        gpt::matmul_forward(then_bias.data(), x.data(), w.data(), nullptr, N, C, OC);
        for (int i = 0; i < N; ++i)
            for (int j = 0; j < OC; ++j) then_bias[i * OC + j] += b[j];
        CHECK(with_bias == then_bias);
        std::vector<float> set(N * C, 9.0f), added(N * C, 0.0f), dw(OC * C, 0.0f);
        gpt::matmul_backward(set.data(), dw.data(), nullptr, dout.data(), x.data(), w.data(), N, C, OC, true);
        gpt::matmul_backward(added.data(), dw.data(), nullptr, dout.data(), x.data(), w.data(), N, C, OC);
        CHECK(set == added);
    }
}

TEST_CASE("softmax_crossentropy_backward matches float64 central differences — positions without target are skipped", "[gpt]") {
    const int BT = 6, V = 13;
    const auto logits = random_floats(BT * V, 3.0f, 13);
    const std::vector<int> targets = {3, 0, -1, 12, 7, 7};
    std::vector<float> probs(BT * V), losses(BT), dlogits(BT * V, 0.0f);
    gpt::softmax_crossentropy_forward(probs.data(), losses.data(), logits.data(), targets.data(), BT, V);
    CHECK(losses[2] == 0.0f);
    double mean = 0;
    for (float l : losses) mean += l;
    CHECK(std::abs(mean / 5 - ref_crossentropy(to_double(logits), targets, BT, V)) < 1e-6);
    gpt::softmax_crossentropy_backward(dlogits.data(), probs.data(), targets.data(), BT, V);
    require_close(dlogits, numeric_gradient([&](const Vec& v) { return ref_crossentropy(v, targets, BT, V); }, to_double(logits)), "dlogits");
    for (int j = 0; j < V; ++j) CHECK(dlogits[2 * V + j] == 0.0f);
}

TEST_CASE("encoder and residual backward add their gradients (a token used twice collects both)", "[gpt]") {
    const int B = 1, T = 3, C = 2;
    const std::vector<int> inp = {1, 0, 1};
    const std::vector<float> wte = {1, 2, 3, 4}, wpe = {10, 20, 30, 40, 50, 60}, dout = {1, 2, 3, 4, 5, 6};
    std::vector<float> out(6), dwte(4, 0.0f), dwpe(6, 0.0f);
    gpt::encoder_forward(out.data(), inp.data(), wte.data(), wpe.data(), B, T, C);
    CHECK(out == std::vector<float>{13, 24, 31, 42, 53, 64});
    gpt::encoder_backward(dwte.data(), dwpe.data(), dout.data(), inp.data(), B, T, C);
    CHECK(dwte == std::vector<float>{3, 4, 6, 8});
    CHECK(dwpe == dout);
    // without a position table (ALiBi) the embedding is the token's row alone
    std::fill(dwte.begin(), dwte.end(), 0.0f);
    gpt::encoder_forward(out.data(), inp.data(), wte.data(), nullptr, B, T, C);
    CHECK(out == std::vector<float>{3, 4, 1, 2, 3, 4});
    gpt::encoder_backward(dwte.data(), nullptr, dout.data(), inp.data(), B, T, C);
    CHECK(dwte == std::vector<float>{3, 4, 6, 8});
}

TEST_CASE("the model's attention equals the engine's run() for the same layer (one attention, two callers)", "[gpt]") {
  for (const Positional positional : {Positional::none, Positional::alibi, Positional::rope}) {
    const bool alibi = positional == Positional::alibi;
    INFO("positional " << static_cast<int>(positional));
    // A layer's q, k, v from c_attn, then attention_forward and c_proj, against run() with the
    // same LayerNorm output as embeddings and c_attn / c_proj as Wq, Wk, Wv, Wo (transposed:
    // the engine uses row vectors), causal mask, and the same positions (none, ALiBi, RoPE).
    const int T = 9, C = 12, H = 3;
    const auto x = random_floats(T * C, 1.0f, 14), w_attn = random_floats(3 * C * C, 0.4f, 15), b_attn = random_floats(3 * C, 0.2f, 16);
    const auto w_proj = random_floats(C * C, 0.4f, 17), b_proj = random_floats(C, 0.2f, 18);
    std::vector<float> qkv(T * 3 * C), y(T * C), att(H * T * T), out(T * C);
    gpt::matmul_forward(qkv.data(), x.data(), w_attn.data(), b_attn.data(), T, C, 3 * C);
    if (positional == Positional::rope) gpt::rope_forward(qkv.data(), 1, T, C, H);
    gpt::attention_forward(y.data(), att.data(), qkv.data(), 1, T, C, H, alibi);
    gpt::matmul_forward(out.data(), y.data(), w_proj.data(), b_proj.data(), T, C, C);

    Config config;
    config.tokens = std::vector<std::string>(T, "x");
    config.d_model = C;
    config.heads = H;
    config.positional = positional;
    config.mask = MaskKind::causal;
    config.embeddings = Matrix::from_shape({std::size_t(T), std::size_t(C)});
    std::copy(x.begin(), x.end(), config.embeddings->begin());
    const auto transposed = [&](const float* w, int rows) {  // torch (out, in) rows [first, first + C) -> (in, out)
        Matrix m = Matrix::from_shape({std::size_t(C), std::size_t(C)});
        for (int o = 0; o < C; ++o)
            for (int i = 0; i < C; ++i) m(i, o) = w[(rows + o) * C + i];
        return m;
    };
    const auto vec = [&](const float* b) { Vector v = Vector::from_shape({std::size_t(C)}); std::copy(b, b + C, v.begin()); return v; };
    config.weights.Wq = transposed(w_attn.data(), 0);
    config.weights.Wk = transposed(w_attn.data(), C);
    config.weights.Wv = transposed(w_attn.data(), 2 * C);
    config.weights.Wo = transposed(w_proj.data(), 0);
    config.weights.bq = vec(b_attn.data());
    config.weights.bk = vec(b_attn.data() + C);
    config.weights.bv = vec(b_attn.data() + 2 * C);
    config.weights.bo = vec(b_proj.data());
    Expected<Trace> trace = run(config);
    REQUIRE(trace.ok());
    Vec concat(trace.value().concat.begin(), trace.value().concat.end()), output(trace.value().output.begin(), trace.value().output.end());
    require_close(y, concat, "attention heads vs Trace::concat", 1e-5);
    require_close(out, output, "c_proj vs Trace::output", 1e-5);
    for (int h = 0; h < H; ++h)
        for (int t = 0; t < T; ++t)
            for (int u = 0; u < T; ++u) CHECK(std::abs(att[(h * T + t) * T + u] - trace.value().heads[h].weights(t, u)) < 1e-6);
    if (alibi)
        for (int h = 0; h < H; ++h) CHECK(trace.value().heads[h].alibi_slope == alibi_slope(h, H));
  }
}

TEST_CASE("gpt_forward and gpt_backward give the same bits with 1 and 2 threads", "[gpt]") {
    ModelConfig mc;
    mc.block_size = 32;
    mc.vocab_size = 37;
    mc.n_layer = 2;
    mc.n_head = 4;
    mc.n_embd = 32;
    Vocabulary vocab;
    for (int i = 0; i < mc.vocab_size; ++i) vocab.tokens.push_back(std::string(1, static_cast<char>('A' + i)));
    Expected<Model> model = init_model(mc, vocab, 7);
    REQUIRE(model.ok());
    std::vector<std::vector<float>> grads;
    std::vector<float> losses;
    for (int threads : {1, 2}) {
        gpt::set_threads(threads);
        gpt::RunState s = gpt::make_run_state(mc, 4, 32);
        for (std::size_t i = 0; i < s.inputs.size(); ++i) {
            s.inputs[i] = static_cast<int>((i * 7 + 3) % mc.vocab_size);
            s.targets[i] = static_cast<int>((i * 5 + 1) % mc.vocab_size);
        }
        gpt::gpt_forward(s, model.value());
        gpt::gpt_backward(s, model.value());
        losses.push_back(s.mean_loss);
        grads.push_back(s.grads);
    }
    gpt::set_threads(1);
    CHECK(losses[0] == losses[1]);
    CHECK(grads[0] == grads[1]);
    // a fresh model predicts about uniformly: loss near ln(V)
    CHECK(std::abs(losses[0] - std::log(37.0)) < 0.1);
}

TEST_CASE("backward at training sizes: sums longer than one cache block of k (K > 256) add up like float64", "[gpt]") {
    // matmul_backward's dweight sums over N = B·T rows and attention's products over T keys: at the
    // shipped model's sizes both run through several k-slices of the packed matmul, accumulating.
    const int N = 600, C = 40, OC = 70;
    const auto x = random_floats(N * C, 1.0f, 21), w = random_floats(OC * C, 1.0f, 22), dout = random_floats(N * OC, 1.0f, 23);
    std::vector<float> dx(N * C, 0.5f), dw(OC * C, 0.25f), db(OC, 0.0f);  // backward adds to what is there
    gpt::matmul_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), N, C, OC);
    Vec want_dw(OC * C, 0.25), want_dx(N * C, 0.5);
    for (int n = 0; n < N; ++n)
        for (int o = 0; o < OC; ++o)
            for (int c = 0; c < C; ++c) {
                want_dw[o * C + c] += static_cast<double>(dout[n * OC + o]) * x[n * C + c];
                want_dx[n * C + c] += static_cast<double>(dout[n * OC + o]) * w[o * C + c];
            }
    require_close(dw, want_dw, "dweight (K = 600)", 1e-5);
    require_close(dx, want_dx, "dinp", 1e-5);

    const int T = 300, AC = 32, H = 2;
    const auto qkv = random_floats(T * 3 * AC, 1.0f, 24), r = random_floats(T * AC, 1.0f, 25);
    std::vector<float> out(T * AC), att(H * T * T), dqkv(qkv.size(), 0.0f);
    gpt::attention_forward(out.data(), att.data(), qkv.data(), 1, T, AC, H);
    require_close(out, ref_attention(to_double(qkv), 1, T, AC, H), "attention forward (T = 300)", 1e-5);
    gpt::attention_backward(dqkv.data(), r.data(), qkv.data(), att.data(), 1, T, AC, H);
    // every coordinate of the values' gradient, which is linear (dv = attᵀ·r), and a sample of 40
    // query and key coordinates by central differences of the float64 reference
    Vec want_dv(T * AC, 0.0);
    const int hs = AC / H;
    for (int h = 0; h < H; ++h)
        for (int i = 0; i < T; ++i)
            for (int j = 0; j <= i; ++j)
                for (int c = 0; c < hs; ++c)
                    want_dv[j * AC + h * hs + c] += static_cast<double>(att[(h * T + i) * T + j]) * r[i * AC + h * hs + c];
    std::vector<float> dv(T * AC);
    for (int t = 0; t < T; ++t)
        for (int c = 0; c < AC; ++c) dv[t * AC + c] = dqkv[t * 3 * AC + 2 * AC + c];
    require_close(dv, want_dv, "dv (T = 300)", 1e-5);
    Vec base = to_double(qkv);
    double worst = 0, scale = 0;
    for (int k = 0; k < 40; ++k) {
        const int t = (k * 37) % T, c = (k * 11) % (2 * AC);  // q and k channels
        const int at = t * 3 * AC + c;
        const double h = 1e-4, keep = base[at];
        base[at] = keep + h;
        const double up = weighted(ref_attention(base, 1, T, AC, H), r);
        base[at] = keep - h;
        const double down = weighted(ref_attention(base, 1, T, AC, H), r);
        base[at] = keep;
        const double numeric = (up - down) / (2 * h);
        worst = std::max(worst, std::abs(numeric - dqkv[at]));
        scale = std::max(scale, std::abs(numeric));
    }
    INFO("dq, dk sample: largest difference " << worst << " of " << scale);
    CHECK(worst <= 1e-4 * scale + 1e-6);
}
