// attnviz/trace.hpp — every intermediate of one attention forward pass.
//
// Index
//   1. HeadTrace   per-head tensors, from Q to out
//   2. Stats       flops, bytes, time per stage, kernel path
//   3. Trace       the whole pass, plus what the UI needs to explain a cell
//
// Shapes: T queries, S keys/values (S = T for self-attention), N keys after the optional
// Linformer projection (N = linformer_k if it is on, else S), d = d_model, H heads,
// dk = d / H. A tensor that does not apply to this config has shape (0, ...) and is written
// as null in JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "attnviz/config.hpp"

namespace attnviz {

//-----------------------------------------------------------------------------
// 1. HeadTrace
//-----------------------------------------------------------------------------
struct HeadTrace {
    Matrix Q;                       // (T, dk)  queries as used in the scores (after RoPE if any)
    Matrix K;                       // (S, dk)  keys as used (after RoPE if any; before Linformer)
    Matrix V;                       // (S, dk)  values (before Linformer)
    Matrix Q_unrotated;             // (T, dk)  rope only: Q before rotation, else (0, 0)
    Matrix K_unrotated;             // (S, dk)  rope only: K before rotation, else (0, 0)
    Matrix K_projected;             // (N, dk)  linformer only: E·K, else (0, 0)
    Matrix V_projected;             // (N, dk)  linformer only: F·V, else (0, 0)
    Matrix scores;                  // (T, N)   raw Q·Kᵀ (Q·(E·K)ᵀ with Linformer)
    xt::xtensor<double, 2> scaled;  // (T, N)   scores·scale/temperature + ALiBi bias, what the softmax
                                    //          reads; double so that extreme temperatures stay finite.
                                    //          Masked cells hold -inf (seed_module: the −1e20 fill,
                                    //          scaled); JSON writes every masked cell as null.
    xt::xtensor<bool, 2> mask;      // (T, N)   true = query may see the key (mask ∩ pattern)
    Matrix weights;                 // (T, N)   softmax over allowed keys; exactly 0 where masked
    Matrix out;                     // (T, dk)  weights·V (weights·V_projected with Linformer)
    std::vector<int> empty_rows;    // queries with no allowed key (standard: weights and out are 0;
                                    // seed_module: uniform weights, as torch computes them)
    double scale       = 0.0;       // factor applied to the raw scores (before temperature)
    double alibi_slope = 0.0;       // m_h = 2^(-8(h+1)/H) with ALiBi, else 0; bias = -m_h·|i - j|
};

//-----------------------------------------------------------------------------
// 2. Stats
//-----------------------------------------------------------------------------
struct StageTimes {                  // wall time per stage, milliseconds (std::chrono::steady_clock)
    double tokenize     = 0;         // text -> tokens
    double embed        = 0;         // tokens -> X (and the generated weights)
    double positional   = 0;         // X -> X_in
    double project      = 0;         // X_in -> Q, K, V (RoPE, Linformer included)
    double scores       = 0;         // Q·Kᵀ, scale, temperature, ALiBi, mask
    double softmax      = 0;         // scaled -> weights
    double weighted_sum = 0;         // weights·V
    double output       = 0;         // concat·Wo + bo
    double total        = 0;         // the whole run()
};

struct Stats {
    double      flops = 0;           // multiply-adds counted as 2: projections, Q·Kᵀ, weights·V, output
    double      bytes = 0;           // bytes held by the trace's tensors
    double      allowed_pairs = 0;   // (query, key) pairs the mask ∩ pattern allows, per head (of T·N). Kept
                                     // heads compute all T·N; heads not kept only each row block's span of
                                     // allowed keys (O(T·w) with a sliding window)
    StageTimes  ms;
    std::string kernel_path;         // "avx2" | "wasm-simd128" | "sse2" | "vector128" | "scalar"
};

//-----------------------------------------------------------------------------
// 3. Trace
//-----------------------------------------------------------------------------
struct Trace {
    std::vector<std::string> tokens;         // (T)  query tokens
    std::vector<std::string> source_tokens;  // (S)  key/value tokens; empty for self-attention
    bool cross = false;                      // cross-attention (keys/values from the source)
    Config config;                           // resolved: every default and generated matrix filled in;
                                             // run(config) reproduces this trace bit for bit

    int T = 0, S = 0, N = 0;                 // queries, keys, keys after Linformer
    int head_dim = 0;                        // dk = d_model / heads
    double temperature = 1.0;                // the divisor applied after the scale

    Matrix X;                                // (T, d)  token embeddings
    Matrix positional;                       // (T, d)  added to X (sinusoidal, learned), else (0, 0)
    Matrix X_in;                             // (T, d)  X + positional: the attention input
    Matrix source_X;                         // (S, d)  cross only, else (0, 0)
    Matrix source_positional;                // (S, d)  cross with an added encoding, else (0, 0)
    Matrix source_X_in;                      // (S, d)  cross only, else (0, 0)

    xt::xtensor<int, 2> random_keys;         // (T, random) bigbird's seeded keys per query, else (0, 0)

    std::vector<HeadTrace> heads;            // (H)
    int kept_head = -1;                      // -1: every head has its (T, N) matrices; h: only head h
                                             // (RunJob's keep_head); the others' scores, scaled, mask
                                             // and weights are (0, 0), their Q, K, V and out complete
    bool keeps(int h) const { return kept_head < 0 || kept_head == h; }
    Matrix concat;                           // (T, d)  heads' out side by side
    Matrix output;                           // (T, d)  concat·Wo + bo

    // seed_module's departures from the paper, for the UI to point out (both false otherwise):
    bool skips_qkv_projection = false;       // Q = K = V = head slices of X_in; Wq/Wk/Wv unused
    bool scales_by_sqrt_dmodel = false;      // scores divided by sqrt(d_model), not sqrt(dk)

    Stats stats;
};

}  // namespace attnviz
