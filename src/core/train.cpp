// train.cpp — AdamW, the schedule and the Trainer (attnviz/train.hpp), on gpt.cpp's passes.
#include "attnviz/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <new>
#include <stdexcept>

#include "gpt.hpp"
#include "internal.hpp"
#include "random.hpp"

namespace attnviz {

std::string check_train_config(const TrainConfig& c, const ModelConfig& model) {
    if (c.batch_size < 1 || c.batch_size > 4096) return "batch_size: expected an integer from 1 to 4096, got " + std::to_string(c.batch_size);
    if (c.block_size < 1 || c.block_size > model.block_size)
        return "block_size: expected an integer from 1 to the model's block_size (" + std::to_string(model.block_size) +
               "), got " + std::to_string(c.block_size);
    if (c.max_iters < 0) return "max_iters: expected an integer >= 0, got " + std::to_string(c.max_iters);
    if (c.warmup_iters < 0) return "warmup_iters: expected an integer >= 0, got " + std::to_string(c.warmup_iters);
    if (c.lr_decay_iters < c.warmup_iters) return "lr_decay_iters: expected at least warmup_iters";
    const auto positive = [](float v) { return std::isfinite(v) && v > 0; };
    if (!positive(c.learning_rate)) return "learning_rate: expected a finite number > 0";
    if (!(std::isfinite(c.min_lr) && c.min_lr >= 0 && c.min_lr <= c.learning_rate))
        return "min_lr: expected a number from 0 to learning_rate";
    if (!(std::isfinite(c.weight_decay) && c.weight_decay >= 0)) return "weight_decay: expected a finite number >= 0";
    if (!(c.beta1 >= 0 && c.beta1 < 1)) return "beta1: expected a number in [0, 1)";
    if (!(c.beta2 >= 0 && c.beta2 < 1)) return "beta2: expected a number in [0, 1)";
    if (!positive(c.eps)) return "eps: expected a finite number > 0";
    if (!(std::isfinite(c.grad_clip) && c.grad_clip >= 0)) return "grad_clip: expected a finite number >= 0";
    if (c.threads < 1 || c.threads > 64) return "threads: expected an integer from 1 to 64";
    if (!(c.repeat_share >= 0 && c.repeat_share <= 1)) return "repeat_share: expected a number from 0 to 1";
    if (c.context_start < 0 || c.context_start > c.block_size)
        return "context_start: expected 0 (no context warm-up) or an integer from 1 to block_size (" + std::to_string(c.block_size) +
               "), got " + std::to_string(c.context_start);
    if (!(c.context_share >= 0 && c.context_share <= 1)) return "context_share: expected a number from 0 to 1";
    return "";
}

//-----------------------------------------------------------------------------
// Optimizer
//-----------------------------------------------------------------------------
float learning_rate_at(const TrainConfig& c, int step) {
    if (step < c.warmup_iters) return c.learning_rate * static_cast<float>(step + 1) / static_cast<float>(c.warmup_iters + 1);
    if (step > c.lr_decay_iters) return c.min_lr;
    const double span = std::max(1, c.lr_decay_iters - c.warmup_iters);
    const double ratio = (step - c.warmup_iters) / span;
    const double coeff = 0.5 * (1.0 + std::cos(3.14159265358979323846 * ratio));
    return static_cast<float>(c.min_lr + coeff * (c.learning_rate - c.min_lr));
}

int context_at(const TrainConfig& c, int step) {
    const int warm = static_cast<int>(std::lround(static_cast<double>(c.context_share) * c.max_iters));
    if (c.context_start <= 0 || c.context_start >= c.block_size || step >= warm) return c.block_size;
    int lengths = 0;  // context_start · 2^k below block_size
    for (long long t = c.context_start; t < c.block_size; t *= 2) ++lengths;
    const int k = static_cast<int>(static_cast<long long>(step) * lengths / warm);
    return static_cast<int>(std::min<long long>(static_cast<long long>(c.context_start) << k, c.block_size));
}

double training_flops_per_token(const ModelConfig& c, int T) {
    const double C = c.n_embd, L = c.n_layer, V = c.vocab_size;
    const double block = c.mlp ? 12.0 * C * C : 4.0 * C * C;  // c_attn 3C², attn.c_proj C², the MLP 8C²
    return 6.0 * (L * block + V * C) + 12.0 * L * T * C;
}

double clip_gradients(std::vector<float>& grads, float max_norm) {
    double sum = 0.0;
    for (float g : grads) sum += static_cast<double>(g) * g;
    const double norm = std::sqrt(sum);
    if (max_norm > 0) {
        const double coeff = max_norm / (norm + 1e-6);
        if (coeff < 1.0) {
            const float f = static_cast<float>(coeff);
            for (float& g : grads) g *= f;
        }
    }
    return norm;
}

void adamw_update(Model& model, const std::vector<float>& grads, AdamWState& st, float lr, const TrainConfig& c) {
    if (st.m.size() != model.params.size()) {
        st.m.assign(model.params.size(), 0.0f);
        st.v.assign(model.params.size(), 0.0f);
        st.t = 0;
    }
    ++st.t;
    const float b1 = c.beta1, b2 = c.beta2;
    const float bias_correction1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(b1), st.t));
    const float bias_correction2_sqrt = std::sqrt(1.0f - static_cast<float>(std::pow(static_cast<double>(b2), st.t)));
    const float step_size = lr / bias_correction1;
    for (const TensorSpec& t : parameter_specs(model.config)) {
        const float decay = t.decay ? 1.0f - lr * c.weight_decay : 1.0f;
        float* p = model.params.data() + t.offset;
        const float* g = grads.data() + t.offset;
        float* m = st.m.data() + t.offset;
        float* v = st.v.data() + t.offset;
        for (std::size_t i = 0; i < t.size; ++i) {
            p[i] *= decay;
            m[i] = m[i] * b1 + g[i] * (1.0f - b1);
            v[i] = v[i] * b2 + g[i] * g[i] * (1.0f - b2);
            const float denom = std::sqrt(v[i]) / bias_correction2_sqrt + c.eps;
            p[i] -= step_size * m[i] / denom;
        }
    }
}

//-----------------------------------------------------------------------------
// Trainer
//-----------------------------------------------------------------------------
struct Trainer::State {
    Model              model;
    TrainConfig        config;
    std::vector<int>   tokens;   // the training stream
    gpt::RunState      run;      // buffers of the current batch shape: (batch_size, block_size), or
                                 // shorter windows and more rows during the context warm-up
    AdamWState         adamw;
    random::SplitMix64 rng;      // the batches' start positions
    long long          tokens_seen = 0;
    int                steps = 0;
    State(Model m, const TrainConfig& c, std::vector<int> t)
        : model(std::move(m)), config(c), tokens(std::move(t)),
          run(gpt::make_run_state(model.config, c.batch_size, c.block_size)), rng(random::mix(c.seed)) {}
};

namespace {
// Reallocates the run's buffers when the batch shape changes (the context warm-up's stages).
void reshape(gpt::RunState& run, const ModelConfig& config, int B, int T) {
    if (run.B != B || run.T != T) run = gpt::make_run_state(config, B, T);
}
}  // namespace

Trainer::Trainer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Trainer::Trainer(Trainer&&) noexcept = default;
Trainer& Trainer::operator=(Trainer&&) noexcept = default;
Trainer::~Trainer() = default;

Expected<Trainer> Trainer::start(Model model, const TrainConfig& config, std::vector<int> tokens) {
    if (const std::string e = check_model_config(model.config); !e.empty()) return fail(e);
    if (model.params.size() != parameter_count(model.config)) return fail("model: expected parameter_count(config) parameters");
    if (const std::string e = check_train_config(config, model.config); !e.empty()) return fail(e);
    if (!tokens.empty() && tokens.size() < static_cast<std::size_t>(config.block_size) + 1)
        return fail("tokens: expected at least block_size + 1 = " + std::to_string(config.block_size + 1) + " tokens, got " +
                    std::to_string(tokens.size()));
    for (std::size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= model.config.vocab_size)
            return fail("tokens[" + std::to_string(i) + "]: expected an id from 0 to " + std::to_string(model.config.vocab_size - 1) +
                        ", got " + std::to_string(tokens[i]));
    try {
        return Trainer(std::make_unique<State>(std::move(model), config, std::move(tokens)));
    } catch (const std::bad_alloc&) {
        return fail("batch_size: expected a batch whose activations fit in memory");
    }
}

StepStats Trainer::step() {
    State& s = *state_;
    if (s.tokens.empty()) throw std::logic_error("Trainer::step: no token stream (this trainer takes step_batch)");
    const auto t0 = std::chrono::steady_clock::now();
    const int T = context_at(s.config, s.steps);
    const int B = std::max(1, s.config.batch_size * s.config.block_size / T);
    reshape(s.run, s.model.config, B, T);
    // B windows of T + 1 tokens at random positions: inputs are the first T, targets the last T.
    // The first `repeated` windows are a span of ⌈(T + 1)/2⌉ tokens written twice (the second
    // copy cut to fit), the rest run on as the stream does.
    const std::uint32_t positions = static_cast<std::uint32_t>(s.tokens.size() - T);
    const int repeated = static_cast<int>(std::lround(B * static_cast<double>(s.config.repeat_share)));
    const int span = (T + 1 + 1) / 2;
    for (int b = 0; b < B; ++b) {
        const std::size_t start = s.rng.below(positions);
        const int period = b < repeated ? span : T + 1;
        const auto token = [&](int i) { return s.tokens[start + i % period]; };
        for (int t = 0; t < T; ++t) {
            s.run.inputs[static_cast<std::size_t>(b) * T + t] = token(t);
            s.run.targets[static_cast<std::size_t>(b) * T + t] = token(t + 1);
        }
    }
    return update(t0);
}

Expected<StepStats> Trainer::step_batch(const std::vector<int>& inputs, const std::vector<int>& targets, int B, int T) {
    State& s = *state_;
    const auto t0 = std::chrono::steady_clock::now();
    const int V = s.model.config.vocab_size;
    if (B < 1 || B > 4096) return fail("B: expected an integer from 1 to 4096, got " + std::to_string(B));
    if (T < 1 || T > s.model.config.block_size)
        return fail("T: expected an integer from 1 to the model's block_size (" + std::to_string(s.model.config.block_size) + "), got " +
                    std::to_string(T));
    const std::size_t n = static_cast<std::size_t>(B) * T;
    if (inputs.size() != n) return fail("inputs: expected B × T = " + std::to_string(n) + " ids, got " + std::to_string(inputs.size()));
    if (targets.size() != n) return fail("targets: expected B × T = " + std::to_string(n) + " ids, got " + std::to_string(targets.size()));
    bool scored = false;
    for (std::size_t i = 0; i < n; ++i) {
        if (inputs[i] < 0 || inputs[i] >= V)
            return fail("inputs[" + std::to_string(i) + "]: expected an id from 0 to " + std::to_string(V - 1) + ", got " + std::to_string(inputs[i]));
        if (targets[i] < -1 || targets[i] >= V)
            return fail("targets[" + std::to_string(i) + "]: expected -1 or an id from 0 to " + std::to_string(V - 1) + ", got " +
                        std::to_string(targets[i]));
        scored |= targets[i] >= 0;
    }
    if (!scored) return fail("targets: expected at least one scored position (an id, not -1)");
    try {
        reshape(s.run, s.model.config, B, T);
    } catch (const std::bad_alloc&) {
        return fail("B: expected a batch whose activations fit in memory");
    }
    std::copy(inputs.begin(), inputs.end(), s.run.inputs.begin());
    std::copy(targets.begin(), targets.end(), s.run.targets.begin());
    return update(t0);
}

Expected<StepStats> Trainer::step_images(const std::vector<float>& images, const std::vector<int>& labels, int B) {
    State& s = *state_;
    const auto t0 = std::chrono::steady_clock::now();
    const ModelConfig& c = s.model.config;
    if (!c.is_image()) return fail("model: expected an image model (config.image_size > 0) for step_images");
    if (B < 1 || B > 4096) return fail("B: expected an integer from 1 to 4096, got " + std::to_string(B));
    const std::size_t pixels = static_cast<std::size_t>(c.image_size) * c.image_size;
    if (images.size() != B * pixels)
        return fail("images: expected B × " + std::to_string(pixels) + " = " + std::to_string(B * pixels) + " pixels, got " +
                    std::to_string(images.size()));
    if (labels.size() != static_cast<std::size_t>(B))
        return fail("labels: expected B = " + std::to_string(B) + " class ids, got " + std::to_string(labels.size()));
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] < 0 || labels[i] >= c.vocab_size)
            return fail("labels[" + std::to_string(i) + "]: expected a class id from 0 to " + std::to_string(c.vocab_size - 1) +
                        ", got " + std::to_string(labels[i]));
    if (const std::string e = detail::pixel_error("images", images.data(), images.size()); !e.empty()) return fail(e);
    const int T = c.block_size;
    try {
        reshape(s.run, c, B, T);
    } catch (const std::bad_alloc&) {
        return fail("B: expected a batch whose activations fit in memory");
    }
    gpt::extract_patches(s.run.patches.data(), images.data(), B, c.image_size, c.patch_size);
    std::fill(s.run.targets.begin(), s.run.targets.end(), -1);
    for (int b = 0; b < B; ++b) s.run.targets[static_cast<std::size_t>(b) * T] = labels[b];  // the class token's position
    return update(t0);
}

// Forward, backward, clip, AdamW on the batch in s.run.
StepStats Trainer::update(std::chrono::steady_clock::time_point t0) {
    State& s = *state_;
    const int B = s.run.B, T = s.run.T;
    gpt::set_threads(s.config.threads);
    gpt::gpt_forward(s.run, s.model);
    gpt::gpt_backward(s.run, s.model);
    StepStats stats;
    stats.grad_norm = clip_gradients(s.run.grads, s.config.grad_clip);
    stats.lr = learning_rate_at(s.config, s.steps);
    adamw_update(s.model, s.run.grads, s.adamw, stats.lr, s.config);
    ++s.steps;
    stats.step = s.steps;
    stats.loss = s.run.mean_loss;
    s.tokens_seen += static_cast<long long>(B) * T;
    stats.tokens = s.tokens_seen;
    stats.rows = B;
    stats.T = T;
    stats.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return stats;
}

int Trainer::steps() const { return state_->steps; }
const Model& Trainer::model() const { return state_->model; }
const TrainConfig& Trainer::config() const { return state_->config; }

double Trainer::evaluate(const std::vector<int>& tokens, int max_windows) {
    State& s = *state_;
    const int B = s.config.batch_size, T = s.config.block_size;
    reshape(s.run, s.model.config, B, T);
    gpt::set_threads(s.config.threads);
    if (tokens.size() < 2) return 0.0;
    const long long windows = (static_cast<long long>(tokens.size()) - 2) / T + 1;  // window k starts at k·T
    const long long used = max_windows > 0 ? std::min<long long>(windows, max_windows) : windows;
    double sum = 0.0;
    long long predicted = 0;
    for (long long w0 = 0; w0 < used; w0 += B) {
        for (int b = 0; b < B; ++b) {
            int* inputs = s.run.inputs.data() + static_cast<std::size_t>(b) * T;
            int* targets = s.run.targets.data() + static_cast<std::size_t>(b) * T;
            std::fill(inputs, inputs + T, 0);
            std::fill(targets, targets + T, -1);
            if (w0 + b >= used) continue;
            const long long k = used == windows ? w0 + b : (w0 + b) * windows / used;
            const std::size_t start = static_cast<std::size_t>(k) * T;
            for (int t = 0; t < T && start + t + 1 < tokens.size(); ++t) {
                inputs[t] = tokens[start + t];
                targets[t] = tokens[start + t + 1];
            }
        }
        gpt::gpt_forward(s.run, s.model);
        const float* losses = s.run.activations().losses;
        for (std::size_t i = 0; i < s.run.targets.size(); ++i)
            if (s.run.targets[i] >= 0) {
                sum += losses[i];
                ++predicted;
            }
    }
    return predicted > 0 ? sum / predicted : 0.0;
}

std::vector<float> classify_images(const Model& model, const float* images, int n, int batch) {
    const ModelConfig& c = model.config;
    const int T = c.block_size, V = c.vocab_size;
    const std::size_t pixels = static_cast<std::size_t>(c.image_size) * c.image_size;
    if (n <= 0 || !c.is_image()) return {};
    std::vector<float> probs(static_cast<std::size_t>(n) * V);
    gpt::RunState run = gpt::make_run_state(c, std::min(batch, n), T, false);
    for (int i0 = 0; i0 < n; i0 += run.B) {
        const int B = std::min(run.B, n - i0);
        if (B != run.B) run = gpt::make_run_state(c, B, T, false);
        gpt::extract_patches(run.patches.data(), images + i0 * pixels, B, c.image_size, c.patch_size);
        gpt::gpt_forward(run, model);
        const float* p = run.activations().probs;
        for (int b = 0; b < B; ++b)
            std::copy_n(p + static_cast<std::size_t>(b) * T * V, V, probs.data() + static_cast<std::size_t>(i0 + b) * V);
    }
    return probs;
}

ImageScore evaluate_images(const Model& model, const std::vector<float>& images, const std::vector<int>& labels) {
    const int V = model.config.vocab_size, n = static_cast<int>(labels.size());
    const std::vector<float> probs = classify_images(model, images.data(), n);
    ImageScore score;
    score.images = n;
    if (probs.empty()) return score;
    int right = 0;
    for (int i = 0; i < n; ++i) {
        const float* p = probs.data() + static_cast<std::size_t>(i) * V;
        score.loss -= std::log(std::max(static_cast<double>(p[labels[i]]), 1e-30));
        right += static_cast<int>(std::max_element(p, p + V) - p) == labels[i];
    }
    score.loss /= n;
    score.accuracy = static_cast<double>(right) / n;
    return score;
}

std::vector<float> sequence_losses(const Model& model, const std::vector<int>& ids) {
    const int T = static_cast<int>(ids.size());
    if (T < 2) return {};
    gpt::RunState run = gpt::make_run_state(model.config, 1, T, false);
    std::copy(ids.begin(), ids.end(), run.inputs.begin());
    for (int t = 0; t + 1 < T; ++t) run.targets[t] = ids[t + 1];
    gpt::gpt_forward(run, model);
    const float* losses = run.activations().losses;
    return std::vector<float>(losses, losses + T - 1);
}

}  // namespace attnviz
