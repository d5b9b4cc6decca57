// gpt.hpp — the GPT's operations, each a forward / backward pair, as in llm.c's train_gpt2.c.
//
// Index
//   1. Threads             how many threads the operations may use (natively; wasm uses one)
//   2. Operation pairs     encoder, layernorm, matmul, rope, attention, gelu, residual, crossentropy
//   3. Activations         every intermediate of a batch, for the backward pass
//   4. The model's passes  gpt_forward, gpt_backward
//
// Every function writes its outputs first and takes shapes as arguments: B batch, T time,
// C channels, OC output channels, H heads, hs = C / H, V vocabulary. A backward ADDS into its
// gradient outputs (llm.c's convention: gradients start at zero each step, and a tensor used
// twice — the tied wte, the residual stream — collects both contributions), except where it says
// it sets them: an activation gradient that one backward alone writes needs no zeroing first.
//
// Results do not depend on the thread count: work is split over rows or columns of an output,
// never over the terms of one sum, so one build gives the same bits with 1 or 2 threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "attnviz/model.hpp"

namespace attnviz::gpt {

//-----------------------------------------------------------------------------
// 1. Threads
//-----------------------------------------------------------------------------
void set_threads(int threads);  // 1.. (clamped to 1 in wasm builds without threads)
int  threads();

//-----------------------------------------------------------------------------
// 2. Operation pairs
//-----------------------------------------------------------------------------
// out = wte[inp] + wpe[t] (wte[inp] when wpe is nullptr: ALiBi).   out (B,T,C), inp (B,T), wte (V,C), wpe (Tmax,C)
void encoder_forward(float* out, const int* inp, const float* wte, const float* wpe, int B, int T, int C);
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int* inp, int B, int T, int C);

// An image model's tokens: images (B, S·S) cut into patches (B, N, P), each patch's p×p pixels row
// by row, the patches in raster order (row of patches, then column).
void extract_patches(float* patches, const float* images, int B, int image_size, int patch_size);
// out[b,0] = cls + wpe[0]; out[b,1+n] = patches[b,n]·patchwᵀ + patchb + wpe[1+n].
// out (B,N+1,C), patches (B,N,P), patchw (C,P), patchb (C), cls (C), wpe (N+1,C)
void patch_encoder_forward(float* out, const float* patches, const float* patchw, const float* patchb, const float* cls,
                           const float* wpe, int B, int N, int P, int C);
// dpatchw (C,P), dpatchb (C), dcls (C), dwpe (N+1,C), dout (B,N+1,C)
void patch_encoder_backward(float* dpatchw, float* dpatchb, float* dcls, float* dwpe, const float* dout, const float* patches,
                            int B, int N, int P, int C);

// out = (inp - mean) * rstd * weight + bias, over the last axis; eps 1e-5.
// out (N,C), mean (N), rstd (N), inp (N,C), weight (C), bias (C); N = B·T
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                       int N, int C);
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C);

// out = inp·weightᵀ + bias (torch's Linear).   out (N,OC), inp (N,C), weight (OC,C), bias (OC) or null
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC);
// The same with weightᵀ already packed for the kernel (kernels::pack_transposed(packed, weight, C,
// C, OC)), the same numbers: a model traced again and again packs its weights once.
void matmul_forward_packed(float* out, const float* inp, const float* packed, const float* bias, int N, int C, int OC);
// dinp (N,C) or null (no gradient wanted: weight is then not read), dweight (OC,C), dbias (OC) or null, dout (N,OC).
// set_dinp: dinp = dout·weight instead of +=, for a dinp nothing else writes (the same bits as
// adding into zeros, without zeroing it).
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp, const float* weight,
                     int N, int C, int OC, bool set_dinp = false);

// RoPE: rotates each head's query and key at position t, pair (2i, 2i+1) of the head's hs channels
// by the angle t·10000^(−2i/hs), in place: (a, b) -> (a·cos − b·sin, a·sin + b·cos). Values are
// untouched. The angles are computed in double, their cos and sin rounded to float once.
// qkv (B,T,3C), as c_attn writes it
void rope_forward(float* qkv, int B, int T, int C, int H);
// The transpose of that rotation (the angle negated) applied to dq and dk in place: the gradient
// with respect to the unrotated q and k. dqkv (B,T,3C), dv untouched.
void rope_backward(float* dqkv, int B, int T, int C, int H);

// Multi-head self-attention, causal unless `causal` is false (image models). inp holds q, k, v
// side by side per position (c_attn's output); head h uses channels [h·hs, (h+1)·hs) of each.
// att = softmax(q·kᵀ/√hs) over keys t2 <= t (exactly 0 above the diagonal), or over every key
// when not causal; out = att·v, heads side by side.
// out (B,T,C), att (B,H,T,T), inp (B,T,3C)
// alibi: each head h subtracts alibi_slope(h, H)·|t − t2| from its scaled scores. A constant bias:
// attention_backward is the same with or without it (it reads the softmax's output, att).
void attention_forward(float* out, float* att, const float* inp, int B, int T, int C, int H, bool alibi = false,
                       bool causal = true);
// dinp (B,T,3C) is SET (every element of q, k and v written once), dout (B,T,C), inp (B,T,3C), att (B,H,T,T)
void attention_backward(float* dinp, const float* dout, const float* inp, const float* att, int B, int T, int C, int H,
                        bool causal = true);

// GELU, the erf form: out = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as torch.nn.GELU() (erf to 1.5e-7, kernels::gelu).   (N)
// derivative (N) or null: also GELU's derivative Φ(x) + x·φ(x) at inp, which gelu_backward reads
// instead of computing erf and exp again.
void gelu_forward(float* out, float* derivative, const float* inp, std::size_t N);
// dinp = derivative·dout, SET (dinp may be `derivative`: in place).
void gelu_backward(float* dinp, const float* derivative, const float* dout, std::size_t N);

// out = inp1 + inp2.   (N)
void residual_forward(float* out, const float* inp1, const float* inp2, std::size_t N);
void residual_backward(float* dinp1, float* dinp2, const float* dout, std::size_t N);

// probs = softmax(logits) over V; losses = -log probs[target] (0 where target < 0: no target).
// probs (B,T,V), losses (B,T), logits (B,T,V), targets (B,T)
void softmax_crossentropy_forward(float* probs, float* losses, const float* logits, const int* targets, int BT, int V);
// dlogits += (probs - onehot(target))·dloss, with dloss = 1 / (positions with a target): the
// gradient of the mean loss.   dlogits (B,T,V)
void softmax_crossentropy_backward(float* dlogits, const float* probs, const int* targets, int BT, int V);

//-----------------------------------------------------------------------------
// 3. Activations
//-----------------------------------------------------------------------------
struct ActivationTensors {
    float* encoded;    // (B, T, C)
    float* ln1;        // (L, B, T, C)
    float* ln1_mean;   // (L, B, T)
    float* ln1_rstd;   // (L, B, T)
    float* qkv;        // (L, B, T, 3C)   q and k rotated with RoPE
    float* atty;       // (L, B, T, C)   attention's heads side by side, before c_proj
    float* att;        // (L, B, H, T, T)
    float* attproj;    // (L, B, T, C)
    float* residual2;  // (L, B, T, C)
    float* ln2;        // (L, B, T, C)   ln2 … fcproj: empty when attention-only (residual3 is then residual2)
    float* ln2_mean;   // (L, B, T)
    float* ln2_rstd;   // (L, B, T)
    float* fch;        // (L, B, T, 4C)
    float* fch_gelu;   // (L, B, T, 4C)
    float* fcproj;     // (L, B, T, C)
    float* residual3;  // (L, B, T, C)
    float* lnf;        // (B, T, C)
    float* lnf_mean;   // (B, T)
    float* lnf_rstd;   // (B, T)
    float* logits;     // (B, T, V)
    float* probs;      // (B, T, V)
    float* losses;     // (B, T)
};

// The buffers of one batch shape: activations, their gradients, and the parameters' gradients.
struct RunState {
    ModelConfig config;
    int B = 0, T = 0;
    std::vector<float> acts;          // every activation, in ActivationTensors' order
    std::vector<float> grads_acts;    // the same layout, for the backward pass
    std::vector<float> grads;         // (parameter_count) gradients, ParameterTensors' layout
    std::vector<int>   inputs;        // (B, T) token ids (text models)
    std::vector<float> patches;       // (B, N, P) image models' pixels, patch by patch (extract_patches)
    std::vector<int>   targets;       // (B, T), -1 = no target
    float mean_loss = -1.0f;          // after a forward with targets

    ActivationTensors activations() { return views(acts.data()); }
    ActivationTensors activation_grads() { return views(grads_acts.data()); }
    ActivationTensors views(float* base) const;
};

// Buffers for B sequences of T tokens (T <= block_size). Throws std::bad_alloc if they do not fit.
// With `backward` false, the activations alone: enough for gpt_forward (evaluation, probes), half
// the memory, and gpt_backward refuses it.
RunState make_run_state(const ModelConfig& config, int B, int T, bool backward = true);

// Floats of one batch's activations (RunState::acts; grads_acts holds as many again).
std::uint64_t activation_count(const ModelConfig& config, int B, int T);

//-----------------------------------------------------------------------------
// 4. The model's passes
//-----------------------------------------------------------------------------
// Forward over state.inputs (image models: state.patches, T = N + 1); with targets (any >= 0)
// also the losses and their mean. An image model's target sits at position 0, the class token.
void gpt_forward(RunState& state, const Model& model);
// Zeroes state.grads, then fills it with the gradient of the mean loss (needs the forward first).
void gpt_backward(RunState& state, const Model& model);
// What gpt_backward zeroes first: every parameter gradient, and the activation gradients the
// backward operations add into (not those of att, probs, losses, means and rstds, never used).
void zero_gradients(RunState& state);

}  // namespace attnviz::gpt
