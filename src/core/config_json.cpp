// config_json.cpp — the Config's JSON form: strict reading, complete writing.
//
// Reading is strict on purpose: a misspelt key or a duplicate would otherwise be silently
// ignored and the user would study a trace of a config they did not write. Every error names
// the field (with its path and indices) and what was expected.
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "attnviz/json.hpp"
#include "internal.hpp"

namespace attnviz {
namespace {

using Json = nlohmann::json;
using detail::field_error;

//-----------------------------------------------------------------------------
// Enum spellings
//-----------------------------------------------------------------------------
template <class E, std::size_t N>
struct Spellings {
    const char* names[N];
    E values[N];
};

constexpr Spellings<Positional, 5> kPositional{{"none", "sinusoidal", "learned", "rope", "alibi"},
    {Positional::none, Positional::sinusoidal, Positional::learned, Positional::rope, Positional::alibi}};
constexpr Spellings<MaskKind, 3> kMask{{"none", "causal", "padding"},
    {MaskKind::none, MaskKind::causal, MaskKind::padding}};
constexpr Spellings<PatternKind, 5> kPattern{{"full", "local", "sliding_global", "bigbird", "strided"},
    {PatternKind::full, PatternKind::local, PatternKind::sliding_global, PatternKind::bigbird, PatternKind::strided}};
constexpr Spellings<Variant, 2> kVariant{{"standard", "seed_module"}, {Variant::standard, Variant::seed_module}};
constexpr Spellings<Kernels, 2> kKernels{{"simd", "scalar"}, {Kernels::simd, Kernels::scalar}};
constexpr Spellings<Tokenizer, 2> kTokenizer{{"words", "chars"}, {Tokenizer::words, Tokenizer::chars}};

template <class E, std::size_t N>
const char* spell(const Spellings<E, N>& s, E v) {
    for (std::size_t k = 0; k < N; ++k)
        if (s.values[k] == v) return s.names[k];
    return "?";  // unreachable for a valid enum value
}

//-----------------------------------------------------------------------------
// Parsing: nesting depth and duplicate keys are checked while nlohmann parses
//-----------------------------------------------------------------------------
Json parse_document(std::string_view text) {
    if (text.size() > limits::max_json_bytes)
        field_error("json", "expected at most 64 MiB of config, got " + std::to_string(text.size()) + " bytes");
    struct Frame {
        bool object;
        std::string key;           // the member being read (objects)
        std::set<std::string> seen;
    };
    std::vector<Frame> stack;
    const auto path = [&](const std::string& last) {  // keys are the user's: quoted for the message
        std::string p;
        for (std::size_t k = 0; k + 1 < stack.size(); ++k)
            p += stack[k].object ? (p.empty() ? "" : ".") + detail::message_text(stack[k].key) : std::string("[]");
        p += (p.empty() ? "" : ".") + detail::message_text(last);
        return detail::message_text(p, 120);  // 64 levels of long keys would not fit a line
    };
    const Json::parser_callback_t on_event = [&](int, Json::parse_event_t event, Json& parsed) {
        switch (event) {
            case Json::parse_event_t::object_start:
            case Json::parse_event_t::array_start:
                if (static_cast<int>(stack.size()) >= limits::max_json_depth)
                    field_error("json", "expected at most 64 levels of nesting");
                stack.push_back(Frame{event == Json::parse_event_t::object_start, {}, {}});
                break;
            case Json::parse_event_t::object_end:
            case Json::parse_event_t::array_end:
                stack.pop_back();
                break;
            case Json::parse_event_t::key: {
                const std::string& name = parsed.get_ref<const std::string&>();
                if (!stack.back().seen.insert(name).second)
                    field_error(path(name), "duplicate key; expected each key once");
                stack.back().key = name;
                break;
            }
            case Json::parse_event_t::value:
                break;
        }
        return true;
    };
    try {
        return Json::parse(text.begin(), text.end(), on_event);
    } catch (const Json::exception& e) {  // a syntax error, or a number past double's range
        // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...; last
        // read: '<the input's bytes>'; ...": the bytes are quoted like any other input text
        std::string what = e.what();
        if (const std::size_t at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
        const std::string read = "last read: '";
        const std::size_t begin = what.find(read), end = what.rfind('\'');
        if (begin != std::string::npos && end >= begin + read.size())
            what = what.substr(0, begin + read.size()) +
                   detail::message_text(std::string_view(what).substr(begin + read.size(), end - begin - read.size()), 40) +
                   what.substr(end);
        field_error("json", "expected valid JSON (" + detail::message_text(what, 240) + ")");
    }
}

//-----------------------------------------------------------------------------
// Field readers
//-----------------------------------------------------------------------------
std::string describe(const Json& j) {
    switch (j.type()) {
        case Json::value_t::null: return "null";
        case Json::value_t::boolean: return j.get<bool>() ? "true" : "false";
        case Json::value_t::string: return "the string " + detail::message_text(j.dump());
        case Json::value_t::object: return "an object";
        case Json::value_t::array: return "an array";
        case Json::value_t::binary: return "binary data";
        case Json::value_t::discarded: return "nothing";
        default: return j.dump();  // numbers as written
    }
}

void check_keys(const Json& object, const std::string& path, std::initializer_list<const char*> allowed) {
    for (auto it = object.begin(); it != object.end(); ++it) {
        bool known = false;
        for (const char* name : allowed) known = known || it.key() == name;
        if (!known) {
            std::string list;
            for (const char* name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
            const std::string key = detail::message_text(it.key());
            field_error(path.empty() ? key : path + "." + key, "unknown key; expected one of " + list);
        }
    }
}

std::int64_t read_int(const Json& j, const std::string& path, std::int64_t lo, std::int64_t hi) {
    const std::string expected = "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (!j.is_number_integer()) field_error(path, expected + ", got " + describe(j));
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
        field_error(path, expected + ", got " + j.dump());
    const std::int64_t v = j.get<std::int64_t>();
    if (v < lo || v > hi) field_error(path, expected + ", got " + j.dump());
    return v;
}

double read_positive(const Json& j, const std::string& path) {
    if (!j.is_number() || !std::isfinite(j.get<double>()) || !(j.get<double>() > 0))
        field_error(path, "expected a finite number > 0, got " + describe(j));
    return j.get<double>();
}

std::string read_string(const Json& j, const std::string& path) {
    if (!j.is_string()) field_error(path, "expected a string, got " + describe(j));
    return j.get<std::string>();
}

template <class E, std::size_t N>
E read_enum(const Json& j, const std::string& path, const Spellings<E, N>& s) {
    std::string list;
    for (std::size_t k = 0; k < N; ++k) list += (k ? ", \"" : "\"") + std::string(s.names[k]) + "\"";
    if (j.is_string())
        for (std::size_t k = 0; k < N; ++k)
            if (j.get_ref<const std::string&>() == s.names[k]) return s.values[k];
    field_error(path, "expected one of " + list + ", got " + describe(j));
}

std::vector<std::string> read_string_list(const Json& j, const std::string& path) {
    if (!j.is_array()) field_error(path, "expected an array of strings, got " + describe(j));
    std::vector<std::string> out;
    for (std::size_t k = 0; k < j.size(); ++k) out.push_back(read_string(j[k], path + "[" + std::to_string(k) + "]"));
    return out;
}

float read_float(const Json& j, const std::string& path) {
    if (!j.is_number()) field_error(path, "expected a finite number, got " + describe(j));
    const double v = j.get<double>();
    const float f = static_cast<float>(v);
    if (!std::isfinite(f)) field_error(path, "expected a finite number within float32 range (|x| < 3.4e38), got " + j.dump());
    return f;
}

Matrix read_matrix(const Json& j, const std::string& path) {
    if (!j.is_array() || j.empty() || !j[0].is_array())
        field_error(path, "expected a matrix (a non-empty array of rows, each an array of numbers), got " + describe(j));
    const std::size_t rows = j.size(), cols = j[0].size();
    Matrix m = Matrix::from_shape({rows, cols});
    for (std::size_t r = 0; r < rows; ++r) {
        const std::string row_path = path + "[" + std::to_string(r) + "]";
        if (!j[r].is_array() || j[r].size() != cols)
            field_error(row_path, "expected a row of " + std::to_string(cols) + " numbers like row 0, got " +
                                      (j[r].is_array() ? std::to_string(j[r].size()) + " numbers" : describe(j[r])));
        for (std::size_t c = 0; c < cols; ++c) m(r, c) = read_float(j[r][c], row_path + "[" + std::to_string(c) + "]");
    }
    return m;
}

Vector read_vector(const Json& j, const std::string& path) {
    if (!j.is_array()) field_error(path, "expected an array of numbers, got " + describe(j));
    Vector v = Vector::from_shape({j.size()});
    for (std::size_t k = 0; k < j.size(); ++k) v(k) = read_float(j[k], path + "[" + std::to_string(k) + "]");
    return v;
}

Pattern read_pattern(const Json& j) {
    if (!j.is_object()) field_error("pattern", "expected an object {kind, window, global, random, stride}, got " + describe(j));
    check_keys(j, "pattern", {"kind", "window", "global", "random", "stride"});
    Pattern p;
    if (j.contains("kind")) p.kind = read_enum(j["kind"], "pattern.kind", kPattern);
    if (j.contains("window")) p.window = static_cast<int>(read_int(j["window"], "pattern.window", 0, limits::max_window));
    if (j.contains("random")) p.random = static_cast<int>(read_int(j["random"], "pattern.random", 0, limits::max_tokens));
    if (j.contains("stride")) p.stride = static_cast<int>(read_int(j["stride"], "pattern.stride", 1, limits::max_tokens));
    if (j.contains("global")) {
        const Json& g = j["global"];
        if (!g.is_array()) field_error("pattern.global", "expected an array of token indices, got " + describe(g));
        p.global.clear();
        for (std::size_t k = 0; k < g.size(); ++k)
            p.global.push_back(static_cast<int>(
                read_int(g[k], "pattern.global[" + std::to_string(k) + "]", 0, limits::max_tokens - 1)));
    }
    return p;
}

Weights read_weights(const Json& j) {
    if (!j.is_object()) field_error("weights", "expected an object of matrices, got " + describe(j));
    check_keys(j, "weights", {"Wq", "Wk", "Wv", "Wo", "bq", "bk", "bv", "bo", "E", "F", "P"});
    Weights w;
    const auto matrix = [&](const char* name, std::optional<Matrix>& slot) {
        if (j.contains(name) && !j[name].is_null()) slot = read_matrix(j[name], std::string("weights.") + name);
    };
    const auto vector = [&](const char* name, std::optional<Vector>& slot) {
        if (j.contains(name) && !j[name].is_null()) slot = read_vector(j[name], std::string("weights.") + name);
    };
    matrix("Wq", w.Wq); matrix("Wk", w.Wk); matrix("Wv", w.Wv); matrix("Wo", w.Wo);
    vector("bq", w.bq); vector("bk", w.bk); vector("bv", w.bv); vector("bo", w.bo);
    matrix("E", w.E); matrix("F", w.F); matrix("P", w.P);
    return w;
}

Config read_config(const Json& j) {
    if (!j.is_object()) field_error("config", "expected a JSON object, got " + describe(j));
    check_keys(j, "", {"text", "tokens", "source_text", "source_tokens", "tokenizer", "d_model", "heads", "seed",
                       "embeddings", "source_embeddings", "weights", "positional", "mask", "pad_token", "pattern",
                       "linformer_k", "scale", "temperature", "variant", "kernels"});
    Config c;
    const auto present = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
    if (present("text")) c.text = read_string(j["text"], "text");
    if (present("tokens")) c.tokens = read_string_list(j["tokens"], "tokens");
    if (present("source_text")) c.source_text = read_string(j["source_text"], "source_text");
    if (present("source_tokens")) c.source_tokens = read_string_list(j["source_tokens"], "source_tokens");
    if (j.contains("tokenizer")) c.tokenizer = read_enum(j["tokenizer"], "tokenizer", kTokenizer);
    if (j.contains("d_model")) c.d_model = static_cast<int>(read_int(j["d_model"], "d_model", 1, limits::max_d_model));
    if (j.contains("heads")) c.heads = static_cast<int>(read_int(j["heads"], "heads", 1, limits::max_heads));
    if (j.contains("seed")) c.seed = static_cast<std::uint64_t>(read_int(j["seed"], "seed", 0, static_cast<std::int64_t>(limits::max_seed)));
    if (present("embeddings")) c.embeddings = read_matrix(j["embeddings"], "embeddings");
    if (present("source_embeddings")) c.source_embeddings = read_matrix(j["source_embeddings"], "source_embeddings");
    if (j.contains("weights")) c.weights = read_weights(j["weights"]);
    if (j.contains("positional")) c.positional = read_enum(j["positional"], "positional", kPositional);
    if (j.contains("mask")) c.mask = read_enum(j["mask"], "mask", kMask);
    if (j.contains("pad_token")) c.pad_token = read_string(j["pad_token"], "pad_token");
    if (j.contains("pattern")) c.pattern = read_pattern(j["pattern"]);
    if (j.contains("linformer_k")) c.linformer_k = static_cast<int>(read_int(j["linformer_k"], "linformer_k", 0, limits::max_tokens));
    if (j.contains("variant")) c.variant = read_enum(j["variant"], "variant", kVariant);
    if (j.contains("scale")) {
        const Json& s = j["scale"];
        if (s.is_number()) {
            c.scale = Scale{ScaleKind::number, read_positive(s, "scale")};
        } else if (s.is_string() && s.get_ref<const std::string&>() == "inv_sqrt_dk") {
            c.scale = Scale{ScaleKind::inv_sqrt_dk, 0.0};
        } else if (s.is_string() && s.get_ref<const std::string&>() == "inv_sqrt_dmodel") {
            c.scale = Scale{ScaleKind::inv_sqrt_dmodel, 0.0};
        } else {
            field_error("scale", "expected \"inv_sqrt_dk\", \"inv_sqrt_dmodel\" or a finite number > 0, got " + describe(s));
        }
    } else if (c.variant == Variant::seed_module) {
        c.scale = Scale{ScaleKind::inv_sqrt_dmodel, 0.0};  // the printed module divides by sqrt(embed_size)
    }
    if (j.contains("temperature")) c.temperature = read_positive(j["temperature"], "temperature");
    if (j.contains("kernels")) c.kernels = read_enum(j["kernels"], "kernels", kKernels);
    return c;
}

//-----------------------------------------------------------------------------
// Writing
//-----------------------------------------------------------------------------
void write_vector(json::Writer& out, const Vector& v) {
    out.begin_array();
    for (float x : v) out.number(x);
    out.end_array();
}

void write_strings(json::Writer& out, const std::vector<std::string>& list) {
    out.begin_array();
    for (const std::string& s : list) out.string(s);
    out.end_array();
}

}  // namespace

const char* to_string(Positional v) { return spell(kPositional, v); }
const char* to_string(MaskKind v)   { return spell(kMask, v); }
const char* to_string(PatternKind v) { return spell(kPattern, v); }
const char* to_string(Variant v)    { return spell(kVariant, v); }
const char* to_string(Kernels v)    { return spell(kKernels, v); }
const char* to_string(Tokenizer v)  { return spell(kTokenizer, v); }

namespace detail {

void write_config(json::Writer& out, const Config& c) {
    out.begin_object();
    if (c.text) { out.key("text"); out.string(*c.text); }
    if (c.tokens) { out.key("tokens"); write_strings(out, *c.tokens); }
    if (c.source_text) { out.key("source_text"); out.string(*c.source_text); }
    if (c.source_tokens) { out.key("source_tokens"); write_strings(out, *c.source_tokens); }
    out.key("tokenizer"); out.string(to_string(c.tokenizer));
    out.key("d_model"); out.integer(c.d_model);
    out.key("heads"); out.integer(c.heads);
    out.key("seed"); out.integer(static_cast<std::int64_t>(c.seed));
    if (c.embeddings) { out.key("embeddings"); write_matrix(out, *c.embeddings); }
    if (c.source_embeddings) { out.key("source_embeddings"); write_matrix(out, *c.source_embeddings); }
    out.key("weights");
    out.begin_object();
    const Weights& w = c.weights;
    const auto matrix = [&](const char* name, const std::optional<Matrix>& m) {
        if (m) { out.key(name); write_matrix(out, *m); }
    };
    const auto vector = [&](const char* name, const std::optional<Vector>& v) {
        if (v) { out.key(name); write_vector(out, *v); }
    };
    matrix("Wq", w.Wq); matrix("Wk", w.Wk); matrix("Wv", w.Wv); matrix("Wo", w.Wo);
    vector("bq", w.bq); vector("bk", w.bk); vector("bv", w.bv); vector("bo", w.bo);
    matrix("E", w.E); matrix("F", w.F); matrix("P", w.P);
    out.end_object();
    out.key("positional"); out.string(to_string(c.positional));
    out.key("mask"); out.string(to_string(c.mask));
    out.key("pad_token"); out.string(c.pad_token);
    out.key("pattern");
    out.begin_object();
    out.key("kind"); out.string(to_string(c.pattern.kind));
    out.key("window"); out.integer(c.pattern.window);
    out.key("global");
    out.begin_array();
    for (int g : c.pattern.global) out.integer(g);
    out.end_array();
    out.key("random"); out.integer(c.pattern.random);
    out.key("stride"); out.integer(c.pattern.stride);
    out.end_object();
    out.key("linformer_k"); out.integer(c.linformer_k);
    out.key("scale");
    switch (c.scale.kind) {
        case ScaleKind::inv_sqrt_dk: out.string("inv_sqrt_dk"); break;
        case ScaleKind::inv_sqrt_dmodel: out.string("inv_sqrt_dmodel"); break;
        case ScaleKind::number: out.number(c.scale.value); break;
    }
    out.key("temperature"); out.number(c.temperature);
    out.key("variant"); out.string(to_string(c.variant));
    out.key("kernels"); out.string(to_string(c.kernels));
    out.end_object();
}

}  // namespace detail

Expected<nlohmann::json> parse_json_strict(std::string_view text) {
    try {
        return parse_document(text);
    } catch (const detail::FieldError& e) {
        return fail(e.message);
    } catch (const std::bad_alloc&) {
        return fail("json: expected a document that fits in memory");
    }
}

Expected<Config> parse_config(std::string_view text) {
    try {
        Config config = read_config(parse_document(text));
        detail::validate(config);  // the checks that need the token counts, shared with run()
        return config;
    } catch (const detail::FieldError& e) {
        return fail(e.message);
    } catch (const std::bad_alloc&) {
        return fail("config: expected a config that fits in memory");
    } catch (const std::exception& e) {
        return fail(std::string("config: ") + e.what());
    }
}

std::string config_to_json(const Config& config, bool pretty) {
    json::Writer out(pretty);
    detail::write_config(out, config);
    return out.take();
}

}  // namespace attnviz
