// The trace-free forward pass (attnviz/forward.hpp) against run(): the same output and concat.
#include "helpers.hpp"

#include "attnviz/forward.hpp"
#include "random.hpp"

namespace {

// Largest |a - b| over the matrix, relative to the largest |b|.
double relative_difference(const attnviz::Matrix& a, const attnviz::Matrix& b) {
    REQUIRE(a.shape(0) == b.shape(0));
    REQUIRE(a.shape(1) == b.shape(1));
    double e = 0, m = 1e-30;
    for (std::size_t k = 0; k < b.size(); ++k) {
        e = std::max(e, static_cast<double>(std::abs(a.data()[k] - b.data()[k])));
        m = std::max(m, static_cast<double>(std::abs(b.data()[k])));
    }
    return e / m;
}

// The heads' Q (or K, V) side by side again.   (rows, d)
attnviz::Matrix joined(const attnviz::Trace& t, attnviz::Matrix attnviz::HeadTrace::*part) {
    const std::size_t rows = (t.heads[0].*part).shape(0), dk = t.head_dim, d = dk * t.heads.size();
    attnviz::Matrix m = attnviz::Matrix::from_shape({rows, d});
    for (std::size_t h = 0; h < t.heads.size(); ++h)
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < dk; ++c) m(r, h * dk + c) = (t.heads[h].*part)(r, c);
    return m;
}

// Uniform on [-a, a), seeded by `stream`.   (rows, cols)
attnviz::Matrix uniform(std::size_t rows, std::size_t cols, std::uint64_t stream, double a) {
    attnviz::Matrix m = attnviz::Matrix::from_shape({rows, cols});
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) m(r, c) = attnviz::random::uniform(a, 7, stream, r, c);
    return m;
}

std::string words(int n) {
    std::string text;
    for (int i = 0; i < n; ++i) text += "w" + std::to_string(i % 50) + " ";
    return text;
}

}  // namespace

TEST_CASE("forward() and attention() equal run()'s output and concat, simd and scalar", "[forward]") {
    // sizes off the vector widths and register tiles, and a T past one block of query rows
    const struct { int T, d, heads; } shapes[] = {{1, 8, 1}, {9, 12, 3}, {37, 40, 5}, {16, 64, 4}, {300, 32, 2}};
    for (const auto& s : shapes)
        for (const char* kernels : {"simd", "scalar"}) {
            INFO("T " << s.T << ", d " << s.d << ", heads " << s.heads << ", " << kernels);
            const attnviz::Trace t = test::must_run("{\"text\":\"" + words(s.T) + "\",\"d_model\":" + std::to_string(s.d) +
                                                    ",\"heads\":" + std::to_string(s.heads) + ",\"kernels\":\"" + kernels + "\"}");
            const attnviz::Kernels path = t.config.kernels;
            const attnviz::Expected<attnviz::Matrix> output = attnviz::forward(t.X_in, t.config.weights, s.heads, path);
            REQUIRE(output.ok());
            CHECK(relative_difference(output.value(), t.output) <= 1e-5);
            const attnviz::Expected<attnviz::Matrix> concat = attnviz::attention(
                joined(t, &attnviz::HeadTrace::Q), joined(t, &attnviz::HeadTrace::K), joined(t, &attnviz::HeadTrace::V), s.heads, path);
            REQUIRE(concat.ok());
            CHECK(relative_difference(concat.value(), t.concat) <= 1e-5);
        }
}

TEST_CASE("forward() and attention() report bad inputs", "[forward]") {
    const attnviz::Trace t = test::must_run(R"({"text":"a b c","d_model":8,"heads":2})");
    attnviz::Weights missing = t.config.weights;
    missing.Wk.reset();
    CHECK(attnviz::forward(t.X_in, missing, 2).error() == "weights.Wk: expected a 8x8 matrix (d_model x d_model), got none");
    CHECK(attnviz::forward(t.X_in, t.config.weights, 3).error() == "heads: expected a divisor of d_model (8) from 1 to 64, got 3");
    const attnviz::Matrix q = attnviz::Matrix::from_shape({3, 8}), kv = attnviz::Matrix::from_shape({4, 8});
    const attnviz::Matrix short_v = attnviz::Matrix::from_shape({3, 8});
    CHECK(attnviz::attention(q, kv, short_v, 2).error() == "V: expected a 4x8 matrix (like K), got 3x8");
}

TEST_CASE("attention(): the SIMD path equals the scalar one, past a block of keys and with peaked weights", "[forward]") {
    // S past one k-slice of the matmul (256) and past one vector panel, head widths with and
    // without a vector tail, T != S; larger |Q|, |K| (up to `a`) make the softmax peaked, and at
    // a = 30 most logits lie more than 125 below their row's max (the SIMD exp's clamp)
    const struct { int T, S, d, heads; double a; } shapes[] = {
        {70, 600, 36, 3, 1.7}, {5, 300, 40, 2, 1.0}, {33, 257, 64, 1, 4.0}, {130, 19, 24, 2, 2.0}, {40, 50, 8, 2, 30.0}};
    for (const auto& s : shapes) {
        INFO("T " << s.T << ", S " << s.S << ", d " << s.d << ", heads " << s.heads << ", |values| up to " << s.a);
        const attnviz::Matrix Q = uniform(s.T, s.d, 1, s.a), K = uniform(s.S, s.d, 2, s.a), V = uniform(s.S, s.d, 3, 1.0);
        const attnviz::Expected<attnviz::Matrix> simd = attnviz::attention(Q, K, V, s.heads, attnviz::Kernels::simd);
        const attnviz::Expected<attnviz::Matrix> scalar = attnviz::attention(Q, K, V, s.heads, attnviz::Kernels::scalar);
        REQUIRE(simd.ok());
        REQUIRE(scalar.ok());
        CHECK(relative_difference(simd.value(), scalar.value()) <= 1e-5);
    }
}
