// fuzz_model_file.cpp — load_model on any bytes: the safetensors header and data, the config and
// vocabulary metadata, and a vocab.json beside the file.
//
// Input: the file's bytes, optionally followed by "\n--vocab.json--\n" and the vocab.json text.
// load_model gets a 1 MiB budget, so no header can make an iteration allocate much.
// Checks: no crash, hang or exception; an error is one readable line "<field>: <expected>". A
// model that loads is consistent (config within the limits, parameter_count floats, all finite,
// V tokens, specials among them, none of the entries save_model writes itself left in
// metadata) and survives save_model -> load_model bit for bit, save_model's bytes then
// reproducing themselves.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "attnviz/model.hpp"
#include "fuzz_check.hpp"

namespace {

constexpr std::string_view kSeparator = "\n--vocab.json--\n";
constexpr std::size_t kMaxBytes = 1u << 20;

void check_consistent(const attnviz::Model& m) {
    const attnviz::ModelConfig& c = m.config;
    FUZZ_CHECK(attnviz::check_model_config(c).empty(), attnviz::check_model_config(c));
    FUZZ_CHECK(m.params.size() == attnviz::parameter_count(c), "params hold " + std::to_string(m.params.size()) + " floats");
    FUZZ_CHECK(m.params.size() * sizeof(float) <= kMaxBytes, "a model past max_bytes loaded");
    for (float x : m.params) FUZZ_CHECK(std::isfinite(x), "a non-finite parameter loaded");
    FUZZ_CHECK(m.vocab.tokens.size() == static_cast<std::size_t>(c.vocab_size), "vocabulary size differs from vocab_size");
    for (const std::string& t : m.vocab.tokens) FUZZ_CHECK(!t.empty() && fuzz::valid_utf8(t), "a token is empty or not UTF-8");
    FUZZ_CHECK(m.vocab.unk >= -1 && m.vocab.unk < c.vocab_size, "unk out of range");
    FUZZ_CHECK(m.vocab.bos >= -1 && m.vocab.bos < c.vocab_size, "bos out of range");
    for (const char* key : {"format", "attnviz_model", "config", "vocab", "unk_token", "bos_token", "n_head"})
        FUZZ_CHECK(!m.metadata.count(key), std::string("metadata kept ") + key);
}

bool same(const attnviz::Model& a, const attnviz::Model& b) {
    const attnviz::ModelConfig &x = a.config, &y = b.config;
    return x.block_size == y.block_size && x.vocab_size == y.vocab_size && x.n_layer == y.n_layer && x.n_head == y.n_head &&
           x.n_embd == y.n_embd && x.bias == y.bias && x.tied == y.tied && a.vocab.tokens == b.vocab.tokens &&
           a.vocab.unk == b.vocab.unk && a.vocab.bos == b.vocab.bos && a.metadata == b.metadata &&
           a.params.size() == b.params.size() &&
           std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t at = input.find(kSeparator);
    const std::string_view file = input.substr(0, at);
    const std::string_view vocab_json = at == std::string_view::npos ? std::string_view() : input.substr(at + kSeparator.size());

    const attnviz::Expected<attnviz::Model> model = attnviz::load_model(file, vocab_json, kMaxBytes);
    if (!model) {
        fuzz::check_message(model.error());
        return 0;
    }
    check_consistent(model.value());

    const std::string saved = attnviz::save_model(model.value());
    const attnviz::Expected<attnviz::Model> again = attnviz::load_model(saved, {}, kMaxBytes);
    FUZZ_CHECK(again.ok(), "save_model's file does not load: " + again.error());
    FUZZ_CHECK(same(again.value(), model.value()), "save_model -> load_model changed the model");
    FUZZ_CHECK(attnviz::save_model(again.value()) == saved, "save_model's bytes differ for the same model");
    return 0;
}
