// tokenizer.cpp — Unicode-aware splitting into words / characters.
//
// A pragmatic subset of UAX #29: text is first cut into clusters (a base code point plus the
// code points that must stay attached to it: combining marks, variation selectors, skin-tone
// modifiers, tags, ZWJ + next, a second regional indicator), then clusters are grouped into
// tokens by the class of their base.
#include <string>
#include <vector>

#include "attnviz/core.hpp"
#include "utf8.hpp"

namespace attnviz {
namespace {

enum class Class { space, punct, single, word };  // single: CJK / kana / hangul / emoji, one token each

struct Range { char32_t lo, hi; };

template <std::size_t N>
bool in(const Range (&ranges)[N], char32_t cp) {
    for (const Range& r : ranges)
        if (cp >= r.lo && cp <= r.hi) return true;
    return false;
}

// Unicode White_Space.
constexpr Range kSpace[] = {{0x09, 0x0D}, {0x20, 0x20}, {0x85, 0x85}, {0xA0, 0xA0}, {0x1680, 0x1680},
                            {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
                            {0x3000, 0x3000}};

// Punctuation and symbols that stand alone: ASCII, Latin-1, General and Supplemental
// Punctuation, CJK punctuation (，。、「」《》【】…), fullwidth and small/vertical forms.
constexpr Range kPunct[] = {
    {0x21, 0x2F}, {0x3A, 0x40}, {0x5B, 0x60}, {0x7B, 0x7E},
    {0xA1, 0xA9}, {0xAB, 0xB1}, {0xB4, 0xB4}, {0xB6, 0xB8}, {0xBB, 0xBB}, {0xBF, 0xBF},
    {0xD7, 0xD7}, {0xF7, 0xF7}, {0x037E, 0x037E}, {0x0387, 0x0387}, {0x055A, 0x055F},
    {0x0589, 0x058A}, {0x05BE, 0x05BE}, {0x060C, 0x060D}, {0x061B, 0x061B}, {0x061F, 0x061F},
    {0x066A, 0x066D}, {0x06D4, 0x06D4}, {0x0964, 0x0965}, {0x0E5A, 0x0E5B},
    {0x2010, 0x2027}, {0x2030, 0x205E}, {0x20A0, 0x20C0}, {0x2190, 0x2193}, {0x2200, 0x22FF},
    {0x2E00, 0x2E7F}, {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030},
    {0x303D, 0x303D}, {0x30FB, 0x30FB}, {0xFE10, 0xFE19}, {0xFE30, 0xFE4F}, {0xFE50, 0xFE6B},
    {0xFF01, 0xFF0F}, {0xFF1A, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65}};

// One token per character: CJK ideographs (all extensions), kana, bopomofo, hangul.
constexpr Range kSingle[] = {
    {0x1100, 0x11FF}, {0x2E80, 0x2FDF}, {0x3005, 0x3007}, {0x3021, 0x3029}, {0x3031, 0x3035},
    {0x3038, 0x303C}, {0x3041, 0x3096}, {0x309B, 0x30FA}, {0x30FC, 0x30FF}, {0x3105, 0x312F},
    {0x3131, 0x318E}, {0x31A0, 0x31BF}, {0x31F0, 0x31FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF},
    {0xA960, 0xA97F}, {0xAC00, 0xD7AF}, {0xD7B0, 0xD7FF}, {0xF900, 0xFAFF}, {0xFF66, 0xFF9F},
    {0xFFA0, 0xFFDC}, {0x1B000, 0x1B16F}, {0x20000, 0x3FFFF}};

// Emoji and pictographs (Extended_Pictographic, approximately), one token per cluster.
constexpr Range kEmoji[] = {
    {0x203C, 0x203C}, {0x2049, 0x2049}, {0x2122, 0x2122}, {0x2139, 0x2139}, {0x2194, 0x21AA},
    {0x231A, 0x23FF}, {0x24C2, 0x24C2}, {0x25AA, 0x25FE}, {0x2600, 0x27BF}, {0x2934, 0x2935},
    {0x2B05, 0x2B55}, {0x3297, 0x3299}, {0x1F000, 0x1FAFF}, {0x1FC00, 0x1FFFD}};

// Code points that attach to the cluster before them: combining marks (a practical subset:
// Latin/Greek/Cyrillic/Hebrew/Arabic/Indic/Thai diacritics, the general combining blocks),
// ZWNJ, variation selectors, skin-tone modifiers, tag characters, kana voicing marks.
constexpr Range kExtend[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05BF}, {0x05C1, 0x05C2},
    {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A}, {0x064B, 0x065F}, {0x0670, 0x0670},
    {0x06D6, 0x06DC}, {0x06DF, 0x06E4}, {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0900, 0x0903},
    {0x093A, 0x093C}, {0x093E, 0x094F}, {0x0951, 0x0957}, {0x0962, 0x0963}, {0x0981, 0x0983},
    {0x09BC, 0x09BC}, {0x09BE, 0x09CD}, {0x09D7, 0x09D7}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A},
    {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200C, 0x200C}, {0x20D0, 0x20FF},
    {0x3099, 0x309A}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0x1F3FB, 0x1F3FF}, {0xE0020, 0xE007F},
    {0xE0100, 0xE01EF}};

constexpr char32_t kZwj = 0x200D;
bool regional_indicator(char32_t cp) { return cp >= 0x1F1E6 && cp <= 0x1F1FF; }

Class class_of(char32_t cp) {
    if (in(kSpace, cp)) return Class::space;
    if (in(kPunct, cp)) return Class::punct;
    if (in(kSingle, cp) || in(kEmoji, cp) || regional_indicator(cp)) return Class::single;
    return Class::word;
}

struct Cluster {
    std::size_t begin, end;  // byte range in the text
    Class cls;
};

bool name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Length in bytes of a bracketed special token starting at text[i] ([PAD], <s>, </s>,
// <|endoftext|>), or 0.
std::size_t special_length(std::string_view text, std::size_t i) {
    const char open = text[i];
    if (open != '[' && open != '<') return 0;
    std::size_t k = i + 1;
    std::string_view close = open == '[' ? "]" : ">";
    if (open == '<' && k < text.size() && text[k] == '/') ++k;
    else if (open == '<' && k < text.size() && text[k] == '|') { ++k; close = "|>"; }
    const std::size_t name_begin = k;
    while (k < text.size() && name_char(text[k]) && k - name_begin < 33) ++k;
    const std::size_t name_len = k - name_begin;
    if (name_len < 1 || name_len > 32) return 0;
    if (text.substr(k, close.size()) != close) return 0;
    return k + close.size() - i;
}

// Cuts text (valid UTF-8) into clusters; bracketed special tokens become one `word` cluster
// flagged by `special`.
struct Clusters {
    std::vector<Cluster> items;
    std::vector<bool> special;
};

Expected<Clusters> cluster(std::string_view text) {
    Clusters out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (const std::size_t n = special_length(text, i)) {
            out.items.push_back({i, i + n, Class::word});
            out.special.push_back(true);
            i += n;
            continue;
        }
        const std::size_t begin = i;
        char32_t base;
        if (!utf8::decode(text, i, base))
            return fail("text: expected valid UTF-8, found an ill-formed byte sequence at byte " + std::to_string(begin));
        int regional = regional_indicator(base) ? 1 : 0;
        const Class cls = class_of(base);
        // absorb what attaches to the base; whitespace never grows a cluster
        while (cls != Class::space && i < text.size()) {
            std::size_t next = i;
            char32_t cp;
            if (!utf8::decode(text, next, cp))
                return fail("text: expected valid UTF-8, found an ill-formed byte sequence at byte " + std::to_string(i));
            if (in(kExtend, cp)) {
                i = next;
            } else if (cp == kZwj) {
                i = next;  // ZWJ glues the following non-space code point (👩‍👩‍👧)
                std::size_t after = i;
                char32_t joined;
                if (after < text.size()) {
                    if (!utf8::decode(text, after, joined))
                        return fail("text: expected valid UTF-8, found an ill-formed byte sequence at byte " + std::to_string(i));
                    if (class_of(joined) != Class::space) i = after;
                }
            } else if (regional == 1 && regional_indicator(cp)) {
                i = next;  // the second half of a flag
                regional = 2;
            } else {
                break;
            }
        }
        out.items.push_back({begin, i, cls});
        out.special.push_back(false);
    }
    return out;
}

}  // namespace

Expected<std::vector<std::string>> tokenize(std::string_view text, Tokenizer mode) {
    try {
        Expected<Clusters> clusters = cluster(text);
        if (!clusters) return fail(clusters.error());
        const Clusters& c = clusters.value();
        std::vector<std::string> tokens;
        std::string word;  // the word being built (words mode)
        const auto flush = [&] {
            if (!word.empty()) tokens.push_back(std::move(word));
            word.clear();
        };
        for (std::size_t k = 0; k < c.items.size(); ++k) {
            const Cluster& cl = c.items[k];
            const std::string_view bytes = text.substr(cl.begin, cl.end - cl.begin);
            if (cl.cls == Class::space) {
                flush();
            } else if (mode == Tokenizer::chars || c.special[k] || cl.cls != Class::word) {
                flush();
                tokens.emplace_back(bytes);
            } else {
                word += bytes;
            }
        }
        flush();
        return tokens;
    } catch (const std::exception& e) {  // only std::bad_alloc can get here
        return fail(std::string("text: could not be tokenized: ") + e.what());
    }
}

}  // namespace attnviz
