// attnviz/model_trace.hpp — every number of a GPT's pass over a text, and what its heads do.
//
// Index
//   1. Ablation / ModelTraceOptions   the text, and which heads, attentions or MLPs are switched off
//   2. LayerTrace / ModelTrace        per layer: residual, LayerNorms, the engine's attention trace, MLP
//   3. model_trace                    Model + options -> ModelTrace
//   4. Head roles                     previous-token, first-token, self, induction, mean distance
//   4b. Image models                  attention rollout, the positions' similarity map
//   5. JSON                           the ModelTrace contract (README.md) and the role scores
//
// Each layer's attention is the engine's own run() (attnviz/core.hpp) on that layer's ln_1
// output, with c_attn and c_proj as Wq, Wk, Wv, Wo, a causal mask and no positional encoding
// (the model's positions are already in the residual): the same function that computes the
// one-layer lab, so every per-head view shows any layer's head. The rest of the block
// (LayerNorm, MLP, GELU, the final LayerNorm and lm_head) uses the training pass's operations.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attnviz/expected.hpp"
#include "attnviz/model.hpp"
#include "attnviz/trace.hpp"

namespace attnviz {

//-----------------------------------------------------------------------------
// 1. Ablation / ModelTraceOptions
//-----------------------------------------------------------------------------
struct Ablation {
    std::vector<std::pair<int, int>> heads;  // (layer, head): the head's output is 0 in the concat before c_proj
    std::vector<int> attention;              // layers whose attention adds nothing to the residual
    std::vector<int> mlp;                    // layers whose MLP adds nothing to the residual
    bool empty() const { return heads.empty() && attention.empty() && mlp.empty(); }
};

struct ModelTraceOptions {
    std::string text;          // what the model reads (UTF-8); text models
    bool        add_bos = true; // put the beginning-of-text token first (if the vocabulary has one)
    int         top_k   = 5;    // predictions kept per position, 1..V
    Ablation    ablation;
    std::vector<float> image = {};  // (S·S) image models: what the model sees, row by row, pixels in [0, 1]
    int         label = -1;    // image models: the image's class if known (its loss is then reported), or -1
};

//-----------------------------------------------------------------------------
// 2. LayerTrace / ModelTrace
//-----------------------------------------------------------------------------
struct LayerTrace {
    Matrix residual_in;    // (T, C)   the residual stream entering the block
    Matrix ln_1;           // (T, C)   its LayerNorm: the attention's input (the engine's X_in)
    Trace  attention;      // the engine's trace of this layer's attention: heads[h] Q K V scores scaled mask
                           //          weights out, concat, output (= concat·c_projᵀ + bias)
    Matrix attn_out;       // (T, C)   what the attention adds to the residual: attention.output, or the
                           //          ablated version (heads switched off: their columns of concat zeroed)
    Matrix residual_mid;   // (T, C)   residual_in + attn_out
    Matrix ln_2;           // (T, C)   the MLP's input (ln_2, mlp_pre, mlp_post empty (0 × 0) when attention-only)
    Matrix mlp_pre;        // (T, 4C)  c_fc's output, before GELU
    Matrix mlp_post;       // (T, 4C)  after GELU
    Matrix mlp_out;        // (T, C)   what the MLP adds (c_proj's output; 0 when the MLP is switched off or absent)
    Matrix residual_out;   // (T, C)   residual_mid + mlp_out
};

struct Predictions {
    std::vector<std::vector<int>>   top_ids;    // (T, k)  the k most likely next tokens after position t
    std::vector<std::vector<float>> top_probs;  // (T, k)  their probabilities
    std::vector<float>              losses;     // (T-1)   -log p(token t+1 | tokens 0..t), nats; image models:
                                                //         (1) -log p(label) at the class token, or (0) without a label
    double                          mean_loss = 0;  // mean of losses (0 when there are none)
    std::vector<float>              class_probs;    // (V) image models: the class token's probabilities, every class
};

struct ModelTrace {
    Encoded                 tokens;    // (T) ids, texts, unknown flags. Image models: ids -1 (no vocabulary
                                       //     token), texts "CLS" then each patch's "r{row}c{column}"
    Matrix                  patches;   // (N, P) image models: each patch's pixels, row by row (else 0 × 0)
    int                     T = 0;
    std::vector<LayerTrace> layers;    // (L)
    Matrix                  ln_f;      // (T, C)  the final LayerNorm
    Matrix                  logits;    // (T, V)
    Predictions             predictions;
    std::optional<Predictions> intact; // the unablated model's, when the options switch something off
    Ablation                ablation;  // what was switched off
};

//-----------------------------------------------------------------------------
// 3. model_trace
//-----------------------------------------------------------------------------
// Errors: invalid UTF-8 or an unknown character without an unknown token ("text: …"), more
// tokens than block_size, an empty text without a beginning-of-text token, an ablation naming
// a layer or head that does not exist ("ablation.heads[0]: …"), top_k out of range; for an image
// model, an image of the wrong size or with a pixel that is not finite ("image: …"), a label out
// of range. An image model's attention has no mask (every patch sees every patch).
//
// `packed`: the model's weights packed once by pack_weights (faster for a short text, the same
// numbers bit for bit), or null to pack them on every call. Ignored if it was packed from another
// model's weights.
struct PackedWeights;
Expected<ModelTrace> model_trace(const Model& model, const ModelTraceOptions& options, const PackedWeights* packed = nullptr);

// The weights a trace multiplies by, packed for the matmul kernel once: each layer's c_fc and
// c_proj and the unembedding lm_headᵀ, and each layer's attention weights transposed as the
// engine takes them (for the shipped model 5 MB beside its 5 MB of float32 weights). A trace of
// 64 characters otherwise spends about a twentieth of its time packing and transposing them.
// They are a copy: pack again after the weights change (training).
std::shared_ptr<const PackedWeights> pack_weights(const Model& model);

// The next character to append, from a trace's last position: with temperature 0 the most
// likely one (greedy: the first of the last position's top-k that is not the beginning-of-text or
// unknown token), else a draw from softmax(logits / temperature) over the ordinary tokens (the
// specials excluded), the uniform number hashed from (seed, step) by the core's counter-based
// generator, so the same seed gives the same text natively and in wasm. Errors: a temperature
// below 0 or not finite, a trace with no position.
Expected<int> next_token(const Model& model, const ModelTrace& trace, double temperature, std::uint64_t seed, std::uint64_t step);

// The residual stream read out as the model's final layers would (the logit lens): for the
// embeddings and after each layer, at every position, the most likely next token of
// softmax(ln_f(residual)·lm_headᵀ) with its probability, and the residual's L2 norm. Stage 0 is
// the embeddings (layer 0's residual_in), stage l + 1 the residual after layer l; the last stage
// is the model's own prediction.   (L + 1, T) each
struct LogitLens {
    std::vector<std::vector<int>>   top_id;
    std::vector<std::vector<float>> top_prob;
    std::vector<std::vector<float>> norm;
};
LogitLens logit_lens(const Model& model, const ModelTrace& trace, const PackedWeights* packed = nullptr);

//-----------------------------------------------------------------------------
// 4. Head roles
//-----------------------------------------------------------------------------
// Scores of one head's weights (T, T) on a sequence of ids, each a mean over queries:
//   previous_token  weight on the token just before (queries 1..T-1)
//   first_token     weight on position 0, the sink (queries 1..T-1)
//   self            weight on itself (queries 1..T-1)
//   induction       for each query whose token occurred before at k with k + 1 < query, the
//                   weight on k + 1 (the most recent such k): "what followed this token last time"
//   mean_distance   Σ_j weight(i, j)·(i - j), over every query
struct HeadRoles {
    double previous_token = 0, first_token = 0, self = 0, induction = 0, mean_distance = 0;
};
HeadRoles head_roles(const Matrix& weights, const std::vector<int>& ids);

// The standard probe: the beginning-of-text token (if any), then `length` ordinary tokens drawn
// with a fixed seed (never the unknown or beginning-of-text token), then the same `length`
// tokens again. Its induction score is the standard one: from each token of the second copy to
// the token after its earlier occurrence. length is clamped so the probe fits in block_size.
std::vector<int> role_probe(const Model& model, int length = 64);

// Every head's roles on the standard probe, (L, H), through model_trace's attention (text models;
// an image model's is an error).
Expected<std::vector<std::vector<HeadRoles>>> probe_head_roles(const Model& model, int length = 64);

//-----------------------------------------------------------------------------
// 4b. Image models
//-----------------------------------------------------------------------------
// Attention rollout (Abnar & Zuidema, 2020): how much each token's output draws on each input
// token through every layer, counting the residual path. Per layer, A = the mean of the heads'
// weights (of the layers the trace ran, ablated heads included as computed), Â = (A + I) with each
// row divided by its sum (2, as A's rows sum to 1); rollout = Â_{L-1}·…·Â_0, in double.   (T, T)
// Row 0 of an image model's is what the class token draws on, patch by patch (column 1 + n).
Matrix attention_rollout(const ModelTrace& trace);

// The learned positions' cosine similarities between patches: (N, N), entry (i, j) the cosine of
// wpe rows 1 + i and 1 + j (row 0 is the class token's). ViTs learn rows that resemble their
// neighbours': each patch's row of this, laid out as the patch grid, is the familiar small map.
// An error for a text model (its positions are not patches).
Expected<Matrix> position_similarity(const Model& model);

//-----------------------------------------------------------------------------
// 5. JSON
//-----------------------------------------------------------------------------
std::string model_trace_to_json(const ModelTrace& trace, const Model& model, bool pretty = false);

// The options as JSON (what `attnviz-trace --model` reads): {"text": string (required for a text
// model), "add_bos": bool (true), "top_k": 1..V (5), "ablation": {"heads": [[layer, head], …],
// "attention": [layer, …], "mlp": [layer, …]}, "image": [S·S numbers] and "label": class id (image
// models)}. Strict like parse_config: unknown or duplicate
// keys and wrong types are errors "<field>: <expected>". Layers and heads are checked by model_trace.
Expected<ModelTraceOptions> parse_model_trace_options(std::string_view json);

// parse_model_trace_options + model_trace + model_trace_to_json.
Expected<std::string> compute_model_json(const Model& model, std::string_view options_json, bool pretty = false);

// {"probe": {"length", "description"}, "layers": [[{"head", "previous_token", "first_token", "self",
// "induction", "mean_distance"}, …], …]} for the model card; an "error" member if the probe fails.
std::string head_roles_json(const Model& model, int length = 64);

}  // namespace attnviz
