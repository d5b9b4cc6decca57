// fuzz_tokenizer.cpp — attnviz::tokenize on any bytes, in both modes.
//
// Checks what CONTRACT.md promises: invalid UTF-8 is an error naming the first bad byte (and
// nothing else is an error); otherwise every token is non-empty valid UTF-8 without whitespace,
// the tokens put together give back the text minus its whitespace, and words mode only groups
// what chars mode splits.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attnviz/core.hpp"
#include "fuzz_check.hpp"

namespace {

// The text without its Unicode White_Space code points (the list CONTRACT.md names), for valid UTF-8.
std::string without_whitespace(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char b0 = static_cast<unsigned char>(s[i]);
        const std::size_t len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
        char32_t cp = len == 1 ? b0 : b0 & (0x3F >> (len - 1));
        for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        const bool space = (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
                           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
                           cp == 0x205F || cp == 0x3000;
        if (!space) out.append(s.substr(i, len));
        i += len;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto words = attnviz::tokenize(text, attnviz::Tokenizer::words);
    const auto chars = attnviz::tokenize(text, attnviz::Tokenizer::chars);
    FUZZ_CHECK(words.ok() == chars.ok(), "the modes disagree on whether the text is valid");

    if (!fuzz::valid_utf8(text)) {
        FUZZ_CHECK(!words.ok(), "invalid UTF-8 was accepted");
        fuzz::check_message(words.error());
        FUZZ_CHECK(words.error() == chars.error(), words.error() + " / " + chars.error());
        // "... at byte N": everything before N is valid, and no code point starts at N
        const std::string prefix = "text: expected valid UTF-8, found an ill-formed byte sequence at byte ";
        FUZZ_CHECK(words.error().compare(0, prefix.size(), prefix) == 0, words.error());
        const std::size_t at = std::stoul(words.error().substr(prefix.size()));
        FUZZ_CHECK(at < size && fuzz::valid_utf8(text.substr(0, at)), words.error());
        for (std::size_t len = 1; len <= 4; ++len)
            FUZZ_CHECK(!fuzz::valid_utf8(text.substr(at, len)) || at + len > size, words.error());
        return 0;
    }
    FUZZ_CHECK(words.ok(), words.error());
    const std::string expected = without_whitespace(text);
    for (const auto* tokens : {&words.value(), &chars.value()}) {
        std::string joined;
        for (const std::string& t : *tokens) {
            FUZZ_CHECK(!t.empty(), "an empty token");
            FUZZ_CHECK(fuzz::valid_utf8(t), "a token that is not valid UTF-8");
            FUZZ_CHECK(without_whitespace(t) == t, "a token with whitespace: [" + t + "]");
            joined += t;
        }
        FUZZ_CHECK(joined == expected, "the tokens do not give back the text minus whitespace");
    }
    FUZZ_CHECK(words.value().size() <= chars.value().size(), "words mode split more than chars mode");
    return 0;
}
