// engine.cpp — validate a Config, then compute the attention pass into a Trace.
//
// The pass (RunJob::State::plan, stepped by RunJob; run() steps it to the end in one call) reads
// like the maths:
//   tokens -> X -> X_in = X + positional -> Q, K, V (RoPE) -> per head: (Linformer) scores = Q·Kᵀ
//   -> scaled = scores·scale/temperature + ALiBi, masked -> weights = softmax -> out = weights·V
//   -> concat -> output = concat·Wo + bo.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>

#include "internal.hpp"
#include "kernels.hpp"
#include "random.hpp"
#include "utf8.hpp"

namespace attnviz {
namespace {

using detail::field_error;
using detail::Sequences;

std::string shape_text(std::size_t rows, std::size_t cols) {
    return std::to_string(rows) + "x" + std::to_string(cols);
}

//-----------------------------------------------------------------------------
// Validation helpers
//-----------------------------------------------------------------------------
void check_utf8(const std::string& s, const std::string& field) {
    if (const auto at = utf8::first_invalid(s))
        field_error(field, "expected valid UTF-8, found an ill-formed byte sequence at byte " + std::to_string(*at));
}

template <class Tensor>
void check_finite(const Tensor& t, const std::string& field) {
    if (kernels::all_finite(t.data(), t.size())) return;  // vectorized; the loop below names the cell
    for (std::size_t k = 0; k < t.size(); ++k) {
        if (std::isfinite(t.data()[k])) continue;
        std::string where = field;
        if constexpr (Tensor::rank == 2)
            where += "[" + std::to_string(k / t.shape(1)) + "][" + std::to_string(k % t.shape(1)) + "]";
        else
            where += "[" + std::to_string(k) + "]";
        field_error(where, "expected a finite number, got " + std::string(std::isnan(t.data()[k]) ? "NaN" : "infinity"));
    }
}

void check_matrix(const std::optional<Matrix>& m, const std::string& field, std::size_t rows, std::size_t cols,
                  const std::string& meaning) {
    if (!m) return;
    if (m->shape(0) != rows || m->shape(1) != cols)
        field_error(field, "expected a " + shape_text(rows, cols) + " matrix (" + meaning + "), got " +
                               shape_text(m->shape(0), m->shape(1)));
    check_finite(*m, field);
}

void check_vector(const std::optional<Vector>& v, const std::string& field, std::size_t n) {
    if (!v) return;
    if (v->shape(0) != n)
        field_error(field, "expected " + std::to_string(n) + " numbers (d_model), got " + std::to_string(v->shape(0)));
    check_finite(*v, field);
}

std::vector<std::string> sequence(const std::optional<std::string>& text, const std::optional<std::vector<std::string>>& tokens,
                                  Tokenizer mode, const std::string& text_field, const std::string& tokens_field) {
    std::vector<std::string> out;
    if (text) {
        Expected<std::vector<std::string>> split = tokenize(*text, mode);
        if (!split) field_error(text_field, split.error().substr(split.error().find(": ") + 2));
        out = std::move(split.value());
    } else {
        for (std::size_t k = 0; k < tokens->size(); ++k)
            check_utf8((*tokens)[k], tokens_field + "[" + std::to_string(k) + "]");
        out = *tokens;
    }
    const std::string field = text ? text_field : tokens_field;
    if (out.empty()) field_error(field, "expected at least one token");
    if (out.size() > static_cast<std::size_t>(limits::max_tokens))
        field_error(field, "expected at most 4096 tokens, got " + std::to_string(out.size()));
    return out;
}

//-----------------------------------------------------------------------------
// Sizes: the trace's bytes, estimated before computing (and measured after, equal)
//-----------------------------------------------------------------------------
// keep_head -1: every head keeps its (T, N) matrices; h >= 0: only head h does.
double estimate_trace_bytes(const Config& c, const Sequences& s, int keep_head) {
    const double T = s.T, S = s.S, N = s.N, d = c.d_model, H = c.heads, dk = d / H;
    const double kept = keep_head < 0 ? H : 1;                // heads holding scores, scaled, mask, weights
    const bool rope = c.positional == Positional::rope, lin = c.linformer_k > 0;
    const bool added = c.positional == Positional::sinusoidal || c.positional == Positional::learned;
    double floats = T * d * (2 + added) + (s.cross ? S * d * (2 + added) : 0);  // X, positional, X_in (+ source)
    floats += H * (T * dk + 2 * S * dk + (rope ? (T + S) * dk : 0) + (lin ? 2 * N * dk : 0) + T * dk);  // Q K V, rope, lin, out
    floats += kept * T * N * 2;                               // scores, weights
    floats += T * d * 2;                                      // concat, output
    floats += 4 * d * d + 4 * d;                              // resolved config: W*, b*
    floats += T * d + (s.cross ? S * d : 0);                  // resolved config: embeddings
    floats += lin ? 2 * N * S : 0;                            // E, F
    floats += c.positional == Positional::learned ? std::max(T, S) * d : 0;  // P
    const double ints = (c.pattern.kind == PatternKind::bigbird ? T * c.pattern.random : 0) + H * T;  // random keys, empty rows (worst case)
    return 4 * floats + 8 * kept * T * N /* scaled */ + kept * T * N /* mask */ + 4 * ints;
}

void check_memory(const Config& c, const Sequences& s, int keep_head) {
    const double bytes = estimate_trace_bytes(c, s, keep_head);
    if (bytes > limits::max_trace_bytes)
        field_error("config", "expected a trace of at most 1.5 GiB, this one needs about " +
                                  std::to_string(static_cast<long long>(bytes / (1024 * 1024))) + " MiB (fewer tokens, heads or d_model)");
}

}  // namespace

//-----------------------------------------------------------------------------
// Validation (shared by parse_config and run)
//-----------------------------------------------------------------------------
Sequences detail::validate(const Config& c) {
    if (c.d_model < 1 || c.d_model > limits::max_d_model)
        field_error("d_model", "expected an integer from 1 to 2048, got " + std::to_string(c.d_model));
    if (c.heads < 1 || c.heads > limits::max_heads)
        field_error("heads", "expected an integer from 1 to 64, got " + std::to_string(c.heads));
    if (c.d_model % c.heads != 0)
        field_error("heads", "expected a divisor of d_model (" + std::to_string(c.d_model) + "), got " + std::to_string(c.heads));
    if (c.seed > limits::max_seed) field_error("seed", "expected an integer from 0 to 9007199254740991 (2^53-1)");
    const Pattern& p = c.pattern;
    if (p.window < 0 || p.window > limits::max_window)
        field_error("pattern.window", "expected an integer from 0 to 4096, got " + std::to_string(p.window));
    // the JSON ranges, whatever the kind: a field the kind ignores still round-trips through JSON
    if (p.random < 0 || p.random > limits::max_tokens)
        field_error("pattern.random", "expected an integer from 0 to 4096, got " + std::to_string(p.random));
    if (p.stride < 1 || p.stride > limits::max_tokens)
        field_error("pattern.stride", "expected an integer from 1 to 4096, got " + std::to_string(p.stride));
    for (std::size_t k = 0; k < p.global.size(); ++k)
        if (p.global[k] < 0 || p.global[k] >= limits::max_tokens)
            field_error("pattern.global[" + std::to_string(k) + "]", "expected an integer from 0 to 4095, got " + std::to_string(p.global[k]));
    if (c.linformer_k < 0 || c.linformer_k > limits::max_tokens)
        field_error("linformer_k", "expected an integer from 0 to 4096, got " + std::to_string(c.linformer_k));
    if (!std::isfinite(c.temperature) || !(c.temperature > 0))
        field_error("temperature", "expected a finite number > 0, got " + detail::number_text(c.temperature));
    if (c.scale.kind == ScaleKind::number && (!std::isfinite(c.scale.value) || !(c.scale.value > 0)))
        field_error("scale", "expected a finite number > 0, got " + detail::number_text(c.scale.value));
    check_utf8(c.pad_token, "pad_token");

    // the sequences
    if (c.text && c.tokens) field_error("tokens", "expected either text or tokens, not both");
    if (!c.text && !c.tokens) field_error("text", "expected a string (or \"tokens\": an array of strings)");
    if (c.source_text && c.source_tokens) field_error("source_tokens", "expected either source_text or source_tokens, not both");
    Sequences s;
    s.tokens = sequence(c.text, c.tokens, c.tokenizer, "text", "tokens");
    s.cross = c.source_text || c.source_tokens;
    if (s.cross) s.source_tokens = sequence(c.source_text, c.source_tokens, c.tokenizer, "source_text", "source_tokens");
    s.T = static_cast<int>(s.tokens.size());
    s.S = s.cross ? static_cast<int>(s.source_tokens.size()) : s.T;
    s.N = c.linformer_k > 0 ? c.linformer_k : s.S;

    // explicit matrices: shapes and finiteness
    const std::size_t d = c.d_model, T = s.T, S = s.S;
    if (c.source_embeddings && !s.cross)
        field_error("source_embeddings", "expected only with source_text or source_tokens (cross-attention)");
    check_matrix(c.embeddings, "embeddings", T, d, "tokens x d_model");
    check_matrix(c.source_embeddings, "source_embeddings", S, d, "source tokens x d_model");
    const Weights& w = c.weights;
    check_matrix(w.Wq, "weights.Wq", d, d, "d_model x d_model");
    check_matrix(w.Wk, "weights.Wk", d, d, "d_model x d_model");
    check_matrix(w.Wv, "weights.Wv", d, d, "d_model x d_model");
    check_matrix(w.Wo, "weights.Wo", d, d, "d_model x d_model");
    check_vector(w.bq, "weights.bq", d);
    check_vector(w.bk, "weights.bk", d);
    check_vector(w.bv, "weights.bv", d);
    check_vector(w.bo, "weights.bo", d);
    if ((w.E || w.F) && c.linformer_k == 0)
        field_error(w.E ? "weights.E" : "weights.F", "expected only with linformer_k > 0");
    check_matrix(w.E, "weights.E", c.linformer_k, S, "linformer_k x keys");
    check_matrix(w.F, "weights.F", c.linformer_k, S, "linformer_k x keys");
    if (w.P && c.positional != Positional::learned) field_error("weights.P", "expected only with positional \"learned\"");
    check_matrix(w.P, "weights.P", std::max(T, S), d, "max(tokens, source tokens) x d_model");

    // options that depend on the sequences or on each other
    const int dk = c.d_model / c.heads;
    if (c.positional == Positional::rope && dk % 2 != 0)
        field_error("positional", "expected an even head_dim (d_model/heads) for \"rope\", got " + std::to_string(dk));
    if (c.linformer_k > s.S)
        field_error("linformer_k", "expected at most the number of keys (" + std::to_string(s.S) + "), got " + std::to_string(c.linformer_k));
    if (c.linformer_k > 0 && c.mask != MaskKind::none)
        field_error("mask", "expected \"none\" with linformer_k > 0 (projected keys have no token to mask)");
    if (c.linformer_k > 0 && c.positional == Positional::alibi)
        field_error("positional", "expected no \"alibi\" with linformer_k > 0 (projected keys have no distance to the query)");
    if (c.linformer_k > 0 && p.kind != PatternKind::full)
        field_error("pattern.kind", "expected \"full\" with linformer_k > 0 (projected keys have no position)");
    if (p.kind == PatternKind::bigbird && p.random > s.S)
        field_error("pattern.random", "expected at most the number of keys (" + std::to_string(s.S) + "), got " + std::to_string(p.random));
    if (p.kind == PatternKind::sliding_global || p.kind == PatternKind::bigbird)
        for (std::size_t k = 0; k < p.global.size(); ++k)
            if (p.global[k] < 0 || p.global[k] >= std::max(s.T, s.S))
                field_error("pattern.global[" + std::to_string(k) + "]",
                            "expected a token index from 0 to " + std::to_string(std::max(s.T, s.S) - 1) + ", got " + std::to_string(p.global[k]));
    if (c.variant == Variant::seed_module) {
        if (c.positional == Positional::rope || c.positional == Positional::alibi)
            field_error("positional", "expected \"none\", \"sinusoidal\" or \"learned\" with variant \"seed_module\" (the printed module has no RoPE or ALiBi)");
        if (c.linformer_k > 0) field_error("linformer_k", "expected 0 with variant \"seed_module\" (the printed module has no Linformer)");
    }
    return s;
}

namespace {

//-----------------------------------------------------------------------------
// Generated inputs (see random.hpp): every value a hash of (seed, stream, row, col)
//-----------------------------------------------------------------------------
// X: row t is the token's own vector, uniform with unit variance, so a token gets the same
// vector wherever it appears (and in the source sequence too).
Matrix token_embeddings(const std::vector<std::string>& tokens, int d, std::uint64_t seed) {
    Matrix X = Matrix::from_shape({tokens.size(), static_cast<std::size_t>(d)});
    const std::uint64_t stream = random::hash_bytes("embedding");
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        const std::uint64_t token = random::hash_bytes(tokens[t]);
        for (int c = 0; c < d; ++c) X(t, c) = random::uniform(std::sqrt(3.0), seed, stream ^ token, 0, c);
    }
    return X;
}

Matrix uniform_matrix(std::size_t rows, std::size_t cols, double a, std::uint64_t seed, const char* name) {
    Matrix m = Matrix::from_shape({rows, cols});
    const std::uint64_t stream = random::hash_bytes(name);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) m(r, c) = random::uniform(a, seed, stream, r, c);
    return m;
}

// Fills every absent matrix of the config, so the trace's config reproduces the trace.
Config resolve(Config c, const Sequences& s) {
    const std::size_t d = c.d_model;
    if (!c.embeddings) c.embeddings = token_embeddings(s.tokens, c.d_model, c.seed);
    if (s.cross && !c.source_embeddings) c.source_embeddings = token_embeddings(s.source_tokens, c.d_model, c.seed);
    Weights& w = c.weights;
    const double xavier = std::sqrt(6.0 / (2.0 * d));  // Xavier-uniform, fan_in = fan_out = d
    if (!w.Wq) w.Wq = uniform_matrix(d, d, xavier, c.seed, "Wq");
    if (!w.Wk) w.Wk = uniform_matrix(d, d, xavier, c.seed, "Wk");
    if (!w.Wv) w.Wv = uniform_matrix(d, d, xavier, c.seed, "Wv");
    if (!w.Wo) w.Wo = uniform_matrix(d, d, xavier, c.seed, "Wo");
    for (std::optional<Vector>* b : {&w.bq, &w.bk, &w.bv, &w.bo})
        if (!*b) *b = Vector(std::array<std::size_t, 1>{d}, 0.0f);
    if (c.linformer_k > 0) {
        const double a = std::sqrt(3.0 / c.linformer_k);  // uniform with std 1/sqrt(k)
        if (!w.E) w.E = uniform_matrix(c.linformer_k, s.S, a, c.seed, "E");
        if (!w.F) w.F = uniform_matrix(c.linformer_k, s.S, a, c.seed, "F");
    }
    if (c.positional == Positional::learned && !w.P)
        w.P = uniform_matrix(std::max(s.T, s.S), d, 0.2 * std::sqrt(3.0), c.seed, "P");  // std 0.2
    return c;
}

//-----------------------------------------------------------------------------
// Positions
//-----------------------------------------------------------------------------
// PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)).   (rows, d)
Matrix sinusoidal(std::size_t rows, int d) {
    Matrix pe = Matrix::from_shape({rows, static_cast<std::size_t>(d)});
    for (std::size_t p = 0; p < rows; ++p)
        for (int c = 0; c < d; ++c) {
            const double angle = static_cast<double>(p) / std::pow(10000.0, static_cast<double>(c - c % 2) / d);
            pe(p, c) = static_cast<float>(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
        }
    return pe;
}

// cos and sin of p·10000^(-i/dk) for rows p < rows and even i < dk, row-major (p, i/2): the same
// numbers for every head and layer of a trace and for every trace after it, so they are
// computed once per thread and head size, and only extended when a longer text comes (the
// pow, sin and cos per cell cost a tenth of a model trace of 64 characters in wasm).
struct RopeTable {
    std::size_t dk = 0, rows = 0;
    std::vector<double> cs, sn;
};

const RopeTable& rope_table(std::size_t rows, std::size_t dk) {
    static thread_local RopeTable table;
    if (table.dk != dk) table = RopeTable{dk, 0, {}, {}};
    if (rows > table.rows) {
        const std::size_t half = dk / 2;
        table.cs.resize(rows * half);
        table.sn.resize(rows * half);
        for (std::size_t p = table.rows; p < rows; ++p)
            for (std::size_t i = 0; i + 1 < dk; i += 2) {
                const double angle = static_cast<double>(p) * std::pow(10000.0, -static_cast<double>(i) / dk);
                table.cs[p * half + i / 2] = std::cos(angle);
                table.sn[p * half + i / 2] = std::sin(angle);
            }
        table.rows = rows;
    }
    return table;
}

// Rotates pairs (2i, 2i+1) of each row p by p·10000^(-2i/dk) (RoPE). x (rows, dk), in place.
void rotate(Matrix& x) {
    const std::size_t dk = x.shape(1), half = dk / 2;
    const RopeTable& table = rope_table(x.shape(0), dk);
    for (std::size_t p = 0; p < x.shape(0); ++p)
        for (std::size_t i = 0; i + 1 < dk; i += 2) {
            const double cs = table.cs[p * half + i / 2], sn = table.sn[p * half + i / 2];
            const double a = x(p, i), b = x(p, i + 1);
            x(p, i) = static_cast<float>(a * cs - b * sn);
            x(p, i + 1) = static_cast<float>(a * sn + b * cs);
        }
}

//-----------------------------------------------------------------------------
// Mask: the base mask intersected with the pattern.   (T, S)
//-----------------------------------------------------------------------------
// Bigbird's random keys: r distinct keys per query, by a partial Fisher-Yates shuffle.   (T, r)
xt::xtensor<int, 2> bigbird_keys(int T, int S, int r, std::uint64_t seed) {
    xt::xtensor<int, 2> keys = xt::xtensor<int, 2>::from_shape({static_cast<std::size_t>(T), static_cast<std::size_t>(r)});
    std::vector<int> pool(S);
    for (int i = 0; i < T; ++i) {
        std::iota(pool.begin(), pool.end(), 0);
        random::SplitMix64 rng(random::bits(seed, random::hash_bytes("bigbird"), i, 0));
        for (int k = 0; k < r; ++k) {
            const int pick = k + static_cast<int>(rng.below(static_cast<std::uint32_t>(S - k)));
            std::swap(pool[k], pool[pick]);
            keys(i, k) = pool[k];
        }
    }
    return keys;
}

// Every query may see every key: projected keys (validated: mask none, pattern full), or no
// mask and the full pattern. The mask is then all true and the scaling selects nothing.
bool sees_every_key(const Config& c) {
    return c.linformer_k > 0 || (c.mask == MaskKind::none && c.pattern.kind == PatternKind::full);
}

// Rows [i0, i1) of the mask.   mask (T, N), random_keys (T, random) or (0, 0)
void attention_mask_rows(xt::xtensor<bool, 2>& mask, const Config& c, const Sequences& s,
                         const xt::xtensor<int, 2>& random_keys, int i0, int i1) {
    if (sees_every_key(c)) {
        std::fill(&mask(i0, 0), &mask(i0, 0) + static_cast<std::size_t>(i1 - i0) * s.N, true);
        return;
    }
    const Pattern& p = c.pattern;
    // a band (cut at the diagonal if causal; a causal mask alone is the band of every earlier key): no per-cell test
    if ((p.kind == PatternKind::local || p.kind == PatternKind::full) && c.mask != MaskKind::padding) {
        const int window = p.kind == PatternKind::full ? std::max(s.T, s.S) : p.window;
        for (int i = i0; i < i1; ++i) {
            bool* row = &mask(i, 0);
            std::fill(row, row + s.N, false);
            const int lo = std::max(0, i - window);
            const int hi = std::min(s.S - 1, c.mask == MaskKind::causal ? i : i + window);
            if (lo <= hi) std::fill(row + lo, row + hi + 1, true);
        }
        return;
    }
    const std::vector<std::string>& keys = s.cross ? s.source_tokens : s.tokens;
    std::vector<bool> global_query(s.T, false), global_key(s.S, false);
    for (int g : p.global) {
        if (g < s.T) global_query[g] = true;
        if (g < s.S) global_key[g] = true;
    }
    for (int i = i0; i < i1; ++i)
        for (int j = 0; j < s.S; ++j) {
            bool base = true;
            if (c.mask == MaskKind::causal) base = j <= i;
            if (c.mask == MaskKind::padding) base = keys[j] != c.pad_token;
            const int distance = std::abs(i - j);
            const bool local = distance <= p.window;
            const bool global = global_query[i] || global_key[j];
            bool pattern = true;
            switch (p.kind) {
                case PatternKind::full: break;
                case PatternKind::local: pattern = local; break;
                case PatternKind::sliding_global: pattern = local || global; break;
                case PatternKind::bigbird: pattern = local || global; break;  // + random keys below
                case PatternKind::strided: pattern = local || distance % p.stride == 0; break;
            }
            mask(i, j) = base && pattern;
        }
    if (p.kind == PatternKind::bigbird)
        for (int i = i0; i < i1; ++i)
            for (std::size_t k = 0; k < random_keys.shape(1); ++k) {
                const int j = random_keys(i, k);
                bool base = true;
                if (c.mask == MaskKind::causal) base = j <= i;
                if (c.mask == MaskKind::padding) base = keys[j] != c.pad_token;
                mask(i, j) = base;
            }
}

//-----------------------------------------------------------------------------
// Small tensor helpers
//-----------------------------------------------------------------------------
// Rows [r0, r1) of out = a·b + bias.   out (M, N), a (M, K), b (K, N), bias (N) or none.
// Each element is the same sum in the same order whichever rows a call covers, so computing a
// matrix by blocks of rows gives it bit for bit as one call would.
void matmul_rows(Matrix& out, const Matrix& a, const Matrix& b, const Vector* bias, int r0, int r1, Kernels path) {
    const std::size_t K = a.shape(1), N = b.shape(1);
    kernels::matmul(out.data() + r0 * N, a.data() + r0 * K, b.data(), bias ? bias->data() : nullptr, r1 - r0,
                    static_cast<int>(K), static_cast<int>(N), path);
}

// Columns [h·dk, (h+1)·dk) of x, contiguous.   (rows, dk)
Matrix head_slice(const Matrix& x, int h, int dk) {
    Matrix out = Matrix::from_shape({x.shape(0), static_cast<std::size_t>(dk)});
    for (std::size_t r = 0; r < x.shape(0); ++r)
        for (int c = 0; c < dk; ++c) out(r, c) = x(r, h * dk + c);
    return out;
}

Matrix transpose(const Matrix& x) {
    Matrix out = Matrix::from_shape({x.shape(1), x.shape(0)});
    for (std::size_t r = 0; r < x.shape(0); ++r)
        for (std::size_t c = 0; c < x.shape(1); ++c) out(c, r) = x(r, c);
    return out;
}

Matrix add(const Matrix& a, const Matrix& b) {
    Matrix out = Matrix::from_shape({a.shape(0), a.shape(1)});
    for (std::size_t k = 0; k < a.size(); ++k) out.data()[k] = a.data()[k] + b.data()[k];
    return out;
}

// A stage whose float32 result overflowed (inputs near 3.4e38) is an error: JSON has no inf.
// Rows [r0, r1) of m, or all of it.
void check_overflow(const Matrix& m, const char* stage, std::size_t r0 = 0,
                    std::size_t r1 = std::numeric_limits<std::size_t>::max()) {
    r1 = std::min(r1, m.shape(0));
    if (!kernels::all_finite(m.data() + r0 * m.shape(1), (r1 - r0) * m.shape(1)))
        field_error(stage, "overflowed float32 (|value| > 3.4e38); expected embeddings and weights small enough");
}

Matrix rows_prefix(const Matrix& m, std::size_t rows) {
    Matrix out = Matrix::from_shape({rows, m.shape(1)});
    std::copy(m.data(), m.data() + rows * m.shape(1), out.data());
    return out;
}

double tensor_bytes(const Trace& t) {
    double b = 0;
    const auto f = [&](const auto& x) { b += static_cast<double>(x.size()) * sizeof(*x.data()); };
    for (const Matrix* m : {&t.X, &t.positional, &t.X_in, &t.source_X, &t.source_positional, &t.source_X_in, &t.concat, &t.output}) f(*m);
    f(t.random_keys);
    for (const HeadTrace& h : t.heads) {
        for (const Matrix* m : {&h.Q, &h.K, &h.V, &h.Q_unrotated, &h.K_unrotated, &h.K_projected, &h.V_projected,
                                &h.scores, &h.weights, &h.out})
            f(*m);
        f(h.scaled);
        f(h.mask);
        b += 4.0 * h.empty_rows.size();
    }
    const Config& c = t.config;
    for (const std::optional<Matrix>* m : {&c.embeddings, &c.source_embeddings, &c.weights.Wq, &c.weights.Wk, &c.weights.Wv,
                                           &c.weights.Wo, &c.weights.E, &c.weights.F, &c.weights.P})
        if (*m) f(**m);
    for (const std::optional<Vector>* v : {&c.weights.bq, &c.weights.bk, &c.weights.bv, &c.weights.bo})
        if (*v) f(**v);
    return b;
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Runs `work`, turning the core's exceptions into run()'s error messages (nullopt: no error).
template <class Work>
std::optional<std::string> guarded(Work&& work) {
    try {
        work();
        return std::nullopt;
    } catch (const detail::FieldError& e) {
        return e.message;
    } catch (const std::bad_alloc&) {
        return std::string("config: expected a trace that fits in memory (fewer tokens, heads or d_model)");
    } catch (const std::exception& e) {
        return std::string("config: ") + e.what();
    }
}

// Work is counted in multiply-adds of a matmul; a cell of another stage weighs what it costs
// next to one (measured natively at T = 1024, d_model 256: a scaled cell, written in double with
// its mask, about 250; a softmax cell about 120; a sinusoid about 500).
constexpr double kCellGenerated = 64, kCellPositional = 512, kCellCopy = 8, kCellMask = 16, kCellScaled = 256,
                 kCellSoftmax = 128;

// Rows of a head's attention per step, at most: its scores, scaled, mask and weights (17 bytes a
// cell) stay within about 256 KiB, so the block is still in cache from one part to the next.
int attention_block(int N) {
    return std::max((256 * 1024 / (17 * std::max(N, 1))) / 16 * 16, 16);
}

// Rows per step of a task whose rows cost `work_per_row` each: about `work_per_step`, in
// multiples of 16 rows, which the kernels' row tiles divide.
int block_rows(int rows, double work_per_row, double work_per_step) {
    const double fit = std::floor(work_per_step / std::max(work_per_row, 1.0) / 16) * 16;
    return static_cast<int>(std::min(std::max(fit, 16.0), static_cast<double>(std::max(rows, 1))));
}

}  // namespace

//-----------------------------------------------------------------------------
// The forward pass, as a list of tasks that a RunJob steps through
//-----------------------------------------------------------------------------
// A task computes rows [r0, r1) of one stage (rows of Q, of one head's attention, …), a block per
// step; row blocks of a matmul, of the scaling and of the softmax give every element exactly as
// the whole matrix does. A head goes from scores to out one block of query rows at a time, so
// the block is still in cache for the next stage (the trace's cost over the plain forward).
struct RunJob::State {
    struct Task {
        const char* stage;                      // as named in StageTimes, or "attention" (a head not kept)
        double StageTimes::*time;               // where its time adds up; null: compute() adds its own
        int head;                               // the head it computes, -1 when not per head
        int rows;                               // rows to compute (1 for a task done in one step)
        int block;                              // rows per step
        double work_per_row;                    // estimated cost, for progress()
        std::function<void(int, int)> compute;  // computes rows [r0, r1)
    };

    Config input;                  // the config as given, until resolved into trace.config
    Sequences s;                   // tokens and sizes, from validation
    Trace t;                       // filled stage by stage
    Matrix Q, K, V;                // (T, d), (S, d), (S, d): every head's projections, until split per head
    Matrix keys_t;                 // (dk, N): the current head's keys (projected with Linformer), transposed (scalar path)
    std::vector<float> packed_keys, packed_values;  // the same keys and values packed for the SIMD matmul, once per head
    std::vector<float> span_keys, span_values;      // a block's span of them (heads not kept, sparse patterns)
    xt::xtensor<bool, 2> mask;     // (T, N): mask ∩ pattern, shared by the heads
    double scale = 0;              // factor on the raw scores
    int keep_head = -1;            // -1: every head keeps its (T, N) matrices; h: only head h
    std::vector<float> block_scores, block_weights;  // (rows, N): a block of a head that is not kept
    std::vector<double> block_scaled;                // (rows, N)
    std::vector<double> row_max;                     // (rows): the block's largest scaled value per row

    std::vector<Task> tasks;       // the whole pass, in order
    std::size_t next = 0;          // the task the next step works on
    int row = 0;                   // its next row
    double work_done = 0, work_total = 0;
    std::optional<std::string> error;  // run()'s message once a step failed
    double work_per_step = RunJob::default_work_per_step;

    bool done() const { return error || next == tasks.size(); }

    // max_block: at most that many rows per step (a multiple of 16), 0 for no limit
    void plan_task(const char* stage, double StageTimes::*time, int head, int rows, double work_per_row,
             std::function<void(int, int)> compute, int max_block = 0) {
        int block = rows == 1 ? 1 : block_rows(rows, work_per_row, work_per_step);
        if (max_block > 0) block = std::min(block, max_block);
        tasks.push_back({stage, time, head, rows, block, work_per_row, std::move(compute)});
        work_total += work_per_row * rows;
    }

    void plan();
    void embed();
    void positions();
    void split_head(int h);
    bool keeps(int h) const { return keep_head < 0 || keep_head == h; }
    void begin_scores(int h);
    void scale_block(HeadTrace& head, const float* scores, double* scaled, int r0, int r1, int lo, int width);
    void key_span(int r0, int r1, int& lo, int& hi) const;
    void attend_rows(int h, int r0, int r1);
    void finish();
};

// tokens -> X -> X_in -> Q, K, V (RoPE, Linformer) -> per head: mask, scores, scaled -> weights
// -> out -> concat -> output.
void RunJob::State::plan() {
    const int T = s.T, S = s.S, N = s.N, H = input.heads, d = input.d_model, dk = d / H;
    const double dd = static_cast<double>(d) * d;
    const bool seed = input.variant == Variant::seed_module;
    plan_task("embed", &StageTimes::embed, -1, 1, kCellGenerated * ((T + S) * d + 4 * dd), [this](int, int) { embed(); });
    const double positional_cell = input.positional == Positional::sinusoidal ? kCellPositional : kCellCopy;
    plan_task("positional", &StageTimes::positional, -1, 1, positional_cell * (T + S) * d, [this](int, int) { positions(); });

    // Q, K, V: projections (standard) or the input itself (seed_module, as printed)
    const auto projection = [this](Matrix& out, bool keys, std::optional<Matrix> Weights::*w, std::optional<Vector> Weights::*b,
                                   const char* name) {
        return [this, &out, keys, w, b, name](int r0, int r1) {
            const Matrix& in = keys && s.cross ? t.source_X_in : t.X_in;  // (T, d) or (S, d)
            if (r0 == 0) out = Matrix::from_shape({in.shape(0), in.shape(1)});
            matmul_rows(out, in, *(t.config.weights.*w), &*(t.config.weights.*b), r0, r1, t.config.kernels);
            check_overflow(out, name, r0, r1);
        };
    };
    if (seed) {
        plan_task("project", &StageTimes::project, -1, 1, kCellCopy * (T + 2 * S) * d, [this](int, int) {
            t.skips_qkv_projection = true;
            t.scales_by_sqrt_dmodel = t.config.scale.kind == ScaleKind::inv_sqrt_dmodel;
            Q = t.X_in;
            K = V = s.cross ? t.source_X_in : t.X_in;
        });
    } else {
        plan_task("project", &StageTimes::project, -1, T, dd, projection(Q, false, &Weights::Wq, &Weights::bq, "Q"));
        plan_task("project", &StageTimes::project, -1, S, dd, projection(K, true, &Weights::Wk, &Weights::bk, "K"));
        plan_task("project", &StageTimes::project, -1, S, dd, projection(V, true, &Weights::Wv, &Weights::bv, "V"));
    }
    for (int h = 0; h < H; ++h) {
        plan_task("project", &StageTimes::project, h, 1, kCellCopy * (T + 2 * S) * dk, [this, h](int, int) { split_head(h); });
        if (input.linformer_k > 0) {  // project keys and values along the sequence: (k, S)·(S, dk)
            const auto along = [this, h](Matrix HeadTrace::*out, Matrix HeadTrace::*in, std::optional<Matrix> Weights::*w,
                                         const char* name) {
                return [this, h, out, in, w, name](int r0, int r1) {
                    HeadTrace& head = t.heads[h];
                    const Matrix& proj = *(t.config.weights.*w);  // (k, S)
                    if (r0 == 0) head.*out = Matrix::from_shape({proj.shape(0), (head.*in).shape(1)});
                    matmul_rows(head.*out, proj, head.*in, nullptr, r0, r1, t.config.kernels);
                    check_overflow(head.*out, name, r0, r1);
                };
            };
            plan_task("project", &StageTimes::project, h, N, static_cast<double>(S) * dk,
                along(&HeadTrace::K_projected, &HeadTrace::K, &Weights::E, "K_projected"));
            plan_task("project", &StageTimes::project, h, N, static_cast<double>(S) * dk,
                along(&HeadTrace::V_projected, &HeadTrace::V, &Weights::F, "V_projected"));
        }
    }

    // mask ∩ pattern, then per head scores = Q·Kᵀ and scaled = scores·scale/temperature + ALiBi
    plan_task("scores", &StageTimes::scores, -1, T, kCellMask * N, [this](int r0, int r1) {
        const Config& c = t.config;
        if (r0 == 0) {
            if (c.pattern.kind == PatternKind::bigbird && c.linformer_k == 0)
                t.random_keys = bigbird_keys(s.T, s.S, c.pattern.random, c.seed);
            mask = xt::xtensor<bool, 2>::from_shape({static_cast<std::size_t>(s.T), static_cast<std::size_t>(s.N)});
        }
        attention_mask_rows(mask, c, s, t.random_keys, r0, r1);
        const bool* rows = &mask(r0, 0);
        std::size_t allowed = 0;
        for (std::size_t k = 0; k < static_cast<std::size_t>(r1 - r0) * s.N; ++k) allowed += rows[k];
        t.stats.allowed_pairs += static_cast<double>(allowed);
    });
    // then per head, a block of query rows at a time while it is in cache: scores = Q·Kᵀ,
    // scaled, weights = softmax over each row (subtracting the row max for numerical stability),
    // out = weights·V into its columns of concat. A head that is not kept (keep_head) does the
    // same in block buffers, so its (T, N) matrices are never whole.
    plan_task("attention", &StageTimes::weighted_sum, -1, 1, kCellCopy * T * d, [this](int, int) {
        t.concat = Matrix::from_shape({static_cast<std::size_t>(s.T), static_cast<std::size_t>(t.config.d_model)});
    });
    for (int h = 0; h < H; ++h)
        plan_task("attention", nullptr, h, T, 2.0 * N * dk + (kCellScaled + kCellSoftmax) * N,
            [this, h](int r0, int r1) { attend_rows(h, r0, r1); }, attention_block(N));

    // output = concat·Wo + bo
    plan_task("output", &StageTimes::output, -1, T, dd, [this](int r0, int r1) {
        if (r0 == 0) {
            mask = xt::xtensor<bool, 2>();  // the kept heads have their copy
            t.output = Matrix::from_shape({t.concat.shape(0), t.concat.shape(1)});
        }
        matmul_rows(t.output, t.concat, *t.config.weights.Wo, &*t.config.weights.bo, r0, r1, t.config.kernels);
        check_overflow(t.output, "output", r0, r1);
    });
    plan_task("output", &StageTimes::total, -1, 1, 0, [this](int, int) { finish(); });
}

void RunJob::State::embed() {
    t.config = resolve(std::move(input), s);
    const Config& c = t.config;
    t.tokens = s.tokens;
    t.source_tokens = s.source_tokens;
    t.cross = s.cross;
    t.T = s.T;
    t.S = s.S;
    t.N = s.N;
    t.head_dim = c.d_model / c.heads;
    t.temperature = c.temperature;
    t.X = *c.embeddings;
    if (s.cross) t.source_X = *c.source_embeddings;
}

// X_in = X + positional (sinusoidal, learned); RoPE and ALiBi act later, on Q·K
void RunJob::State::positions() {
    const Config& c = t.config;
    if (c.positional == Positional::sinusoidal) {
        t.positional = sinusoidal(s.T, c.d_model);
        if (s.cross) t.source_positional = sinusoidal(s.S, c.d_model);
    } else if (c.positional == Positional::learned) {
        t.positional = rows_prefix(*c.weights.P, s.T);
        if (s.cross) t.source_positional = rows_prefix(*c.weights.P, s.S);
    }
    t.X_in = t.positional.size() ? add(t.X, t.positional) : t.X;
    check_overflow(t.X_in, "X_in");
    if (s.cross) {
        t.source_X_in = t.source_positional.size() ? add(t.source_X, t.source_positional) : t.source_X;
        check_overflow(t.source_X_in, "source_X_in");
    }
}

// Head h's columns of Q, K, V, rotated with RoPE. Q, K, V are freed after the last head.
void RunJob::State::split_head(int h) {
    const int H = t.config.heads, dk = t.config.d_model / H;
    if (h == 0) t.heads.resize(H);
    HeadTrace& head = t.heads[h];
    head.Q = head_slice(Q, h, dk);
    head.K = head_slice(K, h, dk);
    head.V = head_slice(V, h, dk);
    if (t.config.positional == Positional::rope) {
        head.Q_unrotated = head.Q;
        head.K_unrotated = head.K;
        rotate(head.Q);
        rotate(head.K);
        check_overflow(head.Q, "Q");
        check_overflow(head.K, "K");
    }
    if (h == H - 1) Q = K = V = Matrix();
}

// Head h's scale, ALiBi slope and transposed keys, before its first row of scores.
void RunJob::State::begin_scores(int h) {
    const Config& c = t.config;
    HeadTrace& head = t.heads[h];
    const int dk = c.d_model / c.heads;
    scale = 1.0 / std::sqrt(static_cast<double>(dk));
    if (c.scale.kind == ScaleKind::inv_sqrt_dmodel) scale = 1.0 / std::sqrt(static_cast<double>(c.d_model));
    if (c.scale.kind == ScaleKind::number) scale = c.scale.value;
    head.scale = scale;
    if (c.positional == Positional::alibi) head.alibi_slope = std::pow(2.0, -8.0 * (h + 1) / c.heads);
    const Matrix& keys = c.linformer_k > 0 ? head.K_projected : head.K;      // (N, dk)
    const Matrix& values = c.linformer_k > 0 ? head.V_projected : head.V;    // (N, dk)
    if (c.kernels == Kernels::scalar) {
        keys_t = transpose(keys);  // (dk, N)
        return;
    }
    // every block of query rows reads the same keys and values: packed once for the kernel
    packed_keys.resize(kernels::packed_size(dk, s.N));
    kernels::pack_transposed(packed_keys.data(), keys.data(), dk, dk, s.N);
    packed_values.resize(kernels::packed_size(s.N, dk));
    kernels::pack(packed_values.data(), values.data(), dk, s.N, dk);
}

namespace {
// Whether a mask row's allowed cells (of n) are one run, [first, end) (first = end: none).
bool allowed_run(const bool* allowed, int n, int& first, int& end) {
    first = 0;
    while (first < n && !allowed[first]) ++first;
    end = n;
    while (end > first && !allowed[end - 1]) --end;
    int count = 0;
    for (int j = first; j < end; ++j) count += allowed[j];
    return count == end - first;
}
}  // namespace

// Rows [r0, r1) of scaled from the same rows of scores (both pointing at row r0), and the
// rows among them with no allowed key.
void RunJob::State::scale_block(HeadTrace& head, const float* scores, double* scaled, int r0, int r1, int lo, int width) {
    const Config& c = t.config;
    const bool seed = c.variant == Variant::seed_module;
    // seed_module fills masked energies with -1e20 (a float32 in torch) before the division
    const double seed_fill = static_cast<double>(static_cast<float>(-1e20));
    // Row by row over raw pointers, branch-free in j and with every factor in a local (a store
    // through `out` could otherwise alias them and force a reload per cell), so that the
    // compiler vectorizes it: this loop writes H·T·N doubles, much of the trace's cost beyond
    // the forward. The expressions are the ones the float64 reference and the UI's worked cell use.
    const double masked = -std::numeric_limits<double>::infinity(), largest = std::numeric_limits<double>::max();
    // scale/temperature once: a division per cell cost more than the rest of the loop; with
    // temperature 1 (the default) the product is the same bits as scores·scale/temperature
    const double per_score = scale / c.temperature, slope = head.alibi_slope;
    const int N = width;  // the columns computed: keys [lo, lo + width)
    const bool every_key = sees_every_key(c);
    row_max.resize(r1 - r0);
    for (int i = r0; i < r1; ++i) {
        const float* score = scores + static_cast<std::size_t>(i - r0) * N;
        const bool* allowed = mask.data() + static_cast<std::size_t>(i) * s.N + lo;
        double* out = scaled + static_cast<std::size_t>(i - r0) * N;
        // one pass: the value, the row's max (for the softmax), overflow, and whether any key is allowed
        double top = masked;
        int overflow = 0, any = 0;
        if (seed) {
            for (int j = 0; j < N; ++j) {
                const double v = (allowed[j] ? score[j] : seed_fill) * per_score;
                out[j] = v;
                top = v > top ? v : top;
                overflow |= !(std::fabs(v) <= largest);
                any |= allowed[j];
            }
        } else if (every_key && slope == 0) {  // no mask, no pattern: nothing to select (the common case)
            for (int j = 0; j < N; ++j) {
                const double v = score[j] * per_score;
                out[j] = v;
                top = v > top ? v : top;
                overflow |= !(std::fabs(v) <= largest);
            }
            any = N > 0;
        } else if (int first = 0, end = N; allowed_run(allowed, N, first, end)) {
            // the allowed keys are one run [first, end) (every row of a causal mask, of a band):
            // the loop above over the run, without a select per cell, and -inf around it
            std::fill(out, out + first, masked);
            std::fill(out + end, out + N, masked);
            const double bias_slope = slope;
            for (int j = first; j < end; ++j) {
                const double v = slope == 0 ? score[j] * per_score : score[j] * per_score - bias_slope * std::abs(i - (lo + j));
                out[j] = v;
                top = v > top ? v : top;
                overflow |= !(std::fabs(v) <= largest);
            }
            any = end > first;
        } else {  // without ALiBi the bias would be -0, which leaves every sum unchanged: not added
            const double bias_slope = slope;
            for (int j = 0; j < N; ++j) {
                const double v = slope == 0 ? score[j] * per_score : score[j] * per_score - bias_slope * std::abs(i - (lo + j));
                const double kept = allowed[j] ? v : masked;
                out[j] = kept;
                top = kept > top ? kept : top;
                // a huge scale over a tiny temperature can pass double's range: the softmax of an
                // infinite logit is NaN, so that is an error like any other overflow (masked cells
                // are -inf by design)
                overflow |= allowed[j] & !(std::fabs(v) <= largest);
                any |= allowed[j];
            }
        }
        row_max[i - r0] = top;
        if (overflow)
            field_error("scaled", "overflowed float64 (|scores·scale/temperature| > 1.8e308); expected a smaller "
                                  "scale or a larger temperature");
        if (!any) head.empty_rows.push_back(i);
    }
}

// The keys rows [r0, r1) may see lie in [lo, hi): from the first to the last allowed key of any
// of the rows, widened to the kernels' lanes (lo down to a multiple, hi up to one or to N) so
// that the softmax sums every lane's cells in the same order as over the whole row — the
// cells outside the span are masked, and their exp(-inf) = 0 adds nothing — and a head not
// kept gives the same bits as a kept one. No allowed key: lo = hi = 0.
void RunJob::State::key_span(int r0, int r1, int& lo, int& hi) const {
    const int N = s.N;
    int first = N, last = -1;
    for (int i = r0; i < r1; ++i) {
        const bool* row = mask.data() + static_cast<std::size_t>(i) * N;
        int j = 0;
        while (j < first && !row[j]) ++j;
        first = std::min(first, j);
        j = N - 1;
        while (j > last && !row[j]) --j;
        last = std::max(last, j);
    }
    if (last < first) {
        lo = hi = 0;
        return;
    }
    const int lanes = kernels::lanes(t.config.kernels);
    lo = first / lanes * lanes;
    hi = (last + 1 + lanes - 1) / lanes * lanes;
    if (hi > N - N % lanes) hi = N;  // the row's last N mod lanes cells are summed one by one: all of them, as over the whole row
}

// Head h, query rows [r0, r1): scores, scaled and weights into the head's matrices if it is
// kept, else into block buffers (the same kernels on the same rows, so the same numbers), then
// out and its columns of concat. Each stage's time adds up in its own StageTimes field.
void RunJob::State::attend_rows(int h, int r0, int r1) {
    HeadTrace& head = t.heads[h];
    StageTimes& ms = t.stats.ms;
    const Kernels path = t.config.kernels;
    const int n = r1 - r0, N = s.N, dk = t.head_dim;
    auto begin = std::chrono::steady_clock::now();
    const auto lap = [&begin](double& into) {
        into += ms_since(begin);
        begin = std::chrono::steady_clock::now();
    };
    const bool keep = keeps(h);
    const std::size_t T = s.T, cells = static_cast<std::size_t>(n) * N;
    if (r0 == 0) {
        begin_scores(h);
        head.out = Matrix::from_shape({T, static_cast<std::size_t>(dk)});
        if (keep) {
            head.scores = Matrix::from_shape({T, static_cast<std::size_t>(N)});
            head.mask = xt::xtensor<bool, 2>::from_shape({T, static_cast<std::size_t>(N)});
            head.scaled = xt::xtensor<double, 2>::from_shape({T, static_cast<std::size_t>(N)});
            head.weights = Matrix::from_shape({T, static_cast<std::size_t>(N)});
        }
    }
    // A head that is not kept computes only the keys its rows may see: with a sliding window
    // that is O(w) keys a row instead of N (seed_module's masked cells are not -inf: all N)
    int lo = 0, hi = N;
    if (!keep && t.config.variant != Variant::seed_module) key_span(r0, r1, lo, hi);
    const int width = hi - lo;
    const std::size_t span_cells = static_cast<std::size_t>(n) * width;
    if (!keep) {
        block_scores.resize(span_cells);
        block_scaled.resize(span_cells);
        block_weights.resize(span_cells);
    }
    float* scores = keep ? &head.scores(r0, 0) : block_scores.data();
    double* scaled = keep ? &head.scaled(r0, 0) : block_scaled.data();
    float* weights = keep ? &head.weights(r0, 0) : block_weights.data();
    const Matrix& keys = t.config.linformer_k > 0 ? head.K_projected : head.K;      // (N, dk)
    const Matrix& values = t.config.linformer_k > 0 ? head.V_projected : head.V;    // (N, dk)
    const float* span_kt = keys_t.data();  // scalar path: (dk, width)
    const float* packed_k = packed_keys.data();
    const float* packed_v = packed_values.data();
    if (width > 0 && width < N) {  // the span's keys and values, from their rows lo..hi
        if (path == Kernels::scalar) {
            span_keys.resize(static_cast<std::size_t>(dk) * width);
            for (int c = 0; c < dk; ++c)
                for (int j = 0; j < width; ++j) span_keys[static_cast<std::size_t>(c) * width + j] = keys(lo + j, c);
            span_kt = span_keys.data();
        } else {
            span_keys.resize(kernels::packed_size(dk, width));
            kernels::pack_transposed(span_keys.data(), &keys(lo, 0), dk, dk, width);
            span_values.resize(kernels::packed_size(width, dk));
            kernels::pack(span_values.data(), &values(lo, 0), dk, width, dk);
            packed_k = span_keys.data();
            packed_v = span_values.data();
        }
    }
    if (width > 0) {
        if (path == Kernels::scalar)
            kernels::matmul(scores, &head.Q(r0, 0), span_kt, nullptr, n, dk, width, path);
        else
            kernels::matmul_packed(scores, width, &head.Q(r0, 0), packed_k, n, dk, width);
    }
    if (!kernels::all_finite(scores, span_cells))
        field_error("scores", "overflowed float32 (|value| > 3.4e38); expected embeddings and weights small enough");
    if (keep) std::copy(&mask(r0, 0), &mask(r0, 0) + cells, &head.mask(r0, 0));
    scale_block(head, scores, scaled, r0, r1, lo, width);
    lap(ms.scores);
    // A kept head under a mask (a causal one hides half of every row): the softmax of each row
    // and the weighted sum of the block over the keys they may see only, as for a head not kept,
    // the rest of the weights 0. The same bits as over whole rows (key_span): the cells left out
    // are exact zeros, which leave every lane's sum and every product's sum unchanged.
    int sum_lo = 0, sum_hi = width;
    if (keep && path != Kernels::scalar && t.config.variant != Variant::seed_module && !sees_every_key(t.config)) {
        for (int i = r0; i < r1; ++i) {
            int a = 0, b = 0;
            key_span(i, i + 1, a, b);
            float* w = weights + static_cast<std::size_t>(i - r0) * N;
            std::fill(w, w + a, 0.0f);
            if (b > a) kernels::softmax_rows(w + a, scaled + static_cast<std::size_t>(i - r0) * N + a, 1, b - a, path, &row_max[i - r0]);
            std::fill(w + b, w + N, 0.0f);
        }
        key_span(r0, r1, sum_lo, sum_hi);
    } else {
        kernels::softmax_rows(weights, scaled, n, width, path, row_max.data());
    }
    lap(ms.softmax);
    if (width == 0 || sum_hi == sum_lo)  // no row of the block may see any key: out is 0, as weights of 0 give
        std::fill(&head.out(r0, 0), &head.out(r0, 0) + static_cast<std::size_t>(n) * dk, 0.0f);
    else if (path == Kernels::scalar)
        kernels::matmul(&head.out(r0, 0), weights, &values(lo, 0), nullptr, n, width, dk, path);
    else
        kernels::matmul_packed_range(&head.out(r0, 0), dk, weights, packed_v, n, width, dk, sum_lo, sum_hi);
    check_overflow(head.out, "out", r0, r1);
    for (int i = r0; i < r1; ++i)
        for (int k = 0; k < dk; ++k) t.concat(i, h * dk + k) = head.out(i, k);
    if (r1 == s.T) {
        keys_t = Matrix();
        packed_keys = std::vector<float>();
        packed_values = std::vector<float>();
        span_keys = std::vector<float>();
        span_values = std::vector<float>();
        block_scores = std::vector<float>();
        block_weights = std::vector<float>();
        block_scaled = std::vector<double>();
    }
    lap(ms.weighted_sum);
}

void RunJob::State::finish() {
    const Config& c = t.config;
    const double T = s.T, S = s.S, N = s.N, D = c.d_model;
    const double projections = c.variant == Variant::seed_module ? 0 : 2 * T * D * D + 2 * 2 * S * D * D;
    const double linformer = c.linformer_k > 0 ? 2 * 2 * N * S * D : 0;
    t.stats.flops = projections + linformer + 2 * T * N * D /* Q·Kᵀ */ + 2 * T * N * D /* weights·V */ + 2 * T * D * D;
    t.stats.bytes = tensor_bytes(t);
    t.stats.kernel_path = kernel_path_name(c.kernels);
    const StageTimes& ms = t.stats.ms;  // total: the time spent computing, whichever frames it was spread over
    t.stats.ms.total = ms.tokenize + ms.embed + ms.positional + ms.project + ms.scores + ms.softmax + ms.weighted_sum + ms.output;
}

//-----------------------------------------------------------------------------
// RunJob
//-----------------------------------------------------------------------------
RunJob::RunJob(std::unique_ptr<State> state) : state_(std::move(state)) {}
RunJob::RunJob(RunJob&&) noexcept = default;
RunJob& RunJob::operator=(RunJob&&) noexcept = default;
RunJob::~RunJob() = default;

Expected<RunJob> RunJob::start(const Config& config, double work_per_step, int keep_head) {
    return start(Config(config), work_per_step, keep_head);
}

Expected<RunJob> RunJob::start(Config&& config, double work_per_step, int keep_head) {
    const auto begin = std::chrono::steady_clock::now();
    std::unique_ptr<State> state;
    if (auto error = guarded([&] {
            state = std::make_unique<State>();
            state->s = detail::validate(config);
            if (keep_head < -1 || keep_head >= config.heads)
                field_error("keep_head", "expected -1 (every head) or a head from 0 to " + std::to_string(config.heads - 1) +
                                             ", got " + std::to_string(keep_head));
            check_memory(config, state->s, keep_head);
            state->input = std::move(config);
            state->keep_head = keep_head;
            state->t.kept_head = keep_head;
            state->work_per_step = work_per_step;
            state->plan();
        }))
        return fail(*error);
    state->t.stats.ms.tokenize = ms_since(begin);
    return RunJob(std::move(state));
}

bool RunJob::step(double budget_ms) {
    if (!state_) return true;
    State& st = *state_;
    const auto begin = std::chrono::steady_clock::now();
    while (!st.done()) {
        State::Task& task = st.tasks[st.next];
        const int r0 = st.row, r1 = std::min(task.rows, r0 + task.block);
        const auto unit = std::chrono::steady_clock::now();
        st.error = guarded([&] { task.compute(r0, r1); });
        if (task.time) st.t.stats.ms.*task.time += ms_since(unit);
        st.work_done += task.work_per_row * (r1 - r0);
        st.row = r1;
        if (st.row == task.rows) {
            ++st.next;
            st.row = 0;
        }
        if (ms_since(begin) >= budget_ms) break;
    }
    return st.done();
}

bool RunJob::done() const { return !state_ || state_->done(); }

double RunJob::progress() const {
    if (done()) return 1.0;
    return state_->work_total > 0 ? std::min(state_->work_done / state_->work_total, 1.0) : 0.0;
}

const char* RunJob::stage() const { return done() ? "done" : state_->tasks[state_->next].stage; }

int RunJob::head() const { return done() ? -1 : state_->tasks[state_->next].head; }

Expected<Trace> RunJob::take() {
    if (!state_) return fail("job: expected a job with a result; take() was already called");
    if (!state_->done()) return fail("job: expected a finished job; call step() until it returns true");
    const std::unique_ptr<State> state = std::move(state_);
    if (state->error) return fail(*state->error);
    return std::move(state->t);
}

const char* kernel_path_name(Kernels kernels) {
    return kernels == Kernels::scalar ? "scalar" : kernels::simd_path_name();
}

Expected<double> trace_bytes(const Config& config, int keep_head) {
    double bytes = 0;
    if (auto error = guarded([&] { bytes = estimate_trace_bytes(config, detail::validate(config), keep_head); })) return fail(*error);
    return bytes;
}

int RunJob::keep_head_for(const Config& config, int head) {
    const Expected<double> bytes = trace_bytes(config);
    if (!bytes || bytes.value() <= keep_every_head_bytes) return -1;
    return std::clamp(head, 0, config.heads - 1);
}

// The one function that computes attention: a job stepped to the end in one call, in large
// steps (at the interface's small ones the matmuls' repacking cost a tenth of the trace).
Expected<Trace> run(const Config& config) { return run(Config(config)); }

Expected<Trace> run(Config&& config) {
    Expected<RunJob> job = RunJob::start(std::move(config), RunJob::whole_run_work_per_step);
    if (!job) return fail(job.error());
    job.value().step(std::numeric_limits<double>::infinity());
    return job.value().take();
}

}  // namespace attnviz
