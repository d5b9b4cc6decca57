// helpers.hpp — shared by the core tests: run a config that must be valid, compare against the
// float64 reference with the bounds.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include <catch2/catch.hpp>

#include "attnviz/core.hpp"
#include "reference.hpp"

namespace test {

// Bounds of the issue: weights within 1e-5 absolute; Q·Kᵀ scores, per-head outputs and the
// final output within 1e-4 relative to the largest |value| of the reference matrix.
inline constexpr double kWeightsAbs = 1e-5;
inline constexpr double kOutputRel = 1e-4;

inline attnviz::Trace must_run(const std::string& json) {
    attnviz::Expected<attnviz::Config> config = attnviz::parse_config(json);
    INFO(json);
    if (!config) FAIL("parse_config: " << config.error());
    attnviz::Expected<attnviz::Trace> trace = attnviz::run(config.value());
    if (!trace) FAIL("run: " << trace.error());
    return std::move(trace.value());
}

inline double max_abs(const ref::Mat& m) {
    double a = 0;
    for (const auto& row : m)
        for (double v : row) a = std::max(a, std::abs(v));
    return a;
}

// Largest |engine - reference| over a matrix, divided by `denominator`.
inline double max_error(const attnviz::Matrix& got, const ref::Mat& want, double denominator = 1.0) {
    REQUIRE(got.shape(0) == want.size());
    REQUIRE(got.shape(1) == want[0].size());
    double e = 0;
    for (std::size_t r = 0; r < want.size(); ++r)
        for (std::size_t c = 0; c < want[r].size(); ++c) e = std::max(e, std::abs(got(r, c) - want[r][c]));
    return e / denominator;
}

inline double relative_error(const attnviz::Matrix& got, const ref::Mat& want) {
    return max_error(got, want, std::max(max_abs(want), 1e-30));
}

// The whole trace against the reference: mask identical, weights, scores and outputs in bounds.
inline void check_against_reference(const attnviz::Trace& t) {
    const ref::Result r = ref::compute(t);
    for (std::size_t h = 0; h < t.heads.size(); ++h) {
        const attnviz::HeadTrace& head = t.heads[h];
        INFO("head " << h);
        for (std::size_t i = 0; i < r.mask[h].size(); ++i)
            for (std::size_t j = 0; j < r.mask[h][i].size(); ++j) {
                INFO("mask cell " << i << "," << j);
                REQUIRE(head.mask(i, j) == r.mask[h][i][j]);
            }
        CHECK(relative_error(head.scores, r.scores[h]) <= kOutputRel);
        CHECK(max_error(head.weights, r.weights[h]) <= kWeightsAbs);
        CHECK(relative_error(head.out, r.out[h]) <= kOutputRel);
    }
    CHECK(relative_error(t.output, r.output) <= kOutputRel);
}

// The trace's JSON without "stats" (the only part that varies between identical runs).
inline std::string json_without_stats(const attnviz::Trace& t) {
    const std::string j = attnviz::trace_to_json(t);
    return j.substr(0, j.rfind("\"stats\":"));
}

}  // namespace test
