// What a person can type, paste or link, one class at a time: each either gives a trace or a
// one-line message "<field>: <expected>" naming the limit, never a crash or a NaN.
// (Classes already covered elsewhere: whitespace-only text, 4097 tokens, heads not dividing
// d_model, negative and 4097 windows, temperature 0 and negative, NaN/+inf embeddings from C++,
// 1e39 embeddings, truncated/64 MiB/70-deep/duplicate-key JSON and 1e400 in test_config.cpp;
// emoji ZWJ, CJK and invalid UTF-8 in test_tokenizer.cpp; rows with no allowed key and logits
// near ±1e30 at temperature 1e-30 in test_properties.cpp.)
#include <cmath>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "helpers.hpp"

namespace {

std::string parse_error(const std::string& json) {
    const attnviz::Expected<attnviz::Config> c = attnviz::parse_config(json);
    INFO(json.substr(0, 200));
    REQUIRE_FALSE(c.ok());
    return c.error();
}

std::string run_error(const attnviz::Config& config) {
    const attnviz::Expected<attnviz::Trace> t = attnviz::run(config);
    REQUIRE_FALSE(t.ok());
    return t.error();
}

// A message a person reads: one line, valid UTF-8 (nlohmann would refuse to dump it otherwise,
// and the app puts messages in its getState() JSON), short.
void check_readable(const std::string& message) {
    INFO(message);
    CHECK(message.find('\n') == std::string::npos);
    CHECK(message.size() <= 600);
    CHECK_NOTHROW(nlohmann::json(message).dump());
    for (unsigned char c : message) CHECK(c >= 0x20);
}

std::string repeat(const std::string& s, int n) {
    std::string out;
    for (int k = 0; k < n; ++k) out += s;
    return out;
}

attnviz::Config two_tokens() {
    attnviz::Config c;
    c.tokens = std::vector<std::string>{"a", "b"};
    return c;
}

}  // namespace

TEST_CASE("input: empty text and a single token", "[inputs]") {
    CHECK(parse_error(R"({"text":""})") == "text: expected at least one token");
    CHECK(parse_error(R"({"tokens":[],"text":null})") == "tokens: expected at least one token");
    const attnviz::Trace one = test::must_run(R"({"text":"hello","mask":"causal"})");
    REQUIRE(one.T == 1);
    for (const attnviz::HeadTrace& h : one.heads) CHECK(h.weights(0, 0) == 1.0f);
}

TEST_CASE("input: 100 000 characters", "[inputs][limits]") {
    // as words: the limit message names the maximum of 4096 tokens
    CHECK(parse_error(R"({"text":")" + repeat("ab ", 33334) + "\"}") == "text: expected at most 4096 tokens, got 33334");
    CHECK(parse_error(R"({"text":")" + repeat("注", 100000) + "\"}") == "text: expected at most 4096 tokens, got 100000");
    CHECK(parse_error(R"({"text":"a","tokenizer":"chars","source_text":")" + repeat("x", 100000) + "\"}") ==
          "source_text: expected at most 4096 tokens, got 100000");
    // one 100 000-character word is one token, and runs
    const attnviz::Trace t = test::must_run(R"({"text":")" + repeat("a", 100000) + R"( b"})");
    CHECK(t.T == 2);
    CHECK(t.tokens[0].size() == 100000);
}

TEST_CASE("input: control characters", "[inputs]") {
    // C0 controls other than whitespace belong to words; the trace's JSON escapes them
    const attnviz::Trace t = test::must_run("{\"text\":\"a\\u0001b c\\u007f \\u001b[31mred\"}");
    CHECK(t.tokens == std::vector<std::string>{"a\x01" "b", "c\x7f", "\x1b", "[", "31mred"});
    const nlohmann::json parsed = nlohmann::json::parse(attnviz::trace_to_json(t));
    CHECK(parsed["tokens"][0] == "a\x01" "b");
    // NUL inside a token
    const attnviz::Trace nul = test::must_run(R"({"tokens":["a\u0000b","c"]})");
    CHECK(nul.tokens[0] == std::string("a\0b", 3));
}

TEST_CASE("input: right-to-left text", "[inputs][tokenizer]") {
    using Tokens = std::vector<std::string>;
    CHECK(attnviz::tokenize("مرحبا بالعالم، كيف حالك؟").value() == Tokens{"مرحبا", "بالعالم", "،", "كيف", "حالك", "؟"});
    CHECK(attnviz::tokenize("שָׁלוֹם עוֹלָם").value() == Tokens{"שָׁלוֹם", "עוֹלָם"});  // points stay on their letters
    CHECK(attnviz::tokenize("\u200fabc\u200e").value() == Tokens{"\u200fabc\u200e"});  // direction marks are format characters
    const attnviz::Trace t = test::must_run(R"({"text":"مرحبا بالعالم","source_text":"שלום עולם !","mask":"none"})");
    CHECK(t.T == 2);
    CHECK(t.S == 3);
    for (float v : t.output) CHECK(std::isfinite(v));
}

TEST_CASE("input: emoji ZWJ sequences and CJK run through the engine", "[inputs]") {
    const attnviz::Trace t = test::must_run(R"({"text":"👩‍👩‍👧 注意力 🇯🇵!","mask":"causal"})");
    CHECK(t.tokens == std::vector<std::string>{"👩‍👩‍👧", "注", "意", "力", "🇯🇵", "!"});
}

TEST_CASE("input: window 0, the largest window, and globals out of range", "[inputs][limits]") {
    const attnviz::Trace zero = test::must_run(R"({"text":"a b c","pattern":{"kind":"local","window":0}})");
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) CHECK(zero.heads[0].mask(i, j) == (i == j));
    const attnviz::Trace huge = test::must_run(R"({"text":"a b c","pattern":{"kind":"local","window":4096}})");
    for (bool allowed : huge.heads[0].mask) CHECK(allowed);
    // from C++ (the app's controls), every pattern field is checked whatever the kind
    attnviz::Config c = two_tokens();
    c.pattern.global = {0, -1};
    CHECK(run_error(c) == "pattern.global[1]: expected an integer from 0 to 4095, got -1");
    c = two_tokens();
    c.pattern.random = 5000;
    CHECK(run_error(c) == "pattern.random: expected an integer from 0 to 4096, got 5000");
    c = two_tokens();
    c.pattern.stride = 0;
    CHECK(run_error(c) == "pattern.stride: expected an integer from 1 to 4096, got 0");
    c = two_tokens();
    c.linformer_k = -1;
    CHECK(run_error(c) == "linformer_k: expected an integer from 0 to 4096, got -1");
}

TEST_CASE("input: extreme temperatures and scales never reach the softmax as inf", "[inputs][softmax]") {
    // 1e-30 runs (test_properties checks finiteness); past double's range it is an error
    CHECK(test::must_run(R"({"text":"a b c","temperature":1e-30,"mask":"causal"})").heads[0].weights(2, 0) >= 0.0f);
    const std::string overflow = R"({"text":"a b c","scale":1e300,"temperature":1e-300})";
    CHECK(attnviz::parse_config(overflow).ok());  // every field is in range on its own
    const attnviz::Expected<std::string> j = attnviz::compute_json(overflow);
    REQUIRE_FALSE(j.ok());
    CHECK(j.error() == "scaled: overflowed float64 (|scores·scale/temperature| > 1.8e308); expected a smaller scale or a larger temperature");
    attnviz::Config tiny = two_tokens();
    tiny.temperature = std::numeric_limits<double>::denorm_min();
    CHECK_THAT(run_error(tiny), Catch::StartsWith("scaled: overflowed float64"));
    tiny.temperature = std::numeric_limits<double>::quiet_NaN();
    CHECK(run_error(tiny) == "temperature: expected a finite number > 0, got NaN");
    attnviz::Config scale = two_tokens();
    scale.scale = attnviz::Scale{attnviz::ScaleKind::number, -std::numeric_limits<double>::infinity()};
    CHECK(run_error(scale) == "scale: expected a finite number > 0, got -infinity");
}

TEST_CASE("input: NaN and infinities in explicit weights", "[inputs]") {
    attnviz::Config c = two_tokens();
    c.weights.Wq = attnviz::Matrix::from_shape({16, 16});
    c.weights.Wq->fill(0.0f);
    (*c.weights.Wq)(2, 5) = -std::numeric_limits<float>::infinity();
    CHECK(run_error(c) == "weights.Wq[2][5]: expected a finite number, got infinity");
    (*c.weights.Wq)(2, 5) = std::numeric_limits<float>::quiet_NaN();
    CHECK(run_error(c) == "weights.Wq[2][5]: expected a finite number, got NaN");
    c = two_tokens();
    c.linformer_k = 1;
    c.weights.E = attnviz::Matrix{{1.0f, std::numeric_limits<float>::infinity()}};
    CHECK(run_error(c) == "weights.E[0][1]: expected a finite number, got infinity");
    // JSON has no NaN or infinity: the nearest is a number past float32's range
    CHECK(parse_error(R"({"tokens":["a"],"d_model":1,"heads":1,"weights":{"Wo":[[-1e39]]}})") ==
          "weights.Wo[0][0]: expected a finite number within float32 range (|x| < 3.4e38), got -1e+39");
    CHECK_THAT(parse_error(R"({"text":"a","temperature":NaN})"), Catch::StartsWith("json: expected valid JSON ("));
    CHECK_THAT(parse_error(R"({"text":"a","temperature":Infinity})"), Catch::StartsWith("json: expected valid JSON ("));
    // finite inputs whose products overflow: named by the stage
    c = two_tokens();
    c.d_model = 2;
    c.heads = 1;
    c.positional = attnviz::Positional::none;
    c.linformer_k = 2;
    c.embeddings = attnviz::Matrix{{1, 1}, {1, 1}};
    c.weights.F = attnviz::Matrix{{3e38f, 3e38f}, {1, 1}};
    CHECK(run_error(c) == "V_projected: overflowed float32 (|value| > 3.4e38); expected embeddings and weights small enough");
}

TEST_CASE("input: hostile JSON gives one readable line", "[inputs][errors]") {
    CHECK_THAT(parse_error(""), Catch::StartsWith("json: expected valid JSON (parse error at line 1, column 1: syntax error while parsing value - unexpected end of input"));
    CHECK(parse_error(repeat(R"({"a":)", 100) + "1" + repeat("}", 100)) == "json: expected at most 64 levels of nesting");
    CHECK(parse_error(R"({"text":"a","d_model":99999999999999999999999})") ==
          "d_model: expected an integer from 1 to 2048, got 9.999999999999999e+22");
    CHECK(parse_error(R"({"text":"a","heads":-9223372036854775809})") == "heads: expected an integer from 1 to 64, got -9.223372036854776e+18");
    // keys and values are quoted: control characters escaped, invalid bytes as \xff, long ones cut
    CHECK(parse_error(R"({"text":"a","wei\nghts":1})").substr(0, 22) == R"(wei\nghts: unknown key)");
    CHECK(parse_error(R"({"text":"a","":1})").substr(0, 16) == R"("": unknown key;)");
    CHECK(parse_error(R"({"text":"a","pattern":{"kind":"local","x":1,"x":2}})") == "pattern.x: duplicate key; expected each key once");
    const std::string long_key = parse_error(R"({"text":"a",")" + repeat("é", 5000) + R"(":1})");
    CHECK(long_key.substr(0, long_key.find(':')) == repeat("é", 48) + "…");
    const std::string long_value = parse_error(R"({"text":"a","mask":")" + repeat("x", 5000) + R"("})");
    CHECK(long_value == R"(mask: expected one of "none", "causal", "padding", got the string ")" + repeat("x", 47) + "…");
    for (const std::string& json : {std::string("{\"text\":\"a\xff\"}"), std::string("{\"te\xc3(xt\":1}"),
                                    "{\"text\":\"" + repeat("a", 5000) + "\xfe\"}", std::string("{\"text\":\"a\nb\"}"),
                                    std::string(R"({"text":"a","mask":"\u0000\n\u2028"})"), long_key, long_value}) {
        const attnviz::Expected<std::string> j = attnviz::compute_json(json);
        REQUIRE_FALSE(j.ok());
        check_readable(j.error());
    }
    CHECK_THAT(parse_error("{\"text\":\"a\xff\"}"), Catch::EndsWith("last read: '\"a\\xff')"));
}
