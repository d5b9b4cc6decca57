// reference.cpp — float64 attention from the definitions, plain loops. See reference.hpp.
#include "reference.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>

namespace ref {
namespace {

using attnviz::Config;

Mat zeros(std::size_t rows, std::size_t cols) { return Mat(rows, std::vector<double>(cols, 0.0)); }

Mat from(const attnviz::Matrix& m) {
    Mat out = zeros(m.shape(0), m.shape(1));
    for (std::size_t r = 0; r < m.shape(0); ++r)
        for (std::size_t c = 0; c < m.shape(1); ++c) out[r][c] = m(r, c);
    return out;
}

// a·b (+ bias)
Mat mul(const Mat& a, const Mat& b, const attnviz::Vector* bias = nullptr) {
    Mat out = zeros(a.size(), b[0].size());
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t j = 0; j < b[0].size(); ++j) {
            double sum = bias ? (*bias)(j) : 0.0;
            for (std::size_t k = 0; k < b.size(); ++k) sum += a[i][k] * b[k][j];
            out[i][j] = sum;
        }
    return out;
}

Mat columns(const Mat& x, std::size_t begin, std::size_t count) {
    Mat out = zeros(x.size(), count);
    for (std::size_t r = 0; r < x.size(); ++r)
        for (std::size_t c = 0; c < count; ++c) out[r][c] = x[r][begin + c];
    return out;
}

Mat transpose(const Mat& x) {
    Mat out = zeros(x[0].size(), x.size());
    for (std::size_t r = 0; r < x.size(); ++r)
        for (std::size_t c = 0; c < x[0].size(); ++c) out[c][r] = x[r][c];
    return out;
}

// X + positional encoding for a sequence of n tokens
Mat attention_input(const Config& c, const attnviz::Matrix& embeddings) {
    Mat x = from(embeddings);
    const std::size_t d = c.d_model;
    for (std::size_t p = 0; p < x.size(); ++p)
        for (std::size_t i = 0; i < d; ++i) {
            if (c.positional == attnviz::Positional::sinusoidal) {
                const double freq = std::pow(10000.0, -static_cast<double>(2 * (i / 2)) / d);
                x[p][i] += i % 2 == 0 ? std::sin(p * freq) : std::cos(p * freq);
            } else if (c.positional == attnviz::Positional::learned) {
                x[p][i] += (*c.weights.P)(p, i);
            }
        }
    return x;
}

void rope(Mat& x) {
    const std::size_t dk = x[0].size();
    for (std::size_t p = 0; p < x.size(); ++p)
        for (std::size_t i = 0; i < dk / 2; ++i) {
            const double theta = p * std::pow(10000.0, -2.0 * i / dk);
            const double a = x[p][2 * i], b = x[p][2 * i + 1];
            x[p][2 * i] = a * std::cos(theta) - b * std::sin(theta);
            x[p][2 * i + 1] = a * std::sin(theta) + b * std::cos(theta);
        }
}

bool allowed(const attnviz::Trace& t, int i, int j) {
    const Config& c = t.config;
    if (c.linformer_k > 0) return true;
    const std::vector<std::string>& keys = t.cross ? t.source_tokens : t.tokens;
    if (c.mask == attnviz::MaskKind::causal && j > i) return false;
    if (c.mask == attnviz::MaskKind::padding && keys[j] == c.pad_token) return false;
    const attnviz::Pattern& p = c.pattern;
    const bool local = std::abs(i - j) <= p.window;
    bool global = false;
    for (int g : p.global) global = global || g == i || g == j;
    bool random = false;
    if (p.kind == attnviz::PatternKind::bigbird)
        for (std::size_t k = 0; k < t.random_keys.shape(1); ++k) random = random || t.random_keys(i, k) == j;
    switch (p.kind) {
        case attnviz::PatternKind::full: return true;
        case attnviz::PatternKind::local: return local;
        case attnviz::PatternKind::sliding_global: return local || global;
        case attnviz::PatternKind::bigbird: return local || global || random;
        case attnviz::PatternKind::strided: return local || std::abs(i - j) % p.stride == 0;
    }
    return false;
}

}  // namespace

Result compute(const attnviz::Trace& t) {
    const Config& c = t.config;
    const int T = static_cast<int>(t.tokens.size());
    const int H = c.heads, d = c.d_model, dk = d / H;
    const bool seed = c.variant == attnviz::Variant::seed_module;

    const Mat x = attention_input(c, *c.embeddings);
    const Mat xs = t.cross ? attention_input(c, *c.source_embeddings) : x;
    const Mat Q = seed ? x : mul(x, from(*c.weights.Wq), &*c.weights.bq);
    const Mat K = seed ? xs : mul(xs, from(*c.weights.Wk), &*c.weights.bk);
    const Mat V = seed ? xs : mul(xs, from(*c.weights.Wv), &*c.weights.bv);

    double scale = 1.0 / std::sqrt(static_cast<double>(dk));
    if (c.scale.kind == attnviz::ScaleKind::inv_sqrt_dmodel) scale = 1.0 / std::sqrt(static_cast<double>(d));
    if (c.scale.kind == attnviz::ScaleKind::number) scale = c.scale.value;

    Result r;
    Mat concat = zeros(T, d);
    for (int h = 0; h < H; ++h) {
        Mat q = columns(Q, h * dk, dk), k = columns(K, h * dk, dk), v = columns(V, h * dk, dk);
        if (c.positional == attnviz::Positional::rope) {
            rope(q);
            rope(k);
        }
        if (c.linformer_k > 0) {
            k = mul(from(*c.weights.E), k);
            v = mul(from(*c.weights.F), v);
        }
        const int N = static_cast<int>(k.size());
        const Mat scores = mul(q, transpose(k));
        const double slope = c.positional == attnviz::Positional::alibi ? std::pow(2.0, -8.0 * (h + 1) / H) : 0.0;
        std::vector<std::vector<bool>> mask(T, std::vector<bool>(N));
        Mat weights = zeros(T, N);
        for (int i = 0; i < T; ++i) {
            std::vector<double> logit(N);
            double max = -std::numeric_limits<double>::infinity();
            for (int j = 0; j < N; ++j) {
                mask[i][j] = allowed(t, i, j);
                if (seed)  // torch: masked_fill(-1e20) then / sqrt(embed_size), every cell in the softmax
                    logit[j] = (mask[i][j] ? scores[i][j] : -1e20) * scale / c.temperature;
                else
                    logit[j] = mask[i][j] ? scores[i][j] * scale / c.temperature - slope * std::abs(i - j)
                                          : -std::numeric_limits<double>::infinity();
                max = std::max(max, logit[j]);
            }
            if (max == -std::numeric_limits<double>::infinity()) continue;  // no allowed key: zeros
            double sum = 0;
            for (int j = 0; j < N; ++j) sum += std::exp(logit[j] - max);
            for (int j = 0; j < N; ++j) weights[i][j] = std::exp(logit[j] - max) / sum;
        }
        const Mat out = mul(weights, v);
        for (int i = 0; i < T; ++i)
            for (int m = 0; m < dk; ++m) concat[i][h * dk + m] = out[i][m];
        r.mask.push_back(mask);
        r.scores.push_back(scores);
        r.weights.push_back(weights);
        r.out.push_back(out);
    }
    r.output = mul(concat, from(*c.weights.Wo), &*c.weights.bo);
    return r;
}

}  // namespace ref
