// The model trace (attnviz/model_trace.hpp): its logits equal the training pass's and PyTorch's,
// ablations equal the model with that part's weights zeroed, head role scores on hand-built
// attention patterns, the probe, the JSON contract and the errors.
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attnviz/model_trace.hpp"
#include "attnviz/train.hpp"
#include "gpt.hpp"

using namespace attnviz;

namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(ATTNVIZ_FIXTURES_DIR) + "/model/" + name, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Model fixture_model(const std::string& file, const std::string& vocab = "") {
    Expected<Model> m = load_model(fixture(file), vocab.empty() ? std::string() : fixture(vocab));
    REQUIRE(m.ok());
    return std::move(m.value());
}

// The training pass's logits for one sequence.   (T, V)
std::vector<float> forward_logits(const Model& model, const std::vector<int>& ids) {
    const int T = static_cast<int>(ids.size());
    gpt::RunState s = gpt::make_run_state(model.config, 1, T);
    std::copy(ids.begin(), ids.end(), s.inputs.begin());
    gpt::gpt_forward(s, model);
    const float* z = s.activations().logits;
    return std::vector<float>(z, z + static_cast<std::size_t>(T) * model.config.vocab_size);
}

double relative_error(const Matrix& got, const std::vector<float>& want) {
    REQUIRE(got.size() == want.size());
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        scale = std::max(scale, std::abs(static_cast<double>(want[i])));
        worst = std::max(worst, std::abs(static_cast<double>(got.data()[i]) - want[i]));
    }
    return worst / scale;
}

// The same shape and the same values, element for element.
bool same(const Matrix& a, const Matrix& b) { return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin()); }

ModelTrace must_trace(const Model& model, const ModelTraceOptions& options) {
    Expected<ModelTrace> t = model_trace(model, options);
    if (!t) FAIL(t.error());
    return std::move(t.value());
}

}  // namespace

TEST_CASE("model_trace's logits equal the training pass's (the engine's attention in every layer) and PyTorch's", "[model_trace]") {
    const Model tiny = fixture_model("gpt_tiny.safetensors");
    const ModelTrace t = must_trace(tiny, {"the cat", true, 3, {}});
    CHECK(t.tokens.text == std::vector<std::string>{"<|bos|>", "t", "h", "e", " ", "c", "a", "t"});
    const double err = relative_error(t.logits, forward_logits(tiny, t.tokens.ids));
    INFO("relative difference " << err);
    CHECK(err < 1e-5);
    REQUIRE(t.layers.size() == 2);
    for (const LayerTrace& layer : t.layers) {
        REQUIRE(layer.attention.heads.size() == 2);
        for (const HeadTrace& h : layer.attention.heads)
            for (int i = 0; i < t.T; ++i)
                for (int j = i + 1; j < t.T; ++j) CHECK(h.weights(i, j) == 0.0f);  // causal
    }

    const nlohmann::json fx = nlohmann::json::parse(fixture("nanogpt_char.json"));
    const Model brought = fixture_model("nanogpt_char.safetensors", "nanogpt_char.vocab.json");
    const ModelTrace b = must_trace(brought, {fx["text"].get<std::string>(), true, 5, {}});  // no bos token: none added
    std::vector<float> torch_logits;
    for (const auto& row : fx["logits"])
        for (const auto& v : row) torch_logits.push_back(v.get<float>());
    const double torch_err = relative_error(b.logits, torch_logits);
    INFO("against torch: " << torch_err);
    CHECK(torch_err < 1e-4);
}

TEST_CASE("ALiBi and RoPE models: model_trace's logits equal the training pass's — ALiBi heads carry their slope", "[model_trace]") {
  for (const Positions positions : {Positions::alibi, Positions::rope}) {
    INFO(positions_name(positions));
    ModelConfig mc;
    mc.block_size = 40;
    mc.vocab_size = 30;
    mc.n_layer = 2;
    mc.n_head = 4;
    mc.n_embd = 16;
    mc.positions = positions;
    Vocabulary vocab{{"<|unk|>", "<|bos|>"}, 0, 1};
    for (int i = 0; i < 28; ++i) vocab.tokens.push_back(std::string(1, static_cast<char>('a' + i % 26)) + (i >= 26 ? "!" : ""));
    Expected<Model> made = init_model(mc, vocab, 5);
    REQUIRE(made.ok());
    Model model = std::move(made.value());
    // larger weights than init's, so that the scores (and the positions' share of them) matter
    for (float& p : model.params) p *= 8.0f;
    const ModelTrace t = must_trace(model, {"the quick brown fox jumps over", true, 3, {}});
    const double err = relative_error(t.logits, forward_logits(model, t.tokens.ids));
    INFO("relative difference " << err);
    CHECK(err < 1e-5);
    for (const LayerTrace& layer : t.layers)
        for (int h = 0; h < mc.n_head; ++h)
            CHECK(layer.attention.heads[h].alibi_slope == (positions == Positions::alibi ? alibi_slope(h, mc.n_head) : 0.0));
  }
}

TEST_CASE("an attention-only model: model_trace's logits equal the training pass's and PyTorch's — it has no MLP to switch off", "[model_trace]") {
    const Model m = fixture_model("gpt_tiny_attention_only.safetensors");
    REQUIRE(!m.config.mlp);
    const ModelTrace t = must_trace(m, {"the cat", true, 3, {}});
    const double err = relative_error(t.logits, forward_logits(m, t.tokens.ids));
    INFO("relative difference " << err);
    CHECK(err < 1e-5);
    for (const LayerTrace& layer : t.layers) {
        CHECK(layer.mlp_pre.size() == 0);
        for (float v : layer.mlp_out) CHECK(v == 0.0f);
        CHECK(same(layer.residual_out, layer.residual_mid));
    }
    const std::shared_ptr<const PackedWeights> packed = pack_weights(m);
    Expected<ModelTrace> p = model_trace(m, {"the cat", true, 3, {}}, packed.get());
    REQUIRE(p.ok());
    CHECK(same(p.value().logits, t.logits));
    Ablation a;
    a.mlp = {0};
    CHECK(model_trace(m, {"the", true, 3, a}).error() == "ablation.mlp: expected no layers: the model is attention-only (its blocks have no MLP)");
}

TEST_CASE("predictions: top-k sorted, probabilities from the logits, the loss of each next token", "[model_trace]") {
    const Model tiny = fixture_model("gpt_tiny.safetensors");
    const ModelTrace t = must_trace(tiny, {"chat注x", true, 4, {}});
    CHECK(t.tokens.unknown == std::vector<bool>{false, false, false, false, false, false, true});  // x is outside the vocabulary
    CHECK(t.tokens.text.back() == "x");
    CHECK(t.tokens.ids.back() == tiny.vocab.unk);
    const int V = tiny.config.vocab_size;
    for (int i = 0; i < t.T; ++i) {
        const float* z = t.logits.data() + static_cast<std::size_t>(i) * V;
        double m = z[0], sum = 0;
        for (int j = 0; j < V; ++j) m = std::max(m, static_cast<double>(z[j]));
        for (int j = 0; j < V; ++j) sum += std::exp(z[j] - m);
        const auto& ids = t.predictions.top_ids[i];
        const auto& probs = t.predictions.top_probs[i];
        REQUIRE(ids.size() == 4);
        for (int k = 0; k < 4; ++k) {
            CHECK(probs[k] == Approx(std::exp(z[ids[k]] - m) / sum).epsilon(1e-6));
            if (k > 0) CHECK(probs[k] <= probs[k - 1]);
        }
        if (i + 1 < t.T) CHECK(t.predictions.losses[i] == Approx(std::log(sum) - (z[t.tokens.ids[i + 1]] - m)).epsilon(1e-6));
    }
    CHECK(t.predictions.losses.size() == static_cast<std::size_t>(t.T - 1));
}

TEST_CASE("next_token: greedy is the most likely ordinary token — sampling follows softmax(logits / temperature), seeded", "[model_trace]") {
    const Model tiny = fixture_model("gpt_tiny.safetensors");
    const int V = tiny.config.vocab_size;
    for (const char* text : {"chat", "注", "ch"}) {
        const ModelTrace t = must_trace(tiny, {text, true, 5, {}});
        const float* z = t.logits.data() + static_cast<std::size_t>(t.T - 1) * V;
        int best = -1;
        for (int id = 0; id < V; ++id)
            if (id != tiny.vocab.bos && id != tiny.vocab.unk && (best < 0 || z[id] > z[best])) best = id;
        Expected<int> greedy = next_token(tiny, t, 0.0, 1, 0);
        REQUIRE(greedy.ok());
        CHECK(greedy.value() == best);
        // sampling at temperature 1.5: frequencies against the probabilities (specials excluded), 4000 draws
        const double temperature = 1.5;
        std::vector<double> p(V, 0.0);
        double m = -1e300, sum = 0;
        for (int id = 0; id < V; ++id) if (id != tiny.vocab.bos && id != tiny.vocab.unk) m = std::max(m, static_cast<double>(z[id]));
        for (int id = 0; id < V; ++id) if (id != tiny.vocab.bos && id != tiny.vocab.unk) sum += p[id] = std::exp((z[id] - m) / temperature);
        std::vector<int> count(V, 0);
        const int draws = 4000;
        for (int step = 0; step < draws; ++step) {
            Expected<int> id = next_token(tiny, t, temperature, 7, static_cast<std::uint64_t>(step));
            REQUIRE(id.ok());
            ++count[id.value()];
            CHECK(id.value() == next_token(tiny, t, temperature, 7, static_cast<std::uint64_t>(step)).value());  // seeded
        }
        CHECK(count[tiny.vocab.bos] == 0);
        if (tiny.vocab.unk >= 0) CHECK(count[tiny.vocab.unk] == 0);
        for (int id = 0; id < V; ++id) {
            const double want = p[id] / sum, sigma = std::sqrt(want * (1 - want) / draws);
            INFO(text << " token " << id << ": " << count[id] << " of " << draws << ", p " << want);
            CHECK(std::abs(count[id] / static_cast<double>(draws) - want) <= 5 * sigma + 1e-9);
        }
    }
    const ModelTrace t = must_trace(tiny, {"chat", true, 5, {}});
    CHECK(!next_token(tiny, t, -1.0, 1, 0).ok());
    CHECK(next_token(tiny, t, std::nan(""), 1, 0).error().rfind("temperature:", 0) == 0);
    // another seed gives another sequence of draws
    int same = 0;
    for (int step = 0; step < 64; ++step) same += next_token(tiny, t, 1.0, 1, step).value() == next_token(tiny, t, 1.0, 2, step).value();
    CHECK(same < 64);
}

TEST_CASE("logit lens: its last stage is the model's own prediction — norms are the residuals' L2 norms", "[model_trace]") {
    for (const char* file : {"gpt_tiny.safetensors", "gpt_tiny_rope.safetensors"}) {
        INFO(file);
        const Model m = fixture_model(file);
        for (const Ablation& ablation : {Ablation{}, Ablation{{{1, 0}}, {}, {0}}}) {
            const ModelTrace t = must_trace(m, {"chat注ch", true, 3, ablation});  // 8 tokens: the fixtures' block_size
            const LogitLens lens = logit_lens(m, t);
            const int L = m.config.n_layer, C = m.config.n_embd;
            REQUIRE(lens.top_id.size() == static_cast<std::size_t>(L + 1));
            for (int i = 0; i < t.T; ++i) {
                CHECK(lens.top_id[L][i] == t.predictions.top_ids[i][0]);
                CHECK(lens.top_prob[L][i] == t.predictions.top_probs[i][0]);
                for (int stage = 0; stage <= L; ++stage) {
                    const Matrix& r = stage == 0 ? t.layers[0].residual_in : t.layers[stage - 1].residual_out;
                    double sq = 0;
                    for (int c = 0; c < C; ++c) sq += static_cast<double>(r(i, c)) * r(i, c);
                    CHECK(lens.norm[stage][i] == Approx(std::sqrt(sq)).epsilon(1e-6));
                    CHECK(lens.top_prob[stage][i] > 0.0f);
                    CHECK(lens.top_prob[stage][i] <= 1.0f);
                }
            }
        }
    }
}

TEST_CASE("ablation equals the model with that part's weights zeroed — the intact predictions come along", "[model_trace]") {
    const Model tiny = fixture_model("gpt_tiny.safetensors");
    const int C = tiny.config.n_embd, hs = C / tiny.config.n_head;
    const std::string text = "the cat";
    const ModelTrace intact = must_trace(tiny, {text, true, 3, {}});
    const auto zeroed = [&](const std::function<void(ParameterTensors)>& zero) {
        Model m = tiny;
        zero(m.tensors());
        return forward_logits(m, intact.tokens.ids);
    };
    SECTION("a head: its value rows of c_attn zeroed") {
        Ablation a;
        a.heads = {{1, 0}};
        const ModelTrace t = must_trace(tiny, {text, true, 3, a});
        const auto want = zeroed([&](ParameterTensors p) {
            float* w = p.qkvw + 1 * 3 * C * C + 2 * C * C;  // layer 1, value rows [0, hs) of head 0
            std::fill(w, w + hs * C, 0.0f);
            std::fill(p.qkvb + 1 * 3 * C + 2 * C, p.qkvb + 1 * 3 * C + 2 * C + hs, 0.0f);
        });
        CHECK(relative_error(t.logits, want) < 1e-5);
        REQUIRE(t.intact.has_value());
        CHECK(t.intact->losses == intact.predictions.losses);
        CHECK(t.predictions.mean_loss != intact.predictions.mean_loss);
    }
    SECTION("a layer's attention: c_proj of the attention zeroed") {
        Ablation a;
        a.attention = {0};
        const ModelTrace t = must_trace(tiny, {text, true, 3, a});
        const auto want = zeroed([&](ParameterTensors p) {
            std::fill(p.attprojw, p.attprojw + C * C, 0.0f);
            std::fill(p.attprojb, p.attprojb + C, 0.0f);
        });
        CHECK(relative_error(t.logits, want) < 1e-5);
    }
    SECTION("a layer's MLP: its c_proj zeroed") {
        Ablation a;
        a.mlp = {1};
        const ModelTrace t = must_trace(tiny, {text, true, 3, a});
        const auto want = zeroed([&](ParameterTensors p) {
            std::fill(p.fcprojw + 4 * C * C, p.fcprojw + 8 * C * C, 0.0f);
            std::fill(p.fcprojb + C, p.fcprojb + 2 * C, 0.0f);
        });
        CHECK(relative_error(t.logits, want) < 1e-5);
        for (float v : t.layers[1].mlp_out) CHECK(v == 0.0f);
    }
}

TEST_CASE("head roles score hand-built attention patterns", "[model_trace]") {
    const std::vector<int> ids = {1, 5, 6, 7, 5, 6, 7};  // bos, then "5 6 7" twice
    const int T = 7;
    const auto pattern = [&](const std::function<int(int)>& key) {
        Matrix w = Matrix::from_shape({std::size_t(T), std::size_t(T)});
        std::fill(w.begin(), w.end(), 0.0f);
        for (int i = 0; i < T; ++i) w(i, key(i)) = 1.0f;
        return w;
    };
    const HeadRoles prev = head_roles(pattern([](int i) { return std::max(0, i - 1); }), ids);
    CHECK(prev.previous_token == 1.0);
    CHECK(prev.self == 0.0);
    CHECK(prev.mean_distance == Approx(6.0 / 7));
    const HeadRoles sink = head_roles(pattern([](int) { return 0; }), ids);
    CHECK(sink.first_token == 1.0);
    CHECK(sink.mean_distance == Approx(21.0 / 7));
    const HeadRoles self = head_roles(pattern([](int i) { return i; }), ids);
    CHECK(self.self == 1.0);
    // induction: the second "5 6 7" (positions 4..6) looks at what followed the first (2, 3, and
    // for 7 at 6: position 4, the token after 7's earlier occurrence at 3)
    const HeadRoles induction = head_roles(pattern([](int i) { return i >= 4 ? i - 2 : 0; }), ids);
    CHECK(induction.induction == 1.0);
    CHECK(prev.induction == 0.0);
}

TEST_CASE("the role probe is bos + a random sequence twice, and every head gets scores", "[model_trace]") {
    const Model tiny = fixture_model("gpt_tiny.safetensors");
    const std::vector<int> probe = role_probe(tiny, 64);  // clamped to (block_size - 1) / 2 = 3
    REQUIRE(probe.size() == 7);
    CHECK(probe[0] == tiny.vocab.bos);
    CHECK(std::vector<int>(probe.begin() + 1, probe.begin() + 4) == std::vector<int>(probe.begin() + 4, probe.end()));
    for (int id : probe) CHECK(id != tiny.vocab.unk);
    Expected<std::vector<std::vector<HeadRoles>>> roles = probe_head_roles(tiny, 64);
    REQUIRE(roles.ok());
    REQUIRE(roles.value().size() == 2);
    for (const auto& layer : roles.value()) {
        REQUIRE(layer.size() == 2);
        for (const HeadRoles& r : layer) {
            CHECK(r.previous_token >= 0);
            CHECK(r.previous_token <= 1);
            CHECK(r.first_token + r.self <= 1 + 1e-6);
        }
    }
    const nlohmann::json j = nlohmann::json::parse(head_roles_json(tiny));
    CHECK(j["layers"].size() == 2);
    CHECK(j["layers"][1][1]["previous_token"].get<double>() == Approx(roles.value()[1][1].previous_token));
}

TEST_CASE("the model trace's JSON has every layer, head and prediction", "[model_trace]") {
    const Model tiny = fixture_model("gpt_tiny.safetensors");
    Ablation a;
    a.heads = {{0, 1}};
    const ModelTrace t = must_trace(tiny, {"the", true, 2, a});
    const nlohmann::json j = nlohmann::json::parse(model_trace_to_json(t, tiny));
    CHECK(j["tokens"] == nlohmann::json({"<|bos|>", "t", "h", "e"}));
    CHECK(j["T"] == 4);
    CHECK(j["model"]["n_layer"] == 2);
    REQUIRE(j["layers"].size() == 2);
    const auto& head = j["layers"][0]["heads"][1];
    CHECK(head["trace"]["weights"].size() == 4);
    CHECK(head["trace"]["weights"][0][1].is_null() == false);
    CHECK(head["trace"]["weights"][0][1] == 0);
    CHECK(head["roles"].contains("induction"));
    CHECK(j["layers"][0]["mlp_pre"][0].size() == 32);
    CHECK(j["predictions"]["top"].size() == 4);
    CHECK(j["predictions"]["top"][0].size() == 2);
    CHECK(j["predictions"]["losses"].size() == 3);
    CHECK(j["ablation"]["heads"] == nlohmann::json({{0, 1}}));
    CHECK(j["intact"]["losses"].size() == 3);
}

TEST_CASE("model_trace's errors name the field", "[model_trace]") {
    const Model tiny = fixture_model("gpt_tiny.safetensors");
    CHECK(model_trace(tiny, {"the cat sat", true, 3, {}}).error() == "text: expected at most 8 tokens (the model's block_size), got 12");
    CHECK(model_trace(tiny, {"\xff", true, 3, {}}).error() == "text: expected valid UTF-8, found an ill-formed byte sequence at byte 0");
    CHECK(model_trace(tiny, {"the", true, 0, {}}).error() == "top_k: expected an integer from 1 to 11, got 0");
    Ablation a;
    a.heads = {{2, 0}};
    CHECK(model_trace(tiny, {"the", true, 3, a}).error() == "ablation.heads[0]: expected a layer from 0 to 1, got 2");
    a.heads = {{1, 2}};
    CHECK(model_trace(tiny, {"the", true, 3, a}).error() == "ablation.heads[0]: expected a head from 0 to 1, got 2");
    Ablation m;
    m.mlp = {-1};
    CHECK(model_trace(tiny, {"the", true, 3, m}).error() == "ablation.mlp[0]: expected a layer from 0 to 1, got -1");
    const Model brought = fixture_model("nanogpt_char.safetensors", "nanogpt_char.vocab.json");
    CHECK(model_trace(brought, {"", true, 3, {}}).error() == "text: expected at least one character (the model has no beginning-of-text token)");
    const Expected<ModelTrace> unknown = model_trace(brought, {"Zebra", true, 3, {}});
    REQUIRE(!unknown.ok());
    CHECK(unknown.error().find("is not in the model's vocabulary, which has no unknown token") != std::string::npos);
}

TEST_CASE("the shipped model loads, matches its card (config, parameters, head roles) and has learned English", "[model_trace]") {
    const std::string dir = std::string(ATTNVIZ_SOURCE_DIR) + "/web/models/";
    std::ifstream weights(dir + "attnviz_char.safetensors", std::ios::binary), card_file(dir + "attnviz_char.card.json");
    REQUIRE(weights.good());
    REQUIRE(card_file.good());
    Expected<Model> loaded = load_model(std::string(std::istreambuf_iterator<char>(weights), std::istreambuf_iterator<char>()));
    REQUIRE(loaded.ok());
    const Model& model = loaded.value();
    const nlohmann::json card = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(card_file), std::istreambuf_iterator<char>()));
    CHECK(card["parameters"].get<std::size_t>() == model.params.size());
    CHECK(card["config"]["block_size"].get<int>() == model.config.block_size);
    CHECK(card["config"]["vocab_size"].get<int>() == model.config.vocab_size);
    CHECK(card["config"]["n_layer"].get<int>() == model.config.n_layer);
    CHECK(card["config"]["positions"].get<std::string>() == (model.config.positions == Positions::rope    ? "rope"
                                                                     : model.config.positions == Positions::alibi ? "alibi"
                                                                                                                   : "learned"));
    // the card's head roles are this file's (recomputed here, natively or in wasm)
    const nlohmann::json roles = nlohmann::json::parse(head_roles_json(model));
    REQUIRE(roles["layers"].size() == card["head_roles"]["layers"].size());
    for (std::size_t l = 0; l < roles["layers"].size(); ++l)
        for (std::size_t h = 0; h < roles["layers"][l].size(); ++h)
            for (const char* key : {"previous_token", "first_token", "self", "induction", "mean_distance"}) {
                INFO("layer " << l << " head " << h << " " << key);
                CHECK(std::abs(roles["layers"][l][h][key].get<double>() - card["head_roles"]["layers"][l][h][key].get<double>()) < 1e-4);
            }
    // a trained model: after "Once upon a tim" the next character is "e", and a familiar English
    // sentence costs far less than the unigram baseline per character
    const ModelTrace t = must_trace(model, {"Once upon a time, there was a little", true, 1, {}});
    CHECK(model.vocab.tokens[t.predictions.top_ids[15][0]] == "e");
    CHECK(t.predictions.mean_loss < card["english"]["unigram_val_loss"].get<double>() - 1.0);
}

TEST_CASE("weights packed once (pack_weights) give the same trace and logit lens, bit for bit, as packing per call", "[model_trace]") {
    const auto check = [&](const Model& model, const ModelTraceOptions& options, const PackedWeights* packed) {
        const ModelTrace plain = must_trace(model, options);
        Expected<ModelTrace> fast = model_trace(model, options, packed);
        REQUIRE(fast.ok());
        const ModelTrace& t = fast.value();
        CHECK(same(t.logits, plain.logits));
        CHECK(t.predictions.top_ids == plain.predictions.top_ids);
        CHECK(t.predictions.top_probs == plain.predictions.top_probs);
        CHECK(t.predictions.losses == plain.predictions.losses);
        REQUIRE(t.intact.has_value() == plain.intact.has_value());
        if (t.intact) CHECK(t.intact->losses == plain.intact->losses);
        for (std::size_t l = 0; l < t.layers.size(); ++l) {
            INFO("layer " << l);
            CHECK(same(t.layers[l].mlp_pre, plain.layers[l].mlp_pre));
            CHECK(same(t.layers[l].mlp_out, plain.layers[l].mlp_out));
            CHECK(same(t.layers[l].residual_out, plain.layers[l].residual_out));
        }
        const LogitLens a = logit_lens(model, plain), b = logit_lens(model, t, packed);
        CHECK(a.top_id == b.top_id);
        CHECK(a.top_prob == b.top_prob);
    };
    for (const char* file : {"gpt_tiny.safetensors", "gpt_tiny_rope.safetensors", "gpt_tiny_untied_nobias.safetensors"}) {
        INFO(file);
        const Model m = fixture_model(file);
        const auto packed = pack_weights(m);
        check(m, {"chat注ch", true, 3, {}}, packed.get());
        check(m, {"cha", true, 2, Ablation{{{1, 0}}, {}, {0}}}, packed.get());
        // weights packed from another model are not used: the trace is this model's
        const Model other = fixture_model("gpt_tiny_rope.safetensors");
        check(m, {"chat", true, 3, {}}, pack_weights(other).get());
    }
    // the shipped model at the benchmark's 64 characters (+ <|bos|>: 65 rows, not a multiple of the lanes)
    std::ifstream weights(std::string(ATTNVIZ_SOURCE_DIR) + "/web/models/attnviz_char.safetensors", std::ios::binary);
    Expected<Model> shipped = load_model(std::string(std::istreambuf_iterator<char>(weights), std::istreambuf_iterator<char>()));
    REQUIRE(shipped.ok());
    check(shipped.value(), {"The quick brown fox jumps over the lazy dog while the children w", true, 5, {}},
          pack_weights(shipped.value()).get());
}

TEST_CASE("model_trace of an image model: torch's logits, patches as tokens, no mask, class probabilities and errors", "[model_trace]") {
    const Model model = fixture_model("vit_tiny.safetensors");
    const nlohmann::json fx = nlohmann::json::parse(fixture("vit_tiny.json"));
    const int T = model.config.block_size, V = model.config.vocab_size;
    for (std::size_t b = 0; b < fx["labels"].size(); ++b) {
        INFO("image " << b);
        ModelTraceOptions options;
        options.image = fx["images"][b].get<std::vector<float>>();
        options.label = fx["labels"][b];
        options.top_k = V;
        Expected<ModelTrace> traced = model_trace(model, options);
        REQUIRE(traced.ok());
        const ModelTrace& t = traced.value();
        CHECK(t.T == T);
        CHECK(t.tokens.text[0] == "CLS");
        CHECK(t.tokens.text[1] == "r0c0");
        CHECK(t.tokens.text[T - 1] == "r2c2");
        CHECK(t.tokens.ids == std::vector<int>(T, -1));
        // patch 1 is the top right of the first patch row: pixels (0, 2), (0, 3), (1, 2), (1, 3)
        CHECK(t.patches(1, 0) == options.image[2]);
        CHECK(t.patches(1, 3) == options.image[6 + 3]);
        // the engine's attention without a mask: the class token attends to the last patch
        for (const LayerTrace& layer : t.layers)
            for (const auto& head : layer.attention.heads) {
                CHECK(head.weights(0, T - 1) > 0.0f);
                double sum = 0;
                for (int j = 0; j < T; ++j) sum += head.weights(0, j);
                CHECK(std::abs(sum - 1.0) < 1e-5);
            }
        // torch's logits at every position (relative 1e-4 of the largest)
        std::vector<float> want;
        for (const auto& row : fx["logits"][b])
            for (const auto& v : row) want.push_back(v.get<float>());
        CHECK(relative_error(t.logits, want) <= 1e-4);
        // the class token's probabilities, and its loss against the label
        REQUIRE(t.predictions.class_probs.size() == static_cast<std::size_t>(V));
        double sum = 0;
        for (float q : t.predictions.class_probs) sum += q;
        CHECK(std::abs(sum - 1.0) < 1e-6);
        REQUIRE(t.predictions.losses.size() == 1);
        CHECK(std::abs(t.predictions.losses[0] + std::log(t.predictions.class_probs[options.label])) < 1e-5);
        CHECK(t.predictions.top_probs[0][0] == Approx(*std::max_element(t.predictions.class_probs.begin(), t.predictions.class_probs.end())));
        // the same as the training pass's probabilities for this image
        const std::vector<float> probs = classify_images(model, options.image.data(), 1);
        for (int v = 0; v < V; ++v) CHECK(std::abs(probs[v] - t.predictions.class_probs[v]) < 1e-6);
        // switching off every head of layer 0 changes the prediction's numbers; intact keeps the model's
        options.ablation.heads = {{0, 0}, {0, 1}};
        Expected<ModelTrace> ablated = model_trace(model, options);
        REQUIRE(ablated.ok());
        REQUIRE(ablated.value().intact);
        CHECK(ablated.value().intact->class_probs == t.predictions.class_probs);
        CHECK(ablated.value().predictions.class_probs != t.predictions.class_probs);
        // the JSON carries the patches and the class probabilities
        const nlohmann::json j = nlohmann::json::parse(model_trace_to_json(t, model));
        CHECK(j["patches"].size() == static_cast<std::size_t>(T - 1));
        CHECK(j["predictions"]["class_probs"].size() == static_cast<std::size_t>(V));
        CHECK(!j["layers"][0]["heads"][0].contains("roles"));
    }
    ModelTraceOptions bad;
    bad.top_k = V;
    bad.image.assign(35, 0.5f);
    CHECK(model_trace(model, bad).error() == "image: expected 6×6 = 36 pixels (the model's image_size), got 35");
    bad.image.assign(36, 0.5f);
    bad.image[7] = std::nanf("");
    CHECK(model_trace(model, bad).error() == "image[7]: expected a finite pixel value, got NaN");
    bad.image[7] = 0;
    bad.label = 3;
    CHECK(model_trace(model, bad).error() == "label: expected -1 (unknown) or a class id from 0 to 2, got 3");
    CHECK(probe_head_roles(model).error() == "model: head roles are measured on text; an image model has no token sequence");
    Expected<ModelTraceOptions> parsed = parse_model_trace_options(R"({"image":[0,0.5,1],"label":1,"top_k":2})");
    REQUIRE(parsed.ok());
    CHECK(parsed.value().image == std::vector<float>{0.0f, 0.5f, 1.0f});
    CHECK(parsed.value().label == 1);
}

TEST_CASE("attention rollout and the positions' similarity of an image model, against float64 written out", "[model_trace]") {
    const Model model = fixture_model("vit_tiny.safetensors");
    const nlohmann::json fx = nlohmann::json::parse(fixture("vit_tiny.json"));
    ModelTraceOptions options;
    options.image = fx["images"][0].get<std::vector<float>>();
    options.top_k = 3;
    const ModelTrace t = model_trace(model, options).value();
    const int T = t.T, L = static_cast<int>(t.layers.size());
    // rollout = Â_1·Â_0 with Â = (mean of heads + I) / 2, written out for two layers
    std::vector<std::vector<double>> hat(L, std::vector<double>(T * T));
    for (int l = 0; l < L; ++l)
        for (int i = 0; i < T; ++i)
            for (int j = 0; j < T; ++j) {
                const auto& heads = t.layers[l].attention.heads;
                double mean = 0;
                for (const auto& h : heads) mean += h.weights(i, j);
                hat[l][i * T + j] = (mean / heads.size() + (i == j)) / 2.0;
            }
    const Matrix rollout = attention_rollout(t);
    REQUIRE(L == 2);
    for (int i = 0; i < T; ++i) {
        double row = 0;
        for (int j = 0; j < T; ++j) {
            double want = 0;
            for (int k = 0; k < T; ++k) want += hat[1][i * T + k] * hat[0][k * T + j];
            CHECK(std::abs(rollout(i, j) - want) < 1e-6);
            row += rollout(i, j);
        }
        CHECK(std::abs(row - 1.0) < 1e-6);  // each row is a distribution over the input tokens
    }
    // the positions' cosine similarities: 1 on the diagonal, symmetric, the cosine of wpe rows 1 + i, 1 + j
    const Matrix sim = position_similarity(model).value();
    const int N = model.config.n_patches(), C = model.config.n_embd;
    REQUIRE(sim.shape(0) == static_cast<std::size_t>(N));
    const float* wpe = model.tensors().wpe;
    for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) {
            double dot = 0, a = 0, b = 0;
            for (int c = 0; c < C; ++c) {
                dot += double(wpe[(1 + i) * C + c]) * wpe[(1 + j) * C + c];
                a += double(wpe[(1 + i) * C + c]) * wpe[(1 + i) * C + c];
                b += double(wpe[(1 + j) * C + c]) * wpe[(1 + j) * C + c];
            }
            CHECK(std::abs(sim(i, j) - dot / std::sqrt(a * b)) < 1e-6);
        }
    CHECK(position_similarity(fixture_model("gpt_tiny.safetensors")).error() == "model: expected an image model (its positions are patches)");
}
