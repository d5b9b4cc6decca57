// internal.hpp — what the core's translation units share and the public header does not show.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "attnviz/core.hpp"
#include "attnviz/model.hpp"
#include "json_writer.hpp"
#include "utf8.hpp"

namespace attnviz::detail {

// Thrown inside the core for an invalid field and caught at the API boundary, where it becomes
// an Expected error. `message` is "<field>: <what was expected>".
struct FieldError {
    std::string message;
};

[[noreturn]] inline void field_error(const std::string& field, const std::string& expected) {
    throw FieldError{field + ": " + expected};
}

// "" when lo <= v <= hi, else "<field>: expected an integer from lo to hi, got v".
inline std::string range_error(const char* field, int v, int lo, int hi) {
    if (v >= lo && v <= hi) return "";
    return std::string(field) + ": expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
           std::to_string(v);
}

// The sequences a valid config describes, found while validating it.
struct Sequences {
    std::vector<std::string> tokens;         // (T)
    std::vector<std::string> source_tokens;  // (S), empty for self-attention
    bool cross = false;
    int T = 0, S = 0, N = 0;                 // queries, keys, keys after Linformer
};

// A number for an error message: shortest round-trip digits, or "NaN" / "infinity".
inline std::string number_text(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "infinity" : "-infinity";
    char buf[64];
    return std::string(buf, nlohmann::detail::to_chars(buf, buf + sizeof buf, v));
}

// "" when all n values are finite, else "<field>[i]: expected a finite pixel value, got <v>" for
// the first that is not (an image's pixels: step_images, model_trace).
inline std::string pixel_error(const char* field, const float* values, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(values[i]))
            return std::string(field) + "[" + std::to_string(i) + "]: expected a finite pixel value, got " + number_text(values[i]);
    return "";
}

// Text from the input quoted in an error message (a key, a string value, nlohmann's "last read"
// token): control characters escaped as in JSON (\n, \u0001), each ill-formed UTF-8 byte written
// as \xff, cut after `max_chars` characters as displayed (an escape counts as its length) with
// "…", and "" for the empty string. Whatever was typed, a message stays one short line of valid
// UTF-8 (a raw byte 0xff in it would make nlohmann's dump() throw in the app).
inline std::string message_text(std::string_view s, std::size_t max_chars = 48) {
    if (s.empty()) return "\"\"";  // the empty key, {"": 1}, still has a name to print
    static const char hex[] = "0123456789abcdef";
    std::string out;
    std::size_t i = 0, chars = 0;
    while (i < s.size()) {
        const std::size_t begin = i;
        char32_t cp;
        std::string piece;
        std::size_t width = 1;
        if (!utf8::decode(s, i, cp)) {
            const unsigned char b = static_cast<unsigned char>(s[i++]);
            piece = {'\\', 'x', hex[b >> 4], hex[b & 15]};
        } else if (cp == '\n') {
            piece = "\\n";
        } else if (cp == '\t') {
            piece = "\\t";
        } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029) {
            piece = "\\u";
            for (int shift = 12; shift >= 0; shift -= 4) piece += hex[(cp >> shift) & 15];
        } else {
            piece = std::string(s.substr(begin, i - begin));
        }
        if (piece.front() == '\\') width = piece.size();
        if (chars + width > max_chars) return out + "…";
        out += piece;
        chars += width;
    }
    return out;
}

Sequences validate(const Config& config);                 // throws FieldError
void write_config(json::Writer& out, const Config& config);
void write_head(json::Writer& out, const HeadTrace& head);                    // a HeadTrace as the Trace JSON has it
void write_tokens(json::Writer& out, const std::vector<std::string>& tokens);  // an array of strings
void write_model_config(json::Writer& out, const ModelConfig& config);        // nanoGPT's field names, plus "tied"

// A matrix as an array of rows; (0, 0) = not part of this trace = null.
template <class T>
void write_matrix(json::Writer& out, const xt::xtensor<T, 2>& m) {
    if (m.size() == 0) {
        out.null();
        return;
    }
    out.begin_array();
    for (std::size_t r = 0; r < m.shape(0); ++r) {
        out.begin_array();
        for (std::size_t c = 0; c < m.shape(1); ++c) {
            if constexpr (std::is_same_v<T, bool>)
                out.boolean(m(r, c));
            else if constexpr (std::is_integral_v<T>)
                out.integer(m(r, c));
            else
                out.number(m(r, c));
        }
        out.end_array();
    }
    out.end_array();
}

}  // namespace attnviz::detail
