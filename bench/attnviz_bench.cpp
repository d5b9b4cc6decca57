// attnviz_bench.cpp — speed of the core at the shapes, natively and as wasm.
//
// Index
//   1. Heap accounting   replaced operator new/delete: peak bytes allocated during a call
//   2. Shapes and inputs the (T, d_model, heads) and seeded inputs
//   3. One run           forward | attention | trace, simd | scalar, timed
//   4. Native driver     main(): interleaved repetitions, one JSON line per measurement
//   5. Wasm exports      the same runs for bench/run_wasm.mjs, which interleaves them with the peers
//
// Modes: "forward" = attnviz::forward (projections, attention, output projection, no trace);
// "attention" = attnviz::attention given Q, K, V; "trace" = attnviz::run, everything
// materialized, as the interface calls it. FLOPs as in the issue: 2·T·d²·4 + 4·T·S·d (forward,
// trace), 4·T·S·d (attention alone). Not a test: nothing here asserts a time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "attnviz/core.hpp"
#include "attnviz/forward.hpp"

#if defined(__EMSCRIPTEN__)
#include <emscripten/emscripten.h>
#define BENCH_EXPORT extern "C" EMSCRIPTEN_KEEPALIVE
#endif

//-----------------------------------------------------------------------------
// 1. Heap accounting: every allocation carries its size in a 16-byte header
//-----------------------------------------------------------------------------
namespace heap {
std::size_t live = 0;  // bytes currently allocated through operator new
std::size_t peak = 0;  // highest `live` since reset_peak()
void reset_peak() { peak = live; }
}  // namespace heap

void* operator new(std::size_t n) {
    void* p = std::malloc(n + 16);
    if (!p) throw std::bad_alloc();
    *static_cast<std::size_t*>(p) = n;
    heap::live += n;
    heap::peak = std::max(heap::peak, heap::live);
    return static_cast<char*>(p) + 16;
}
void operator delete(void* p) noexcept {
    if (!p) return;
    char* base = static_cast<char*>(p) - 16;
    heap::live -= *reinterpret_cast<std::size_t*>(base);
    std::free(base);
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }

namespace {

using attnviz::Kernels;
using attnviz::Matrix;
using attnviz::Vector;

//-----------------------------------------------------------------------------
// 2. Shapes and inputs
//-----------------------------------------------------------------------------
struct Shape {
    int T, d, heads;
};
constexpr Shape kShapes[] = {{16, 64, 4}, {64, 256, 8}, {256, 512, 8}, {1024, 512, 8}, {4096, 512, 8}};

enum Mode { forward_mode, attention_mode, trace_mode };

// Uniform on [-a, a) from a counter (splitmix64), the same natively and in wasm.
float uniform(std::uint64_t stream, std::uint64_t i, double a) {
    std::uint64_t x = stream * 0x9e3779b97f4a7c15ull + i + 1;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return static_cast<float>((2.0 * static_cast<double>(x >> 40) * 0x1p-24 - 1.0) * a);
}

Matrix uniform_matrix(std::size_t rows, std::size_t cols, std::uint64_t stream, double a) {
    Matrix m = Matrix::from_shape({rows, cols});
    for (std::size_t k = 0; k < m.size(); ++k) m.data()[k] = uniform(stream, k, a);
    return m;
}

Vector uniform_vector(std::size_t n, std::uint64_t stream, double a) {
    Vector v = Vector::from_shape({n});
    for (std::size_t k = 0; k < n; ++k) v.data()[k] = uniform(stream, k, a);
    return v;
}

// Everything one shape's runs read: X and weights (as for a resolved config), Q, K, V for
// attention alone, and the config run() gets (the same X as embeddings, no
// positional encoding, so its output is comparable with forward()).
struct Inputs {
    Shape shape{};
    Matrix X;                   // (T, d)
    attnviz::Weights weights;   // Wq Wk Wv Wo (d, d), bq bk bv bo (d)
    Matrix Q, K, V;             // (T, d) each
    attnviz::Config config;
    Matrix result;              // (T, d) the last run's output (trace: its output)
    std::string error;          // the last run's error, if any
    double peak_bytes = 0;      // heap allocated during the last run, at its peak
};

void setup(Inputs& in, Shape s) {
    in = Inputs{};
    in.shape = s;
    const std::size_t T = s.T, d = s.d;
    const double xavier = std::sqrt(6.0 / (2.0 * d));
    in.X = uniform_matrix(T, d, 1, std::sqrt(3.0));  // unit variance, like the core's embeddings
    in.weights.Wq = uniform_matrix(d, d, 2, xavier);
    in.weights.Wk = uniform_matrix(d, d, 3, xavier);
    in.weights.Wv = uniform_matrix(d, d, 4, xavier);
    in.weights.Wo = uniform_matrix(d, d, 5, xavier);
    in.weights.bq = uniform_vector(d, 6, 0.1);
    in.weights.bk = uniform_vector(d, 7, 0.1);
    in.weights.bv = uniform_vector(d, 8, 0.1);
    in.weights.bo = uniform_vector(d, 9, 0.1);
    // Q, K, V for attention alone: unit variance, like X·W with Xavier weights
    in.Q = uniform_matrix(T, d, 10, std::sqrt(3.0));
    in.K = uniform_matrix(T, d, 11, std::sqrt(3.0));
    in.V = uniform_matrix(T, d, 12, std::sqrt(3.0));
    attnviz::Config& c = in.config;
    c.tokens = std::vector<std::string>();
    for (int t = 0; t < s.T; ++t) c.tokens->push_back("t" + std::to_string(t));
    c.d_model = s.d;
    c.heads = s.heads;
    c.embeddings = in.X;
    c.weights = in.weights;
    c.positional = attnviz::Positional::none;
}

//-----------------------------------------------------------------------------
// 3. One run
//-----------------------------------------------------------------------------
double flops(Shape s, int mode) {
    const double T = s.T, d = s.d;
    const double attention = 4 * T * T * d;
    return mode == attention_mode ? attention : 2 * T * d * d * 4 + attention;
}

// Runs one mode once; returns its wall time in ms (negative on error, the message in in.error).
double run_once(Inputs& in, int mode, Kernels kernels) {
    heap::reset_peak();
    const std::size_t before = heap::live;
    const auto start = std::chrono::steady_clock::now();
    bool ok = true;
    if (mode == forward_mode) {
        attnviz::Expected<Matrix> r = attnviz::forward(in.X, in.weights, in.shape.heads, kernels);
        if ((ok = r.ok())) in.result = std::move(r.value()); else in.error = r.error();
    } else if (mode == attention_mode) {
        attnviz::Expected<Matrix> r = attnviz::attention(in.Q, in.K, in.V, in.shape.heads, kernels);
        if ((ok = r.ok())) in.result = std::move(r.value()); else in.error = r.error();
    } else {
        // as the interface runs it (RunJob::keep_head_for, head 0 on screen), in run()'s steps
        in.config.kernels = kernels;
        attnviz::Expected<attnviz::RunJob> job = attnviz::RunJob::start(
            in.config, attnviz::RunJob::whole_run_work_per_step, attnviz::RunJob::keep_head_for(in.config, 0));
        attnviz::Expected<attnviz::Trace> r = job ? (job.value().step(1e300), job.value().take()) : attnviz::fail(job.error());
        if ((ok = r.ok())) in.result = r.value().output; else in.error = r.error();
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    in.peak_bytes = static_cast<double>(heap::peak - before);
    return ok ? ms : -1;
}

}  // namespace

//-----------------------------------------------------------------------------
// 4. Native driver
//-----------------------------------------------------------------------------
#if !defined(__EMSCRIPTEN__)
namespace {

const char* mode_name(int m) { return m == forward_mode ? "forward" : m == attention_mode ? "attention" : "trace"; }

double relative_difference(const Matrix& a, const Matrix& b) {
    if (a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1)) return INFINITY;
    double e = 0, m = 1e-30;
    for (std::size_t k = 0; k < b.size(); ++k) {
        e = std::max(e, static_cast<double>(std::abs(a.data()[k] - b.data()[k])));
        m = std::max(m, static_cast<double>(std::abs(b.data()[k])));
    }
    return e / m;
}


// Repetitions per shape: enough for a stable median at small sizes, fewer at large ones.
int repetitions(Shape s, Kernels k) {
    if (s.T >= 4096) return k == Kernels::simd ? 3 : 1;
    if (s.T >= 1024) return k == Kernels::simd ? 5 : 3;
    return s.T >= 256 ? 9 : 31;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
    const int max_T = argc > 1 ? std::atoi(argv[1]) : 4096;  // bench a prefix of the shapes
    const char* engine = "attnviz native";
    Inputs in;
    for (Shape s : kShapes) {
        if (s.T > max_T) break;
        setup(in, s);
        struct Series {
            int mode;
            Kernels kernels;
            std::vector<double> ms = {};
            double peak = 0;
            std::string error = {};
        };
        std::vector<Series> series = {{forward_mode, Kernels::simd}, {forward_mode, Kernels::scalar},
                                      {attention_mode, Kernels::simd}, {attention_mode, Kernels::scalar},
                                      {trace_mode, Kernels::simd}};
        // warm-up, and the outputs checked against each other before anything is timed
        Matrix reference;  // forward, scalar
        Matrix concat;     // attention, scalar
        for (Series& r : series) {
            if (run_once(in, r.mode, r.kernels) < 0) { r.error = in.error; continue; }
            if (r.mode != attention_mode && r.kernels == Kernels::scalar) reference = in.result;
            if (r.mode == attention_mode && r.kernels == Kernels::scalar) concat = in.result;
        }
        for (Series& r : series) {
            if (!r.error.empty()) continue;
            run_once(in, r.mode, r.kernels);
            const double diff = relative_difference(in.result, r.mode == attention_mode ? concat : reference);
            if (!(diff <= 1e-5)) r.error = "output differs from the scalar forward by " + std::to_string(diff);
        }
        const int rounds = repetitions(s, Kernels::simd);
        for (int rep = 0; rep < rounds; ++rep)  // interleaved: every series once per round
            for (Series& r : series)
                if (r.error.empty() && rep < repetitions(s, r.kernels)) {
                    r.ms.push_back(run_once(in, r.mode, r.kernels));
                    r.peak = std::max(r.peak, in.peak_bytes);
                }
        for (const Series& r : series) {
            std::printf("{\"engine\":\"%s\",\"kernels\":\"%s\",\"mode\":\"%s\",\"T\":%d,\"d\":%d,\"heads\":%d,", engine,
                        r.kernels == Kernels::simd ? attnviz::kernel_path_name(Kernels::simd) : "scalar", mode_name(r.mode),
                        s.T, s.d, s.heads);
            if (!r.error.empty()) {
                std::string e;
                for (char ch : r.error) e += ch == '"' ? '\'' : ch;
                std::printf("\"error\":\"%s\"}\n", e.c_str());
            } else {
                const double ms = median(r.ms);
                std::printf("\"ms\":%.4f,\"runs\":%zu,\"gflops\":%.2f,\"peak_bytes\":%.0f}\n", ms, r.ms.size(),
                            flops(s, r.mode) / ms * 1e-6, r.peak);
            }
            std::fflush(stdout);
        }
    }
    return 0;
}
#endif

//-----------------------------------------------------------------------------
// 5. Wasm exports (bench/run_wasm.mjs drives them, interleaved with the peers)
//-----------------------------------------------------------------------------
#if defined(__EMSCRIPTEN__)
namespace {
Inputs g_inputs;
}

BENCH_EXPORT int bench_shape_count() { return static_cast<int>(std::size(kShapes)); }
BENCH_EXPORT int bench_shape(int i, int field) {  // field 0 = T, 1 = d_model, 2 = heads
    return field == 0 ? kShapes[i].T : field == 1 ? kShapes[i].d : kShapes[i].heads;
}
BENCH_EXPORT void bench_setup(int i) { setup(g_inputs, kShapes[i]); }
// which: 0 X, 1..4 Wq Wk Wv Wo, 5..8 bq bk bv bo, 9..11 Q K V, 12 the last result
BENCH_EXPORT const float* bench_data(int which) {
    Inputs& in = g_inputs;
    const attnviz::Weights& w = in.weights;
    const float* p[] = {in.X.data(),  w.Wq->data(), w.Wk->data(), w.Wv->data(), w.Wo->data(), w.bq->data(), w.bk->data(),
                        w.bv->data(), w.bo->data(), in.Q.data(),  in.K.data(),  in.V.data(),  in.result.data()};
    return p[which];
}
BENCH_EXPORT double bench_run(int mode, int scalar) {
    return run_once(g_inputs, mode, scalar ? Kernels::scalar : Kernels::simd);
}
// The trace mode with a sliding window of `window` keys each side (pattern "local"; 0 = the full
// pattern): the heads not kept compute only their rows' span of keys.
BENCH_EXPORT double bench_run_window(int window) {
    Inputs& in = g_inputs;
    in.config.pattern.kind = window > 0 ? attnviz::PatternKind::local : attnviz::PatternKind::full;
    in.config.pattern.window = window;
    const double ms = run_once(in, trace_mode, Kernels::simd);
    in.config.pattern = attnviz::Pattern{};
    return ms;
}
BENCH_EXPORT const char* bench_error() { return g_inputs.error.c_str(); }
BENCH_EXPORT double bench_peak_bytes() { return g_inputs.peak_bytes; }
BENCH_EXPORT double bench_flops(int i, int mode) { return flops(kShapes[i], mode); }
BENCH_EXPORT const char* bench_simd_name() { return attnviz::kernel_path_name(Kernels::simd); }
#endif
