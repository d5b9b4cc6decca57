// utf8.hpp — strict UTF-8 decoding (no overlong forms, no surrogates, nothing past U+10FFFF).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace attnviz::utf8 {

// Decodes the code point at s[i], advancing i past it. Returns false (i unchanged) if the
// bytes there are not well-formed UTF-8.
inline bool decode(std::string_view s, std::size_t& i, char32_t& cp) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) { cp = b0; ++i; return true; }
    int len;
    char32_t min;
    if ((b0 & 0xE0) == 0xC0)      { len = 2; cp = b0 & 0x1F; min = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; min = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; min = 0x10000; }
    else return false;
    if (i + len > s.size()) return false;
    for (int k = 1; k < len; ++k) {
        const unsigned char b = byte(i + k);
        if ((b & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
    return true;
}

// The byte offset of the first ill-formed sequence, or nullopt if s is valid UTF-8.
inline std::optional<std::size_t> first_invalid(std::string_view s) {
    std::size_t i = 0;
    char32_t cp;
    while (i < s.size())
        if (!decode(s, i, cp)) return i;
    return std::nullopt;
}

}  // namespace attnviz::utf8
