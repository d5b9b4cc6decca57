// gpt.cpp — the GPT's forward and backward passes (gpt.hpp), on the engine's SIMD kernels.
//
// Linear layers pack their right-hand matrix once (kernels::pack / pack_transposed) and split
// the rows of the product across threads; LayerNorm's weight and bias gradients (sums over rows)
// are split across columns, a Linear bias's gradient is summed on one thread; attention is split
// across (batch, head) pairs. Each output element is
// computed by one thread in one fixed order, so the bits do not depend on the thread count.
#include "gpt.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#if !defined(__EMSCRIPTEN__) || defined(__EMSCRIPTEN_PTHREADS__)
#define ATTNVIZ_HAS_THREADS 1
#include <thread>
#endif

#include "kernels.hpp"

namespace attnviz::gpt {

//-----------------------------------------------------------------------------
// 1. Threads
//-----------------------------------------------------------------------------
namespace {
int g_threads = 1;

// f(begin, end) over [0, n) in contiguous chunks, one per thread; serial when the work is
// small (`cost` is a rough count of floating-point operations for all n items).
template <class F>
void parallel_for(int n, double cost, F&& f) {
    int workers = std::min(g_threads, n);
    if (cost < 2e5) workers = 1;
    if (workers <= 1) {
        f(0, n);
        return;
    }
#if ATTNVIZ_HAS_THREADS
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (int w = 1; w < workers; ++w) {
        const int begin = static_cast<int>(static_cast<long long>(n) * w / workers);
        const int end = static_cast<int>(static_cast<long long>(n) * (w + 1) / workers);
        pool.emplace_back([&f, begin, end] { f(begin, end); });
    }
    f(0, static_cast<int>(static_cast<long long>(n) / workers));
    for (std::thread& t : pool) t.join();
#else
    f(0, n);
#endif
}
}  // namespace

void set_threads(int threads) {
#if ATTNVIZ_HAS_THREADS
    g_threads = std::max(1, threads);
#else
    g_threads = 1;
    (void)threads;
#endif
}

int threads() { return g_threads; }

//-----------------------------------------------------------------------------
// 2. Operation pairs
//-----------------------------------------------------------------------------
void encoder_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C) {
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            float* o = out + (static_cast<std::size_t>(b) * T + t) * C;
            const float* e = wte + static_cast<std::size_t>(inp[b * T + t]) * C;
            if (!wpe) {  // ALiBi: positions act on the scores
                std::copy_n(e, C, o);
                continue;
            }
            const float* p = wpe + static_cast<std::size_t>(t) * C;
            for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
        }
}

void encoder_backward(float* dwte, float* dwpe, const float* dout, const int* inp, int B, int T, int C) {
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            const float* d = dout + (static_cast<std::size_t>(b) * T + t) * C;
            float* de = dwte + static_cast<std::size_t>(inp[b * T + t]) * C;
            for (int c = 0; c < C; ++c) de[c] += d[c];
            if (!dwpe) continue;
            float* dp = dwpe + static_cast<std::size_t>(t) * C;
            for (int c = 0; c < C; ++c) dp[c] += d[c];
        }
}

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int N, int C) {
    const float eps = 1e-5f;
    parallel_for(N, 8.0 * N * C, [&](int begin, int end) {
        for (int i = begin; i < end; ++i) {
            const float* x = inp + static_cast<std::size_t>(i) * C;
            float m = 0.0f;
            for (int c = 0; c < C; ++c) m += x[c];
            m /= C;
            float v = 0.0f;  // the biased variance, as torch's LayerNorm
            for (int c = 0; c < C; ++c) v += (x[c] - m) * (x[c] - m);
            v /= C;
            const float s = 1.0f / std::sqrt(v + eps);
            float* o = out + static_cast<std::size_t>(i) * C;
            for (int c = 0; c < C; ++c) o[c] = (x[c] - m) * s * weight[c] + bias[c];
            mean[i] = m;
            rstd[i] = s;
        }
    });
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C) {
    // dinp, row by row: with x̂ = (x - mean)·rstd and g = dout·weight,
    // dx = rstd·(g - mean(g) - x̂·mean(g·x̂))
    parallel_for(N, 10.0 * N * C, [&](int begin, int end) {
        for (int i = begin; i < end; ++i) {
            const float* x = inp + static_cast<std::size_t>(i) * C;
            const float* d = dout + static_cast<std::size_t>(i) * C;
            float g_mean = 0.0f, gx_mean = 0.0f;
            for (int c = 0; c < C; ++c) {
                const float xhat = (x[c] - mean[i]) * rstd[i];
                const float g = d[c] * weight[c];
                g_mean += g;
                gx_mean += g * xhat;
            }
            g_mean /= C;
            gx_mean /= C;
            float* dx = dinp + static_cast<std::size_t>(i) * C;
            for (int c = 0; c < C; ++c) {
                const float xhat = (x[c] - mean[i]) * rstd[i];
                dx[c] += (d[c] * weight[c] - g_mean - xhat * gx_mean) * rstd[i];
            }
        }
    });
    // dweight, dbias: sums over the rows, split by columns
    parallel_for(C, 4.0 * N * C, [&](int c0, int c1) {
        for (int i = 0; i < N; ++i) {
            const float* x = inp + static_cast<std::size_t>(i) * C;
            const float* d = dout + static_cast<std::size_t>(i) * C;
            for (int c = c0; c < c1; ++c) {
                dbias[c] += d[c];
                dweight[c] += (x[c] - mean[i]) * rstd[i] * d[c];
            }
        }
    });
}

namespace {

// C (M, N) = A (M, K) · B (+ bias), or C += A·B with `accumulate`; B packed (kernels::pack*),
// rows of C split across threads.
void matmul_rows(float* Cm, const float* A, const float* packed, int M, int K, int N, bool accumulate = false,
                 const float* bias = nullptr) {
    parallel_for(M, 2.0 * M * K * N, [&](int i0, int i1) {
        if (i1 > i0)
            kernels::matmul_packed(Cm + static_cast<std::size_t>(i0) * N, N, A + static_cast<std::size_t>(i0) * K, packed,
                                   i1 - i0, K, N, accumulate, bias);
    });
}

void add_into(float* dst, const float* src, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
}

std::unique_ptr<float[]> buffer(std::size_t n) { return std::unique_ptr<float[]>(new float[std::max<std::size_t>(n, 1)]); }

}  // namespace

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC) {
    const auto packed = buffer(kernels::packed_size(C, OC));
    kernels::pack_transposed(packed.get(), weight, C, C, OC);  // weightᵀ (C, OC), from weight's rows
    matmul_forward_packed(out, inp, packed.get(), bias, N, C, OC);
}

void matmul_forward_packed(float* out, const float* inp, const float* packed, const float* bias, int N, int C, int OC) {
    matmul_rows(out, inp, packed, N, C, OC, false, bias);
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                     int N, int C, int OC, bool set_dinp) {
    // dinp += dout·weight   (N, OC)·(OC, C), or dinp = dout·weight
    if (dinp) {
        const auto packed = buffer(kernels::packed_size(OC, C));
        kernels::pack(packed.get(), weight, C, OC, C);
        matmul_rows(dinp, dout, packed.get(), N, OC, C, !set_dinp);
    }
    // dweight += doutᵀ·inp   (OC, N)·(N, C), doutᵀ read from dout in place (no transposed copy)
    {
        const auto packed = buffer(kernels::packed_size(N, C));
        kernels::pack(packed.get(), inp, C, N, C);
        parallel_for(OC, 2.0 * OC * N * C, [&](int o0, int o1) {
            if (o1 > o0)
                kernels::matmul_packed_at(dweight + static_cast<std::size_t>(o0) * C, C, dout + o0, OC, packed.get(), o1 - o0, N, C,
                                          true);
        });
    }
    // dbias += Σ_rows dout
    if (dbias)
        for (int i = 0; i < N; ++i) add_into(dbias, dout + static_cast<std::size_t>(i) * OC, OC);
}

void extract_patches(float* patches, const float* images, int B, int image_size, int patch_size) {
    const int side = image_size / patch_size, P = patch_size * patch_size;
    for (int b = 0; b < B; ++b)
        for (int pr = 0; pr < side; ++pr)
            for (int pc = 0; pc < side; ++pc) {
                float* out = patches + (static_cast<std::size_t>(b) * side * side + static_cast<std::size_t>(pr) * side + pc) * P;
                const float* image = images + static_cast<std::size_t>(b) * image_size * image_size;
                for (int y = 0; y < patch_size; ++y)
                    std::copy_n(image + static_cast<std::size_t>(pr * patch_size + y) * image_size + pc * patch_size, patch_size,
                                out + static_cast<std::size_t>(y) * patch_size);
            }
}

void patch_encoder_forward(float* out, const float* patches, const float* patchw, const float* patchb, const float* cls,
                           const float* wpe, int B, int N, int P, int C) {
    const int T = N + 1;
    const auto packed = buffer(kernels::packed_size(P, C));
    kernels::pack_transposed(packed.get(), patchw, P, P, C);  // patchwᵀ (P, C)
    for (int b = 0; b < B; ++b) {
        float* o = out + static_cast<std::size_t>(b) * T * C;
        std::copy_n(cls, C, o);  // the class token, position 0
        matmul_forward_packed(o + C, patches + static_cast<std::size_t>(b) * N * P, packed.get(), patchb, N, P, C);
        for (std::size_t i = 0; i < static_cast<std::size_t>(T) * C; ++i) o[i] += wpe[i];
    }
}

void patch_encoder_backward(float* dpatchw, float* dpatchb, float* dcls, float* dwpe, const float* dout, const float* patches,
                            int B, int N, int P, int C) {
    const int T = N + 1;
    for (int b = 0; b < B; ++b) {
        const float* d = dout + static_cast<std::size_t>(b) * T * C;
        for (int c = 0; c < C; ++c) dcls[c] += d[c];
        for (std::size_t i = 0; i < static_cast<std::size_t>(T) * C; ++i) dwpe[i] += d[i];
        matmul_backward(nullptr, dpatchw, dpatchb, d + C, patches + static_cast<std::size_t>(b) * N * P, nullptr, N, P, C, false);
    }
}

namespace {

// RoPE's rotation of q and k in place; sign −1 rotates by the negated angle (the inverse).
void rope_rotate(float* qkv, int B, int T, int C, int H, float sign) {
    const int hs = C / H, half = hs / 2, C3 = 3 * C;
    std::vector<float> cs(static_cast<std::size_t>(T) * half), sn(cs.size());  // (T, hs/2) each
    for (int t = 0; t < T; ++t)
        for (int i = 0; i < half; ++i) {
            const double angle = static_cast<double>(t) * std::pow(10000.0, -static_cast<double>(2 * i) / hs);
            cs[static_cast<std::size_t>(t) * half + i] = static_cast<float>(std::cos(angle));
            sn[static_cast<std::size_t>(t) * half + i] = sign * static_cast<float>(std::sin(angle));
        }
    parallel_for(B * T, 6.0 * B * T * 2 * C, [&](int r0, int r1) {
        for (int r = r0; r < r1; ++r) {
            const int t = r % T;
            const float* c = cs.data() + static_cast<std::size_t>(t) * half;
            const float* s = sn.data() + static_cast<std::size_t>(t) * half;
            float* row = qkv + static_cast<std::size_t>(r) * C3;
            for (int part = 0; part < 2; ++part)  // q, then k
                for (int h = 0; h < H; ++h) {
                    float* x = row + part * C + h * hs;
                    for (int i = 0; i < half; ++i) {
                        const float a = x[2 * i], b = x[2 * i + 1];
                        x[2 * i] = a * c[i] - b * s[i];
                        x[2 * i + 1] = a * s[i] + b * c[i];
                    }
                }
        }
    });
}

}  // namespace

void rope_forward(float* qkv, int B, int T, int C, int H) { rope_rotate(qkv, B, T, C, H, 1.0f); }

void rope_backward(float* dqkv, int B, int T, int C, int H) { rope_rotate(dqkv, B, T, C, H, -1.0f); }

namespace {

// Causal attention's products by blocks of query rows: block [i0, i1) needs keys < i1 only, so the
// scores' columns stop at i1 (rounded up to what the packed kᵀ allows) and sums over keys at i1,
// and sums over queries (a key's gradient) start at i0. What is left out is the mask's exact zeros:
// the same bits as the whole products (kernels::matmul_packed_range). Without the mask, one block.
constexpr int kCausalRows = 16;

template <class F>
void row_blocks(int T, bool causal, F&& f) {
    if (!causal) {
        f(0, T);
        return;
    }
    for (int i0 = 0; i0 < T; i0 += kCausalRows) f(i0, std::min(T, i0 + kCausalRows));
}

}  // namespace

void attention_forward(float* out, float* att, const float* inp, int B, int T, int C, int H, bool alibi, bool causal) {
    const int hs = C / H, C3 = 3 * C;
    const float q_scale = static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(hs)));  // log2(e)/√hs
    parallel_for(B * H, 4.0 * B * H * T * T * hs, [&](int p0, int p1) {
        std::vector<float> q(static_cast<std::size_t>(T) * hs);     // (T, hs)  q·log2(e)/√hs
        std::vector<float> kt(kernels::packed_size(hs, T));        // kᵀ (hs, T), packed
        std::vector<float> v(kernels::packed_size(T, hs));         // v (T, hs), packed
        std::vector<float> inv_sum(1);
        for (int p = p0; p < p1; ++p) {
            const int b = p / H, h = p % H;
            const float* base = inp + static_cast<std::size_t>(b) * T * C3 + h * hs;  // q of head h, rows 3C apart
            for (int t = 0; t < T; ++t)
                for (int c = 0; c < hs; ++c) q[static_cast<std::size_t>(t) * hs + c] = base[static_cast<std::size_t>(t) * C3 + c] * q_scale;
            kernels::pack_transposed(kt.data(), base + C, C3, hs, T);
            kernels::pack(v.data(), base + 2 * C, C3, T, hs);
            float* a = att + static_cast<std::size_t>(p) * T * T;  // (T, T)
            // scores in base 2: q·kᵀ·log2(e)/√hs, so the softmax is 2^(s - max)
            row_blocks(T, causal, [&](int i0, int i1) {
                kernels::matmul_packed(a + static_cast<std::size_t>(i0) * T, T, q.data() + static_cast<std::size_t>(i0) * hs, kt.data(),
                                       i1 - i0, hs, causal ? kernels::packed_prefix(i1, T) : T);
            });
            // ALiBi in base 2 too: − slope·log2(e)·(t − t2)
            const float slope2 = alibi ? static_cast<float>(alibi_slope(h, H) * 1.4426950408889634) : 0.0f;
            for (int t = 0; t < T; ++t) {
                float* row = a + static_cast<std::size_t>(t) * T;
                const int keys = causal ? t + 1 : T;  // the keys t2 < keys: t2 <= t under the causal mask
                if (alibi)
                    for (int t2 = 0; t2 < keys; ++t2) row[t2] -= slope2 * static_cast<float>(std::abs(t - t2));
                // softmax over the keys (subtracting the max for numerical stability); 0 past them
                kernels::exp2_rows(row, inv_sum.data(), row, 1, keys);
                for (int t2 = 0; t2 < keys; ++t2) row[t2] *= inv_sum[0];
                std::fill(row + keys, row + T, 0.0f);
            }
            float* o = out + static_cast<std::size_t>(b) * T * C + h * hs;  // (T, hs), rows C apart
            row_blocks(T, causal, [&](int i0, int i1) {
                kernels::matmul_packed_range(o + static_cast<std::size_t>(i0) * C, C, a + static_cast<std::size_t>(i0) * T, v.data(),
                                             i1 - i0, T, hs, 0, causal ? i1 : T);
            });
        }
    });
}

void attention_backward(float* dinp, const float* dout, const float* inp, const float* att, int B, int T, int C, int H,
                        bool causal) {
    const int hs = C / H, C3 = 3 * C;
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hs)));
    parallel_for(B * H, 8.0 * B * H * T * T * hs, [&](int p0, int p1) {
        std::vector<float> dy(static_cast<std::size_t>(T) * hs);                   // (T, hs) dout of the head
        std::vector<float> packed(kernels::packed_size(std::max(T, hs), std::max(T, hs)));
        std::vector<float> datt(static_cast<std::size_t>(T) * T);                  // (T, T), then dpreatt
        std::vector<float> att_t(static_cast<std::size_t>(T) * T);                 // (T, T) attᵀ, then dpreattᵀ
        for (int p = p0; p < p1; ++p) {
            const int b = p / H, h = p % H;
            const float* a = att + static_cast<std::size_t>(p) * T * T;
            const float* q = inp + static_cast<std::size_t>(b) * T * C3 + h * hs;  // rows 3C apart; k at +C, v at +2C
            float* dq = dinp + static_cast<std::size_t>(b) * T * C3 + h * hs;
            const float* d = dout + static_cast<std::size_t>(b) * T * C + h * hs;
            for (int t = 0; t < T; ++t) std::copy_n(d + static_cast<std::size_t>(t) * C, hs, dy.data() + static_cast<std::size_t>(t) * hs);
            // datt = dy·vᵀ   (T, hs)·(hs, T)
            kernels::pack_transposed(packed.data(), q + 2 * C, C3, hs, T);
            row_blocks(T, causal, [&](int i0, int i1) {
                kernels::matmul_packed(datt.data() + static_cast<std::size_t>(i0) * T, T, dy.data() + static_cast<std::size_t>(i0) * hs,
                                       packed.data(), i1 - i0, hs, causal ? kernels::packed_prefix(i1, T) : T);
            });
            // dv = attᵀ·dy   (T, T)·(T, hs)
            kernels::transpose(att_t.data(), a, T, T, T);
            kernels::pack(packed.data(), dy.data(), hs, T, hs);
            // (attᵀ's row of key i0 is 0 before query i0)
            row_blocks(T, causal, [&](int i0, int i1) {
                kernels::matmul_packed_range(dq + 2 * C + static_cast<std::size_t>(i0) * C3, C3, att_t.data() + static_cast<std::size_t>(i0) * T,
                                             packed.data(), i1 - i0, T, hs, causal ? i0 : 0, T);
            });
            // softmax backward, times the 1/√hs of the scores: dpreatt = att·(datt - Σ att·datt)/√hs
            for (int t = 0; t < T; ++t) {
                const float* ar = a + static_cast<std::size_t>(t) * T;
                float* dr = datt.data() + static_cast<std::size_t>(t) * T;
                const int keys = causal ? t + 1 : T;
                float dot = 0.0f;
                for (int t2 = 0; t2 < keys; ++t2) dot += ar[t2] * dr[t2];
                for (int t2 = 0; t2 < keys; ++t2) dr[t2] = ar[t2] * (dr[t2] - dot) * scale;
                std::fill(dr + keys, dr + T, 0.0f);
            }
            // dq = dpreatt·k   (T, T)·(T, hs)
            kernels::pack(packed.data(), q + C, C3, T, hs);
            row_blocks(T, causal, [&](int i0, int i1) {
                kernels::matmul_packed_range(dq + static_cast<std::size_t>(i0) * C3, C3, datt.data() + static_cast<std::size_t>(i0) * T,
                                             packed.data(), i1 - i0, T, hs, 0, causal ? i1 : T);
            });
            // dk = dpreattᵀ·q   (T, T)·(T, hs)
            kernels::transpose(att_t.data(), datt.data(), T, T, T);
            kernels::pack(packed.data(), q, C3, T, hs);
            row_blocks(T, causal, [&](int i0, int i1) {
                kernels::matmul_packed_range(dq + C + static_cast<std::size_t>(i0) * C3, C3, att_t.data() + static_cast<std::size_t>(i0) * T,
                                             packed.data(), i1 - i0, T, hs, causal ? i0 : 0, T);
            });
        }
    });
}

void gelu_forward(float* out, float* derivative, const float* inp, std::size_t N) {
    parallel_for(static_cast<int>(N), 30.0 * N, [&](int begin, int end) {
        kernels::gelu(out + begin, derivative ? derivative + begin : nullptr, inp + begin, end - begin);
    });
}

void gelu_backward(float* dinp, const float* derivative, const float* dout, std::size_t N) {
    parallel_for(static_cast<int>(N), 2.0 * N, [&](int begin, int end) {
        kernels::gelu_backward(dinp + begin, derivative + begin, dout + begin, end - begin);
    });
}

void residual_forward(float* out, const float* inp1, const float* inp2, std::size_t N) {
    for (std::size_t i = 0; i < N; ++i) out[i] = inp1[i] + inp2[i];
}

void residual_backward(float* dinp1, float* dinp2, const float* dout, std::size_t N) {
    for (std::size_t i = 0; i < N; ++i) {
        dinp1[i] += dout[i];
        dinp2[i] += dout[i];
    }
}

void softmax_crossentropy_forward(float* probs, float* losses, const float* logits, const int* targets, int BT, int V) {
    parallel_for(BT, 20.0 * BT * V, [&](int begin, int end) {
        for (int i = begin; i < end; ++i) {
            const float* z = logits + static_cast<std::size_t>(i) * V;
            float* pr = probs + static_cast<std::size_t>(i) * V;
            // softmax, subtracting the max for numerical stability
            float m = z[0];
            for (int j = 1; j < V; ++j) m = std::max(m, z[j]);
            const double sum = kernels::exp_shifted(pr, z, m, V);
            const float inv = static_cast<float>(1.0 / sum);
            for (int j = 0; j < V; ++j) pr[j] *= inv;
            // -log p[target] = log Σ exp(z - m) - (z[target] - m), exact even where p underflows
            losses[i] = targets[i] < 0 ? 0.0f : static_cast<float>(std::log(sum) - (z[targets[i]] - m));
        }
    });
}

void softmax_crossentropy_backward(float* dlogits, const float* probs, const int* targets, int BT, int V) {
    int counted = 0;
    for (int i = 0; i < BT; ++i) counted += targets[i] >= 0;
    if (counted == 0) return;
    const float dloss = 1.0f / counted;
    parallel_for(BT, 2.0 * BT * V, [&](int begin, int end) {
        for (int i = begin; i < end; ++i) {
            if (targets[i] < 0) continue;
            const float* pr = probs + static_cast<std::size_t>(i) * V;
            float* dz = dlogits + static_cast<std::size_t>(i) * V;
            for (int j = 0; j < V; ++j) dz[j] += (pr[j] - (j == targets[i] ? 1.0f : 0.0f)) * dloss;
        }
    });
}

//-----------------------------------------------------------------------------
// 3. Activations
//-----------------------------------------------------------------------------
namespace {

// 64-bit even in wasm: session_bytes asks for shapes far too large to allocate, to refuse them.
struct ActivationSizes {
    std::uint64_t sizes[22];
    std::uint64_t total() const {
        std::uint64_t n = 0;
        for (std::uint64_t s : sizes) n += s;
        return n;
    }
};

ActivationSizes activation_sizes(const ModelConfig& c, int B, int T) {
    const std::uint64_t L = c.n_layer, C = c.n_embd, H = c.n_head, V = c.vocab_size, BT = static_cast<std::uint64_t>(B) * T;
    const std::uint64_t M = c.mlp ? L : 0;  // blocks with an MLP
    return {{BT * C,                                        // encoded
             L * BT * C, L * BT, L * BT,                    // ln1, mean, rstd
             L * BT * 3 * C, L * BT * C,                    // qkv, atty
             L * B * H * T * T,                             // att
             L * BT * C, L * BT * C,                        // attproj, residual2
             M * BT * C, M * BT, M * BT,                    // ln2, mean, rstd
             M * BT * 4 * C, M * BT * 4 * C,                // fch, fch_gelu
             M * BT * C, L * BT * C,                        // fcproj, residual3
             BT * C, BT, BT,                                // lnf, mean, rstd
             BT * V, BT * V, BT}};                          // logits, probs, losses
}

}  // namespace

ActivationTensors RunState::views(float* base) const {
    const ActivationSizes s = activation_sizes(config, B, T);
    ActivationTensors a;
    float** const fields[22] = {&a.encoded, &a.ln1, &a.ln1_mean, &a.ln1_rstd, &a.qkv, &a.atty, &a.att, &a.attproj,
                        &a.residual2, &a.ln2, &a.ln2_mean, &a.ln2_rstd, &a.fch, &a.fch_gelu, &a.fcproj, &a.residual3,
                        &a.lnf, &a.lnf_mean, &a.lnf_rstd, &a.logits, &a.probs, &a.losses};
    float* at = base;
    for (int k = 0; k < 22; ++k) {
        *fields[k] = at;
        at += s.sizes[k];
    }
    return a;
}

std::uint64_t activation_count(const ModelConfig& config, int B, int T) { return activation_sizes(config, B, T).total(); }

RunState make_run_state(const ModelConfig& config, int B, int T, bool backward) {
    RunState s;
    s.config = config;
    s.B = B;
    s.T = T;
    const std::size_t n = activation_sizes(config, B, T).total();
    s.acts.assign(n, 0.0f);
    if (backward) {
        s.grads_acts.assign(n, 0.0f);
        s.grads.assign(parameter_count(config), 0.0f);
    }
    s.inputs.assign(static_cast<std::size_t>(B) * T, 0);
    if (config.is_image()) s.patches.assign(static_cast<std::size_t>(B) * config.n_patches() * config.patch_pixels(), 0.0f);
    s.targets.assign(static_cast<std::size_t>(B) * T, -1);
    return s;
}

//-----------------------------------------------------------------------------
// 4. The model's passes
//-----------------------------------------------------------------------------
void gpt_forward(RunState& s, const Model& model) {
    const ModelConfig& c = model.config;
    const int B = s.B, T = s.T, C = c.n_embd, L = c.n_layer, H = c.n_head, V = c.vocab_size, BT = B * T;
    const ParameterTensors p = model.tensors();
    const ActivationTensors a = s.activations();
    float* const d_fch = s.grads_acts.empty() ? nullptr : s.activation_grads().fch;
    const std::size_t btc = static_cast<std::size_t>(BT) * C;

    if (c.is_image())
        patch_encoder_forward(a.encoded, s.patches.data(), p.patchw, p.patchb, p.cls, p.wpe, B, T - 1, c.patch_pixels(), C);
    else
        encoder_forward(a.encoded, s.inputs.data(), p.wte, p.wpe, B, T, C);
    for (int l = 0; l < L; ++l) {
        const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
        float* ln1 = a.ln1 + l * btc;
        float* qkv = a.qkv + l * btc * 3;
        float* atty = a.atty + l * btc;
        float* attproj = a.attproj + l * btc;
        float* residual2 = a.residual2 + l * btc;
        float* residual3 = a.residual3 + l * btc;
        // x = x + attn(ln_1(x))
        layernorm_forward(ln1, a.ln1_mean + l * BT, a.ln1_rstd + l * BT, residual, p.ln1w + l * C, p.ln1b + l * C, BT, C);
        matmul_forward(qkv, ln1, p.qkvw + static_cast<std::size_t>(l) * 3 * C * C, p.qkvb + l * 3 * C, BT, C, 3 * C);
        if (c.positions == Positions::rope) rope_forward(qkv, B, T, C, H);
        attention_forward(atty, a.att + static_cast<std::size_t>(l) * B * H * T * T, qkv, B, T, C, H, c.positions == Positions::alibi,
                          c.causal());
        matmul_forward(attproj, atty, p.attprojw + static_cast<std::size_t>(l) * C * C, p.attprojb + l * C, BT, C, C);
        residual_forward(residual2, residual, attproj, btc);
        if (!c.mlp) {  // attention-only: the block's output is residual2
            std::copy(residual2, residual2 + btc, residual3);
            continue;
        }
        // x = x + mlp(ln_2(x))
        float* ln2 = a.ln2 + l * btc;
        float* fch = a.fch + l * btc * 4;
        float* fch_gelu = a.fch_gelu + l * btc * 4;
        float* fcproj = a.fcproj + l * btc;
        layernorm_forward(ln2, a.ln2_mean + l * BT, a.ln2_rstd + l * BT, residual2, p.ln2w + l * C, p.ln2b + l * C, BT, C);
        matmul_forward(fch, ln2, p.fcw + static_cast<std::size_t>(l) * 4 * C * C, p.fcb + l * 4 * C, BT, C, 4 * C);
        // with a backward to come, GELU's derivative waits in fch's gradient buffer (gelu_backward
        // turns it into the gradient in place)
        gelu_forward(fch_gelu, s.grads_acts.empty() ? nullptr : d_fch + l * btc * 4, fch, btc * 4);
        matmul_forward(fcproj, fch_gelu, p.fcprojw + static_cast<std::size_t>(l) * C * 4 * C, p.fcprojb + l * C, BT, 4 * C, C);
        residual_forward(residual3, residual2, fcproj, btc);
    }
    const float* last = a.residual3 + (L - 1) * btc;
    layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, last, p.lnfw, p.lnfb, BT, C);
    matmul_forward(a.logits, a.lnf, p.lm_head, nullptr, BT, C, V);
    softmax_crossentropy_forward(a.probs, a.losses, a.logits, s.targets.data(), BT, V);
    double sum = 0.0;
    int counted = 0;
    for (int i = 0; i < BT; ++i)
        if (s.targets[i] >= 0) {
            sum += a.losses[i];
            ++counted;
        }
    s.mean_loss = counted > 0 ? static_cast<float>(sum / counted) : -1.0f;
}

void zero_gradients(RunState& s) {
    std::fill(s.grads.begin(), s.grads.end(), 0.0f);
    // No backward writes or reads the gradients of att (attention_backward works from att itself),
    // probs, losses or the LayerNorms' mean and rstd: they stay as they are (att's alone is
    // L·B·H·T·T floats, most of the buffer at long contexts). Those of ln1, qkv, atty, ln2,
    // fch_gelu and lnf are set, not added into, by the one backward that writes each (a Linear's
    // dinp, attention's), and fch's holds GELU's derivative from the forward: no zeroing either.
    constexpr bool kAddedInto[22] = {true,  false, false, false, false, false, false, true,  true,  false, false,
                                     false, false, false, true,  true,  false, false, false, true,  false, false};
    const ActivationSizes sizes = activation_sizes(s.config, s.B, s.T);
    float* at = s.grads_acts.data();
    for (int k = 0; k < 22; ++k) {
        if (kAddedInto[k]) std::fill_n(at, sizes.sizes[k], 0.0f);
        at += sizes.sizes[k];
    }
}

void gpt_backward(RunState& s, const Model& model) {
    if (s.grads.size() != parameter_count(model.config))
        throw std::logic_error("gpt_backward: the run state was made for the forward pass only");
    const ModelConfig& c = model.config;
    const int B = s.B, T = s.T, C = c.n_embd, L = c.n_layer, H = c.n_head, V = c.vocab_size, BT = B * T;
    const ParameterTensors p = model.tensors();
    const ParameterTensors g = parameter_tensors(c, s.grads.data());
    const ActivationTensors a = s.activations();
    const ActivationTensors d = s.activation_grads();
    const std::size_t btc = static_cast<std::size_t>(BT) * C;
    zero_gradients(s);

    softmax_crossentropy_backward(d.logits, a.probs, s.targets.data(), BT, V);
    matmul_backward(d.lnf, g.lm_head, nullptr, d.logits, a.lnf, p.lm_head, BT, C, V, true);
    float* dlast = d.residual3 + (L - 1) * btc;
    layernorm_backward(dlast, g.lnfw, g.lnfb, d.lnf, a.residual3 + (L - 1) * btc, p.lnfw, a.lnf_mean, a.lnf_rstd, BT, C);
    for (int l = L - 1; l >= 0; --l) {
        const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
        float* dresidual = l == 0 ? d.encoded : d.residual3 + (l - 1) * btc;
        const std::size_t lC = static_cast<std::size_t>(l) * C;
        // x = x + mlp(ln_2(x)), backwards
        float* dresidual3 = d.residual3 + l * btc;
        float* dresidual2 = d.residual2 + l * btc;
        if (!c.mlp) {  // attention-only: residual3 is residual2
            for (std::size_t i = 0; i < btc; ++i) dresidual2[i] += dresidual3[i];
        } else {
            residual_backward(dresidual2, d.fcproj + l * btc, dresidual3, btc);
            matmul_backward(d.fch_gelu + l * btc * 4, g.fcprojw + lC * 4 * C, c.bias ? g.fcprojb + lC : nullptr, d.fcproj + l * btc,
                            a.fch_gelu + l * btc * 4, p.fcprojw + lC * 4 * C, BT, 4 * C, C, true);
            // d.fch holds GELU's derivative (gpt_forward): times the gradient, in place
            gelu_backward(d.fch + l * btc * 4, d.fch + l * btc * 4, d.fch_gelu + l * btc * 4, btc * 4);
            matmul_backward(d.ln2 + l * btc, g.fcw + lC * 4 * C, c.bias ? g.fcb + lC * 4 : nullptr, d.fch + l * btc * 4,
                            a.ln2 + l * btc, p.fcw + lC * 4 * C, BT, C, 4 * C, true);
            layernorm_backward(dresidual2, g.ln2w + lC, g.ln2b + lC, d.ln2 + l * btc, a.residual2 + l * btc, p.ln2w + lC,
                               a.ln2_mean + l * BT, a.ln2_rstd + l * BT, BT, C);
        }
        // x = x + attn(ln_1(x)), backwards
        residual_backward(dresidual, d.attproj + l * btc, dresidual2, btc);
        matmul_backward(d.atty + l * btc, g.attprojw + lC * C, c.bias ? g.attprojb + lC : nullptr, d.attproj + l * btc,
                        a.atty + l * btc, p.attprojw + lC * C, BT, C, C, true);
        attention_backward(d.qkv + l * btc * 3, d.atty + l * btc, a.qkv + l * btc * 3,
                           a.att + static_cast<std::size_t>(l) * B * H * T * T, B, T, C, H, c.causal());
        if (c.positions == Positions::rope) rope_backward(d.qkv + l * btc * 3, B, T, C, H);
        matmul_backward(d.ln1 + l * btc, g.qkvw + lC * 3 * C, c.bias ? g.qkvb + lC * 3 : nullptr, d.qkv + l * btc * 3,
                        a.ln1 + l * btc, p.qkvw + lC * 3 * C, BT, C, 3 * C, true);
        layernorm_backward(dresidual, g.ln1w + lC, g.ln1b + lC, d.ln1 + l * btc, residual, p.ln1w + lC,
                           a.ln1_mean + l * BT, a.ln1_rstd + l * BT, BT, C);
    }
    if (c.is_image())
        patch_encoder_backward(g.patchw, c.bias ? g.patchb : nullptr, g.cls, g.wpe, d.encoded, s.patches.data(), B, T - 1,
                               c.patch_pixels(), C);
    else
        encoder_backward(g.wte, g.wpe, d.encoded, s.inputs.data(), B, T, C);
    if (!c.bias) {  // a model without biases keeps them at 0: no gradient reaches them
        for (const TensorSpec& t : parameter_specs(c))
            if (t.is_bias) std::fill_n(s.grads.data() + t.offset, t.size, 0.0f);
    }
}

}  // namespace attnviz::gpt
