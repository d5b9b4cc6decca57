// matmul_micro.cpp — matmul-only micro-benchmark: kernels::matmul (SIMD path) against candidate
// variants, at 512³ and the shapes the forward pass and the trace's row blocks use, interleaved
// in one process (the machine is shared: compare variants only within one run).
//
// Not built by CMake (a measuring aid, not part of the benchmark table). From the repository root:
//   wasm:   NODE_PATH=/usr/share/nodejs em++ -O3 -msimd128 -fwasm-exceptions -std=c++17 -I src/core \
//             -isystem build/wasm-bench/staged-include bench/matmul_micro.cpp src/core/kernels.cpp \
//             -sALLOW_MEMORY_GROWTH=1 -o /tmp/micro.js
//           node --no-experimental-fetch --no-liftoff /tmp/micro.js [rounds] [case name]
//   native: g++ -O3 -mavx2 -mfma -std=c++17 -I src/core -isystem build/native-bench/staged-include \
//             bench/matmul_micro.cpp src/core/kernels.cpp -o /tmp/micro && /tmp/micro
// Add -DATTNVIZ_MICRO_ORIG='"/path/to/old/kernels.cpp"' to time an older kernels.cpp alongside
// ("before"). Prints the median GFLOP/s of each variant per shape and the largest difference
// from a double-precision reference, relative to the largest output.
//
// What it showed (wasm, node 20 --no-liftoff, quiet moments): the 2x16 tile with pointer
// increments (kernels.cpp) about 43 GFLOP/s at 512³; the same unrolled by 2 or 4 in k 19-29
// (V8 spills); 4x8 about 39; A packed too about 41; B read in place without packing about 19
// at 512³ and no better for 16-row blocks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "kernels.hpp"

#if defined(ATTNVIZ_MICRO_ORIG)
// The kernels as they were (a copy at ATTNVIZ_MICRO_ORIG), for a before/after in one process.
#include <cstdint>
#include <limits>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
namespace orig::attnviz {
using ::attnviz::Kernels;
}
#define matmul matmul_orig
#define softmax_rows softmax_rows_orig
#define softmax_rows_scaled softmax_rows_scaled_orig
#define simd_path_name simd_path_name_orig
namespace orig {
#include ATTNVIZ_MICRO_ORIG
}
#undef matmul
#undef softmax_rows
#undef softmax_rows_scaled
#undef simd_path_name
#endif


//-----------------------------------------------------------------------------
// Candidates
//-----------------------------------------------------------------------------
namespace cand {
#if defined(__AVX2__)
constexpr int W = 8;
typedef float vf __attribute__((vector_size(32)));
inline vf splat(float x) { return vf{x, x, x, x, x, x, x, x}; }
#else
constexpr int W = 4;
typedef float vf __attribute__((vector_size(16)));
inline vf splat(float x) { return vf{x, x, x, x}; }
#endif
inline vf load(const float* p) { vf v; std::memcpy(&v, p, sizeof v); return v; }
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

// C rows [0, R) × V vectors (+)= a (R rows, lda apart, kc values each) · panel (kc, V·W)
template <int R, int V, int U>
inline void kernel_rows(float* C, int ldc, const float* a, int lda, const float* pb, int kc, const float* bias, bool accumulate) {
    vf acc[R][V];
    for (int v = 0; v < V; ++v) {
        const vf b0 = bias ? load(bias + v * W) : vf{};
        for (int r = 0; r < R; ++r) acc[r][v] = accumulate ? load(C + r * ldc + v * W) : b0;
    }
    const float* ar[R];
    for (int r = 0; r < R; ++r) ar[r] = a + r * lda;
    int k = 0;
    for (; k + U <= kc; k += U) {
        for (int u = 0; u < U; ++u) {
            vf b[V];
            for (int v = 0; v < V; ++v) b[v] = load(pb + u * V * W + v * W);
            for (int r = 0; r < R; ++r) {
                const vf x = splat(ar[r][u]);
                for (int v = 0; v < V; ++v) acc[r][v] += x * b[v];
            }
        }
        pb += U * V * W;
        for (int r = 0; r < R; ++r) ar[r] += U;
    }
    for (; k < kc; ++k) {
        vf b[V];
        for (int v = 0; v < V; ++v) b[v] = load(pb + v * W);
        for (int r = 0; r < R; ++r) {
            const vf x = splat(*ar[r]);
            for (int v = 0; v < V; ++v) acc[r][v] += x * b[v];
        }
        pb += V * W;
        for (int r = 0; r < R; ++r) ar[r] += 1;
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) store(C + r * ldc + v * W, acc[r][v]);
}


// Per-vector order: splats first, then each B vector loaded and used at once (11 live vectors)
template <int R, int V, int U>
inline void kernel_rows2(float* C, int ldc, const float* a, int lda, const float* pb, int kc, const float* bias, bool accumulate) {
    vf acc[R][V];
    for (int v = 0; v < V; ++v) {
        const vf b0 = bias ? load(bias + v * W) : vf{};
        for (int r = 0; r < R; ++r) acc[r][v] = accumulate ? load(C + r * ldc + v * W) : b0;
    }
    const float* ar[R];
    for (int r = 0; r < R; ++r) ar[r] = a + r * lda;
    int k = 0;
    for (; k + U <= kc; k += U) {
        for (int u = 0; u < U; ++u) {
            vf x[R];
            for (int r = 0; r < R; ++r) x[r] = splat(ar[r][u]);
            for (int v = 0; v < V; ++v) {
                const vf b = load(pb + u * V * W + v * W);
                for (int r = 0; r < R; ++r) acc[r][v] += x[r] * b;
            }
        }
        pb += U * V * W;
        for (int r = 0; r < R; ++r) ar[r] += U;
    }
    for (; k < kc; ++k) {
        vf x[R];
        for (int r = 0; r < R; ++r) x[r] = splat(*ar[r]);
        for (int v = 0; v < V; ++v) {
            const vf b = load(pb + v * W);
            for (int r = 0; r < R; ++r) acc[r][v] += x[r] * b;
        }
        pb += V * W;
        for (int r = 0; r < R; ++r) ar[r] += 1;
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) store(C + r * ldc + v * W, acc[r][v]);
}

// The same with A packed: pa[k·R + r]
template <int R, int V, int U>
inline void kernel_packed(float* C, int ldc, const float* pa, const float* pb, int kc, const float* bias, bool accumulate) {
    vf acc[R][V];
    for (int v = 0; v < V; ++v) {
        const vf b0 = bias ? load(bias + v * W) : vf{};
        for (int r = 0; r < R; ++r) acc[r][v] = accumulate ? load(C + r * ldc + v * W) : b0;
    }
    int k = 0;
    for (; k + U <= kc; k += U) {
        for (int u = 0; u < U; ++u) {
            vf b[V];
            for (int v = 0; v < V; ++v) b[v] = load(pb + u * V * W + v * W);
            for (int r = 0; r < R; ++r) {
                const vf x = splat(pa[u * R + r]);
                for (int v = 0; v < V; ++v) acc[r][v] += x * b[v];
            }
        }
        pb += U * V * W;
        pa += U * R;
    }
    for (; k < kc; ++k) {
        vf b[V];
        for (int v = 0; v < V; ++v) b[v] = load(pb + v * W);
        for (int r = 0; r < R; ++r) {
            const vf x = splat(pa[r]);
            for (int v = 0; v < V; ++v) acc[r][v] += x * b[v];
        }
        pb += V * W;
        pa += R;
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) store(C + r * ldc + v * W, acc[r][v]);
}

template <int V>
void pack_panel(float* panel, const float* B, int K, int N, int j0) {
    for (int k = 0; k < K; ++k) std::memcpy(panel + k * V * W, B + k * N + j0, sizeof(float) * V * W);
}

// Only N % (V·W) == 0 columns, only M % MR == 0 for the packed one — enough for the cases.
template <int MR, int V, int U, bool PACKA, int MC = 64, int KC = 256, bool ORDER2 = false>
void matmul(float* C, const float* A, const float* B, const float* bias, int M, int K, int N) {
    constexpr int NW = V * W;
    std::vector<float> panels(static_cast<std::size_t>(K) * N);
    for (int j = 0; j < N; j += NW) pack_panel<V>(panels.data() + j * K, B, K, N, j);
    std::vector<float> apack(static_cast<std::size_t>(MC) * KC);
    for (int i0 = 0; i0 < M; i0 += MC) {
        const int i1 = std::min(M, i0 + MC);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(K, k0 + KC) - k0;
            if (PACKA)
                for (int i = i0; i < i1; i += MR)
                    for (int k = 0; k < kc; ++k)
                        for (int r = 0; r < MR; ++r) apack[(i - i0) * kc + k * MR + r] = A[(i + r) * K + k0 + k];
            for (int j = 0; j < N; j += NW) {
                const float* pb = panels.data() + j * K + k0 * NW;
                const float* bj = bias ? bias + j : nullptr;
                for (int i = i0; i < i1; i += MR) {
                    if (PACKA)
                        kernel_packed<MR, V, U>(C + i * N + j, N, apack.data() + (i - i0) * kc, pb, kc, bj, k0 > 0);
                    else if (i + MR <= i1 && ORDER2)
                        kernel_rows2<MR, V, U>(C + i * N + j, N, A + i * K + k0, K, pb, kc, bj, k0 > 0);
                    else if (i + MR <= i1)
                        kernel_rows<MR, V, U>(C + i * N + j, N, A + i * K + k0, K, pb, kc, bj, k0 > 0);
                    else
                        for (int ii = i; ii < i1; ++ii)
                            kernel_rows<1, V, U>(C + ii * N + j, N, A + ii * K + k0, K, pb, kc, bj, k0 > 0);
                }
            }
        }
    }
}

// B read in place (rows N floats apart), no packing: for the trace's row blocks (M = 16)
template <int MR, int V>
void matmul_direct(float* C, const float* A, const float* B, const float* bias, int M, int K, int N) {
    constexpr int NW = V * W;
    for (int j = 0; j < N; j += NW)
        for (int i = 0; i < M; i += MR) {
            vf acc[MR][V];
            for (int v = 0; v < V; ++v)
                for (int r = 0; r < MR; ++r) acc[r][v] = bias ? load(bias + j + v * W) : vf{};
            const float* ar[MR];
            for (int r = 0; r < MR; ++r) ar[r] = A + (i + r) * K;
            const float* b = B + j;
            for (int kk = 0; kk < K; ++kk) {
                vf bv[V];
                for (int v = 0; v < V; ++v) bv[v] = load(b + v * W);
                b += N;
                for (int r = 0; r < MR; ++r) {
                    const vf x = splat(*ar[r]++);
                    for (int v = 0; v < V; ++v) acc[r][v] += x * bv[v];
                }
            }
            for (int r = 0; r < MR; ++r)
                for (int v = 0; v < V; ++v) store(C + (i + r) * N + j + v * W, acc[r][v]);
        }
}
}  // namespace cand

namespace {

using Fn = std::function<void(float*, const float*, const float*, const float*, int, int, int)>;

struct Variant {
    const char* name;
    Fn fn;
};

struct Case {
    const char* name;
    int M, K, N;
    bool bias;
};

float uniform(std::uint64_t stream, std::uint64_t i) {
    std::uint64_t x = stream * 0x9e3779b97f4a7c15ull + i + 1;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return static_cast<float>(2.0 * static_cast<double>(x >> 40) * 0x1p-24 - 1.0);
}

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::atoi(argv[1]) : 9;
    const char* only = argc > 2 ? argv[2] : nullptr;  // a case name to run alone
    std::vector<Variant> variants;
#if defined(ATTNVIZ_MICRO_ORIG)
    variants.push_back({"before", [](float* C, const float* A, const float* B, const float* bias, int M, int K, int N) {
                            orig::attnviz::kernels::matmul_orig(C, A, B, bias, M, K, N, attnviz::Kernels::simd);
                        }});
#endif
    variants.push_back({"now", [](float* C, const float* A, const float* B, const float* bias, int M, int K, int N) {
                            attnviz::kernels::matmul(C, A, B, bias, M, K, N, attnviz::Kernels::simd);
                        }});
#if defined(__AVX2__)
    variants.push_back({"r4x2u1", cand::matmul<4, 2, 1, false>});
    variants.push_back({"r4x2u4", cand::matmul<4, 2, 4, false>});
    variants.push_back({"p4x2u4", cand::matmul<4, 2, 4, true>});
    variants.push_back({"r6x2u4", cand::matmul<6, 2, 4, false>});
#else
    variants.push_back({"4x8", cand::matmul<4, 2, 1, false>});
    variants.push_back({"2x16 u2", cand::matmul<2, 4, 2, false>});
    variants.push_back({"2x16 A pk", cand::matmul<2, 4, 1, true>});
    variants.push_back({"2x16 direct", cand::matmul_direct<2, 4>});
#endif
    const Case cases[] = {
        {"512^3", 512, 512, 512, false},
        {"rows 16x512x512", 16, 512, 512, true},
        {"rows 16x256x256", 16, 256, 256, true},
        {"rows 64x512x512", 64, 512, 512, true},
        {"proj 256x512x512", 256, 512, 512, true},
        {"QK^T 256x64x256", 256, 64, 256, false},
        {"WV 256x256x64", 256, 256, 64, false},
        {"proj 64x256x256", 64, 256, 256, true},
        {"QK^T 64x32x64", 64, 32, 64, false},
        {"WV 64x64x32", 64, 64, 32, false},
    };
    std::printf("%-20s", "case");
    for (const Variant& v : variants) std::printf(" %12s", v.name);
    std::printf("   (GFLOP/s, median of %d interleaved rounds; max rel. error)\n", rounds);
    for (const Case& c : cases) {
        if (only && std::string(only) != c.name) continue;
        std::vector<float> A(static_cast<std::size_t>(c.M) * c.K), B(static_cast<std::size_t>(c.K) * c.N), bias(c.N);
        for (std::size_t k = 0; k < A.size(); ++k) A[k] = uniform(1, k);
        for (std::size_t k = 0; k < B.size(); ++k) B[k] = uniform(2, k);
        for (std::size_t k = 0; k < bias.size(); ++k) bias[k] = uniform(3, k);
        std::vector<double> ref(static_cast<std::size_t>(c.M) * c.N);
        double scale = 0;
        for (int i = 0; i < c.M; ++i)
            for (int j = 0; j < c.N; ++j) {
                double s = c.bias ? bias[j] : 0.0;
                for (int k = 0; k < c.K; ++k) s += static_cast<double>(A[i * c.K + k]) * B[k * c.N + j];
                ref[i * c.N + j] = s;
                scale = std::max(scale, std::abs(s));
            }
        const double flop = 2.0 * c.M * c.K * c.N;
        // enough calls per timing that one takes about 2 ms
        const int calls = std::max(1, static_cast<int>(2e6 / (flop / 1e3)));
        std::vector<std::vector<double>> gf(variants.size());
        std::vector<double> err(variants.size(), 0);
        std::vector<float> C(static_cast<std::size_t>(c.M) * c.N);
        for (std::size_t v = 0; v < variants.size(); ++v) {  // check (and warm up)
            std::fill(C.begin(), C.end(), NAN);
            variants[v].fn(C.data(), A.data(), B.data(), c.bias ? bias.data() : nullptr, c.M, c.K, c.N);
            for (std::size_t k = 0; k < C.size(); ++k) {
                const double e = std::abs(C[k] - ref[k]) / scale;
                err[v] = std::isnan(e) ? INFINITY : std::max(err[v], e);
            }
        }
        for (int r = 0; r < rounds; ++r)
            for (std::size_t v = 0; v < variants.size(); ++v) {
                const double t0 = now_ms();
                for (int n = 0; n < calls; ++n)
                    variants[v].fn(C.data(), A.data(), B.data(), c.bias ? bias.data() : nullptr, c.M, c.K, c.N);
                gf[v].push_back(flop * calls / (now_ms() - t0) * 1e-6);
            }
        std::printf("%-20s", c.name);
        for (std::size_t v = 0; v < variants.size(); ++v) std::printf(" %12.1f", median(gf[v]));
        std::printf("   ");
        for (std::size_t v = 0; v < variants.size(); ++v) std::printf(" %.1e", err[v]);
        std::printf("\n");
        std::fflush(stdout);
    }
    return 0;
}
