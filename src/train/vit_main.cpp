// attnviz-train-vit — trains attnviz's small Vision Transformers (model.hpp, image_size > 0) on
// Fashion-MNIST or scikit-learn's 8×8 digits, natively on every core, with the same Trainer as the
// language model, and writes the weights (safetensors, float16), the model card (JSON) with a
// baseline trained the same way without attention between patches, and a gallery of test images
// for the page. `cmake/dev.sh train-vit` runs it for both datasets; the same build and settings
// give the same bytes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "attnviz/model.hpp"
#include "attnviz/train.hpp"
#include "cli.hpp"
#include "images.hpp"
#include "random.hpp"

namespace {

using namespace attnviz;
using train::clock_text;
using train::die;
using train::read_file;
using train::write_file;

constexpr const char* kUsage =
    "usage: attnviz-train-vit --dataset fashion|digits [options]\n"
    "  Trains a Vision Transformer on the dataset and writes OUT.safetensors (float16), OUT.card.json\n"
    "  (test accuracy beside a baseline trained the same way with the whole image as one patch) and\n"
    "  OUT.gallery.json (test images for the page).\n"
    "  --out PATH        output path without extension (default web/models/vit_<dataset>)\n"
    "  --epochs N        passes over the training images (fashion 60, digits 300)\n"
    "  --batch N         images per step (fashion 64, digits 32)\n"
    "  --patch N         patch size in pixels (fashion 14, digits 2)\n"
    "  --layers N --heads N --embd N   the model's shape (fashion 4, 4, 96; digits 2, 4, 32)\n"
    "  --lr X            peak learning rate (fashion 3e-3, digits 5e-3)\n"
    "  --lr-fall X       the cosine ends at the peak / X (fashion 100, digits 10)\n"
    "  --weight-decay X  AdamW's decoupled weight decay on matrices (default 0.05)\n"
    "  --shift N         augmentation: each training image moved by up to N pixels (fashion 1, digits 1)\n"
    "  --mirror on|off   augmentation: half the training images mirrored left to right (default off)\n"
    "  --seed N          the model's, the order's and the shifts' seed (default 1337)\n"
    "  --threads N       threads (default: every core); the weights do not depend on it\n"
    "  --no-baseline     skip the baseline (quicker experiments; the card then has none)\n";

struct Run {
    int   epochs = 0, batch = 0, patch = 0, layers = 0, heads = 0, embd = 0, shift = 0;
    float lr = 2e-3f, weight_decay = 0.05f;
    int   mirror = 0;  // 1: half the images mirrored (a seeded coin each); 0: none
    float min_lr_div = 10;  // the cosine ends at lr / min_lr_div
    float min_lr() const { return lr / min_lr_div; }
};

struct Options {
    std::string   dataset, out;
    Run           run;
    std::uint64_t seed = 1337;
    int           threads = 1;
    bool          baseline = true;
};

Options parse(int argc, char** argv) {
    Options o;
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    Run given;  // 0 = the dataset's default
    given.lr = 0;
    given.weight_decay = -1;
    given.min_lr_div = 0;
    for (int k = 1; k < argc; ++k) {
        const std::string arg = argv[k];
        const auto value = [&]() -> std::string {
            if (k + 1 >= argc) die(arg + ": expected a value (see --help)");
            return argv[++k];
        };
        const auto integer = [&]() { return static_cast<int>(train::integer_value(arg, value())); };
        const auto number = [&]() { return static_cast<float>(train::number_value(arg, value())); };
        if (arg == "--help" || arg == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (arg == "--dataset") o.dataset = value();
        else if (arg == "--out") o.out = value();
        else if (arg == "--epochs") given.epochs = integer();
        else if (arg == "--batch") given.batch = integer();
        else if (arg == "--patch") given.patch = integer();
        else if (arg == "--layers") given.layers = integer();
        else if (arg == "--heads") given.heads = integer();
        else if (arg == "--embd") given.embd = integer();
        else if (arg == "--shift") given.shift = integer() + 1;  // +1: 0 given means no shift
        else if (arg == "--lr") given.lr = number();
        else if (arg == "--weight-decay") given.weight_decay = number();
        else if (arg == "--lr-fall") {
            given.min_lr_div = number();
            if (!(given.min_lr_div >= 1)) die("--lr-fall: expected a number >= 1 (the cosine ends at the peak / X), got " + std::to_string(given.min_lr_div));
        }
        else if (arg == "--mirror") {
            const std::string v = value();
            if (v != "on" && v != "off") die("--mirror: expected on or off, got \"" + v + "\"");
            given.mirror = v == "on" ? 2 : 1;  // 0 = the dataset's default
        } else if (arg == "--seed") o.seed = static_cast<std::uint64_t>(integer());
        else if (arg == "--threads") o.threads = integer();
        else if (arg == "--no-baseline") o.baseline = false;
        else die("unknown option " + arg + " (see --help)");
    }
    Run d;  // the shipped models' settings
    if (o.dataset == "fashion") d = {60, 64, 14, 4, 4, 96, 1, 3e-3f, 0.05f, 0, 100};
    else if (o.dataset == "digits") d = {300, 32, 2, 2, 4, 32, 1, 5e-3f, 0.05f, 0, 10};
    else die("--dataset: expected fashion or digits, got \"" + o.dataset + "\"");
    const auto pick = [](int g, int def) { return g > 0 ? g : def; };
    o.run = {pick(given.epochs, d.epochs), pick(given.batch, d.batch), pick(given.patch, d.patch), pick(given.layers, d.layers),
             pick(given.heads, d.heads),   pick(given.embd, d.embd),   given.shift > 0 ? given.shift - 1 : d.shift,
             given.lr > 0 ? given.lr : d.lr, given.weight_decay >= 0 ? given.weight_decay : d.weight_decay,
             given.mirror > 0 ? given.mirror - 1 : d.mirror, given.min_lr_div > 0 ? given.min_lr_div : d.min_lr_div};
    if (o.out.empty()) o.out = "web/models/vit_" + o.dataset;
    return o;
}

struct Trained {
    Model          model;
    double         seconds = 0;
    long long      images_seen = 0;
    nlohmann::json curve = nlohmann::json::array();
};

// Trains a fresh model of `config` on data.train for run.epochs: each epoch a seeded shuffle, each
// image moved by a seeded shift of up to run.shift pixels and, if run.mirror, mirrored on a seeded
// coin; the test accuracy after every epoch.
Trained train_model(const ModelConfig& config, const Run& run, const train::ImageData& data, std::uint64_t seed, int threads,
                    const char* label) {
    Vocabulary classes;
    classes.tokens = data.classes;
    Expected<Model> fresh = init_model(config, classes, seed);
    if (!fresh) die(fresh.error());
    const int n = data.train.count(), S = data.train.size, steps_per_epoch = (n + run.batch - 1) / run.batch;
    TrainConfig tc;
    tc.batch_size = run.batch;
    tc.block_size = config.block_size;
    tc.max_iters = tc.lr_decay_iters = run.epochs * steps_per_epoch;
    tc.warmup_iters = std::min(tc.max_iters, std::max(1, steps_per_epoch / 2));
    tc.learning_rate = run.lr;
    tc.min_lr = run.min_lr();
    tc.weight_decay = run.weight_decay;
    tc.beta2 = 0.99f;
    tc.seed = seed;
    tc.threads = threads;
    Expected<Trainer> started = Trainer::start(std::move(fresh.value()), tc, {});
    if (!started) die(started.error());
    Trainer& trainer = started.value();
    std::fprintf(stderr, "%s: %zu parameters, %d layers, %d heads, d_model %d, %d×%d patches (T %d); %d epochs of %d steps of %d images\n",
                 label, parameter_count(config), config.n_layer, config.n_head, config.n_embd, config.patch_size, config.patch_size,
                 config.block_size, run.epochs, steps_per_epoch, run.batch);

    Trained out;
    random::SplitMix64 rng(random::mix(seed ^ 0x5eedULL));
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::vector<float> images;
    std::vector<int> labels;
    const auto t0 = std::chrono::steady_clock::now();
    const double flops_per_image = training_flops_per_token(config, config.block_size) * config.block_size;
    for (int epoch = 1; epoch <= run.epochs; ++epoch) {
        for (int i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<std::uint32_t>(i + 1))]);
        double loss_sum = 0, ms = 0;
        for (int s = 0; s < steps_per_epoch; ++s) {
            const int first = s * run.batch, B = std::min(run.batch, n - first);
            images.assign(static_cast<std::size_t>(B) * S * S, 0.0f);
            labels.resize(B);
            for (int b = 0; b < B; ++b) {
                const int i = order[first + b];
                const int span = 2 * run.shift + 1;
                const int dx = run.shift ? static_cast<int>(rng.below(span)) - run.shift : 0;
                const int dy = run.shift ? static_cast<int>(rng.below(span)) - run.shift : 0;
                const bool mirror = run.mirror && rng.below(2) == 1;  // no draw without mirroring: digits' stream unchanged
                train::shift_image(images.data() + static_cast<std::size_t>(b) * S * S, data.train.image(i), S, dx, dy, mirror);
                labels[b] = data.train.labels[i];
            }
            Expected<StepStats> st = trainer.step_images(images, labels, B);
            if (!st) die(st.error());
            if (!std::isfinite(st.value().loss)) die(std::string(label) + ": the loss is no longer finite at step " + std::to_string(st.value().step));
            loss_sum += st.value().loss;
            ms += st.value().ms;
            out.images_seen += B;
        }
        const ImageScore test = evaluate_images(trainer.model(), data.test.pixels, data.test.labels);
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::fprintf(stderr, "%s epoch %3d/%d  train loss %.4f  test loss %.4f  test accuracy %.2f %%  %.0f images/s  %.1f GFLOP/s  elapsed %s  left %s\n",
                     label, epoch, run.epochs, loss_sum / steps_per_epoch, test.loss, 100 * test.accuracy, n / (ms / 1000),
                     n * flops_per_image / (ms / 1000) / 1e9, clock_text(elapsed).c_str(),
                     clock_text(elapsed / epoch * (run.epochs - epoch)).c_str());
        out.curve.push_back({{"epoch", epoch}, {"train_loss", loss_sum / steps_per_epoch}, {"test_loss", test.loss}, {"test_accuracy", test.accuracy}});
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.model = trainer.model();
    return out;
}

ModelConfig vit_config(const Run& run, int image_size, int classes, int patch) {
    ModelConfig c;
    c.image_size = image_size;
    c.patch_size = patch;
    c.block_size = (image_size / patch) * (image_size / patch) + 1;
    c.vocab_size = classes;
    c.n_layer = run.layers;
    c.n_head = run.heads;
    c.n_embd = run.embd;
    c.tied = false;
    c.positions = Positions::learned;
    if (const std::string e = check_model_config(c); !e.empty()) die("model: " + e);
    return c;
}

nlohmann::json settings_json(const Run& run, std::uint64_t seed) {
    return {{"epochs", run.epochs}, {"batch_size", run.batch},   {"learning_rate", run.lr}, {"min_lr", run.min_lr()},
            {"weight_decay", run.weight_decay}, {"beta1", 0.9}, {"beta2", 0.99}, {"grad_clip", 1.0},
            {"warmup", "half an epoch, then a cosine to min_lr at the last step"},
            {"augmentation", "each training image moved by a seeded random shift of up to " + std::to_string(run.shift) +
                             " pixels in x and y (zeros fill)" + (run.mirror ? ", and half of them mirrored left to right" : "") +
                             ", every epoch anew"},
            {"seed", seed}};
}

// Up to `per_class` test images of each class, in test order, with the model's prediction.
nlohmann::json gallery_json(const Model& model, const train::ImageData& data, int per_class) {
    nlohmann::json images = nlohmann::json::array();
    std::vector<int> taken(data.classes.size(), 0);
    const int S = data.test.size;
    for (int i = 0; i < data.test.count(); ++i) {
        const int label = data.test.labels[i];
        if (taken[label] >= per_class) continue;
        ++taken[label];
        const std::vector<float> probs = classify_images(model, data.test.image(i), 1);
        const int predicted = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
        std::vector<int> pixels(static_cast<std::size_t>(S) * S);
        const float scale = data.name == "digits" ? 16.0f : 255.0f;  // the dataset's own integer levels
        for (std::size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<int>(std::lround(data.test.image(i)[k] * scale));
        images.push_back({{"test_index", i}, {"label", label}, {"predicted", predicted}, {"pixels", pixels}});
    }
    return {{"dataset", data.name}, {"classes", data.classes}, {"size", S},
            {"levels", data.name == "digits" ? 16 : 255},
            {"pixels", "row by row; divide by levels for the model's input in [0, 1]"},
            {"images", images}};
}

}  // namespace

int main(int argc, char** argv) {
    train::program() = "attnviz-train-vit";
    const Options opt = parse(argc, argv);
    const auto t_start = std::chrono::steady_clock::now();
    Expected<train::ImageData> loaded = opt.dataset == "fashion" ? train::load_fashion_mnist() : train::load_digits();
    if (!loaded) die(loaded.error());
    const train::ImageData& data = loaded.value();
    const int S = data.train.size, V = static_cast<int>(data.classes.size());
    std::fprintf(stderr, "%s: %d training and %d test images of %d×%d pixels, %d classes\n", data.name.c_str(), data.train.count(),
                 data.test.count(), S, S, V);

    const ModelConfig config = vit_config(opt.run, S, V, opt.run.patch);
    Trained vit = train_model(config, opt.run, data, opt.seed, opt.threads, "ViT");
    vit.model.metadata["training"] = settings_json(opt.run, opt.seed).dump();
    vit.model.metadata["dataset"] = data.name;
    write_file(opt.out + ".safetensors", save_model(vit.model, FileDtype::f16));
    // the card measures the model as shipped: read back from its float16 file
    Expected<Model> shipped = load_model(read_file(opt.out + ".safetensors"));
    if (!shipped) die(shipped.error());
    const Model& model = shipped.value();
    const ImageScore test = evaluate_images(model, data.test.pixels, data.test.labels);
    const ImageScore train_score = evaluate_images(model, data.train.pixels, data.train.labels);

    nlohmann::json card;
    card["name"] = "vit_" + opt.dataset;
    card["architecture"] = "Vision Transformer (Dosovitskiy et al., 2020) on attnviz's GPT blocks: " + std::to_string(S) + "×" +
                           std::to_string(S) + " one-channel images cut into " + std::to_string(config.n_patches()) + " patches of " +
                           std::to_string(config.patch_size) + "×" + std::to_string(config.patch_size) +
                           " pixels (raster order), each a token by a linear map (patch_embed); a learned class token first; "
                           "learned positions; pre-LayerNorm blocks of bidirectional multi-head self-attention and an MLP "
                           "(4x, GELU erf form); final LayerNorm; a linear head (no bias) on the class token";
    card["config"] = {{"image_size", S}, {"patch_size", config.patch_size}, {"block_size", config.block_size}, {"classes", V},
                      {"n_layer", config.n_layer}, {"n_head", config.n_head}, {"n_embd", config.n_embd}, {"bias", config.bias}};
    card["parameters"] = parameter_count(config);
    card["file"] = {{"dtype", "F16"}, {"bytes", read_file(opt.out + ".safetensors").size()}};
    card["dataset"] = {{"name", data.name}, {"classes", data.classes}, {"source", data.source}, {"licence", data.licence},
                       {"split", data.split}, {"train_images", data.train.count()}, {"test_images", data.test.count()}};
    card["training"] = settings_json(opt.run, opt.seed);
    card["training"]["images_seen"] = vit.images_seen;
    card["training_seconds"] = vit.seconds;
    card["training_threads"] = opt.threads;
    card["curve"] = vit.curve;
    card["test_accuracy"] = test.accuracy;
    card["test_loss"] = test.loss;
    card["train_accuracy"] = train_score.accuracy;
    card["train_loss"] = train_score.loss;
    card["measured_on"] = "the float16 weights as shipped, every test image, no augmentation";
    if (opt.baseline) {
        // the same trainer and settings, the whole image one patch: no attention between parts of
        // the image (the class token reads the one image token: an MLP on the pixels)
        const ModelConfig base_config = vit_config(opt.run, S, V, S);
        Trained base = train_model(base_config, opt.run, data, opt.seed, opt.threads, "baseline");
        const ImageScore base_test = evaluate_images(base.model, data.test.pixels, data.test.labels);
        card["baseline"] = {{"what", "the same trainer, settings and depth with the whole image as one patch (patch_size " +
                                         std::to_string(S) + "): no attention between parts of the image; the class token reads "
                                         "the one image token, so the model is an MLP on the pixels"},
                            {"parameters", parameter_count(base_config)},
                            {"test_accuracy", base_test.accuracy},
                            {"test_loss", base_test.loss},
                            {"training_seconds", base.seconds},
                            {"measured_on", "float32 weights, every test image"}};
    }
    write_file(opt.out + ".card.json", card.dump(2) + "\n");
    write_file(opt.out + ".gallery.json", gallery_json(model, data, 4).dump() + "\n");
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    std::fprintf(stderr, "wrote %s.{safetensors,card.json,gallery.json}: test accuracy %.2f %%%s; total %s\n", opt.out.c_str(),
                 100 * test.accuracy,
                 opt.baseline ? (" (baseline " + std::to_string(100 * card["baseline"]["test_accuracy"].get<double>()) + " %)").c_str() : "",
                 clock_text(total).c_str());
    return 0;
}
