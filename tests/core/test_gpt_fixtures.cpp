// The whole GPT against PyTorch (tests/fixtures/model/, made by make_model_fixtures.py from
// float64 torch modules): logits, loss, every parameter's gradient, and the parameters after
// three AdamW steps with gradient clipping; nanoGPT-shaped files people bring give torch's
// logits. Tolerances are the fixtures' own (relative 1e-4 of each tensor's largest magnitude).
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attnviz/model.hpp"
#include "attnviz/model_trace.hpp"
#include "attnviz/train.hpp"
#include "gpt.hpp"

namespace {

std::string read_file(const std::string& name) {
    std::ifstream in(std::string(ATTNVIZ_FIXTURES_DIR) + "/model/" + name, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Largest |got - want| over the largest |want|.
double relative_error(const float* got, const nlohmann::json& want) {
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        scale = std::max(scale, std::abs(want[i].get<double>()));
        worst = std::max(worst, std::abs(got[i] - want[i].get<double>()));
    }
    return scale > 0 ? worst / scale : worst;
}

nlohmann::json flatten(const nlohmann::json& nested) {
    nlohmann::json flat = nlohmann::json::array();
    const std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
        if (j.is_array())
            for (const auto& e : j) walk(e);
        else
            flat.push_back(j);
    };
    walk(nested);
    return flat;
}

attnviz::Model load(const std::string& file, const std::string& vocab_file = "") {
    const std::string bytes = read_file(file);
    const std::string vocab = vocab_file.empty() ? std::string() : read_file(vocab_file);
    attnviz::Expected<attnviz::Model> model = attnviz::load_model(bytes, vocab);
    INFO(file);
    if (!model) FAIL(model.error());
    return std::move(model.value());
}

}  // namespace

using namespace attnviz;

namespace {

// The batch a fixture names: token ids and targets (text models), or images and labels (image
// models: the label at the class token, position 0).
gpt::RunState fixture_batch(const nlohmann::json& fx, const ModelConfig& config) {
    if (fx.contains("images")) {
        const int B = static_cast<int>(fx["labels"].size()), T = config.block_size;
        gpt::RunState s = gpt::make_run_state(config, B, T);
        std::vector<float> images;
        for (const auto& image : fx["images"])
            for (const auto& pixel : image) images.push_back(pixel.get<float>());
        gpt::extract_patches(s.patches.data(), images.data(), B, config.image_size, config.patch_size);
        for (int b = 0; b < B; ++b) s.targets[static_cast<std::size_t>(b) * T] = fx["labels"][b];
        return s;
    }
    const int B = static_cast<int>(fx["inputs"].size()), T = static_cast<int>(fx["inputs"][0].size());
    gpt::RunState s = gpt::make_run_state(config, B, T);
    for (int b = 0; b < B; ++b)
        for (int t = 0; t < T; ++t) {
            s.inputs[b * T + t] = fx["inputs"][b][t];
            s.targets[b * T + t] = fx["targets"][b][t];
        }
    return s;
}

}  // namespace

TEST_CASE("GPT and ViT logits, loss and every gradient equal PyTorch's — three AdamW steps give torch's parameters", "[gpt][fixtures]") {
    for (const std::string name : {"gpt_tiny", "gpt_tiny_untied_nobias", "gpt_tiny_alibi", "gpt_tiny_rope",
                                 "gpt_tiny_attention_only", "vit_tiny"}) {
        INFO(name);
        const nlohmann::json fx = nlohmann::json::parse(read_file(name + ".json"));
        Model model = load(name + ".safetensors");
        const double tol_logits = fx["tolerance"]["logits_rel"], tol_grad = fx["tolerance"]["grad_rel"];
        gpt::RunState s = fixture_batch(fx, model.config);
        gpt::gpt_forward(s, model);
        const double logits_err = relative_error(s.activations().logits, flatten(fx["logits"]));
        INFO("logits relative error " << logits_err << " (bound " << tol_logits << ")");
        CHECK(logits_err <= tol_logits);
        CHECK(std::abs(s.mean_loss - fx["loss"].get<double>()) <= tol_logits * fx["loss"].get<double>());
        gpt::gpt_backward(s, model);
        for (const TensorSpec& t : parameter_specs(model.config)) {
            if (!model.config.bias && t.is_bias) continue;
            const double err = relative_error(s.grads.data() + t.offset, fx["grads"][t.name]);
            INFO(t.name << " gradient relative error " << err << " (bound " << tol_grad << ")");
            CHECK(err <= tol_grad);
        }

        if (!fx.contains("adamw")) continue;
        const nlohmann::json& opt = fx["adamw"];
        TrainConfig tc;
        tc.beta1 = opt["betas"][0];
        tc.beta2 = opt["betas"][1];
        tc.eps = opt["eps"];
        tc.weight_decay = opt["weight_decay"];
        tc.grad_clip = opt["grad_clip"];
        const float lr = opt["lr"];
        AdamWState state;
        for (int step = 0; step < opt["steps"].get<int>(); ++step) {
            gpt::gpt_forward(s, model);
            CHECK(std::abs(s.mean_loss - opt["losses"][step].get<double>()) <= 1e-4 * opt["losses"][step].get<double>());
            gpt::gpt_backward(s, model);
            const double norm = clip_gradients(s.grads, tc.grad_clip);
            CHECK(std::abs(norm - opt["grad_norms"][step].get<double>()) <= 1e-4 * opt["grad_norms"][step].get<double>());
            adamw_update(model, s.grads, state, lr, tc);
        }
        // Entries whose exact gradient is 0 (the key bias: a constant added to a row of scores does
        // not change the softmax) get AdamW steps of rounding noise, in torch as here: compared
        // within the fixture's absolute bound; every other entry relative to its tensor.
        const double zero_abs = opt["zero_gradient_abs"];
        for (const TensorSpec& t : parameter_specs(model.config)) {
            if (!model.config.bias && t.is_bias) continue;
            const nlohmann::json& want = opt["params_after"][t.name];
            std::vector<bool> noise(t.size, false);
            for (const auto& z : opt["zero_gradient"])
                if (z["name"] == t.name)
                    for (std::size_t i = z["begin"]; i < z["end"].get<std::size_t>(); ++i) noise[i] = true;
            double worst = 0, scale = 0, worst_noise = 0;
            for (std::size_t i = 0; i < t.size; ++i) {
                const double w = want[i], d = std::abs(model.params[t.offset + i] - w);
                if (noise[i]) {
                    worst_noise = std::max(worst_noise, d);
                } else {
                    worst = std::max(worst, d);
                    scale = std::max(scale, std::abs(w));
                }
            }
            INFO(t.name << " after AdamW: relative error " << worst / scale << ", zero-gradient entries " << worst_noise);
            CHECK(worst <= fx["tolerance"]["params_rel"].get<double>() * scale);
            CHECK(worst_noise <= zero_abs);
        }
    }
}

TEST_CASE("nanoGPT-shaped character models saved from PyTorch give torch's logits (F32, F16, without prefix)", "[gpt][fixtures]") {
    for (const auto& [file, json] : {std::pair{"nanogpt_char.safetensors", "nanogpt_char.json"},
                                     std::pair{"nanogpt_char_noprefix.safetensors", "nanogpt_char.json"},
                                     std::pair{"nanogpt_char_f16.safetensors", "nanogpt_char_f16.json"}}) {
        INFO(file);
        const nlohmann::json fx = nlohmann::json::parse(read_file(json));
        const Model model = load(file, fx["vocab_file"]);
        CHECK(model.config.n_layer == fx["config"]["n_layer"].get<int>());
        CHECK(model.config.n_head == fx["config"]["n_head"].get<int>());
        CHECK(model.config.block_size == fx["config"]["block_size"].get<int>());
        CHECK(model.config.tied == fx["config"]["tied"].get<bool>());
        Expected<Encoded> ids = encode(model.vocab, fx["text"].get<std::string>(), false);
        REQUIRE(ids.ok());
        CHECK(ids.value().ids == fx["ids"].get<std::vector<int>>());
        const int T = static_cast<int>(ids.value().ids.size());
        gpt::RunState s = gpt::make_run_state(model.config, 1, T);
        std::copy(ids.value().ids.begin(), ids.value().ids.end(), s.inputs.begin());
        gpt::gpt_forward(s, model);
        const double err = relative_error(s.activations().logits, flatten(fx["logits"]));
        INFO("logits relative error " << err);
        CHECK(err <= fx["tolerance"]["logits_rel"].get<double>());
        // the model trace (the engine's attention, the padded unembedding) gives them too
        ModelTraceOptions options;
        options.text = fx["text"].get<std::string>();
        options.add_bos = false;
        Expected<ModelTrace> trace = model_trace(model, options);
        REQUIRE(trace.ok());
        const double trace_err = relative_error(trace.value().logits.data(), flatten(fx["logits"]));
        INFO("model_trace logits relative error " << trace_err);
        CHECK(trace_err <= fx["tolerance"]["logits_rel"].get<double>());
    }
}
