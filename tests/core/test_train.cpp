// The trainer (attnviz/train.hpp): the learning-rate schedule, clipping, a short run against
// stored losses (so the trainer cannot drift unseen), determinism across runs and thread
// counts, evaluation's windows, and its error messages.
#include <cmath>
#include <iomanip>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include "attnviz/model.hpp"
#include "attnviz/train.hpp"
#include "gpt.hpp"

using namespace attnviz;

namespace {

ModelConfig tiny_config() {
    ModelConfig c;
    c.block_size = 16;
    c.vocab_size = 12;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 16;
    return c;
}

Model tiny_model(std::uint64_t seed = 3) {
    Vocabulary v;
    for (int i = 0; i < 12; ++i) v.tokens.push_back(std::string(1, static_cast<char>('a' + i)));
    Expected<Model> m = init_model(tiny_config(), v, seed);
    REQUIRE(m.ok());
    return std::move(m.value());
}

// A stream with structure to learn: runs of an arithmetic sequence mod 12 whose step changes
// every 7 tokens.
std::vector<int> tiny_stream() {
    std::vector<int> s;
    for (int k = 0; k < 2000; ++k) s.push_back((k * (1 + (k / 7) % 3)) % 12);
    return s;
}

TrainConfig tiny_train() {
    TrainConfig c;
    c.batch_size = 4;
    c.block_size = 16;
    c.max_iters = 12;
    c.lr_decay_iters = 12;
    c.warmup_iters = 2;
    c.learning_rate = 1e-2f;
    c.min_lr = 1e-3f;
    c.seed = 11;
    c.repeat_share = 0.25f;
    return c;
}

// The shipped model's recipe in small: positions without a table (RoPE as shipped, or ALiBi), and
// a context warm-up (windows of 4, then 8, then 16).
Model tiny_model_with(Positions positions) {
    ModelConfig mc = tiny_config();
    mc.positions = positions;
    Expected<Model> m = init_model(mc, tiny_model().vocab, 3);
    REQUIRE(m.ok());
    return std::move(m.value());
}

TrainConfig warmup_train() {
    TrainConfig c = tiny_train();
    c.context_start = 4;
    c.context_share = 0.5f;
    return c;
}

// A run's losses: the plain recipe (learned positions, the full context from the start), or the
// shipped one in small with `positions`.
std::vector<float> run_losses(int threads, std::optional<Positions> shipped = std::nullopt) {
    TrainConfig c = shipped ? warmup_train() : tiny_train();
    c.threads = threads;
    Expected<Trainer> t = Trainer::start(shipped ? tiny_model_with(*shipped) : tiny_model(), c, tiny_stream());
    REQUIRE(t.ok());
    std::vector<float> losses;
    for (int k = 0; k < c.max_iters; ++k) losses.push_back(t.value().step().loss);
    return losses;
}

// A run against losses stored from a native run of this build's trainer (the wasm build agrees
// to the tolerance: its SIMD path multiplies then adds where AVX2 fuses, a few ulp per step), and
// the same bits again, with 1 or 2 threads.
void check_stored(std::optional<Positions> shipped, const std::vector<double>& stored) {
    const std::vector<float> losses = run_losses(1, shipped);
    REQUIRE(losses.size() == stored.size());
    for (std::size_t k = 0; k < stored.size(); ++k) {
        INFO("step " << k + 1 << ": " << losses[k] << " against " << stored[k]);
        CHECK(std::abs(losses[k] - stored[k]) <= 1e-4 * stored[k]);
    }
    CHECK(run_losses(1, shipped) == losses);
    CHECK(run_losses(2, shipped) == losses);
    gpt::set_threads(1);
}

}  // namespace

TEST_CASE("learning-rate schedule: linear warm-up, cosine decay to min_lr, then min_lr (nanoGPT's get_lr)", "[train]") {
    TrainConfig c;
    c.learning_rate = 1.0f;
    c.min_lr = 0.1f;
    c.warmup_iters = 4;
    c.lr_decay_iters = 14;
    CHECK(learning_rate_at(c, 0) == Approx(1.0 / 5));
    CHECK(learning_rate_at(c, 3) == Approx(4.0 / 5));
    CHECK(learning_rate_at(c, 4) == Approx(1.0));
    CHECK(learning_rate_at(c, 9) == Approx(0.1 + 0.9 * 0.5));
    CHECK(learning_rate_at(c, 14) == Approx(0.1));
    CHECK(learning_rate_at(c, 100) == Approx(0.1));
}

TEST_CASE("gradient clipping scales by max_norm / (norm + 1e-6) only above max_norm, and returns the norm", "[train]") {
    std::vector<float> g = {3, 4};
    CHECK(clip_gradients(g, 10.0f) == Approx(5.0));
    CHECK(g == std::vector<float>{3, 4});
    CHECK(clip_gradients(g, 1.0f) == Approx(5.0));
    CHECK(g[0] == Approx(0.6).epsilon(1e-6));
    CHECK(g[1] == Approx(0.8).epsilon(1e-6));
}

TEST_CASE("a short training run gives the stored losses — the same bits again, and with 1 or 2 threads", "[train]") {
    check_stored(std::nullopt, {2.4987988471984863, 2.4251115322113037, 2.3986310958862305, 2.3510184288024902,
                                        2.303178071975708,  2.2415177822113037, 2.2335717678070068, 2.2347812652587891,
                                        2.2132861614227295, 2.1379528045654297, 2.1074893474578857, 2.0896573066711426});
}

TEST_CASE("context warm-up: windows of context_start doubling to block_size over context_share of the steps", "[train]") {
    TrainConfig c;
    c.block_size = 512;
    c.max_iters = 100;
    c.context_start = 64;
    c.context_share = 0.8f;
    // 80 warm-up steps in three equal shares: 64, 128, 256; then 512
    for (const auto& [step, T] : std::vector<std::pair<int, int>>{{0, 64}, {26, 64}, {27, 128}, {53, 128}, {54, 256}, {79, 256}, {80, 512}, {99, 512}})
        CHECK(context_at(c, step) == T);
    c.context_start = 0;
    CHECK(context_at(c, 0) == 512);
    c.context_start = 512;
    CHECK(context_at(c, 0) == 512);
    c.context_start = 100;  // not a power of two: 100, 200, 400, then 512
    CHECK(context_at(c, 0) == 100);
    CHECK(context_at(c, 79) == 400);
    CHECK(context_at(c, 80) == 512);

    // the trainer: as many tokens per step, more and shorter rows while warm; evaluation in between
    // uses full windows and the next step goes on with the warm-up's shape
    const TrainConfig w = warmup_train();
    Expected<Trainer> t = Trainer::start(tiny_model_with(Positions::rope), w, tiny_stream());
    REQUIRE(t.ok());
    const std::vector<int> all = tiny_stream();
    const std::vector<int> val(all.begin(), all.begin() + 100);
    for (int k = 0; k < w.max_iters; ++k) {
        const StepStats st = t.value().step();
        const int T = k < 3 ? 4 : k < 6 ? 8 : 16;
        INFO("step " << k + 1);
        CHECK(st.T == T);
        CHECK(st.rows == 4 * 16 / T);
        CHECK(st.tokens == 64LL * (k + 1));
        CHECK(std::isfinite(st.loss));
        if (k == 1) CHECK(std::isfinite(t.value().evaluate(val)));
    }
    CHECK(warmup_train().context_share == 0.5f);
    TrainConfig bad = warmup_train();
    bad.context_start = 17;
    CHECK(Trainer::start(tiny_model_with(Positions::rope), bad, tiny_stream()).error() ==
          "context_start: expected 0 (no context warm-up) or an integer from 1 to block_size (16), got 17");
    bad = warmup_train();
    bad.context_share = 1.5f;
    CHECK(Trainer::start(tiny_model_with(Positions::rope), bad, tiny_stream()).error() == "context_share: expected a number from 0 to 1");
}

TEST_CASE("the shipped recipe in small (RoPE, context warm-up) gives stored losses, the same bits with 1 or 2 threads", "[train]") {
    check_stored(Positions::rope, {2.5117158889770508, 2.4675636291503906, 2.4099922180175781, 2.3347704410552979,
                                   2.268977165222168,  2.2537181377410889, 2.1892213821411133, 2.0686745643615723,
                                   1.997928261756897,  2.0589699745178223, 1.9966322183609009, 1.9652112722396851});
}

TEST_CASE("the recipe with ALiBi gives stored losses, the same bits with 1 or 2 threads", "[train]") {
    check_stored(Positions::alibi, {2.51169753074646,   2.4674711227416992, 2.4100072383880615, 2.333587646484375,
                                        2.2682662010192871, 2.2541375160217285, 2.1893494129180908, 2.0682168006896973,
                                        1.9974268674850464, 2.0587828159332275, 1.9968112707138062, 1.9638711214065552});
}

TEST_CASE("evaluate predicts every token after the first exactly once, whatever the windows", "[train]") {
    Model model = tiny_model();
    TrainConfig c = tiny_train();
    Expected<Trainer> t = Trainer::start(model, c, tiny_stream());
    REQUIRE(t.ok());
    // 40 tokens: windows of 17 starting at 0, 16, 32 (the last one 8 tokens): 39 predictions
    const std::vector<int> all = tiny_stream();
    const std::vector<int> stream(all.begin(), all.begin() + 40);
    double want = 0;
    for (int start = 0; start < 40; start += 16) {
        const std::vector<int> window(stream.begin() + start, stream.begin() + std::min(40, start + 17));
        for (float l : sequence_losses(model, window)) want += l;
    }
    CHECK(t.value().evaluate(stream) == Approx(want / 39).epsilon(1e-6));
}

TEST_CASE("the trainer's errors name the field", "[train]") {
    TrainConfig c = tiny_train();
    c.block_size = 17;
    Expected<Trainer> t = Trainer::start(tiny_model(), c, tiny_stream());
    REQUIRE(!t.ok());
    CHECK(t.error() == "block_size: expected an integer from 1 to the model's block_size (16), got 17");
    c = tiny_train();
    Expected<Trainer> short_stream = Trainer::start(tiny_model(), c, std::vector<int>(10, 1));
    REQUIRE(!short_stream.ok());
    CHECK(short_stream.error() == "tokens: expected at least block_size + 1 = 17 tokens, got 10");
    Expected<Trainer> bad_id = Trainer::start(tiny_model(), c, std::vector<int>(100, 12));
    REQUIRE(!bad_id.ok());
    CHECK(bad_id.error() == "tokens[0]: expected an id from 0 to 11, got 12");
    c.learning_rate = std::nanf("");
    CHECK(Trainer::start(tiny_model(), c, tiny_stream()).error() == "learning_rate: expected a finite number > 0");
}

TEST_CASE("init_model is nanoGPT's initialization: std 0.02, residual projections 0.02/sqrt(2L), LayerNorm 1, biases 0", "[train]") {
    ModelConfig c;
    c.block_size = 64;
    c.vocab_size = 500;
    c.n_layer = 2;
    c.n_head = 4;
    c.n_embd = 64;
    Vocabulary v;
    for (int i = 0; i < 500; ++i) v.tokens.push_back(std::to_string(i));
    Expected<Model> m = init_model(c, v, 1);
    REQUIRE(m.ok());
    for (const TensorSpec& t : parameter_specs(c)) {
        const float* x = m.value().params.data() + t.offset;
        double sum = 0, sq = 0;
        for (std::size_t i = 0; i < t.size; ++i) {
            sum += x[i];
            sq += static_cast<double>(x[i]) * x[i];
        }
        const double mean = sum / t.size, sd = std::sqrt(sq / t.size - mean * mean);
        INFO(t.name << " mean " << mean << " sd " << sd);
        if (t.is_bias) {
            CHECK(sq == 0);
        } else if (t.name.find("ln_") != std::string::npos) {
            CHECK(mean == 1.0);
            CHECK(sd == 0);
        } else {
            const double want = t.name.find("c_proj.weight") != std::string::npos ? 0.02 / std::sqrt(4.0) : 0.02;
            CHECK(std::abs(mean) < 0.1 * want);
            CHECK(sd == Approx(want).epsilon(0.05));
        }
    }
    CHECK(init_model(c, v, 1).value().params == m.value().params);
    CHECK(init_model(c, v, 2).value().params != m.value().params);
}

namespace {

// Bars on an 8×8 image, the class their direction (0 vertical, 1 horizontal, 2 diagonal), at a
// seeded position with seeded faint noise: a task a small ViT learns in a few dozen steps.
void bar_images(int n, unsigned seed, std::vector<float>& images, std::vector<int>& labels) {
    images.assign(static_cast<std::size_t>(n) * 64, 0.0f);
    labels.resize(n);
    std::uint64_t state = seed;
    const auto next = [&state](int below) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<int>((state >> 33) % static_cast<std::uint64_t>(below));
    };
    for (int i = 0; i < n; ++i) {
        float* im = images.data() + static_cast<std::size_t>(i) * 64;
        for (int k = 0; k < 64; ++k) im[k] = 0.1f * static_cast<float>(next(4)) / 4;
        const int label = next(3), at = next(8);
        for (int k = 0; k < 8; ++k) im[label == 0 ? k * 8 + at : label == 1 ? at * 8 + k : k * 8 + k] = 1.0f;
        labels[i] = label;
    }
}

Model tiny_vit(std::uint64_t seed = 5) {
    ModelConfig c;
    c.image_size = 8;
    c.patch_size = 2;
    c.block_size = 17;
    c.vocab_size = 3;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 16;
    c.tied = false;
    Expected<Model> m = init_model(c, Vocabulary{{"vertical", "horizontal", "diagonal"}, -1, -1}, seed);
    REQUIRE(m.ok());
    return std::move(m.value());
}

std::vector<float> vit_losses(int threads, Model* trained = nullptr) {
    TrainConfig c;
    c.batch_size = 16;
    c.block_size = 17;
    c.max_iters = c.lr_decay_iters = 150;
    c.warmup_iters = 10;
    c.learning_rate = 3e-3f;
    c.min_lr = 3e-4f;
    c.threads = threads;
    Expected<Trainer> t = Trainer::start(tiny_vit(), c, {});
    REQUIRE(t.ok());
    std::vector<float> losses, images;
    std::vector<int> labels;
    for (int k = 0; k < c.max_iters; ++k) {
        bar_images(16, 100 + k, images, labels);
        Expected<StepStats> st = t.value().step_images(images, labels, 16);
        REQUIRE(st.ok());
        losses.push_back(st.value().loss);
    }
    if (trained) *trained = t.value().model();
    gpt::set_threads(1);
    return losses;
}

}  // namespace

TEST_CASE("an image model trains on step_images: it learns held-out bars, stored losses, the same bits with 1 or 2 threads", "[train]") {
    Model trained;
    const std::vector<float> losses = vit_losses(1, &trained);
    // stored from a native run of this build's trainer (wasm within 1e-4: see check_stored)
    const std::vector<double> stored = {1.0956310033798218, 1.1232510805130005, 1.1057251691818237, 1.0831507444381714};
    for (std::size_t k = 0; k < stored.size(); ++k) {
        INFO("step " << k + 1 << ": " << std::setprecision(17) << losses[k] << " against " << stored[k]);
        CHECK(std::abs(losses[k] - stored[k]) <= 1e-4 * stored[k]);
    }
    CHECK(vit_losses(1) == losses);
    CHECK(vit_losses(2) == losses);
    std::vector<float> images;
    std::vector<int> labels;
    bar_images(90, 7, images, labels);  // images no step saw
    const ImageScore score = evaluate_images(trained, images, labels);
    INFO("held-out accuracy " << score.accuracy << ", loss " << score.loss << "; first training loss " << losses.front()
                              << ", last " << losses.back());
    CHECK(score.images == 90);
    CHECK(score.accuracy >= 0.9);
    CHECK(score.loss < 0.5 * losses.front());
}

TEST_CASE("step_images' errors name the field and leave the model unchanged", "[train]") {
    TrainConfig c;
    c.batch_size = 2;
    c.block_size = 17;
    Expected<Trainer> t = Trainer::start(tiny_vit(), c, {});
    REQUIRE(t.ok());
    const std::vector<float> before = t.value().model().params;
    std::vector<float> images(128, 0.5f);
    CHECK(t.value().step_images(images, {0}, 2).error() == "labels: expected B = 2 class ids, got 1");
    CHECK(t.value().step_images(images, {0, 3}, 2).error() == "labels[1]: expected a class id from 0 to 2, got 3");
    CHECK(t.value().step_images(std::vector<float>(100, 0.5f), {0, 1}, 2).error() == "images: expected B × 64 = 128 pixels, got 100");
    images[70] = std::nanf("");
    CHECK(t.value().step_images(images, {0, 1}, 2).error() == "images[70]: expected a finite pixel value, got NaN");
    CHECK(t.value().model().params == before);
    Expected<Trainer> text = Trainer::start(tiny_model(), tiny_train(), tiny_stream());
    REQUIRE(text.ok());
    CHECK(text.value().step_images(images, {0, 1}, 2).error() == "model: expected an image model (config.image_size > 0) for step_images");
}
