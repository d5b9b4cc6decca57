// reference.hpp — an independent float64 model of attention, written with plain loops from the
// definitions in the issue (not from the engine's kernels), to check the engine against.
//
// It reads the RESOLVED config of a trace (so it needs no generators: every embedding and
// weight is explicit there), the trace's tokens, and, for bigbird only, the trace's random keys
// (the rest of bigbird's mask it derives from the definition).
#pragma once

#include <vector>

#include "attnviz/core.hpp"

namespace ref {

using Mat = std::vector<std::vector<double>>;  // (rows, cols)

struct Result {
    std::vector<std::vector<std::vector<bool>>> mask;  // (H, T, N)
    std::vector<Mat> scores;                           // (H, T, N) raw Q·Kᵀ
    std::vector<Mat> weights;                          // (H, T, N)
    std::vector<Mat> out;                              // (H, T, dk)
    Mat output;                                        // (T, d)
};

Result compute(const attnviz::Trace& trace);

}  // namespace ref
