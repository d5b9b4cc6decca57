// Properties a user relies on: rows of weights sum to 1, masked cells are exactly 0, patterns
// match their definitions, a trace's config reproduces it, generated values are the same on
// every platform, extreme inputs stay finite.
#include <set>

#include "helpers.hpp"

namespace {

std::string nine_words = "one two three four five six seven eight nine";

attnviz::Trace with_pattern(const std::string& pattern, const std::string& extra = "") {
    return test::must_run(R"({"text":")" + nine_words + R"(","pattern":)" + pattern + extra + "}");
}

int allowed_in_row(const attnviz::HeadTrace& h, std::size_t i) {
    int n = 0;
    for (std::size_t j = 0; j < h.mask.shape(1); ++j) n += h.mask(i, j);
    return n;
}

}  // namespace

TEST_CASE("weights: rows sum to 1 over allowed keys, masked cells are exactly 0", "[properties]") {
    for (const char* json : {
             R"({"text":"the cat sat on the mat","mask":"causal"})",
             R"({"text":"a b [PAD] c [PAD]","mask":"padding","pattern":{"kind":"bigbird","window":1,"random":2}})",
             R"({"text":"one two three four five six","pattern":{"kind":"strided","window":0,"stride":2},"kernels":"scalar"})",
             R"({"text":"x [PAD] y","mask":"padding","pattern":{"kind":"local","window":0}})"}) {
        INFO(json);
        const attnviz::Trace t = test::must_run(json);
        for (const attnviz::HeadTrace& h : t.heads) {
            const std::set<int> empty(h.empty_rows.begin(), h.empty_rows.end());
            for (std::size_t i = 0; i < h.weights.shape(0); ++i) {
                double sum = 0;
                for (std::size_t j = 0; j < h.weights.shape(1); ++j) {
                    if (!h.mask(i, j)) CHECK(h.weights(i, j) == 0.0f);
                    sum += h.weights(i, j);
                }
                if (allowed_in_row(h, i) == 0) {
                    CHECK(empty.count(static_cast<int>(i)) == 1);
                    CHECK(sum == 0.0);
                    for (std::size_t k = 0; k < h.out.shape(1); ++k) CHECK(h.out(i, k) == 0.0f);
                } else {
                    CHECK(empty.count(static_cast<int>(i)) == 0);
                    CHECK(std::abs(sum - 1.0) <= 1e-6);
                }
            }
        }
    }
}

TEST_CASE("causal row i allows exactly i+1 keys", "[properties][mask]") {
    const attnviz::Trace t = test::must_run(R"({"text":")" + nine_words + R"(","mask":"causal"})");
    for (const attnviz::HeadTrace& h : t.heads)
        for (std::size_t i = 0; i < h.mask.shape(0); ++i) {
            CHECK(allowed_in_row(h, i) == static_cast<int>(i) + 1);
            for (std::size_t j = 0; j <= i; ++j) CHECK(h.mask(i, j));
        }
}

TEST_CASE("each pattern's mask matches its definition", "[properties][mask]") {
    SECTION("local: |i - j| <= window") {
        const attnviz::Trace t = with_pattern(R"({"kind":"local","window":2})");
        for (int i = 0; i < t.T; ++i)
            for (int j = 0; j < t.S; ++j) CHECK(t.heads[0].mask(i, j) == (std::abs(i - j) <= 2));
    }
    SECTION("sliding_global: local, or a global token as query or key") {
        const attnviz::Trace t = with_pattern(R"({"kind":"sliding_global","window":1,"global":[0,4]})");
        for (int i = 0; i < t.T; ++i)
            for (int j = 0; j < t.S; ++j)
                CHECK(t.heads[1].mask(i, j) == (std::abs(i - j) <= 1 || i == 0 || i == 4 || j == 0 || j == 4));
    }
    SECTION("strided: local, or (i - j) a multiple of stride") {
        const attnviz::Trace t = with_pattern(R"({"kind":"strided","window":1,"stride":3})");
        for (int i = 0; i < t.T; ++i)
            for (int j = 0; j < t.S; ++j) CHECK(t.heads[0].mask(i, j) == (std::abs(i - j) <= 1 || (i - j) % 3 == 0));
    }
    SECTION("bigbird: sliding_global plus `random` distinct seeded keys per query") {
        const attnviz::Trace t = with_pattern(R"({"kind":"bigbird","window":0,"global":[2],"random":3})");
        REQUIRE(t.random_keys.shape(0) == 9);
        REQUIRE(t.random_keys.shape(1) == 3);
        for (int i = 0; i < t.T; ++i) {
            std::set<int> random;
            for (int k = 0; k < 3; ++k) {
                CHECK(t.random_keys(i, k) >= 0);
                CHECK(t.random_keys(i, k) < t.S);
                random.insert(t.random_keys(i, k));
            }
            CHECK(random.size() == 3);
            for (int j = 0; j < t.S; ++j)
                CHECK(t.heads[0].mask(i, j) == (i == j || i == 2 || j == 2 || random.count(j) == 1));
        }
        // the draw depends on the seed
        const attnviz::Trace other = with_pattern(R"({"kind":"bigbird","window":0,"global":[2],"random":3})", R"(,"seed":7)");
        CHECK(std::vector<int>(t.random_keys.begin(), t.random_keys.end()) !=
              std::vector<int>(other.random_keys.begin(), other.random_keys.end()));
    }
    SECTION("patterns intersect the mask") {
        const attnviz::Trace t = with_pattern(R"({"kind":"local","window":1})", R"(,"mask":"causal")");
        for (int i = 0; i < t.T; ++i)
            for (int j = 0; j < t.S; ++j) CHECK(t.heads[0].mask(i, j) == (j <= i && i - j <= 1));
    }
}

TEST_CASE("a trace's config reproduces the trace bit for bit", "[properties][roundtrip]") {
    for (const char* json : {
             R"({"text":"The cat sat on the mat."})",
             R"({"text":"注意力机制是一种加权机制","positional":"learned","mask":"causal"})",
             R"({"text":"a b c d e f g","pattern":{"kind":"bigbird","window":1,"random":2},"positional":"rope"})",
             R"({"text":"a b c d e f g","linformer_k":3,"scale":0.3,"temperature":0.7})",
             R"({"text":"a b c","source_text":"x y z w","positional":"alibi","kernels":"scalar"})",
             R"({"text":"a [PAD] b","variant":"seed_module","mask":"padding"})"}) {
        INFO(json);
        const attnviz::Trace first = test::must_run(json);
        const attnviz::Trace second = test::must_run(attnviz::config_to_json(first.config));
        CHECK(test::json_without_stats(first) == test::json_without_stats(second));
        // and through the trace's own JSON, as the app's export -> import does
        const std::string exported = attnviz::trace_to_json(first);
        const std::size_t begin = exported.find("\"config\":") + 9;
        const std::size_t end = exported.find(",\"T\":");
        const attnviz::Trace third = test::must_run(exported.substr(begin, end - begin));
        CHECK(test::json_without_stats(first) == test::json_without_stats(third));
    }
}

TEST_CASE("config_to_json round-trips through parse_config", "[properties][roundtrip]") {
    const char* json = R"({"tokens":["a","b"],"source_text":"x y","tokenizer":"chars","d_model":4,"heads":2,"seed":9007199254740991,
        "embeddings":[[0.1,-2,3e-8,4],[5,6,7,8]],"weights":{"bq":[1,2,3,4]},"positional":"none","mask":"padding",
        "pad_token":"<p>","pattern":{"kind":"strided","window":0,"global":[],"random":0,"stride":5},"linformer_k":0,
        "scale":0.1,"temperature":1e-30,"variant":"standard","kernels":"scalar"})";
    const attnviz::Expected<attnviz::Config> a = attnviz::parse_config(json);
    REQUIRE(a.ok());
    const std::string once = attnviz::config_to_json(a.value());
    const attnviz::Expected<attnviz::Config> b = attnviz::parse_config(once);
    REQUIRE(b.ok());
    CHECK(attnviz::config_to_json(b.value()) == once);
    CHECK(attnviz::config_to_json(b.value(), true).find("\n") != std::string::npos);
    CHECK(b.value().seed == 9007199254740991ull);
    CHECK((*b.value().embeddings)(0, 2) == 3e-8f);
    CHECK(b.value().temperature == 1e-30);
}

TEST_CASE("seed_module: the printed module, and flags for its two departures", "[properties][seed_module]") {
    const attnviz::Trace t = test::must_run(R"({"text":"a b c d","variant":"seed_module","d_model":8,"heads":2})");
    CHECK(t.skips_qkv_projection);
    CHECK(t.scales_by_sqrt_dmodel);
    CHECK(t.heads[0].scale == Approx(1.0 / std::sqrt(8.0)));
    // Q = K = V = the head slices of X_in (no projection)
    for (int i = 0; i < t.T; ++i)
        for (int k = 0; k < t.head_dim; ++k) {
            CHECK(t.heads[1].Q(i, k) == t.X_in(i, 4 + k));
            CHECK(t.heads[1].K(i, k) == t.X_in(i, 4 + k));
            CHECK(t.heads[1].V(i, k) == t.X_in(i, 4 + k));
        }
    // a fully masked row gets uniform weights, as torch's masked_fill(-1e20) + softmax gives
    const attnviz::Trace e = test::must_run(
        R"({"text":"a [PAD] b","variant":"seed_module","mask":"padding","pattern":{"kind":"local","window":0}})");
    REQUIRE(e.heads[0].empty_rows == std::vector<int>{1});
    for (int j = 0; j < 3; ++j) CHECK(e.heads[0].weights(1, j) == Approx(1.0 / 3).epsilon(1e-6));
    // choosing the paper's scale clears the second flag
    const attnviz::Trace fixed = test::must_run(R"({"text":"a b","variant":"seed_module","scale":"inv_sqrt_dk"})");
    CHECK(fixed.skips_qkv_projection);
    CHECK_FALSE(fixed.scales_by_sqrt_dmodel);
    // the standard variant reports neither departure
    const attnviz::Trace standard = test::must_run(R"({"text":"a b"})");
    CHECK_FALSE(standard.skips_qkv_projection);
    CHECK_FALSE(standard.scales_by_sqrt_dmodel);
}

TEST_CASE("softmax stays finite for logits near 1e30 and temperatures down to 1e-30", "[properties][softmax]") {
    // identity projections, so scores are x_i·x_j: up to 1e30
    const std::string identity = "[[1,0],[0,1]]";
    for (const char* kernels : {"simd", "scalar"})
        for (const char* temperature : {"1", "1e-30"}) {
            INFO(kernels << " temperature " << temperature);
            const attnviz::Trace t = test::must_run(
                std::string(R"({"tokens":["a","b","c"],"d_model":2,"heads":1,"positional":"none",)") +
                R"("embeddings":[[1e15,0],[-1e15,0],[5e14,1]],"weights":{"Wq":)" + identity + R"(,"Wk":)" + identity +
                R"(,"Wv":)" + identity + R"(,"Wo":)" + identity + R"(},"temperature":)" + temperature +
                R"(,"kernels":")" + kernels + "\"}");
            const attnviz::HeadTrace& h = t.heads[0];
            for (int i = 0; i < 3; ++i) {
                double sum = 0;
                for (int j = 0; j < 3; ++j) {
                    CHECK(std::isfinite(h.weights(i, j)));
                    CHECK(std::isfinite(h.scaled(i, j)));
                    sum += h.weights(i, j);
                }
                CHECK(std::abs(sum - 1.0) <= 1e-6);
            }
            // row 0 scores (1e30, -1e30, 5e29): everything on key 0
            CHECK(h.weights(0, 0) == 1.0f);
            CHECK(h.weights(0, 1) == 0.0f);
            for (float v : t.output) CHECK(std::isfinite(v));
        }
}

TEST_CASE("generated values: deterministic per token and seed, identical on every platform", "[properties][random]") {
    const attnviz::Trace t = test::must_run(R"({"text":"cat dog cat","positional":"learned"})");
    for (int c = 0; c < 16; ++c) CHECK(t.X(0, c) == t.X(2, c));  // same token, same vector
    CHECK(t.X(0, 0) != t.X(1, 0));
    // a longer text leaves earlier tokens' vectors and positions alone
    const attnviz::Trace longer = test::must_run(R"({"text":"cat dog cat bird","positional":"learned"})");
    for (int c = 0; c < 16; ++c) {
        CHECK(longer.X(1, c) == t.X(1, c));
        CHECK(longer.positional(2, c) == t.positional(2, c));
    }
    // Golden values, the same natively and in wasm (both runs of this test check them): the
    // generators use integer hashing and exact or correctly rounded double arithmetic only.
    CHECK(t.X(0, 0) == -1.2460483f);
    CHECK(t.X(1, 15) == -1.5692298f);
    CHECK((*t.config.weights.Wq)(0, 0) == 0.43267485f);
    CHECK((*t.config.weights.Wo)(15, 3) == -0.14201018f);
    CHECK(t.positional(2, 5) == 0.11965002f);
    // unit-variance embeddings: U(-sqrt 3, sqrt 3); Xavier weights: U(-a, a), a = sqrt(6 / 32)
    for (float v : t.X) CHECK(std::abs(v) <= std::sqrt(3.0f));
    for (float v : *t.config.weights.Wk) CHECK(std::abs(v) <= std::sqrt(6.0f / 32));
}

TEST_CASE("stats: flops by formula, bytes, stage times, kernel path", "[properties][stats]") {
    const attnviz::Trace t = test::must_run(R"({"text":"a b c d e","d_model":8,"heads":2})");
    const double T = 5, d = 8;
    CHECK(t.stats.flops == 2 * T * d * d * 3 + 2 * T * d * d + 4 * T * T * d);
    const attnviz::Trace cross = test::must_run(R"({"text":"a b","source_text":"x y z","d_model":8,"heads":2})");
    CHECK(cross.stats.flops == 2 * 2 * d * d + 2 * 2 * 3 * d * d + 2 * 2 * d * d + 4 * 2 * 3 * d);
    const attnviz::Trace seed = test::must_run(R"({"text":"a b c d e","d_model":8,"heads":2,"variant":"seed_module"})");
    CHECK(seed.stats.flops == 2 * T * d * d + 4 * T * T * d);
    // bytes: X, positional, X_in, concat, output (T·d each), per head Q, K, V, out (T·dk each),
    // scores, weights (T·T floats), scaled (T·T doubles), mask (T·T bools), config W* and b*, embeddings
    const double floats = 5 * T * d + 2 * (4 * T * 4 + 2 * T * T) + 4 * d * d + 4 * d + T * d;
    CHECK(t.stats.bytes == 4 * floats + 2 * (8 * T * T + T * T));
    CHECK(t.stats.ms.total >= 0);
    CHECK(t.stats.ms.total >= t.stats.ms.softmax);
}

TEST_CASE("stats: allowed_pairs counts the mask ∩ pattern's cells, O(T·w) for a local window", "[properties][stats]") {
    const int T = 40, w = 3;
    std::string text;
    for (int i = 0; i < T; ++i) text += "t" + std::to_string(i) + " ";
    const attnviz::Trace local = test::must_run(R"({"text":")" + text + R"(","d_model":8,"heads":2,"pattern":{"kind":"local","window":3}})");
    double band = 0;
    for (int i = 0; i < T; ++i) band += std::min(T - 1, i + w) - std::max(0, i - w) + 1;
    CHECK(local.stats.allowed_pairs == band);
    CHECK(local.stats.allowed_pairs == static_cast<double>(xt::sum(xt::cast<int>(local.heads[1].mask))()));
    const attnviz::Trace causal = test::must_run(R"({"text":")" + text + R"(","d_model":8,"heads":2,"mask":"causal"})");
    CHECK(causal.stats.allowed_pairs == T * (T + 1) / 2);
    const attnviz::Trace full = test::must_run(R"({"text":")" + text + R"(","d_model":8,"heads":2})");
    CHECK(full.stats.allowed_pairs == T * T);
}
