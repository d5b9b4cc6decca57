// The model's safetensors file (save_model, load_model): round trips, the exact bytes of the
// format, F16/BF16 conversion, every damaged file's message, truncations at every byte, and the
// fixtures: attnviz's own files and nanoGPT-shaped ones saved from PyTorch
// (tests/fixtures/model/, made by tests/fixtures/make_model_fixtures.py).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attnviz/model.hpp"
#include "safetensors.hpp"

namespace {

namespace fs = std::filesystem;
using attnviz::Model;
using attnviz::ModelConfig;
using attnviz::Vocabulary;
using Json = nlohmann::json;

const fs::path kModelDir = fs::path(ATTNVIZ_FIXTURES_DIR) / "model";

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

ModelConfig tiny_config(bool bias, bool tied) {
    ModelConfig c;
    c.block_size = 4;
    c.vocab_size = 6;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 4;
    c.bias = bias;
    c.tied = tied;
    return c;
}

// A model from init_model whose every saved parameter holds a different value, including the
// awkward ones (signed zero, subnormals, float32's extremes), so a round trip that moved,
// dropped or rounded one would show.
Model tiny_model(bool bias, bool tied, std::uint64_t seed = 7) {
    Vocabulary vocab{{"<|unk|>", "<|bos|>", "\n", "a", "\"q\\", "注"}, 0, 1};
    attnviz::Expected<Model> made = attnviz::init_model(tiny_config(bias, tied), vocab, seed);
    REQUIRE(made.ok());
    Model m = std::move(made.value());
    const float specials[] = {-0.0f, std::numeric_limits<float>::denorm_min(), FLT_MAX, -FLT_MIN, 0x1.fffffep-127f};
    std::uint32_t counter = 0;
    for (const attnviz::TensorSpec& spec : attnviz::parameter_specs(m.config)) {
        if (spec.is_bias && !bias) continue;  // not in the file: they stay 0
        for (std::size_t i = 0; i < spec.size; ++i, ++counter)
            m.params[spec.offset + i] = counter % 37 == 5 ? specials[(counter / 37) % 5]
                                                          : std::ldexp(static_cast<float>(counter * 2654435761u % 2001) - 1000.0f,
                                                                       -static_cast<int>(counter % 30));
    }
    m.metadata = {{"model_card", "{\"corpus\": \"fortunes\"}"}, {"note", "line one\nline \"two\" 注"}, {"", "empty key"}};
    return m;
}

void require_same(const Model& got, const Model& want) {
    CHECK(got.config.block_size == want.config.block_size);
    CHECK(got.config.vocab_size == want.config.vocab_size);
    CHECK(got.config.n_layer == want.config.n_layer);
    CHECK(got.config.n_head == want.config.n_head);
    CHECK(got.config.n_embd == want.config.n_embd);
    CHECK(got.config.bias == want.config.bias);
    CHECK(got.config.tied == want.config.tied);
    CHECK(got.config.positions == want.config.positions);
    CHECK(got.vocab.tokens == want.vocab.tokens);
    CHECK(got.vocab.unk == want.vocab.unk);
    CHECK(got.vocab.bos == want.vocab.bos);
    CHECK(got.metadata == want.metadata);
    REQUIRE(got.params.size() == want.params.size());
    CHECK(std::memcmp(got.params.data(), want.params.data(), got.params.size() * sizeof(float)) == 0);
}

Model must_load(const std::string& file, const std::string& vocab_json = "") {
    attnviz::Expected<Model> m = attnviz::load_model(file, vocab_json);
    if (!m) FAIL("load_model: " << m.error());
    return std::move(m.value());
}

std::string load_error(const std::string& file, const std::string& vocab_json = "",
                       std::size_t max_bytes = attnviz::model_limits::max_params * sizeof(float)) {
    const attnviz::Expected<Model> m = attnviz::load_model(file, vocab_json, max_bytes);
    REQUIRE_FALSE(m.ok());
    return m.error();
}

//-----------------------------------------------------------------------------
// Files taken apart and put back together, to damage them one defect at a time
//-----------------------------------------------------------------------------
std::string u64_le(std::uint64_t n) {
    std::string out(8, '\0');
    for (int k = 0; k < 8; ++k) out[k] = static_cast<char>(n >> (8 * k) & 0xFF);
    return out;
}

// length + header text padded with spaces to a multiple of 8 + data
std::string assemble(std::string header, const std::string& data) {
    header.append((8 - header.size() % 8) % 8, ' ');
    return u64_le(header.size()) + header + data;
}

struct Entry {
    std::string                name, dtype;
    Json                       shape;
    std::string                raw;  // the tensor's bytes
};

struct Parts {
    Json               metadata;  // {} when the file has none
    std::vector<Entry> entries;   // in data order
};

Parts split(const std::string& file) {
    std::uint64_t n = 0;
    for (int k = 0; k < 8; ++k) n |= std::uint64_t{static_cast<unsigned char>(file[k])} << (8 * k);
    const Json header = Json::parse(file.substr(8, n));
    const std::string data = file.substr(8 + n);
    Parts parts;
    parts.metadata = header.value("__metadata__", Json::object());
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        const std::size_t begin = it.value()["data_offsets"][0], end = it.value()["data_offsets"][1];
        parts.entries.push_back({it.key(), it.value()["dtype"], it.value()["shape"], data.substr(begin, end - begin)});
    }
    std::sort(parts.entries.begin(), parts.entries.end(), [&](const Entry& a, const Entry& b) {
        return header[a.name]["data_offsets"][0].get<std::size_t>() < header[b.name]["data_offsets"][0].get<std::size_t>();
    });
    return parts;
}

// Contiguous offsets in the entries' order; `edit` may change the header before it is written.
std::string build(const Parts& parts, const std::function<void(Json&)>& edit = {}) {
    Json header = Json::object();
    if (!parts.metadata.empty()) header["__metadata__"] = parts.metadata;
    std::string data;
    for (const Entry& e : parts.entries) {
        header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {data.size(), data.size() + e.raw.size()}}};
        data += e.raw;
    }
    if (edit) edit(header);
    return assemble(header.dump(), data);
}

Entry* find(Parts& parts, const std::string& name) {
    for (Entry& e : parts.entries)
        if (e.name == name) return &e;
    FAIL("no tensor " << name);
    return nullptr;
}

void erase(Parts& parts, const std::string& name) {
    const auto it = std::find_if(parts.entries.begin(), parts.entries.end(), [&](const Entry& e) { return e.name == name; });
    REQUIRE(it != parts.entries.end());
    parts.entries.erase(it);
}

std::string f32_bytes(const std::vector<float>& values) {
    std::string out;
    for (float v : values) {
        std::uint32_t bits;
        std::memcpy(&bits, &v, 4);
        for (int k = 0; k < 4; ++k) out += static_cast<char>(bits >> (8 * k) & 0xFF);
    }
    return out;
}

std::string u16_bytes(const std::vector<std::uint16_t>& values) {
    std::string out;
    for (std::uint16_t v : values) {
        out += static_cast<char>(v & 0xFF);
        out += static_cast<char>(v >> 8);
    }
    return out;
}

std::uint32_t bits_of(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

}  // namespace

//-----------------------------------------------------------------------------
// Round trips and the exact format
//-----------------------------------------------------------------------------
TEST_CASE("model_file: save_model then load_model gives the model back bit for bit (bias/no bias, tied/untied)", "[model_file]") {
    for (const bool bias : {true, false})
        for (const bool tied : {true, false}) {
            INFO("bias " << bias << ", tied " << tied);
            const Model model = tiny_model(bias, tied);
            const std::string file = attnviz::save_model(model);
            const Model loaded = must_load(file);
            require_same(loaded, model);
            CHECK(attnviz::save_model(loaded) == file);          // deterministic bytes
            CHECK(attnviz::save_model(tiny_model(bias, tied)) == file);

            // the file holds exactly the tensors parameter_specs names (no biases without bias,
            // lm_head only untied), F32, contiguous
            const Parts parts = split(file);
            std::vector<std::string> names;
            for (const attnviz::TensorSpec& s : attnviz::parameter_specs(model.config))
                if (bias || !s.is_bias) names.push_back(s.name);
            REQUIRE(parts.entries.size() == names.size());
            for (std::size_t k = 0; k < names.size(); ++k) {
                CHECK(parts.entries[k].name == names[k]);
                CHECK(parts.entries[k].dtype == "F32");
            }
            CHECK((std::find(names.begin(), names.end(), "lm_head.weight") != names.end()) == !tied);
        }
}

TEST_CASE("model_file: an ALiBi or RoPE model has no position table and says so in its config", "[model_file]") {
  for (const char* name : {"alibi", "rope"}) {
    INFO(name);
    ModelConfig c = tiny_config(true, true);
    c.positions = std::string(name) == "alibi" ? attnviz::Positions::alibi : attnviz::Positions::rope;
    Vocabulary vocab{{"<|unk|>", "<|bos|>", "\n", "a", "\"q\\", "注"}, 0, 1};
    attnviz::Expected<Model> made = attnviz::init_model(c, vocab, 3);
    REQUIRE(made.ok());
    CHECK(made.value().params.size() == attnviz::parameter_count(tiny_config(true, true)) - 4 * 4);  // block_size × n_embd fewer
    CHECK(made.value().tensors().wpe == nullptr);
    const std::string file = attnviz::save_model(made.value());
    const Model loaded = must_load(file);
    require_same(loaded, made.value());
    CHECK(attnviz::save_model(loaded) == file);
    const Parts parts = split(file);
    for (const auto& e : parts.entries) CHECK(e.name != "transformer.wpe.weight");
    CHECK(parts.metadata.at("config") ==
          R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"bias":true,"tied":true,"positions":")" +
              std::string(name) + "\"}");
  }
}

TEST_CASE("model_file: an attention-only model has no ln_2 or mlp tensors and says so in its config", "[model_file]") {
    ModelConfig c = tiny_config(true, true);
    c.mlp = false;
    Vocabulary vocab{{"<|unk|>", "<|bos|>", "\n", "a", "\"q\\", "注"}, 0, 1};
    attnviz::Expected<Model> made = attnviz::init_model(c, vocab, 3);
    REQUIRE(made.ok());
    // per layer: ln_2 (2C) and the MLP (4C·C + 4C + C·4C + C) fewer, C = 4
    CHECK(made.value().params.size() == attnviz::parameter_count(tiny_config(true, true)) - 2 * (8 + 64 + 16 + 64 + 4));
    CHECK(made.value().tensors().fcw == nullptr);
    CHECK(made.value().tensors().ln2w == nullptr);
    const std::string file = attnviz::save_model(made.value());
    const Model loaded = must_load(file);
    require_same(loaded, made.value());
    CHECK(!loaded.config.mlp);
    CHECK(attnviz::save_model(loaded) == file);
    const Parts parts = split(file);
    for (const auto& e : parts.entries) {
        CHECK(e.name.find(".mlp.") == std::string::npos);
        CHECK(e.name.find(".ln_2.") == std::string::npos);
    }
    CHECK(parts.metadata.at("config") ==
          R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"bias":true,"tied":true,"mlp":false})");

    // a file whose config says attention-only but holds an MLP is refused, naming the tensor
    const std::string with_mlp = attnviz::save_model(tiny_model(true, true));
    Parts p = split(with_mlp);
    p.metadata["config"] = R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"bias":true,"tied":true,"mlp":false})";
    CHECK(load_error(build(p)) == "transformer.h.0.ln_2.bias: expected no MLP tensors (config.mlp is false: attention-only)");

    // without a config entry (a nanoGPT-shaped file), no ln_2 and mlp tensors means attention-only
    Parts bare = split(file);
    bare.metadata.erase("config");
    bare.metadata["n_head"] = "2";
    const Model inferred = must_load(build(bare));
    CHECK(!inferred.config.mlp);
    CHECK(inferred.params == made.value().params);
}

TEST_CASE("model_file: an image model (ViT) has patch_embed, cls_token and head, and its errors name them", "[model_file]") {
    const std::string file = read_bytes(kModelDir / "vit_tiny.safetensors");
    const Json fixture = Json::parse(read_bytes(kModelDir / "vit_tiny.json"));
    const Model m = must_load(file);
    CHECK(m.config.is_image());
    CHECK(m.config.image_size == 6);
    CHECK(m.config.patch_size == 2);
    CHECK(m.config.n_patches() == 9);
    CHECK(m.config.block_size == 10);
    CHECK(!m.config.tied);
    CHECK(!m.config.causal());
    CHECK(m.tensors().wte == nullptr);
    CHECK(m.tensors().patchw != nullptr);
    CHECK(m.vocab.tokens == fixture.at("vocab").get<std::vector<std::string>>());
    CHECK(attnviz::save_model(m) == file);  // the Python writer and save_model agree on every byte
    CHECK(split(file).metadata.at("config") ==
          R"({"block_size":10,"vocab_size":3,"n_layer":2,"n_head":2,"n_embd":8,"bias":true,"tied":false,"image_size":6,"patch_size":2})");

    const Parts parts = split(file);
    const auto with = [&](const std::function<void(Parts&)>& change) {
        Parts p = parts;
        change(p);
        return build(p);
    };
    const auto with_config = [&](const std::string& config) { return with([&](Parts& p) { p.metadata["config"] = config; }); };
    const std::string shape = R"("vocab_size":3,"n_layer":2,"n_head":2,"n_embd":8)";
    CHECK(load_error(with_config("{\"block_size\":17," + shape + R"(,"image_size":6,"patch_size":2})")) ==
          "block_size: expected the patches plus the class token, (6 / 2)² + 1 = 10, got 17");
    CHECK(load_error(with_config("{\"block_size\":10," + shape + R"(,"image_size":6,"patch_size":4})")) ==
          "patch_size: expected a divisor of image_size (6), got 4");
    CHECK(load_error(with_config("{\"block_size\":10," + shape + R"(,"image_size":6,"patch_size":2,"tied":true})")) ==
          "tied: expected false in an image model (its head is its own tensor; there is no token embedding)");
    CHECK(load_error(with_config("{\"block_size\":10," + shape + R"(,"image_size":6,"patch_size":2,"positions":"rope"})")) ==
          "positions: expected \"learned\" in an image model, got \"rope\"");
    CHECK(load_error(with([](Parts& p) { find(p, "transformer.patch_embed.weight")->shape = {2, 16}; })) ==
          "transformer.patch_embed.weight: expected shape [8, 4], got [2, 16]");
    CHECK(load_error(with([](Parts& p) { erase(p, "transformer.cls_token"); })) == "transformer.cls_token: missing from the file");
    CHECK(load_error(with([](Parts& p) { erase(p, "head.weight"); })) == "head.weight: missing from the file");
    CHECK(load_error(with([](Parts& p) { p.entries.push_back({"transformer.wte.weight", "F32", {3, 8}, std::string(96, '\0')}); })) ==
          "transformer.wte.weight: expected no token embedding or lm_head in an image model (patch_embed and head instead)");
    CHECK(load_error(with([](Parts& p) { p.metadata.erase("config"); })) ==
          "config: expected a \"config\" metadata entry: an image model's shape needs image_size and patch_size");
    // a text model's file holding a class token is refused, naming it
    Parts text = split(attnviz::save_model(tiny_model(true, true)));
    text.entries.push_back({"transformer.cls_token", "F32", {4}, std::string(16, '\0')});
    CHECK(load_error(build(text)) == "transformer.cls_token: expected no image-model tensors (config has no image_size: a text model)");
}

TEST_CASE("model_file: a file's header, byte for byte", "[model_file]") {
    // Hand-built: V 2, Tmax 2, C 1, one layer, one head, no biases, tied; params[i] = i.
    Model m;
    m.config = ModelConfig{2, 2, 1, 1, 1, false, true};
    m.vocab.tokens = {"a", "\n"};
    m.params.resize(attnviz::parameter_count(m.config));
    REQUIRE(m.params.size() == 31);
    for (std::size_t i = 0; i < m.params.size(); ++i) m.params[i] = static_cast<float>(i);
    m.metadata = {{"note", "x"}, {"config", "not written: the model's own config is"}};
    const std::string file = attnviz::save_model(m);

    const std::string header =
        R"({"__metadata__":{"format":"pt","attnviz_model":"1",)"
        R"("config":"{\"block_size\":2,\"vocab_size\":2,\"n_layer\":1,\"n_head\":1,\"n_embd\":1,\"bias\":false,\"tied\":true}",)"
        R"("vocab":"[\"a\",\"\\n\"]","note":"x"},)"
        R"("transformer.wte.weight":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},)"
        R"("transformer.wpe.weight":{"dtype":"F32","shape":[2,1],"data_offsets":[8,16]},)"
        R"("transformer.h.0.ln_1.weight":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},)"
        R"("transformer.h.0.attn.c_attn.weight":{"dtype":"F32","shape":[3,1],"data_offsets":[20,32]},)"
        R"("transformer.h.0.attn.c_proj.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[32,36]},)"
        R"("transformer.h.0.ln_2.weight":{"dtype":"F32","shape":[1],"data_offsets":[36,40]},)"
        R"("transformer.h.0.mlp.c_fc.weight":{"dtype":"F32","shape":[4,1],"data_offsets":[40,56]},)"
        R"("transformer.h.0.mlp.c_proj.weight":{"dtype":"F32","shape":[1,4],"data_offsets":[56,72]},)"
        R"("transformer.ln_f.weight":{"dtype":"F32","shape":[1],"data_offsets":[72,76]}})";
    const std::size_t padded = (header.size() + 7) / 8 * 8;
    REQUIRE(file.size() == 8 + padded + 76);
    CHECK(file.substr(0, 8) == u64_le(padded));
    CHECK(file.substr(8, header.size()) == header);
    CHECK(file.substr(8 + header.size(), padded - header.size()) == std::string(padded - header.size(), ' '));
    // the buffer's weights in file order, biases (5, 9-11, 13, 15, 20-23, 28, 30) left out;
    // little-endian float32: 1.0f is 00 00 80 3f
    CHECK(file.substr(8 + padded) ==
          f32_bytes({0, 1, 2, 3, 4, 6, 7, 8, 12, 14, 16, 17, 18, 19, 24, 25, 26, 27, 29}));
    CHECK(file.substr(8 + padded + 4, 4) == std::string("\x00\x00\x80\x3f", 4));
}

TEST_CASE("model_file: the fixtures' attnviz files load and save back to the same bytes", "[model_file]") {
    for (const char* stem : {"gpt_tiny", "gpt_tiny_untied_nobias", "gpt_tiny_alibi", "gpt_tiny_rope", "gpt_tiny_attention_only"}) {
        INFO(stem);
        const std::string file = read_bytes(kModelDir / (std::string(stem) + ".safetensors"));
        const Json fixture = Json::parse(read_bytes(kModelDir / (std::string(stem) + ".json")));
        const Model m = must_load(file);
        const Json& c = fixture.at("config");
        CHECK(m.config.block_size == c.at("block_size").get<int>());
        CHECK(m.config.vocab_size == c.at("vocab_size").get<int>());
        CHECK(m.config.n_layer == c.at("n_layer").get<int>());
        CHECK(m.config.n_head == c.at("n_head").get<int>());
        CHECK(m.config.n_embd == c.at("n_embd").get<int>());
        CHECK(m.config.bias == c.at("bias").get<bool>());
        CHECK(m.config.tied == c.at("tied").get<bool>());
        CHECK(m.config.mlp == c.value("mlp", true));
        CHECK(m.vocab.tokens == fixture.at("vocab").get<std::vector<std::string>>());
        REQUIRE(m.vocab.unk >= 0);
        REQUIRE(m.vocab.bos >= 0);
        CHECK(m.vocab.tokens[m.vocab.unk] == fixture.at("unk_token").get<std::string>());
        CHECK(m.vocab.tokens[m.vocab.bos] == fixture.at("bos_token").get<std::string>());
        CHECK(m.metadata.empty());
        CHECK(attnviz::save_model(m) == file);  // the Python writer and save_model agree on every byte
    }
}

//-----------------------------------------------------------------------------
// nanoGPT-shaped files from PyTorch
//-----------------------------------------------------------------------------
TEST_CASE("model_file: nanoGPT-shaped fixtures load with the config inferred and vocab.json", "[model_file]") {
    const Json fixture = Json::parse(read_bytes(kModelDir / "nanogpt_char.json"));
    const std::string vocab_json = read_bytes(kModelDir / "nanogpt_char.vocab.json");
    const std::string prefixed = read_bytes(kModelDir / "nanogpt_char.safetensors");
    const Model m = must_load(prefixed, vocab_json);
    const Json& c = fixture.at("config");
    CHECK(m.config.block_size == c.at("block_size").get<int>());
    CHECK(m.config.vocab_size == c.at("vocab_size").get<int>());
    CHECK(m.config.n_layer == c.at("n_layer").get<int>());
    CHECK(m.config.n_head == c.at("n_head").get<int>());
    CHECK(m.config.n_embd == c.at("n_embd").get<int>());
    CHECK(m.config.bias);
    CHECK(m.config.tied);  // lm_head.weight is a copy of wte
    CHECK(m.vocab.tokens == Json::parse(vocab_json).get<std::vector<std::string>>());
    CHECK(m.vocab.unk == -1);
    CHECK(m.vocab.bos == -1);
    CHECK(m.metadata.empty());  // format and n_head are read, not kept

    // the same tensors without "transformer.": the same model
    require_same(must_load(read_bytes(kModelDir / "nanogpt_char_noprefix.safetensors"), vocab_json), m);

    // the values are the file's float32s: wte row 3 straight from the bytes
    const Parts parts = split(prefixed);
    const std::string raw_wte = [&] {
        for (const Entry& e : parts.entries)
            if (e.name == "transformer.wte.weight") return e.raw;
        return std::string();
    }();
    REQUIRE(raw_wte.size() == static_cast<std::size_t>(m.config.vocab_size * m.config.n_embd) * 4);
    CHECK(std::memcmp(raw_wte.data(), m.tensors().wte, raw_wte.size()) == 0);

    // saved by attnviz, it carries its config and vocabulary and needs no vocab.json
    const std::string saved = attnviz::save_model(m);
    require_same(must_load(saved), m);

    // as vocab.json's other form, {token: id}
    Json by_id = Json::object();
    for (std::size_t k = 0; k < m.vocab.tokens.size(); ++k) by_id[m.vocab.tokens[k]] = k;
    require_same(must_load(prefixed, by_id.dump()), m);
}

TEST_CASE("model_file: a tied nanoGPT saved with safetensors.torch.save_model (wte kept only as lm_head.weight)", "[model_file]") {
    // save_model keeps one name of tensors sharing memory, the first in sorted order: lm_head.weight
    const std::string vocab_json = read_bytes(kModelDir / "nanogpt_char.vocab.json");
    const std::string file = read_bytes(kModelDir / "nanogpt_char.safetensors");
    Parts parts = split(file);
    erase(parts, "transformer.wte.weight");
    const Model m = must_load(build(parts), vocab_json);
    CHECK(m.config.tied);
    require_same(m, must_load(file, vocab_json));
}

TEST_CASE("model_file: an untied nanoGPT keeps its lm_head — causal-mask buffers are skipped", "[model_file]") {
    const std::string vocab_json = read_bytes(kModelDir / "nanogpt_char.vocab.json");
    Parts parts = split(read_bytes(kModelDir / "nanogpt_char.safetensors"));
    Entry* lm_head = find(parts, "lm_head.weight");
    lm_head->raw[0] ^= 1;  // one bit differs from wte: not tied
    // nanoGPT without flash attention saves its (1, 1, T, T) mask; GPT-2's files add masked_bias
    const std::size_t T = 16;
    parts.entries.push_back({"transformer.h.0.attn.bias", "F32", {1, 1, T, T}, f32_bytes(std::vector<float>(T * T, 1.0f))});
    parts.entries.push_back({"transformer.h.1.attn.bias", "BOOL", {1, 1, T, T}, std::string(T * T, '\1')});
    parts.entries.push_back({"h.1.attn.masked_bias", "F32", Json::array(), f32_bytes({-1e4f})});
    const Model m = must_load(build(parts), vocab_json);
    CHECK_FALSE(m.config.tied);
    CHECK(std::memcmp(m.tensors().lm_head, lm_head->raw.data(), lm_head->raw.size()) == 0);
    CHECK(std::memcmp(m.tensors().wte, m.tensors().lm_head, lm_head->raw.size()) != 0);
    CHECK(m.metadata.empty());
}

//-----------------------------------------------------------------------------
// F16 and BF16
//-----------------------------------------------------------------------------
TEST_CASE("model_file: every F16 value converts exactly (all 65536 bit patterns)", "[model_file]") {
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const int sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
        // the value by its definition, in double: (-1)^s · 2^(e-15) · (1 + m/1024), subnormal 2^-14 · m/1024
        const double magnitude = exponent == 0 ? std::ldexp(mantissa, -24)
                                 : exponent == 31 ? (mantissa ? std::nan("") : INFINITY)
                                                  : std::ldexp(1024 + mantissa, exponent - 25);
        const double want = sign ? -magnitude : magnitude;
        const float got = attnviz::safetensors::f16_to_float(static_cast<std::uint16_t>(h));
        INFO("bits 0x" << std::hex << h);
        if (std::isnan(want)) {
            REQUIRE(std::isnan(got));
            REQUIRE(std::signbit(got) == (sign != 0));
        } else {
            REQUIRE(static_cast<double>(got) == want);
            REQUIRE(std::signbit(got) == (sign != 0));
        }
    }
}

TEST_CASE("model_file: F16 and BF16 tensors load as the exact float32 values", "[model_file]") {
    const std::vector<std::uint16_t> f16 = {0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x3C01, 0xC000, 0x7BFF, 0xFBFF,
                                            0x3555, 0x4248, 0x0200, 0x8001, 0x5640, 0x2E66, 0x3800, 0xB800, 0x4400, 0x1400,
                                            0x3C00, 0x3C00, 0x3C00, 0x3C00};
    const std::vector<float> f16_values = {0.0f, -0.0f, 0x1p-24f, 0x1.ff8p-15f, 0x1p-14f, 1.0f, 0x1.004p0f, -2.0f,
                                           65504.0f, -65504.0f, 0x1.554p-2f, 3.140625f, 0x1p-15f, -0x1p-24f, 100.0f,
                                           0x1.998p-4f, 0.5f, -0.5f, 4.0f, 0x1p-10f, 1.0f, 1.0f, 1.0f, 1.0f};
    const std::vector<std::uint16_t> bf16 = {0x3F80, 0xBF80, 0x4049, 0x0001, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x8000, 0x3E4D,
                                             0x4120, 0x42C8, 0x3C23, 0x0000, 0x4000, 0xC040, 0x3F00, 0x3D80, 0x4780, 0x5F80,
                                             0x3F80, 0x3F80, 0x3F80, 0x3F80};
    const std::vector<float> bf16_values = {1.0f, -1.0f, 3.140625f, 0x1p-133f, 0x1.fcp-127f, 0x1p-126f, 0x1.fep127f,
                                            -0x1.fep127f, -0.0f, 0x1.9ap-3f, 10.0f, 100.0f, 0x1.46p-7f, 0.0f, 2.0f, -3.0f,
                                            0.5f, 0.0625f, 65536.0f, 0x1p64f, 1.0f, 1.0f, 1.0f, 1.0f};
    const Model base = tiny_model(true, true);
    REQUIRE(base.config.vocab_size * base.config.n_embd == 24);
    for (const char* dtype : {"F16", "BF16"}) {
        INFO(dtype);
        const bool half = std::string(dtype) == "F16";
        // wte takes the listed values; every other tensor zeros in the same dtype (F16 and BF
        // zero are both 0x0000), except wpe, which stays F32 (a file may mix dtypes)
        Parts parts = split(attnviz::save_model(base));
        for (Entry& e : parts.entries) {
            if (e.name == "transformer.wpe.weight") continue;
            e.dtype = dtype;
            e.raw = e.name == "transformer.wte.weight" ? u16_bytes(half ? f16 : bf16) : std::string(e.raw.size() / 2, '\0');
        }
        const Model m = must_load(build(parts));
        const std::vector<float>& want = half ? f16_values : bf16_values;
        const float* wte = m.tensors().wte;
        for (std::size_t i = 0; i < want.size(); ++i) {
            INFO("element " << i);
            CHECK(bits_of(wte[i]) == bits_of(want[i]));
        }
        CHECK(std::memcmp(m.tensors().wpe, base.tensors().wpe, 16 * sizeof(float)) == 0);
        CHECK(m.tensors().ln1w[0] == 0.0f);

        // infinity and NaN are refused, located
        Entry* wte_entry = find(parts, "transformer.wte.weight");
        wte_entry->raw = u16_bytes(half ? std::vector<std::uint16_t>(24, 0x3C00) : std::vector<std::uint16_t>(24, 0x3F80));
        wte_entry->raw[2 * 9 + 1] = static_cast<char>(half ? 0xFC : 0xFF);  // element 9 = row 2, column 1: -infinity
        wte_entry->raw[2 * 9] = half ? 0x00 : static_cast<char>(0x80);
        CHECK(load_error(build(parts)) == "transformer.wte.weight[2][1]: expected a finite number, got -infinity");
        wte_entry->raw[2 * 9] = static_cast<char>(half ? 0x01 : 0x81);  // a mantissa bit: NaN
        CHECK(load_error(build(parts)) == "transformer.wte.weight[2][1]: expected a finite number, got NaN");
    }
}

//-----------------------------------------------------------------------------
// Damaged files
//-----------------------------------------------------------------------------
TEST_CASE("model_file: every damaged fixture is refused with a message naming its tensor or field", "[model_file]") {
    const Json list = Json::parse(read_bytes(kModelDir / "bad_files.json"));
    REQUIRE(list.at("files").size() >= 10);
    for (const Json& bad : list.at("files")) {
        const std::string name = bad.at("file").get<std::string>();
        INFO(name << ": " << bad.at("situation").get<std::string>());
        const std::string error = load_error(read_bytes(kModelDir / name));
        INFO(error);
        for (const Json& part : bad.at("must_contain")) CHECK(error.find(part.get<std::string>()) != std::string::npos);
    }
    // and the exact messages of a few
    CHECK(load_error(read_bytes(kModelDir / "bad_nan.safetensors")) ==
          "transformer.h.0.attn.c_proj.weight[0][5]: expected a finite number, got NaN");
    CHECK(load_error(read_bytes(kModelDir / "bad_missing.safetensors")) == "transformer.ln_f.weight: missing from the file");
    CHECK(load_error(read_bytes(kModelDir / "bad_shape.safetensors")) ==
          "transformer.h.1.mlp.c_fc.weight: expected shape [32, 8], got [32, 7]");
    CHECK(load_error(read_bytes(kModelDir / "bad_dtype.safetensors")) == "transformer.wpe.weight: expected dtype F32, F16 or BF16, got I64");
    CHECK(load_error(read_bytes(kModelDir / "bad_vocab_size.safetensors")) == "vocab: expected 11 tokens (the rows of wte), got 10");
}

TEST_CASE("model_file: header errors", "[model_file]") {
    CHECK(load_error("") == "header: expected an 8-byte little-endian header length, got a file of 0 bytes");
    CHECK(load_error(std::string(7, '\0')) == "header: expected an 8-byte little-endian header length, got a file of 7 bytes");
    CHECK(load_error(u64_le(UINT64_MAX) + "{}") ==
          "header: expected a length of at most 100000000 bytes (safetensors' limit), got 18446744073709551615");
    CHECK(load_error(u64_le(100000001) + "{}") ==
          "header: expected a length of at most 100000000 bytes (safetensors' limit), got 100000001");
    CHECK(load_error(u64_le(1000) + "{\"a\": 1}") ==
          "header: expected 1000 bytes of JSON after the length, the file has 8 (is it truncated?)");
    CHECK(load_error(assemble("[1, 2]", "")) == "header: expected a JSON object, got an array");
    CHECK(load_error(assemble("{\"a\": ", "")).rfind("header: expected valid JSON (", 0) == 0);
    CHECK(load_error(assemble("{\"x\": \"\xff\"}", "")).rfind("header: expected valid JSON (", 0) == 0);  // not UTF-8
    CHECK(load_error(assemble(R"({"__metadata__": {"a": "1", "a": "2"}})", "")) ==
          "header.__metadata__.a: duplicate key; expected each key once");
    CHECK(load_error(assemble(R"({"__metadata__": {"vocab": ["a"]}})", "")) == "__metadata__.vocab: expected a string, got an array");
    CHECK(load_error(assemble(R"({"__metadata__": 5})", "")) == "__metadata__: expected an object of strings, got 5");

    const std::string f32x2 = f32_bytes({1, 2});
    CHECK(load_error(assemble(R"({"w": [1]})", f32x2)) == R"(w: expected an object {"dtype", "shape", "data_offsets"}, got an array)");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "strides": [1]}})", f32x2)) ==
          "w.strides: unknown key; expected dtype, shape, data_offsets");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [2]}})", f32x2)) ==
          "w.data_offsets: expected a value, but the key is missing");
    CHECK(load_error(assemble(R"({"w": {"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 8]}})", f32x2)) ==
          "w.dtype: expected a safetensors dtype (F32, F16, BF16, F64, I64, I32, U8, BOOL, …), got the string \"Q4_K\"");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", f32x2)) ==
          "w.shape: expected an array of sizes (integers >= 0), got an array");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}})", f32x2)) ==
          "w.shape: expected an array of sizes (integers >= 0), got an array");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", f32x2)) ==
          "w.data_offsets: expected [begin, end], two integers with 0 <= begin <= end, got [8,0]");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", f32x2)) ==
          "w.data_offsets: expected [begin, end], two integers with 0 <= begin <= end, got [0]");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}})", f32x2)) ==
          "w: expected data_offsets within the 8 bytes after the header, got [0, 12] (is the file truncated?)");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", f32x2)) ==
          "w: expected data_offsets holding shape [3] of F32 (12 bytes), got [0, 8], 8 bytes");
    CHECK(load_error(assemble(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})", f32x2)) ==
          "w: expected data_offsets holding shape [4294967296, 4294967296] of F32 (more than 2^64 bytes), got [0, 8], 8 bytes");
    CHECK(load_error(assemble(R"({"v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},)"
                              R"( "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", f32x2)) ==
          "v: expected data_offsets that overlap no other tensor's, got [4, 8], which overlap w's [0, 8]");
    // a name from the file is quoted safely: control characters escaped, long names cut
    CHECK(load_error(assemble(R"({"a\nb": 1})", "")) == R"(a\nb: expected an object {"dtype", "shape", "data_offsets"}, got 1)");
}

TEST_CASE("model_file: tensor and config errors name the tensor or field", "[model_file]") {
    const Model model = tiny_model(true, true);
    const std::string good = attnviz::save_model(model);
    const Parts parts = split(good);
    const auto with = [&](const std::function<void(Parts&)>& change) {
        Parts p = parts;
        change(p);
        return build(p);
    };
    const auto with_config = [&](const std::string& config) {
        return with([&](Parts& p) { p.metadata["config"] = config; });
    };

    SECTION("names") {
        CHECK(load_error(with([](Parts& p) { p.entries.push_back({"transformer.h.0.attn.rotary.weight", "F32", {1}, f32_bytes({0})}); })) ==
              "transformer.h.0.attn.rotary.weight: not a tensor of a nanoGPT-shaped model");
        CHECK(load_error(with([](Parts& p) { p.entries.push_back({"transformer.h.01.ln_1.weight", "F32", {1}, f32_bytes({0})}); })) ==
              "transformer.h.01.ln_1.weight: not a tensor of a nanoGPT-shaped model");
        CHECK(load_error(with([](Parts& p) { p.entries.push_back({"wte.weight", "F32", {6, 4}, std::string(96, '\0')}); })) ==
              "wte.weight: expected each tensor once, but transformer.wte.weight is the same tensor");
        CHECK(load_error(with([](Parts& p) { find(p, "transformer.wte.weight")->shape = {4, 6}; })) ==
              "transformer.wte.weight: expected shape [6, 4], got [4, 6] (the transpose: GPT-2's Conv1D layout? "
              "expected torch.nn.Linear's (out_features, in_features))");
        CHECK(load_error(with([](Parts& p) { find(p, "transformer.ln_f.bias")->shape = {2, 2}; })) ==
              "transformer.ln_f.bias: expected shape [4], got [2, 2]");
    }
    SECTION("the config entry") {
        CHECK(load_error(with_config("{")).rfind("config: expected valid JSON (", 0) == 0);
        CHECK(load_error(with_config("[]")) == "config: expected a JSON object like nanoGPT's GPTConfig, got an array");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_head":2,"n_embd":4})")) ==
              "config.n_head: duplicate key; expected each key once");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_embd":4})")) ==
              "config.n_head: expected an integer, but the key is missing");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":"2","n_head":2,"n_embd":4})")) ==
              "config.n_layer: expected an integer, got the string \"2\"");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"bias":1})")) ==
              "config.bias: expected true or false, got 1");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"name":"x"})")) ==
              "config.name: unknown key; expected block_size, vocab_size, n_layer, n_head, n_embd, bias, tied, positions, mlp, "
              "image_size, patch_size (numbers such as dropout are ignored)");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":3,"n_embd":4})")) ==
              "n_head: expected a divisor of n_embd (4), got 3");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"n_layer_x":[]})")) ==
              "config.n_layer_x: unknown key; expected block_size, vocab_size, n_layer, n_head, n_embd, bias, tied, positions, mlp, "
              "image_size, patch_size (numbers such as dropout are ignored)");
        // nanoGPT's GPTConfig: dropout (and any other number) is ignored; bias and tied come from the tensors
        const Model m = must_load(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"dropout":0.1})"));
        require_same(m, model);
        // the config decides the shapes: a smaller one finds the file's blocks too many
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":1,"n_head":2,"n_embd":4})")) ==
              "transformer.h.1.attn.c_attn.bias: expected the blocks h.0 to h.0 only (config.n_layer is 1)");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"bias":false})")) ==
              "transformer.h.0.attn.c_attn.bias: expected no bias tensors (config.bias is false)");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"tied":false})")) ==
              "lm_head.weight: missing from the file");
        CHECK(load_error(with_config(R"({"block_size":5,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4})")) ==
              "transformer.wpe.weight: expected shape [5, 4], got [4, 4]");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"positions":"absolute"})")) ==
              "config.positions: expected \"learned\" (transformer.wpe.weight), \"alibi\" or \"rope\", got the string \"absolute\"");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"positions":"alibi"})")) ==
              "transformer.wpe.weight: expected no position table (config.positions is \"alibi\")");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":2,"n_embd":4,"positions":"rope"})")) ==
              "transformer.wpe.weight: expected no position table (config.positions is \"rope\")");
        CHECK(load_error(with_config(R"({"block_size":4,"vocab_size":6,"n_layer":2,"n_head":4,"n_embd":4,"positions":"rope"})")) ==
              "n_head: expected an even head size n_embd / n_head for RoPE positions (it rotates pairs), got 1");
        CHECK(load_error(with([](Parts& p) { p.metadata["n_head"] = "1"; })) == "n_head: expected 2 as in config.n_head, got \"1\"");
        CHECK(load_error(with([](Parts& p) { p.metadata["attnviz_model"] = "2"; })) ==
              "attnviz_model: expected version \"1\" (the only one this attnviz reads), got \"2\"");
    }
    SECTION("shapes without a config entry") {
        const auto inferred = [&](const std::function<void(Parts&)>& change) {
            return with([&](Parts& p) {
                p.metadata.erase("config");
                p.metadata["n_head"] = "2";
                change(p);
            });
        };
        require_same(must_load(inferred([](Parts&) {})), model);
        CHECK(load_error(with([](Parts& p) { p.metadata.erase("config"); })) ==
              "n_head: expected an \"n_head\" metadata entry (the shapes do not tell the number of heads) "
              "or a \"config\" entry like nanoGPT's GPTConfig");
        CHECK(load_error(inferred([](Parts& p) { p.metadata["n_head"] = "two"; })) ==
              "n_head: expected a number of heads written as text, such as \"4\", got \"two\"");
        CHECK(load_error(inferred([](Parts& p) { erase(p, "transformer.h.1.mlp.c_fc.bias"); })) ==
              "transformer.h.1.mlp.c_fc.bias: missing from the file (it has other biases: expected all or none)");
        CHECK(load_error(inferred([](Parts& p) { erase(p, "transformer.h.0.ln_2.weight"); })) ==
              "transformer.h.0.ln_2.weight: missing from the file");
        CHECK(load_error(inferred([](Parts& p) { erase(p, "transformer.wpe.weight"); })) == "transformer.wpe.weight: missing from the file");
        CHECK(load_error(inferred([](Parts& p) { find(p, "transformer.wte.weight")->shape = {24}; })) ==
              "transformer.wte.weight: expected shape [vocab_size, n_embd], got [24]");
        CHECK(load_error(inferred([](Parts& p) { p.metadata["n_head"] = "3"; })) == "n_head: expected a divisor of n_embd (4), got 3");
        // the blocks are counted from the highest h.{l}: a gap is a missing block
        CHECK(load_error(inferred([](Parts& p) {
                  for (Entry& e : p.entries)
                      if (e.name.rfind("transformer.h.1.", 0) == 0) e.name.replace(14, 1, "2");
              })) == "transformer.h.1.ln_1.weight: missing from the file");
        // a file without the prefix is answered without it
        CHECK(load_error(inferred([](Parts& p) {
                  for (Entry& e : p.entries) e.name = e.name.substr(e.name.rfind("transformer.", 0) == 0 ? 12 : 0);
                  erase(p, "ln_f.weight");
              })) == "ln_f.weight: missing from the file");
        // no biases at all: a model without biases
        const Model nobias = must_load(inferred([](Parts& p) {
            p.entries.erase(std::remove_if(p.entries.begin(), p.entries.end(),
                                           [](const Entry& e) { return e.name.size() > 5 && e.name.substr(e.name.size() - 5) == ".bias"; }),
                            p.entries.end());
        }));
        CHECK_FALSE(nobias.config.bias);
        CHECK(nobias.tensors().ln1b[0] == 0.0f);
    }
    SECTION("the size limit") {
        const std::size_t floats = attnviz::parameter_count(model.config);
        REQUIRE(floats == 536);
        CHECK(load_error(good, "", floats * 4 - 1) == "model: needs 2.1 KiB for its 536 parameters, more than the limit of 2.1 KiB");
        CHECK(load_error(good, "", 1000) == "model: needs 2.1 KiB for its 536 parameters, more than the limit of 1000 bytes");
        CHECK(attnviz::load_model(good, "", floats * 4).ok());
        CHECK(load_error(with_config(R"({"block_size":4096,"vocab_size":65536,"n_layer":64,"n_head":16,"n_embd":2048})"))
                  .rfind("config: expected at most 268435456 parameters, got ", 0) == 0);
    }
}

TEST_CASE("model_file: vocabulary errors and the two forms of vocab.json", "[model_file]") {
    const Model model = tiny_model(true, true);
    Parts parts = split(attnviz::save_model(model));
    const auto with_vocab = [&](const Json& vocab) {
        Parts p = parts;
        p.metadata["vocab"] = vocab.is_string() ? vocab.get<std::string>() : vocab.dump();
        return build(p);
    };
    CHECK(load_error(with_vocab("[1, ")).rfind("vocab: expected valid JSON (", 0) == 0);
    CHECK(load_error(with_vocab(Json("\"abc\""))) == "vocab: expected a JSON list of tokens, got the string \"abc\"");
    CHECK(load_error(with_vocab(Json::array({"<|unk|>", "<|bos|>", 5, "a", "b", "c"}))) == "vocab[2]: expected a token (a string), got 5");
    CHECK(load_error(with_vocab(Json::array({"<|unk|>", "<|bos|>", "", "a", "b", "c"}))) == "vocab[2]: expected a non-empty token, got \"\"");
    CHECK(load_error(with_vocab(Json::array({"<|unk|>", "<|bos|>", "a", "b", "a", "c"}))) ==
          "vocab[4]: expected each token once, got \"a\" again (also vocab[2])");
    CHECK(load_error(with_vocab(Json::array({"<|unk|>", "<|bos|>", "a"}))) == "vocab: expected 6 tokens (the rows of wte), got 3");
    CHECK(load_error(with_vocab(Json::array({"<unk>", "<|bos|>", "a", "b", "c", "d"}))) ==
          "unk_token: expected one of the vocabulary's tokens, got \"<|unk|>\"");
    parts.metadata["bos_token"] = "<|unk|>";
    CHECK(load_error(build(parts)) == "bos_token: expected a token other than unk_token's, got \"<|unk|>\" for both");

    // without a "vocab" entry the vocabulary comes from vocab.json
    parts.metadata.erase("vocab");
    parts.metadata.erase("unk_token");
    parts.metadata.erase("bos_token");
    const std::string bare = build(parts);
    CHECK(load_error(bare) == "vocab: expected a \"vocab\" metadata entry (a JSON list of tokens) or a vocab.json beside the file");
    const Json list = model.vocab.tokens;
    const Model from_list = must_load(bare, list.dump());
    CHECK(from_list.vocab.tokens == model.vocab.tokens);
    CHECK(from_list.vocab.unk == -1);  // no unk_token entry: no unknown token
    Json ids = Json::object();
    for (std::size_t k = 0; k < model.vocab.tokens.size(); ++k) ids[model.vocab.tokens[k]] = k;
    CHECK(must_load(bare, ids.dump()).vocab.tokens == model.vocab.tokens);
    ids["a"] = 6;
    CHECK(load_error(bare, ids.dump()) == "vocab.json[\"a\"]: expected an id from 0 to 5, got 6");
    ids["a"] = 2;
    CHECK(load_error(bare, ids.dump()) == "vocab.json[\"a\"]: expected each id once, got 2, the id of \"\\n\" too");
    ids["a"] = "3";
    CHECK(load_error(bare, ids.dump()) == "vocab.json[\"a\"]: expected an id from 0 to 5, got the string \"3\"");
    CHECK(load_error(bare, "42") == "vocab.json: expected a JSON list of tokens or an object mapping each token to its id, got 42");
    CHECK(load_error(bare, "[\"a\"]") == "vocab.json: expected 6 tokens (the rows of wte), got 1");
    CHECK(load_error(bare, "[\"a\", ").rfind("vocab.json: expected valid JSON (", 0) == 0);
    // the file's own list wins over vocab.json
    CHECK(must_load(attnviz::save_model(model), "[\"x\"]").vocab.tokens == model.vocab.tokens);
}

TEST_CASE("model_file: gaps between tensors and bytes after the last are allowed — a truncation at any byte is an error", "[model_file]") {
    const Model model = tiny_model(true, false);
    const std::string file = attnviz::save_model(model);
    require_same(must_load(file + std::string(13, '\x7f')), model);  // trailing bytes
    Parts parts = split(file);
    find(parts, "transformer.wpe.weight")->raw += std::string(4, '\0');  // a gap after wpe, in the data only
    std::string gapped = build(parts, [&](Json& header) {
        header["transformer.wpe.weight"]["data_offsets"][1] = header["transformer.wpe.weight"]["data_offsets"][1].get<int>() - 4;
    });
    require_same(must_load(gapped), model);

    std::size_t refused = 0;
    for (std::size_t n = 0; n < file.size(); ++n) {
        const attnviz::Expected<Model> m = attnviz::load_model(std::string_view(file).substr(0, n));
        INFO("first " << n << " of " << file.size() << " bytes");
        REQUIRE_FALSE(m.ok());
        REQUIRE(m.error().find(": ") != std::string::npos);
        ++refused;
    }
    CHECK(refused == file.size());
}

TEST_CASE("model_file: float_to_f16 rounds to nearest, ties to even, and inverts f16_to_float", "[model_file]") {
    using attnviz::safetensors::f16_to_float;
    using attnviz::safetensors::float_to_f16;
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const float f = f16_to_float(static_cast<std::uint16_t>(h));
        if (std::isnan(f)) {
            CHECK(std::isnan(f16_to_float(float_to_f16(f))));
            continue;
        }
        INFO("half bits " << h);
        REQUIRE(float_to_f16(f) == h);
        // the midpoint to the next half up rounds to the even one of the two (finite, not at the top)
        const std::uint16_t next = static_cast<std::uint16_t>(h + 1);
        if ((h & 0x7FFF) < 0x7BFF) {
            const double mid = (static_cast<double>(f) + f16_to_float(next)) / 2;
            const std::uint16_t even = (h & 1) ? next : static_cast<std::uint16_t>(h);
            CHECK(float_to_f16(static_cast<float>(mid)) == even);
            const double past_mid = mid + (static_cast<double>(f16_to_float(next)) - f) / 64;  // toward next
            CHECK(float_to_f16(static_cast<float>(past_mid)) == next);
        }
    }
    CHECK(float_to_f16(65519.0f) == 0x7BFF);   // 65504, the largest half
    CHECK(float_to_f16(65520.0f) == 0x7C00);   // rounds past it: infinity
    CHECK(float_to_f16(-1e9f) == 0xFC00);
    CHECK(float_to_f16(1e-9f) == 0x0000);      // below half the smallest subnormal
}

TEST_CASE("model_file: an F16 file holds every value rounded to float16 and loads as those values", "[model_file]") {
    Model model = tiny_model(true, true);
    for (float& v : model.params) v = std::max(-60000.0f, std::min(60000.0f, v));  // within float16's range
    const std::string file = attnviz::save_model(model, attnviz::FileDtype::f16);
    const Parts parts = split(file);
    for (const auto& entry : parts.entries) CHECK(entry.dtype == "F16");
    const Model loaded = must_load(file);
    REQUIRE(loaded.params.size() == model.params.size());
    for (std::size_t i = 0; i < model.params.size(); ++i) {
        const float want = attnviz::safetensors::f16_to_float(attnviz::safetensors::float_to_f16(model.params[i]));
        REQUIRE(std::memcmp(&loaded.params[i], &want, sizeof want) == 0);
    }
    CHECK(attnviz::save_model(loaded, attnviz::FileDtype::f16) == file);
}
