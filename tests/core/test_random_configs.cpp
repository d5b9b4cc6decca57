// Properties over a few hundred random valid configs (every option, seeded so every run and
// both platforms see the same configs): weights rows sum to 1 over the allowed keys, masked
// weights are exactly 0, a trace's config reproduces the trace (directly and through JSON), and
// the SIMD and scalar kernels agree on the weights within 1e-5.
#include <random>
#include <set>

#include "helpers.hpp"

namespace {

const char* const kWords[] = {"the", "cat", "sat", "[PAD]", "注", "👩‍👩‍👧", "مرحبا", "on", "mat", "."};

class Draw {
public:
    explicit Draw(std::uint32_t seed) : rng_(seed) {}
    int below(int n) { return static_cast<int>(rng_() % static_cast<std::uint32_t>(n)); }  // mt19937's output is specified
    int range(int lo, int hi) { return lo + below(hi - lo + 1); }
    bool chance(int one_in) { return below(one_in) == 0; }
    std::vector<std::string> tokens(int n) {
        std::vector<std::string> t;
        for (int k = 0; k < n; ++k) t.push_back(kWords[below(10)]);
        return t;
    }
    attnviz::Matrix matrix(std::size_t rows, std::size_t cols) {
        attnviz::Matrix m = attnviz::Matrix::from_shape({rows, cols});
        for (float& v : m) v = static_cast<float>(range(-64, 64)) / 32.0f;
        return m;
    }

private:
    std::mt19937 rng_;
};

// A valid config of at most 12 query and 12 key tokens and d_model at most 32.
attnviz::Config random_config(Draw& r) {
    using namespace attnviz;
    Config c;
    const int T = r.range(1, 12);
    const bool cross = r.chance(4);
    const int S = cross ? r.range(1, 12) : T;
    c.tokens = r.tokens(T);
    if (cross) c.source_tokens = r.tokens(S);
    c.heads = 1 << r.below(4);
    c.d_model = c.heads * 2 * r.range(1, 16 / c.heads);  // even head_dim, so rope is allowed
    c.seed = static_cast<std::uint64_t>(r.range(0, 1 << 30)) * 8388608u;
    c.variant = r.chance(5) ? Variant::seed_module : Variant::standard;
    c.positional = static_cast<Positional>(r.below(c.variant == Variant::seed_module ? 3 : 5));
    c.mask = static_cast<MaskKind>(r.below(3));
    c.pattern.kind = static_cast<PatternKind>(r.below(5));
    c.pattern.window = r.range(0, 4);
    c.pattern.global = {r.below(std::max(T, S))};
    c.pattern.random = r.range(0, std::min(S, 3));
    c.pattern.stride = r.range(1, 4);
    if (c.variant == Variant::standard && r.chance(5)) {  // Linformer: mask none, pattern full, no alibi
        c.linformer_k = r.range(1, S);
        c.mask = MaskKind::none;
        c.pattern.kind = PatternKind::full;
        if (c.positional == Positional::alibi) c.positional = Positional::rope;
    }
    switch (r.below(4)) {
        case 0: c.scale = Scale{ScaleKind::inv_sqrt_dmodel, 0}; break;
        case 1: c.scale = Scale{ScaleKind::number, 0.05 * r.range(1, 20)}; break;
        default: break;
    }
    c.temperature = r.chance(2) ? 1.0 : 0.5 * r.range(1, 6);
    c.kernels = r.chance(2) ? Kernels::simd : Kernels::scalar;
    if (r.chance(4)) c.embeddings = r.matrix(T, c.d_model);
    if (r.chance(6)) c.weights.Wq = r.matrix(c.d_model, c.d_model);
    if (c.positional == Positional::learned && r.chance(2)) c.weights.P = r.matrix(std::max(T, S), c.d_model);
    return c;
}

}  // namespace

TEST_CASE("random configs: weights, masks, reproduction, SIMD = scalar", "[properties][random-configs]") {
    Draw r(20240606);
    int with_empty_rows = 0, linformer = 0, seed_module = 0;
    for (int n = 0; n < 300; ++n) {
        const attnviz::Config config = random_config(r);
        INFO("config " << n << ": " << attnviz::config_to_json(config));
        const attnviz::Expected<attnviz::Trace> run = attnviz::run(config);
        REQUIRE(run.ok());
        const attnviz::Trace& t = run.value();
        const bool standard = config.variant == attnviz::Variant::standard;
        linformer += config.linformer_k > 0;
        seed_module += !standard;

        for (const attnviz::HeadTrace& h : t.heads) {
            const std::set<int> empty(h.empty_rows.begin(), h.empty_rows.end());
            with_empty_rows += !empty.empty();
            for (int i = 0; i < t.T; ++i) {
                double sum = 0;
                int allowed = 0;
                for (int j = 0; j < t.N; ++j) {
                    sum += h.weights(i, j);
                    allowed += h.mask(i, j);
                }
                // masked cells are exactly 0; seed_module too (exp(-1e20·scale) is 0), except in a
                // row without an allowed key, which torch's masked_fill + softmax makes uniform
                for (int j = 0; j < t.N; ++j)
                    if (!h.mask(i, j) && (standard || allowed > 0)) REQUIRE(h.weights(i, j) == 0.0f);
                REQUIRE((allowed == 0) == (empty.count(i) == 1));
                if (allowed == 0 && standard)
                    REQUIRE(sum == 0.0);
                else
                    REQUIRE(std::abs(sum - 1.0) <= 1e-5);
            }
        }

        const std::string expected = test::json_without_stats(t);
        const attnviz::Expected<attnviz::Trace> again = attnviz::run(t.config);
        REQUIRE(again.ok());
        REQUIRE(test::json_without_stats(again.value()) == expected);
        const attnviz::Expected<attnviz::Config> imported = attnviz::parse_config(attnviz::config_to_json(t.config));
        REQUIRE(imported.ok());
        REQUIRE(test::json_without_stats(attnviz::run(imported.value()).value()) == expected);

        attnviz::Config other = config;
        other.kernels = config.kernels == attnviz::Kernels::simd ? attnviz::Kernels::scalar : attnviz::Kernels::simd;
        const attnviz::Trace o = attnviz::run(other).value();
        for (std::size_t h = 0; h < t.heads.size(); ++h)
            for (std::size_t k = 0; k < t.heads[h].weights.size(); ++k)
                REQUIRE(std::abs(t.heads[h].weights.data()[k] - o.heads[h].weights.data()[k]) <= 1e-5);
    }
    // the draw reaches the interesting corners
    CHECK(with_empty_rows > 0);
    CHECK(linformer > 10);
    CHECK(seed_module > 10);
}
