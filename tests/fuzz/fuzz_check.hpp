// fuzz_check.hpp — what the fuzz targets share: a check that stops the run with a message (a
// crash libFuzzer records, a failed replay CTest reports), and the checks every error message
// of the core must pass.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond, what)                                                                   \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            std::fprintf(stderr, "%s:%d: check failed: %s\n  %s\n", __FILE__, __LINE__, #cond,  \
                         std::string(what).c_str());                                             \
            std::abort();                                                                        \
        }                                                                                        \
    } while (0)

namespace fuzz {

// True when s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
// Written out here rather than taken from the core, so the core's decoder is checked too.
inline bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char b0 = static_cast<unsigned char>(s[i]);
        int len = b0 < 0x80 ? 1 : b0 >= 0xC2 && b0 <= 0xDF ? 2 : b0 >= 0xE0 && b0 <= 0xEF ? 3 : b0 >= 0xF0 && b0 <= 0xF4 ? 4 : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (int k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        const unsigned char b1 = len > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
        if (b0 == 0xE0 && b1 < 0xA0) return false;  // overlong
        if (b0 == 0xED && b1 > 0x9F) return false;  // surrogates
        if (b0 == 0xF0 && b1 < 0x90) return false;  // overlong
        if (b0 == 0xF4 && b1 > 0x8F) return false;  // past U+10FFFF
        i += len;
    }
    return true;
}

// An error message a person sees (stderr line, the app's message box): "<field>: <expected>",
// one line of valid UTF-8 without control characters, and short enough to read.
inline void check_message(const std::string& m) {
    FUZZ_CHECK(!m.empty(), "empty error message");
    FUZZ_CHECK(m.find(": ") != std::string::npos && m.find(": ") > 0, m);
    FUZZ_CHECK(valid_utf8(m), m);
    for (unsigned char c : m) FUZZ_CHECK(c >= 0x20 && c != 0x7F, m);
    FUZZ_CHECK(m.size() <= 600, m.substr(0, 600));
}

}  // namespace fuzz
