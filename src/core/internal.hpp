// internal.hpp — what the core's translation units share and the public header does not show.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "attnviz/core.hpp"
#include "json_writer.hpp"

namespace attnviz::detail {

// Thrown inside the core for an invalid field and caught at the API boundary, where it becomes
// an Expected error. `message` is "<field>: <what was expected>".
struct FieldError {
    std::string message;
};

[[noreturn]] inline void field_error(const std::string& field, const std::string& expected) {
    throw FieldError{field + ": " + expected};
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

Sequences validate(const Config& config);                 // throws FieldError
void write_config(json::Writer& out, const Config& config);

}  // namespace attnviz::detail
