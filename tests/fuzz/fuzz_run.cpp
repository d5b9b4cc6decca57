// fuzz_run.cpp — attnviz::run on small configs derived from the fuzz bytes: every option, and
// explicit matrices with extreme values (near float32's limits, denormals, NaN, infinity).
//
// Sizes are bounded so an iteration stays fast: T, S <= 24, d_model <= 64, heads dividing it.
// If run() refuses, the message must be one readable line. If it accepts, the trace must hold
// what CONTRACT.md promises:
//   - every float matrix finite; `scaled` finite on allowed cells (standard: -inf elsewhere)
//   - weights: masked cells exactly 0 (standard variant); a row with an allowed key sums to 1
//     within 1e-5; a row without one is all 0, its `out` row is 0, and it is in empty_rows
//   - the trace's config reproduces the trace, directly and through its JSON
//   - for benign numbers (generated weights, temperature 0.5..10, scale <= 2), the other kernel
//     path gives weights within 1e-5
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "attnviz/core.hpp"
#include "fuzz_check.hpp"

namespace {

// Reads the fuzz bytes as a stream of small choices; past the end every read is 0.
class Bytes {
public:
    Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
    int below(int n) { return n <= 1 ? 0 : byte() % n; }         // 0 .. n-1
    int range(int lo, int hi) { return lo + below(hi - lo + 1); }  // lo .. hi
    bool chance(int one_in) { return below(one_in) == 0; }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int k = 0; k < 8; ++k) v = (v << 8) | byte();
        return v;
    }
    std::string rest() {
        std::string s(reinterpret_cast<const char*>(data_ + pos_), size_ - pos_);
        pos_ = size_;
        return s;
    }

    // A float from a class of interest: ordinary, tiny, huge, denormal, signed zero, NaN, inf.
    float value() {
        switch (below(16)) {
            case 0: return std::ldexp(static_cast<float>(range(-128, 127)), range(-20, 20));
            case 1: return static_cast<float>(range(-128, 127)) * 1e30f;
            case 2: return std::numeric_limits<float>::max() * (chance(2) ? 1.0f : -1.0f);
            case 3: return std::numeric_limits<float>::denorm_min() * static_cast<float>(range(-3, 3));
            case 4: return -0.0f;
            case 5: return chance(4) ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
            default: return static_cast<float>(range(-128, 127)) / 32.0f;
        }
    }

private:
    const std::uint8_t* data_;
    std::size_t size_, pos_ = 0;
};

// Tokens and words of every script class, special tokens, whitespace, an empty token; and,
// rarely (kInvalid), a byte that is not UTF-8.
const char* const kVocabulary[] = {"the", "cat", "[PAD]", "sat", "注", "👩‍👩‍👧", "مرحبا", "שלום", ".", "a", "",
                                   " ", "\t\n", "<s>", "e\xcc\x81", "🇯🇵", "[MASK]", "\x01"};
const char* const kInvalid = "\xff";

const char* word(Bytes& in) {
    return in.chance(64) ? kInvalid : kVocabulary[in.below(sizeof kVocabulary / sizeof *kVocabulary)];
}

std::vector<std::string> tokens_from(Bytes& in, int n) {
    std::vector<std::string> t;
    for (int k = 0; k < n; ++k) t.push_back(word(in));
    return t;
}

std::string text_from(Bytes& in, int n) {
    std::string s;
    for (int k = 0; k < n; ++k) s += std::string(word(in)) + (in.chance(3) ? "" : " ");
    return s;
}

// A matrix of the right shape (usually) with values from `value()` (sometimes all ordinary).
attnviz::Matrix matrix_from(Bytes& in, std::size_t rows, std::size_t cols) {
    if (in.chance(8)) rows += in.range(-1, 1);
    if (in.chance(8)) cols += in.range(-1, 1);
    rows = std::max<std::size_t>(rows, 1);
    cols = std::max<std::size_t>(cols, 1);
    attnviz::Matrix m = attnviz::Matrix::from_shape({rows, cols});
    const bool wild = in.chance(2);
    for (float& v : m) v = wild ? in.value() : static_cast<float>(in.range(-128, 127)) / 64.0f;
    return m;
}

attnviz::Vector vector_from(Bytes& in, std::size_t n) {
    attnviz::Vector v = attnviz::Vector::from_shape({in.chance(8) ? n + 1 : n});
    for (float& x : v) x = in.value();
    return v;
}

double number_from(Bytes& in) {  // a scale or a temperature
    const double values[] = {1.0, 0.5, 2.0, 1e-30, 1e30, 1e-300, 1e300, 0.0, -1.0,
                             std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(), 0.125, 7.0};
    return values[in.below(sizeof values / sizeof *values)];
}

attnviz::Config config_from(Bytes& in, bool& benign) {
    using namespace attnviz;
    Config c;
    benign = true;
    const int T = in.range(1, 24);
    const bool cross = in.chance(4);
    const int S = cross ? in.range(1, 24) : T;
    c.tokenizer = in.chance(2) ? Tokenizer::words : Tokenizer::chars;
    if (in.chance(2)) c.tokens = tokens_from(in, T); else c.text = text_from(in, T);
    if (cross) {
        if (in.chance(2)) c.source_tokens = tokens_from(in, S); else c.source_text = text_from(in, S);
    }
    c.heads = 1 << in.below(4);                       // 1, 2, 4, 8
    c.d_model = c.heads * in.range(1, 64 / c.heads);  // <= 64, a multiple of heads
    if (in.chance(32)) c.heads = in.range(-1, 70);    // and sometimes not
    c.seed = in.chance(16) ? in.u64() : in.u64() & limits::max_seed;
    c.positional = static_cast<Positional>(in.below(5));
    c.mask = static_cast<MaskKind>(in.below(3));
    if (in.chance(4)) c.pad_token = word(in);
    c.pattern.kind = static_cast<PatternKind>(in.below(5));
    c.pattern.window = in.chance(8) ? in.range(-3, 5000) : in.range(0, 6);
    c.pattern.global.clear();
    for (int k = in.below(4); k > 0; --k) c.pattern.global.push_back(in.chance(8) ? in.range(-2, 5000) : in.range(0, 30));
    c.pattern.random = in.chance(8) ? in.range(-2, 5000) : in.range(0, 4);
    c.pattern.stride = in.chance(8) ? in.range(-1, 5000) : in.range(1, 5);
    c.linformer_k = in.chance(3) ? in.range(in.chance(8) ? -1 : 0, 26) : 0;
    c.variant = in.chance(4) ? Variant::seed_module : Variant::standard;
    c.kernels = in.chance(2) ? Kernels::simd : Kernels::scalar;
    switch (in.below(4)) {
        case 0: c.scale = Scale{ScaleKind::inv_sqrt_dk, 0}; break;
        case 1: c.scale = Scale{ScaleKind::inv_sqrt_dmodel, 0}; break;
        case 2: c.scale = Scale{ScaleKind::number, number_from(in)}; break;
        default: break;
    }
    if (in.chance(2)) c.temperature = number_from(in);
    benign = c.temperature >= 0.5 && c.temperature <= 10 && (c.scale.kind != ScaleKind::number || c.scale.value <= 2);

    // explicit matrices, each sometimes
    const std::size_t d = std::max(c.d_model, 1), k = std::max(c.linformer_k, 1);
    const auto maybe = [&](std::optional<Matrix>& slot, std::size_t rows, std::size_t cols) {
        if (in.chance(6)) { slot = matrix_from(in, rows, cols); benign = false; }
    };
    const auto maybe_vector = [&](std::optional<Vector>& slot) {
        if (in.chance(8)) { slot = vector_from(in, d); benign = false; }
    };
    maybe(c.embeddings, T, d);
    if (cross || in.chance(16)) maybe(c.source_embeddings, S, d);
    maybe(c.weights.Wq, d, d); maybe(c.weights.Wk, d, d); maybe(c.weights.Wv, d, d); maybe(c.weights.Wo, d, d);
    maybe_vector(c.weights.bq); maybe_vector(c.weights.bk); maybe_vector(c.weights.bv); maybe_vector(c.weights.bo);
    maybe(c.weights.E, k, S); maybe(c.weights.F, k, S);
    maybe(c.weights.P, std::max(T, S), d);
    if (c.variant == Variant::seed_module) benign = false;  // no projection: unscaled raw inputs
    return c;
}

template <class Tensor>
void check_finite(const Tensor& t, const char* name) {
    for (const auto v : t) FUZZ_CHECK(std::isfinite(v), std::string(name) + " holds a non-finite value");
}

void check_trace(const attnviz::Trace& t) {
    using namespace attnviz;
    const Config& c = t.config;
    const bool standard = c.variant == Variant::standard;
    FUZZ_CHECK(t.T >= 1 && t.S >= 1 && t.N >= 1 && t.N <= t.S, "sizes");
    FUZZ_CHECK(static_cast<int>(t.heads.size()) == c.heads && t.head_dim * c.heads == c.d_model, "heads");
    for (const Matrix* m : {&t.X, &t.positional, &t.X_in, &t.source_X, &t.source_positional, &t.source_X_in, &t.concat, &t.output})
        check_finite(*m, "a (T, d) matrix");
    for (const HeadTrace& h : t.heads) {
        for (const Matrix* m : {&h.Q, &h.K, &h.V, &h.Q_unrotated, &h.K_unrotated, &h.K_projected, &h.V_projected, &h.scores, &h.weights, &h.out})
            check_finite(*m, "a head matrix");
        FUZZ_CHECK(h.weights.shape(0) == static_cast<std::size_t>(t.T) && h.weights.shape(1) == static_cast<std::size_t>(t.N), "weights shape");
        const std::set<int> empty(h.empty_rows.begin(), h.empty_rows.end());
        for (int i = 0; i < t.T; ++i) {
            double sum = 0;
            int allowed = 0;
            for (int j = 0; j < t.N; ++j) {
                sum += h.weights(i, j);
                FUZZ_CHECK(h.weights(i, j) >= 0.0f && h.weights(i, j) <= 1.0f, "a weight outside [0, 1]");
                if (h.mask(i, j) || !standard) FUZZ_CHECK(std::isfinite(h.scaled(i, j)), "an allowed scaled cell is not finite");
                if (h.mask(i, j)) ++allowed;
                else if (standard) {
                    FUZZ_CHECK(h.weights(i, j) == 0.0f, "a masked weight is not exactly 0");
                    FUZZ_CHECK(h.scaled(i, j) == -std::numeric_limits<double>::infinity(), "a masked scaled cell is not -inf");
                }
            }
            FUZZ_CHECK((allowed == 0) == (empty.count(i) == 1), "empty_rows does not list exactly the rows without a key");
            if (allowed == 0 && standard) {
                FUZZ_CHECK(sum == 0.0, "an empty row has weights");
                for (std::size_t k = 0; k < h.out.shape(1); ++k) FUZZ_CHECK(h.out(i, k) == 0.0f, "an empty row has out");
            } else {
                FUZZ_CHECK(std::abs(sum - 1.0) <= 1e-5, "a row's weights sum to " + std::to_string(sum));
            }
        }
    }
}

// The trace's JSON without "stats" (timings vary between identical runs).
std::string json_without_stats(const attnviz::Trace& t) {
    const std::string j = attnviz::trace_to_json(t);
    return j.substr(0, j.rfind("\"stats\":"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Bytes in(data, size);
    bool benign = true;
    const attnviz::Config config = config_from(in, benign);
    const attnviz::Expected<attnviz::Trace> trace = attnviz::run(config);
    if (!trace) {
        fuzz::check_message(trace.error());
        return 0;
    }
    const attnviz::Trace& t = trace.value();
    check_trace(t);

    // the resolved config reproduces the trace, directly and through JSON (export -> import)
    const std::string first = json_without_stats(t);
    const attnviz::Expected<attnviz::Trace> direct = attnviz::run(t.config);
    FUZZ_CHECK(direct.ok(), "the trace's config was refused: " + direct.error());
    FUZZ_CHECK(json_without_stats(direct.value()) == first, "the trace's config gives another trace");
    const attnviz::Expected<attnviz::Config> parsed = attnviz::parse_config(attnviz::config_to_json(t.config));
    FUZZ_CHECK(parsed.ok(), "the trace's config JSON was refused: " + parsed.error());
    const attnviz::Expected<attnviz::Trace> imported = attnviz::run(parsed.value());
    FUZZ_CHECK(imported.ok(), "the imported config was refused: " + imported.error());
    FUZZ_CHECK(json_without_stats(imported.value()) == first, "the imported config gives another trace");

    // the other kernel path agrees on benign numbers
    if (benign) {
        attnviz::Config other = t.config;
        other.kernels = other.kernels == attnviz::Kernels::simd ? attnviz::Kernels::scalar : attnviz::Kernels::simd;
        const attnviz::Expected<attnviz::Trace> o = attnviz::run(other);
        FUZZ_CHECK(o.ok(), "the other kernel path refused: " + o.error());
        for (std::size_t h = 0; h < t.heads.size(); ++h)
            for (std::size_t k = 0; k < t.heads[h].weights.size(); ++k)
                FUZZ_CHECK(std::abs(t.heads[h].weights.data()[k] - o.value().heads[h].weights.data()[k]) <= 1e-5,
                           "simd and scalar weights differ by more than 1e-5");
    }
    return 0;
}
