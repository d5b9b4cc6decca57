// Every invalid config is an error value whose message names the field and what was expected.
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "attnviz/core.hpp"

namespace {

std::string error_of(const std::string& json) {
    const attnviz::Expected<attnviz::Config> c = attnviz::parse_config(json);
    INFO(json);
    REQUIRE_FALSE(c.ok());
    // compute_json (the CLI and the web binding) reports the same message
    const attnviz::Expected<std::string> j = attnviz::compute_json(json);
    REQUIRE_FALSE(j.ok());
    CHECK(j.error() == c.error());
    return c.error();
}

std::string run_error(const attnviz::Config& config) {
    const attnviz::Expected<attnviz::Trace> t = attnviz::run(config);
    REQUIRE_FALSE(t.ok());
    return t.error();
}

std::string repeat(const std::string& s, int n) {
    std::string out;
    for (int k = 0; k < n; ++k) out += s;
    return out;
}

}  // namespace

TEST_CASE("config errors: JSON syntax, size, nesting, duplicates", "[config][errors]") {
    CHECK_THAT(error_of(R"({"text":)"), Catch::StartsWith("json: expected valid JSON (parse error at line 1, column 9"));
    CHECK_THAT(error_of("{\"text\":\"a\xff\"}"), Catch::StartsWith("json: expected valid JSON (") &&
                                                    Catch::Contains("UTF-8"));
    CHECK(error_of(R"([1,2])") == "config: expected a JSON object, got an array");
    CHECK(error_of(R"({"text":"a","text":"b"})") == "text: duplicate key; expected each key once");
    CHECK(error_of(R"({"text":"a","pattern":{"kind":"local","kind":"full"}})") ==
          "pattern.kind: duplicate key; expected each key once");
    CHECK(error_of(R"({"text":"a","tokens":)" + repeat("[", 70) + repeat("]", 70) + "}") ==
          "json: expected at most 64 levels of nesting");
    const std::string huge = R"({"text":")" + std::string(64u * 1024 * 1024, 'a') + "\"}";
    CHECK(error_of(huge) == "json: expected at most 64 MiB of config, got " + std::to_string(huge.size()) + " bytes");
}

TEST_CASE("config errors: unknown keys and wrong types", "[config][errors]") {
    CHECK(error_of(R"({"text":"a","colour":1})") ==
          "colour: unknown key; expected one of text, tokens, source_text, source_tokens, tokenizer, d_model, heads, "
          "seed, embeddings, source_embeddings, weights, positional, mask, pad_token, pattern, linformer_k, scale, "
          "temperature, variant, kernels");
    CHECK(error_of(R"({"text":"a","pattern":{"size":3}})") ==
          "pattern.size: unknown key; expected one of kind, window, global, random, stride");
    CHECK(error_of(R"({"text":"a","weights":{"W_q":[[1]]}})") ==
          "weights.W_q: unknown key; expected one of Wq, Wk, Wv, Wo, bq, bk, bv, bo, E, F, P");
    CHECK(error_of(R"({"text":1})") == "text: expected a string, got 1");
    CHECK(error_of(R"({"tokens":["a",2]})") == "tokens[1]: expected a string, got 2");
    CHECK(error_of(R"({"text":"a","d_model":"16"})") == R"(d_model: expected an integer from 1 to 2048, got the string "16")");
    CHECK(error_of(R"({"text":"a","d_model":16.5})") == "d_model: expected an integer from 1 to 2048, got 16.5");
    CHECK(error_of(R"({"text":"a","positional":"absolute"})") ==
          R"(positional: expected one of "none", "sinusoidal", "learned", "rope", "alibi", got the string "absolute")");
    CHECK(error_of(R"({"text":"a","mask":true})") == R"(mask: expected one of "none", "causal", "padding", got true)");
    CHECK(error_of(R"({"text":"a","pattern":{"kind":"dilated"}})") ==
          R"(pattern.kind: expected one of "full", "local", "sliding_global", "bigbird", "strided", got the string "dilated")");
    CHECK(error_of(R"({"text":"a","variant":"paper"})") ==
          R"(variant: expected one of "standard", "seed_module", got the string "paper")");
    CHECK(error_of(R"({"text":"a","kernels":"gpu"})") == R"(kernels: expected one of "simd", "scalar", got the string "gpu")");
    CHECK(error_of(R"({"text":"a","tokenizer":"bpe"})") == R"(tokenizer: expected one of "words", "chars", got the string "bpe")");
    CHECK(error_of(R"({"text":"a","scale":"sqrt"})") ==
          R"(scale: expected "inv_sqrt_dk", "inv_sqrt_dmodel" or a finite number > 0, got the string "sqrt")");
    CHECK(error_of(R"({"text":"a","scale":-2})") == "scale: expected a finite number > 0, got -2");
    CHECK(error_of(R"({"text":"a","pattern":[1]})") ==
          "pattern: expected an object {kind, window, global, random, stride}, got an array");
    CHECK(error_of(R"({"text":"a","weights":{"Wq":[1,2]}})") ==
          "weights.Wq: expected a matrix (a non-empty array of rows, each an array of numbers), got an array");
    CHECK(error_of(R"({"text":"a","pad_token":null})") == "pad_token: expected a string, got null");
}

TEST_CASE("config errors: text and tokens", "[config][errors]") {
    CHECK(error_of(R"({"d_model":8})") == R"(text: expected a string (or "tokens": an array of strings))");
    CHECK(error_of(R"({"text":"a","tokens":["a"]})") == "tokens: expected either text or tokens, not both");
    CHECK(error_of(R"({"text":"a","source_text":"b","source_tokens":["b"]})") ==
          "source_tokens: expected either source_text or source_tokens, not both");
    CHECK(error_of(R"({"text":"   "})") == "text: expected at least one token");
    CHECK(error_of(R"({"tokens":[]})") == "tokens: expected at least one token");
    CHECK(error_of(R"({"text":"a","source_text":""})") == "source_text: expected at least one token");
    CHECK(error_of(R"({"text":")" + repeat("x ", 4097) + "\"}") == "text: expected at most 4096 tokens, got 4097");
}

TEST_CASE("config errors: sizes and limits", "[config][errors]") {
    CHECK(error_of(R"({"text":"a","heads":3})") == "heads: expected a divisor of d_model (16), got 3");
    CHECK(error_of(R"({"text":"a","d_model":0})") == "d_model: expected an integer from 1 to 2048, got 0");
    CHECK(error_of(R"({"text":"a","d_model":4096})") == "d_model: expected an integer from 1 to 2048, got 4096");
    CHECK(error_of(R"({"text":"a","heads":65})") == "heads: expected an integer from 1 to 64, got 65");
    CHECK(error_of(R"({"text":"a","seed":-1})") == "seed: expected an integer from 0 to 9007199254740991, got -1");
    CHECK(error_of(R"({"text":"a","seed":18446744073709551615})") ==
          "seed: expected an integer from 0 to 9007199254740991, got 18446744073709551615");
    CHECK(error_of(R"({"text":"a","pattern":{"window":-1}})") == "pattern.window: expected an integer from 0 to 4096, got -1");
    CHECK(error_of(R"({"text":"a","pattern":{"window":4097}})") == "pattern.window: expected an integer from 0 to 4096, got 4097");
    CHECK(error_of(R"({"text":"a","pattern":{"stride":0}})") == "pattern.stride: expected an integer from 1 to 4096, got 0");
    CHECK(error_of(R"({"text":"a b","pattern":{"kind":"bigbird","random":3}})") ==
          "pattern.random: expected at most the number of keys (2), got 3");
    CHECK(error_of(R"({"text":"a b","pattern":{"kind":"sliding_global","global":[2]}})") ==
          "pattern.global[0]: expected a token index from 0 to 1, got 2");
    CHECK(error_of(R"({"text":"a b","linformer_k":3})") == "linformer_k: expected at most the number of keys (2), got 3");
    CHECK(error_of(R"({"text":"a b","linformer_k":1,"mask":"causal"})") ==
          R"(mask: expected "none" with linformer_k > 0 (projected keys have no token to mask))");
    CHECK(error_of(R"({"text":"a b","linformer_k":1,"pattern":{"kind":"local"}})") ==
          R"(pattern.kind: expected "full" with linformer_k > 0 (projected keys have no position))");
    CHECK(error_of(R"({"text":"a b","linformer_k":1,"positional":"alibi"})") ==
          R"(positional: expected no "alibi" with linformer_k > 0 (projected keys have no distance to the query))");
    CHECK(error_of(R"({"text":"a","d_model":6,"heads":2,"positional":"rope"})") ==
          R"(positional: expected an even head_dim (d_model/heads) for "rope", got 3)");
    CHECK(error_of(R"({"text":"a","variant":"seed_module","positional":"alibi"})") ==
          R"(positional: expected "none", "sinusoidal" or "learned" with variant "seed_module" (the printed module has no RoPE or ALiBi))");
    CHECK(error_of(R"({"text":"a b","variant":"seed_module","linformer_k":1})") ==
          R"(linformer_k: expected 0 with variant "seed_module" (the printed module has no Linformer))");
    // memory: refused by run() (and compute_json) for the heads kept, not by parse_config
    const std::string huge = R"({"text":")" + repeat("x ", 4096) + R"(","d_model":2048,"heads":64})";
    const attnviz::Expected<attnviz::Config> parsed = attnviz::parse_config(huge);
    REQUIRE(parsed.ok());
    const std::string too_big = "config: expected a trace of at most 1.5 GiB, this one needs about 17793 MiB (fewer tokens, heads or d_model)";
    CHECK(run_error(parsed.value()) == too_big);
    CHECK(attnviz::compute_json(huge).error() == too_big);
    CHECK(attnviz::trace_bytes(parsed.value()).value() / (1024 * 1024) > 17793);
    CHECK(attnviz::trace_bytes(parsed.value(), 3).value() < 1024.0 * 1024 * 1024);
    CHECK(attnviz::RunJob::start(parsed.value(), attnviz::RunJob::default_work_per_step, 64).error() ==
          "keep_head: expected -1 (every head) or a head from 0 to 63, got 64");
}

TEST_CASE("config errors: temperature", "[config][errors]") {
    CHECK(error_of(R"({"text":"a","temperature":0})") == "temperature: expected a finite number > 0, got 0");
    CHECK(error_of(R"({"text":"a","temperature":-0.5})") == "temperature: expected a finite number > 0, got -0.5");
    CHECK(error_of(R"({"text":"a","temperature":"hot"})") == R"(temperature: expected a finite number > 0, got the string "hot")");
    CHECK(error_of(R"({"text":"a","temperature":1e400})") == "json: expected valid JSON (number overflow parsing '1e400')");
}

TEST_CASE("config errors: explicit matrices", "[config][errors]") {
    const std::string two = R"({"tokens":["a","b"],"d_model":2,"heads":1,)";
    CHECK(error_of(two + R"("embeddings":[[1,2]]})") == "embeddings: expected a 2x2 matrix (tokens x d_model), got 1x2");
    CHECK(error_of(two + R"("embeddings":[[1,2],[3,4,5]]})") == "embeddings[1]: expected a row of 2 numbers like row 0, got 3 numbers");
    CHECK(error_of(two + R"("embeddings":[[1,2],[3,"x"]]})") == R"(embeddings[1][1]: expected a finite number, got the string "x")");
    CHECK(error_of(two + R"("embeddings":[[1,2],[3,1e39]]})") ==
          "embeddings[1][1]: expected a finite number within float32 range (|x| < 3.4e38), got 1e+39");
    CHECK(error_of(two + R"("weights":{"Wq":[[1,0,0],[0,1,0]]}})") ==
          "weights.Wq: expected a 2x2 matrix (d_model x d_model), got 2x3");
    CHECK(error_of(two + R"("weights":{"bo":[1,2,3]}})") == "weights.bo: expected 2 numbers (d_model), got 3");
    CHECK(error_of(two + R"("weights":{"E":[[1,2]]}})") == "weights.E: expected only with linformer_k > 0");
    CHECK(error_of(two + R"("linformer_k":1,"weights":{"F":[[1,2,3]]}})") ==
          "weights.F: expected a 1x2 matrix (linformer_k x keys), got 1x3");
    CHECK(error_of(two + R"("weights":{"P":[[1,2],[3,4]]}})") == R"(weights.P: expected only with positional "learned")");
    CHECK(error_of(two + R"("positional":"learned","weights":{"P":[[1,2]]}})") ==
          "weights.P: expected a 2x2 matrix (max(tokens, source tokens) x d_model), got 1x2");
    CHECK(error_of(two + R"("source_embeddings":[[1,2]]})") ==
          "source_embeddings: expected only with source_text or source_tokens (cross-attention)");
    CHECK(error_of(two + R"("source_tokens":["x"],"source_embeddings":[[1,2],[3,4]]})") ==
          "source_embeddings: expected a 1x2 matrix (source tokens x d_model), got 2x2");
}

TEST_CASE("run() validates a Config built in C++ the same way", "[config][errors]") {
    attnviz::Config c;
    c.tokens = std::vector<std::string>{"a", "b"};
    REQUIRE(attnviz::run(c).ok());

    attnviz::Config nan = c;
    nan.embeddings = attnviz::Matrix::from_shape({2, 16});
    nan.embeddings->fill(0.5f);
    (*nan.embeddings)(1, 3) = std::numeric_limits<float>::quiet_NaN();
    CHECK(run_error(nan) == "embeddings[1][3]: expected a finite number, got NaN");

    attnviz::Config inf = c;
    inf.weights.bk = attnviz::Vector::from_shape({16});
    inf.weights.bk->fill(0.0f);
    (*inf.weights.bk)(7) = std::numeric_limits<float>::infinity();
    CHECK(run_error(inf) == "weights.bk[7]: expected a finite number, got infinity");

    attnviz::Config bad_utf8 = c;
    bad_utf8.tokens = std::vector<std::string>{"ok", "\xc3("};
    CHECK(run_error(bad_utf8) == "tokens[1]: expected valid UTF-8, found an ill-formed byte sequence at byte 0");

    attnviz::Config bad_text = c;
    bad_text.tokens.reset();
    bad_text.text = "fine \xe2\x82";
    CHECK(run_error(bad_text) == "text: expected valid UTF-8, found an ill-formed byte sequence at byte 5");

    attnviz::Config cold = c;
    cold.temperature = 0;
    CHECK(run_error(cold) == "temperature: expected a finite number > 0, got 0.0");
    cold.temperature = std::numeric_limits<double>::infinity();
    CHECK(run_error(cold) == "temperature: expected a finite number > 0, got infinity");

    attnviz::Config heads = c;
    heads.heads = 0;
    CHECK(run_error(heads) == "heads: expected an integer from 1 to 64, got 0");

    attnviz::Config window = c;
    window.pattern.window = -3;
    CHECK(run_error(window) == "pattern.window: expected an integer from 0 to 4096, got -3");

    attnviz::Config overflow = c;
    overflow.d_model = 2;
    overflow.heads = 1;
    overflow.positional = attnviz::Positional::none;
    overflow.embeddings = attnviz::Matrix{{3e38f, 3e38f}, {1, 1}};
    overflow.weights.Wq = attnviz::Matrix{{10, 0}, {0, 10}};
    CHECK(run_error(overflow) == "Q: overflowed float32 (|value| > 3.4e38); expected embeddings and weights small enough");
}
