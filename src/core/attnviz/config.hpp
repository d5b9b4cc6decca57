// attnviz/config.hpp — everything that decides a trace, as plain data.
//
// Index
//   1. Tensor aliases
//   2. Option enums
//   3. Pattern, Scale, Weights
//   4. Config
//   5. Defaults and limits
//
// A Config is what the UI edits, what `attnviz-trace` reads and what the app exports; its JSON
// form is specified in README.md ("The contract"). Explicit matrices are optional: absent ones are
// generated from `seed` by run(), and the resolved config in the Trace holds them all.
// Naming follows the paper: T queries (target tokens), S keys (source tokens; S = T for
// self-attention), d = d_model, H = heads, dk = d / H.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

namespace attnviz {

//-----------------------------------------------------------------------------
// 1. Tensor aliases (row-major, statically ranked)
//-----------------------------------------------------------------------------
using Matrix = xt::xtensor<float, 2>;  // (rows, cols)
using Vector = xt::xtensor<float, 1>;  // (n)

//-----------------------------------------------------------------------------
// 2. Option enums (JSON spellings in the trailing comments)
//-----------------------------------------------------------------------------
enum class Tokenizer   { words, chars };                                      // "words" | "chars"
enum class Positional  { none, sinusoidal, learned, rope, alibi };           // as spelled
enum class MaskKind    { none, causal, padding };                             // as spelled
enum class PatternKind { full, local, sliding_global, bigbird, strided };    // as spelled
enum class ScaleKind   { inv_sqrt_dk, inv_sqrt_dmodel, number };             // "inv_sqrt_dk" | "inv_sqrt_dmodel" | a JSON number
enum class Variant     { standard, seed_module };                             // as spelled
enum class Kernels     { simd, scalar };                                      // as spelled

//-----------------------------------------------------------------------------
// 3. Pattern, Scale, Weights
//-----------------------------------------------------------------------------

// Sparse attention pattern, intersected with `mask`. Query i may see key j when:
//   full:           always
//   local:          |i - j| <= window
//   sliding_global: local, or i or j is in `global` (global tokens see and are seen by all)
//   bigbird:        sliding_global, or j is one of `random` seeded keys drawn for query i
//   strided:        local, or (i - j) is a multiple of `stride` (Sparse Transformer)
// Fields that the kind does not use are kept (and round-trip) but have no effect.
struct Pattern {
    PatternKind      kind   = PatternKind::full;
    int              window = 2;     // half-width of the local band, 0..4096
    std::vector<int> global = {0};   // token indices, each < max(T, S)
    int              random = 1;     // random keys per query (bigbird), 0..S
    int              stride = 2;     // >= 1 (strided)
};

// The factor the raw scores are multiplied by, before temperature.
struct Scale {
    ScaleKind kind  = ScaleKind::inv_sqrt_dk;  // 1/sqrt(dk) | 1/sqrt(d_model) | `value`
    double    value = 0.0;                      // used only when kind == number; finite, > 0
};

// Row-vector convention, as in the paper: Q = X_in·Wq + bq, output = concat·Wo + bo.
// Head h uses columns [h·dk, (h+1)·dk). Absent matrices are generated from the seed
// (Xavier-uniform for W*, uniform with std 1/sqrt(k) for E/F, uniform with std 0.2 for P);
// absent biases are zero.
struct Weights {
    std::optional<Matrix> Wq, Wk, Wv, Wo;  // (d, d) each
    std::optional<Vector> bq, bk, bv, bo;  // (d) each
    std::optional<Matrix> E, F;            // (linformer_k, S): Linformer key / value projections
    std::optional<Matrix> P;               // (max(T, S), d): learned positional table, row p = position p
};

//-----------------------------------------------------------------------------
// 4. Config
//-----------------------------------------------------------------------------
struct Config {
    // Target sequence (queries): exactly one of `text` (tokenized by the core) or `tokens`.
    std::optional<std::string>              text;
    std::optional<std::vector<std::string>> tokens;
    // Source sequence (keys and values): if either is present this is cross-attention.
    std::optional<std::string>              source_text;
    std::optional<std::vector<std::string>> source_tokens;
    Tokenizer tokenizer = Tokenizer::words;  // how `text` / `source_text` are split

    int           d_model = 16;   // d, 1..2048
    int           heads   = 2;    // H, 1..64, divides d_model
    std::uint64_t seed    = 42;   // drives every generated value; 0..2^53-1 (exact in JavaScript)

    std::optional<Matrix> embeddings;         // (T, d): X; absent = generated from token text
    std::optional<Matrix> source_embeddings;  // (S, d): source X (cross-attention only)
    Weights weights;

    Positional  positional = Positional::sinusoidal;
    MaskKind    mask       = MaskKind::none;
    std::string pad_token  = "[PAD]";          // keys equal to it are hidden by mask "padding"
    Pattern     pattern;
    int         linformer_k = 0;               // 0 = off; else 1..S, needs mask none + pattern full

    Scale   scale;                             // see Scale. parse_config picks inv_sqrt_dmodel when
                                               // variant is seed_module and "scale" is absent (the
                                               // printed module); set it yourself in C++
    double  temperature = 1.0;                 // divides the scaled scores; finite, > 0
    Variant variant     = Variant::standard;
    Kernels kernels     = Kernels::simd;
};

//-----------------------------------------------------------------------------
// 5. Limits (checked by parse_config and run; past them the result is an error value)
//-----------------------------------------------------------------------------
namespace limits {
inline constexpr int           max_tokens      = 4096;                     // T and S
inline constexpr int           max_d_model     = 2048;
inline constexpr int           max_heads       = 64;
inline constexpr int           max_window      = 4096;
inline constexpr std::uint64_t max_seed        = (std::uint64_t{1} << 53) - 1;
inline constexpr double        max_trace_bytes = 1.5 * 1024 * 1024 * 1024; // estimated before computing
inline constexpr std::size_t   max_json_bytes  = 64u * 1024 * 1024;        // config JSON input
inline constexpr int           max_json_depth  = 64;                       // nesting of arrays/objects
}  // namespace limits

}  // namespace attnviz
