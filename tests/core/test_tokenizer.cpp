// The tokenizer: words and chars modes across scripts, emoji clusters, invalid UTF-8.
#include <catch2/catch.hpp>

#include "attnviz/core.hpp"

namespace {

using Tokens = std::vector<std::string>;

Tokens words(const std::string& text) {
    const attnviz::Expected<Tokens> t = attnviz::tokenize(text, attnviz::Tokenizer::words);
    INFO(text);
    REQUIRE(t.ok());
    return t.value();
}

Tokens chars(const std::string& text) {
    const attnviz::Expected<Tokens> t = attnviz::tokenize(text, attnviz::Tokenizer::chars);
    REQUIRE(t.ok());
    return t.value();
}

}  // namespace

TEST_CASE("tokenizer: English words and punctuation", "[tokenizer]") {
    CHECK(words("The cat sat.") == Tokens{"The", "cat", "sat", "."});
    CHECK(words("Hello, world! (twice)") == Tokens{"Hello", ",", "world", "!", "(", "twice", ")"});
    CHECK(words("GPT4 costs $20...") == Tokens{"GPT4", "costs", "$", "20", ".", ".", "."});
    CHECK(words("  tabs\tand\nnewlines\u00a0nbsp ") == Tokens{"tabs", "and", "newlines", "nbsp"});
    CHECK(words("em\u2014dash \u201cquoted\u201d") == Tokens{"em", "\u2014", "dash", "\u201c", "quoted", "\u201d"});
}

TEST_CASE("tokenizer: Chinese, Japanese and Korean split per character", "[tokenizer]") {
    CHECK(words("注意力机制是一种加权机制") ==
          Tokens{"注", "意", "力", "机", "制", "是", "一", "种", "加", "权", "机", "制"});
    CHECK(words("注意力，机制。《Transformer》！") ==
          Tokens{"注", "意", "力", "，", "机", "制", "。", "《", "Transformer", "》", "！"});
    CHECK(words("“引号”、顿号：冒号；") == Tokens{"“", "引", "号", "”", "、", "顿", "号", "：", "冒", "号", "；"});
    CHECK(words("私はカタカナとひらがな") == Tokens{"私", "は", "カ", "タ", "カ", "ナ", "と", "ひ", "ら", "が", "な"});
    CHECK(words("안녕하세요 세계") == Tokens{"안", "녕", "하", "세", "요", "세", "계"});
    CHECK(words("BERT模型") == Tokens{"BERT", "模", "型"});
    CHECK(words("\u3000全角\u3000空格") == Tokens{"全", "角", "空", "格"});  // ideographic space
    CHECK(words("か\u3099") == Tokens{"か\u3099"});  // combining voiced mark stays on its kana
}

TEST_CASE("tokenizer: emoji clusters stay whole", "[tokenizer]") {
    CHECK(words("👩‍👩‍👧") == Tokens{"👩‍👩‍👧"});
    CHECK(words("family👩‍👩‍👧here") == Tokens{"family", "👩‍👩‍👧", "here"});
    CHECK(words("👍🏽 ok") == Tokens{"👍🏽", "ok"});              // skin-tone modifier
    CHECK(words("❤️❤️") == Tokens{"❤️", "❤️"});                  // variation selector
    CHECK(words("🇯🇵🇫🇷🇨") == Tokens{"🇯🇵", "🇫🇷", "🇨"});          // regional-indicator pairs
    CHECK(words("🏳️‍🌈!") == Tokens{"🏳️‍🌈", "!"});
    CHECK(chars("a👩‍👩‍👧b") == Tokens{"a", "👩‍👩‍👧", "b"});
}

TEST_CASE("tokenizer: combining marks stay attached", "[tokenizer]") {
    CHECK(words("cafe\u0301 ok") == Tokens{"cafe\u0301", "ok"});
    CHECK(chars("e\u0301a") == Tokens{"e\u0301", "a"});
    CHECK(chars("\u0301x") == Tokens{"\u0301", "x"});  // a leading mark is its own cluster
}

TEST_CASE("tokenizer: bracketed special tokens stay whole", "[tokenizer]") {
    CHECK(words("[CLS] hello [SEP] [PAD][PAD]") == Tokens{"[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]"});
    CHECK(words("<s>hi</s> <|endoftext|>") == Tokens{"<s>", "hi", "</s>", "<|endoftext|>"});
    CHECK(words("[not special] a<b") == Tokens{"[", "not", "special", "]", "a", "<", "b"});
    CHECK(chars("ab[MASK]") == Tokens{"a", "b", "[MASK]"});
}

TEST_CASE("tokenizer: empty and whitespace-only text give no tokens", "[tokenizer]") {
    CHECK(words("").empty());
    CHECK(words(" \t\n\u3000\u2003").empty());
    CHECK(chars("   ").empty());
}

TEST_CASE("tokenizer: chars mode, one token per cluster, whitespace dropped", "[tokenizer]") {
    CHECK(chars("a b,c") == Tokens{"a", "b", ",", "c"});
    CHECK(chars("注意 力") == Tokens{"注", "意", "力"});
    CHECK(chars("héllo") == Tokens{"h", "é", "l", "l", "o"});
}

TEST_CASE("tokenizer: invalid UTF-8 is an error naming the byte", "[tokenizer]") {
    const struct {
        std::string text;
        std::size_t at;
    } cases[] = {{"ab\xff", 2},           {"\xc3", 0},           {"a\xc0\xaf", 1} /* overlong */,
                 {"\xed\xa0\x80", 0} /* surrogate */, {"\xf4\x90\x80\x80", 0} /* > U+10FFFF */,
                 {"e\xcc", 1} /* truncated mark */};
    for (const auto& c : cases) {
        INFO(c.at);
        const attnviz::Expected<Tokens> t = attnviz::tokenize(c.text);
        REQUIRE_FALSE(t.ok());
        CHECK(t.error() == "text: expected valid UTF-8, found an ill-formed byte sequence at byte " + std::to_string(c.at));
    }
}
