// attnviz/core.hpp — the attention engine's whole public interface.
//
// Index
//   1. Expected       a value or an error message        (attnviz/expected.hpp)
//   2. Config         the inputs, as plain data           (attnviz/config.hpp)
//   3. Trace          every intermediate of a pass        (attnviz/trace.hpp)
//   4. Tokenizer      Unicode-aware text -> tokens
//   5. Engine         parse, run, serialize
//   6. RunJob         run(), a little at a time            (attnviz/job.hpp)
//
// Data flows one way: Config -> run() -> Trace. The UI reads a const Trace& and never computes
// attention; it edits a Config and calls run() again. Every function here is pure (same input,
// same output; only Stats' timings vary). Failures are Expected errors of the form
// "<field>: <what was expected>", never exceptions; the one exception is running out of memory
// while serializing in config_to_json / trace_to_json (std::bad_alloc), which compute_json
// reports as an error value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "attnviz/config.hpp"
#include "attnviz/expected.hpp"
#include "attnviz/job.hpp"
#include "attnviz/trace.hpp"

namespace attnviz {

//-----------------------------------------------------------------------------
// 4. Tokenizer
//-----------------------------------------------------------------------------
// words: split on Unicode White_Space; punctuation (ASCII, Latin-1, General Punctuation, CJK and
//        fullwidth punctuation) is its own token; each CJK ideograph, kana and hangul syllable is
//        its own token; each emoji cluster is its own token; other letters/digits form words.
// chars: one token per cluster, whitespace dropped.
// Clusters keep combining marks, variation selectors, skin-tone modifiers, ZWJ sequences and
// regional-indicator pairs (flags) whole. In both modes bracketed special tokens stay whole:
// [NAME], <NAME>, </NAME>, <|NAME|> with NAME = 1..32 of [A-Za-z0-9_] (so "[PAD]" can be typed).
// Invalid UTF-8 is an error naming the byte offset.
Expected<std::vector<std::string>> tokenize(std::string_view text, Tokenizer mode = Tokenizer::words);

//-----------------------------------------------------------------------------
// 5. Engine
//-----------------------------------------------------------------------------
// `pretty` puts members and matrix rows on their own lines; the default is one compact line.
Expected<Config>      parse_config(std::string_view json);                        // JSON -> Config, every field validated
std::string           config_to_json(const Config& config, bool pretty = false);  // Config -> JSON; parse_config reads it back equal
Expected<Trace>       run(const Config& config);                                  // the one function that computes attention (RunJob stepped to the end)
Expected<Trace>       run(Config&& config);                                       // the same, the config moved into the trace instead of copied
Expected<double>      trace_bytes(const Config& config, int keep_head = -1);      // validates; the bytes run()'s trace will hold (RunJob's keep_head)
std::string           trace_to_json(const Trace& trace, bool pretty = false);     // the Trace JSON contract (README.md)
Expected<std::string> compute_json(std::string_view config_json, bool pretty = false);  // parse_config + run + trace_to_json

const char* kernel_path_name(Kernels kernels);  // "avx2" | "wasm-simd128" | "sse2" | "vector128" | "scalar"
const char* to_string(Positional v);            // JSON spellings of the enums
const char* to_string(MaskKind v);
const char* to_string(PatternKind v);
const char* to_string(Variant v);
const char* to_string(Kernels v);
const char* to_string(Tokenizer v);

}  // namespace attnviz
