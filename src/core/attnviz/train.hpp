// attnviz/train.hpp — training a Model: AdamW, the learning-rate schedule, and a Trainer that
// takes one optimizer step at a time.
//
// Index
//   1. TrainConfig      nanoGPT's train.py settings
//   2. Optimizer        learning-rate schedule, gradient clipping, AdamW (torch.optim.AdamW's maths)
//   3. Trainer          start(model, config, tokens) → step() … → model(); evaluate()
//
// A run is data: a TrainConfig and a token stream in, a stream of StepStats out. The command-line
// trainer and (later) the page's worker drive the same Trainer; neither re-implements a step.
// Deterministic: the same model, config and tokens give the same bits on one build, whatever
// the thread count.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "attnviz/expected.hpp"
#include "attnviz/model.hpp"

namespace attnviz {

//-----------------------------------------------------------------------------
// 1. TrainConfig
//-----------------------------------------------------------------------------
struct TrainConfig {
    int           batch_size     = 16;     // B sequences per step
    int           block_size     = 256;    // T tokens per sequence (<= the model's block_size)
    int           max_iters      = 2000;   // optimizer steps
    float         learning_rate  = 1e-3f;  // peak, after warm-up
    float         min_lr         = 1e-4f;  // at the end of the cosine decay
    int           warmup_iters   = 100;    // linear warm-up steps
    int           lr_decay_iters = 2000;   // the cosine reaches min_lr here
    float         weight_decay   = 0.1f;   // AdamW's decoupled decay, on tensors of 2+ dimensions only
    float         beta1          = 0.9f;
    float         beta2          = 0.99f;
    float         eps            = 1e-8f;
    float         grad_clip      = 1.0f;   // max global gradient norm; 0 = no clipping
    std::uint64_t seed           = 1337;   // the batches' positions
    float         repeat_share   = 0;      // share of each batch's sequences that repeat a passage: the
                                           // first round(B·share) rows hold a span of ⌈(T+1)/2⌉ tokens
                                           // twice over, so copying what followed before pays (induction)
    int           context_start  = 0;      // context warm-up: 0 = off; else the first context_share of the
    float         context_share  = 0;      // steps train on shorter windows, context_start tokens doubling
                                           // up to block_size in equal shares of those steps, with
                                           // batch_size·block_size / T rows so each step sees as many tokens
    int           threads        = 1;      // natively: threads the step may use (results do not depend on it)
};

// "" when valid for `model`, else "<field>: <expected>".
std::string check_train_config(const TrainConfig& config, const ModelConfig& model);

//-----------------------------------------------------------------------------
// 2. Optimizer
//-----------------------------------------------------------------------------
// nanoGPT's get_lr: linear warm-up to learning_rate, then a cosine down to min_lr at
// lr_decay_iters, min_lr after.
float learning_rate_at(const TrainConfig& config, int step);

// The window length step `step` trains on (block_size, or shorter during the context warm-up).
int context_at(const TrainConfig& config, int step);

// FLOPs of one training token (forward and backward) at context T: 6 per parameter use in the
// matmuls (forward 2, backward 4), wte counted once as the unembedding, plus attention's Q·Kᵀ
// and att·V over the full T×T the kernels compute (12·L·T·C: 2 matmuls, forward and twice backward).
double training_flops_per_token(const ModelConfig& config, int T);

// torch.nn.utils.clip_grad_norm_: the global L2 norm of `grads` (summed in double, in order);
// when max_norm > 0, every gradient is multiplied by min(1, max_norm / (norm + 1e-6)).
// Returns the norm before clipping.
double clip_gradients(std::vector<float>& grads, float max_norm);

// AdamW's state: the two moments, ParameterTensors' layout, and the step count.
struct AdamWState {
    std::vector<float> m;  // (parameter_count) first moment
    std::vector<float> v;  // (parameter_count) second moment
    int                t = 0;
};

// One step of torch.optim.AdamW on every parameter, in torch's order of operations:
// p -= lr·wd·p (tensors that decay), m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g²,
// p -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + eps).
void adamw_update(Model& model, const std::vector<float>& grads, AdamWState& state, float lr, const TrainConfig& config);

//-----------------------------------------------------------------------------
// 3. Trainer
//-----------------------------------------------------------------------------
struct StepStats {
    int    step      = 0;   // steps taken, this one included
    float  loss      = 0;   // mean training loss of this step's batch, before the update (nats per token)
    float  lr        = 0;   // learning rate used
    double grad_norm = 0;   // before clipping
    double ms        = 0;   // wall time of the step
    long long tokens = 0;   // tokens seen so far
    int    rows      = 0;   // this step's batch: rows windows of T tokens (batch_size x block_size,
    int    T         = 0;   // or more and shorter windows during the context warm-up)
};

class Trainer {
public:
    // `tokens` is the training stream (ids < vocab_size, at least block_size + 1 of them), or
    // empty when every step is given its batch (step_batch: the tasks' examples).
    static Expected<Trainer> start(Model model, const TrainConfig& config, std::vector<int> tokens);

    StepStats step();                       // one batch from the stream: forward, backward, clip, AdamW
    // One step on a given batch: `inputs` and `targets` (B × T ids each, row-major; a target -1 is
    // not scored; T <= the model's block_size), the loss their scored positions' mean. The shape
    // may change from one step to the next. Errors name the field; the model is then unchanged.
    Expected<StepStats> step_batch(const std::vector<int>& inputs, const std::vector<int>& targets, int B, int T);
    // One step on a batch of images (image models): `images` B × S·S pixels (each image S×S, row
    // by row), `labels` B class ids; the loss is the class token's cross-entropy. Errors name the
    // field; the model is then unchanged.
    Expected<StepStats> step_images(const std::vector<float>& images, const std::vector<int>& labels, int B);
    int steps() const;                      // steps taken
    const Model& model() const;             // the parameters as they are now
    const TrainConfig& config() const;

    // Mean loss per predicted token over `tokens` cut into windows of block_size + 1 tokens
    // (consecutive, starting at 0, the last one shorter), at most max_windows of them spread evenly
    // (0 = every window). Every token after a window's first is predicted once. nats per token.
    double evaluate(const std::vector<int>& tokens, int max_windows = 0);

    Trainer(Trainer&&) noexcept;
    Trainer& operator=(Trainer&&) noexcept;
    ~Trainer();

private:
    struct State;
    explicit Trainer(std::unique_ptr<State> state);
    StepStats update(std::chrono::steady_clock::time_point t0);  // forward, backward, clip, AdamW on the batch in place
    std::unique_ptr<State> state_;
};

// The per-position losses of one sequence (nats): losses[t] = -log p(ids[t+1] | ids[0..t]), T-1 of
// them, through the training forward pass (ids.size() <= block_size).
std::vector<float> sequence_losses(const Model& model, const std::vector<int>& ids);

// An image model on n images (n × S·S pixels, row by row): each image's class probabilities
// (n, V), the class token's, through the training forward pass in batches of `batch`.
std::vector<float> classify_images(const Model& model, const float* images, int n, int batch = 64);

// An image model's mean cross-entropy (nats) and accuracy (the most probable class, the lowest id
// on a tie) on labelled images.
struct ImageScore {
    double loss     = 0;
    double accuracy = 0;
    int    images   = 0;
};
ImageScore evaluate_images(const Model& model, const std::vector<float>& images, const std::vector<int>& labels);

}  // namespace attnviz
