// model_trace.cpp — a GPT's pass over a text with every intermediate kept (attnviz/model_trace.hpp).
//
// The block, as nanoGPT's Block.forward reads:
//   x = residual_in;  a = attention(ln_1(x))  (the engine's run());  x = x + a
//   m = c_proj(gelu(c_fc(ln_2(x))));  x = x + m
// then logits = lm_head(ln_f(x)), probabilities by a softmax over the vocabulary.
#include "attnviz/model_trace.hpp"

#include <climits>

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <numeric>

#include "attnviz/json.hpp"
#include "gpt.hpp"
#include "internal.hpp"
#include "kernels.hpp"
#include "random.hpp"

namespace attnviz {
namespace {

using detail::field_error;

Matrix matrix(std::size_t rows, std::size_t cols) { return Matrix::from_shape({rows, cols}); }

// Layer l's attention weights as the engine takes them: Wq, Wk, Wv from c_attn's rows and Wo
// from attn.c_proj, transposed (torch keeps (out, in); the engine multiplies row vectors, x·W),
// and their biases.
struct AttentionWeights {
    Matrix Wq, Wk, Wv, Wo;
    Vector bq, bk, bv, bo;
};

AttentionWeights attention_weights(const Model& model, int l) {
    const std::size_t C = model.config.n_embd;
    const ParameterTensors p = model.tensors();
    const float* qkvw = p.qkvw + l * 3 * C * C;
    const float* qkvb = p.qkvb + l * 3 * C;
    const auto transposed = [C](const float* w) {  // torch (out, in) -> (in, out)
        Matrix m = matrix(C, C);
        kernels::transpose(m.data(), w, C, static_cast<int>(C), static_cast<int>(C));
        return m;
    };
    const auto vector = [C](const float* b) {
        Vector v = Vector::from_shape({C});
        std::copy(b, b + C, v.begin());
        return v;
    };
    return {transposed(qkvw), transposed(qkvw + C * C), transposed(qkvw + 2 * C * C), transposed(p.attprojw + l * C * C),
            vector(qkvb), vector(qkvb + C), vector(qkvb + 2 * C), vector(p.attprojb + l * C)};
}

// The engine's config for layer l's attention: X = ln_1 output, the layer's weights (`w`, or
// made here), causal for text, no positions.
Config attention_config(const Model& model, int l, Matrix ln_1, const std::vector<std::string>& tokens, const AttentionWeights* w) {
    const ModelConfig& mc = model.config;
    AttentionWeights made;
    if (!w) {
        made = attention_weights(model, l);
        w = &made;
    }
    Config c;
    c.tokens = tokens;
    c.d_model = mc.n_embd;
    c.heads = mc.n_head;
    // learned positions were added to the embeddings before the first block; ALiBi and RoPE are the engine's own
    c.positional = mc.positions == Positions::alibi ? Positional::alibi
                   : mc.positions == Positions::rope ? Positional::rope
                                                     : Positional::none;
    c.mask = mc.causal() ? MaskKind::causal : MaskKind::none;  // an image's patches all see each other
    c.embeddings = std::move(ln_1);
    c.weights.Wq = w->Wq;
    c.weights.Wk = w->Wk;
    c.weights.Wv = w->Wv;
    c.weights.Wo = w->Wo;
    c.weights.bq = w->bq;
    c.weights.bk = w->bk;
    c.weights.bv = w->bv;
    c.weights.bo = w->bo;
    return c;
}

void check_ablation(const Ablation& a, const ModelConfig& mc) {
    for (std::size_t k = 0; k < a.heads.size(); ++k) {
        const auto [layer, head] = a.heads[k];
        const std::string field = "ablation.heads[" + std::to_string(k) + "]";
        if (layer < 0 || layer >= mc.n_layer)
            field_error(field, "expected a layer from 0 to " + std::to_string(mc.n_layer - 1) + ", got " + std::to_string(layer));
        if (head < 0 || head >= mc.n_head)
            field_error(field, "expected a head from 0 to " + std::to_string(mc.n_head - 1) + ", got " + std::to_string(head));
    }
    if (!mc.mlp && !a.mlp.empty())
        field_error("ablation.mlp", "expected no layers: the model is attention-only (its blocks have no MLP)");
    for (const auto& [name, layers] : {std::pair{"ablation.attention", &a.attention}, std::pair{"ablation.mlp", &a.mlp}})
        for (std::size_t k = 0; k < layers->size(); ++k)
            if ((*layers)[k] < 0 || (*layers)[k] >= mc.n_layer)
                field_error(std::string(name) + "[" + std::to_string(k) + "]",
                            "expected a layer from 0 to " + std::to_string(mc.n_layer - 1) + ", got " + std::to_string((*layers)[k]));
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

Predictions predict(const Matrix& logits, const std::vector<int>& ids, int top_k) {
    const std::size_t T = logits.shape(0), V = logits.shape(1);
    Predictions out;
    std::vector<float> probs(V);
    for (std::size_t t = 0; t < T; ++t) {
        const float* z = logits.data() + t * V;
        // softmax, subtracting the max for numerical stability: the max and the exps by the
        // vectorized kernels, the sum in double by four independent chains
        const float m = kernels::row_max(z, static_cast<int>(V));
        kernels::exp_shifted(probs.data(), z, m, static_cast<int>(V));
        double lanes_sum[4] = {0, 0, 0, 0};
        std::size_t j = 0;
        for (; j + 4 <= V; j += 4)
            for (int l = 0; l < 4; ++l) lanes_sum[l] += probs[j + l];
        for (; j < V; ++j) lanes_sum[j % 4] += probs[j];
        const double sum = (lanes_sum[0] + lanes_sum[1]) + (lanes_sum[2] + lanes_sum[3]);
        // the k largest in one pass: a candidate enters the sorted top list only if it beats its
        // last entry (ties keep the smaller id first); `floor`, that entry's probability once the
        // list is full, is held in a local; the scan skips 16 tokens at a time that do not beat it
        std::vector<int> top_ids;
        top_ids.reserve(static_cast<std::size_t>(top_k) + 1);
        float floor = -1.0f;  // below every probability until the list is full
        for (int j = kernels::first_above(probs.data(), 0, static_cast<int>(V), floor); j < static_cast<int>(V);
             j = kernels::first_above(probs.data(), j + 1, static_cast<int>(V), floor)) {
            auto at = top_ids.end();
            while (at != top_ids.begin() && probs[j] > probs[*(at - 1)]) --at;
            top_ids.insert(at, j);
            if (static_cast<int>(top_ids.size()) > top_k) top_ids.pop_back();
            if (static_cast<int>(top_ids.size()) == top_k) floor = probs[top_ids.back()];
        }
        std::vector<float> top;
        for (int id : top_ids) top.push_back(static_cast<float>(probs[id] / sum));
        out.top_ids.push_back(std::move(top_ids));
        out.top_probs.push_back(std::move(top));
        if (t + 1 < ids.size()) out.losses.push_back(static_cast<float>(std::log(sum) - (static_cast<double>(z[ids[t + 1]]) - m)));
    }
    for (float l : out.losses) out.mean_loss += l;
    if (!out.losses.empty()) out.mean_loss /= static_cast<double>(out.losses.size());
    return out;
}

}  // namespace

struct PackedWeights {
    const float* params = nullptr;        // the weights they were packed from (a trace of another model ignores them)
    std::size_t count = 0;
    std::vector<std::vector<float>> fc;   // per layer: c_fc.weightᵀ (C, 4C), packed
    std::vector<std::vector<float>> fcproj;  // per layer: mlp.c_proj.weightᵀ (4C, C), packed
    std::vector<float> lm_head;           // lm_headᵀ (C, V), packed
    std::vector<AttentionWeights> attention;  // per layer: the engine's Wq, Wk, Wv, Wo (transposed) and biases

    bool of(const Model& model) const { return params == model.params.data() && count == model.params.size(); }
};

std::shared_ptr<const PackedWeights> pack_weights(const Model& model) {
    const ModelConfig& mc = model.config;
    const int C = mc.n_embd, V = mc.vocab_size;
    const ParameterTensors p = model.tensors();
    auto out = std::make_shared<PackedWeights>();
    out->params = model.params.data();
    out->count = model.params.size();
    for (int l = 0; l < mc.n_layer && mc.mlp; ++l) {
        out->fc.emplace_back(kernels::packed_size(C, 4 * C));
        kernels::pack_transposed(out->fc.back().data(), p.fcw + static_cast<std::size_t>(l) * 4 * C * C, C, C, 4 * C);
        out->fcproj.emplace_back(kernels::packed_size(4 * C, C));
        kernels::pack_transposed(out->fcproj.back().data(), p.fcprojw + static_cast<std::size_t>(l) * C * 4 * C, 4 * C, 4 * C, C);
    }
    for (int l = 0; l < mc.n_layer; ++l) out->attention.push_back(attention_weights(model, l));
    out->lm_head.resize(kernels::packed_size(C, V));
    kernels::pack_transposed(out->lm_head.data(), p.lm_head, C, C, V);
    return out;
}

namespace {

// logits = ln_f·lm_headᵀ. With the weights packed: one product straight into (T, V). Without:
// computed as its transpose lm_head·ln_fᵀ (V, T), so that the operand packed per call is ln_fᵀ
// (C×T floats) rather than lm_headᵀ (C×V, the vocabulary's size); its columns are padded with
// zero rows of ln_f to the kernel's lanes (the last T mod lanes columns would otherwise take the
// one-vector path, a third of the product's time at T = 65). Either way each logit is the same
// sum in the same order, so the same bits.   ln_f (T, C) → logits (T, V)
Matrix unembed(const Model& model, const float* ln_f, int T, const PackedWeights* packed) {
    const int C = model.config.n_embd, V = model.config.vocab_size;
    Matrix logits = matrix(T, V);
    if (packed) {
        kernels::matmul_packed(logits.data(), V, ln_f, packed->lm_head.data(), T, C, V);
        return logits;
    }
    const int padded = static_cast<int>(kernels::packed_size(C, T) / C);  // T rounded up to the lanes
    std::vector<float> rows(static_cast<std::size_t>(padded) * C, 0.0f);
    std::copy(ln_f, ln_f + static_cast<std::size_t>(T) * C, rows.begin());
    std::vector<float> packed_rows(kernels::packed_size(C, padded));
    kernels::pack_transposed(packed_rows.data(), rows.data(), C, C, padded);
    std::vector<float> transposed(static_cast<std::size_t>(V) * padded);  // (V, padded)
    kernels::matmul_packed(transposed.data(), padded, model.tensors().lm_head, packed_rows.data(), V, C, padded);
    kernels::transpose(logits.data(), transposed.data(), padded, V, T);
    return logits;
}

ModelTrace trace_unchecked(const Model& model, const Encoded& tokens, const float* image, int label, int top_k, const Ablation& ablation,
                           const PackedWeights* packed) {
    const ModelConfig& mc = model.config;
    const int T = static_cast<int>(tokens.ids.size()), C = mc.n_embd, H = mc.n_head, hs = C / H;
    const ParameterTensors p = model.tensors();
    const std::size_t TC = static_cast<std::size_t>(T) * C;
    ModelTrace out;
    out.tokens = tokens;
    out.T = T;
    out.ablation = ablation;
    std::vector<float> mean(T), rstd(T);

    Matrix x = matrix(T, C);
    if (mc.is_image()) {
        out.patches = matrix(T - 1, mc.patch_pixels());
        gpt::extract_patches(out.patches.data(), image, 1, mc.image_size, mc.patch_size);
        gpt::patch_encoder_forward(x.data(), out.patches.data(), p.patchw, p.patchb, p.cls, p.wpe, 1, T - 1, mc.patch_pixels(), C);
    } else {
        gpt::encoder_forward(x.data(), tokens.ids.data(), p.wte, p.wpe, 1, T, C);
    }
    for (int l = 0; l < mc.n_layer; ++l) {
        LayerTrace layer;
        layer.residual_in = x;
        layer.ln_1 = matrix(T, C);
        gpt::layernorm_forward(layer.ln_1.data(), mean.data(), rstd.data(), x.data(), p.ln1w + l * C, p.ln1b + l * C, T, C);
        Expected<Trace> attention =
            run(attention_config(model, l, layer.ln_1, tokens.text, packed ? &packed->attention[static_cast<std::size_t>(l)] : nullptr));
        if (!attention) field_error("layer " + std::to_string(l) + " attention", attention.error());
        layer.attention = std::move(attention.value());
        // the attention's contribution, with the heads switched off zeroed in the concat
        layer.attn_out = layer.attention.output;
        const bool heads_off = std::any_of(ablation.heads.begin(), ablation.heads.end(), [l](const auto& lh) { return lh.first == l; });
        if (heads_off) {
            Matrix concat = layer.attention.concat;
            for (const auto& [al, ah] : ablation.heads)
                if (al == l)
                    for (int t = 0; t < T; ++t) std::fill_n(concat.data() + static_cast<std::size_t>(t) * C + ah * hs, hs, 0.0f);
            gpt::matmul_forward(layer.attn_out.data(), concat.data(), p.attprojw + static_cast<std::size_t>(l) * C * C,
                                p.attprojb + l * C, T, C, C);
        }
        if (contains(ablation.attention, l)) std::fill(layer.attn_out.begin(), layer.attn_out.end(), 0.0f);
        layer.residual_mid = matrix(T, C);
        gpt::residual_forward(layer.residual_mid.data(), x.data(), layer.attn_out.data(), TC);
        if (!mc.mlp) {  // attention-only: the MLP adds nothing (ln_2, mlp_pre and mlp_post stay empty)
            layer.ln_2 = layer.mlp_pre = layer.mlp_post = matrix(0, 0);
            layer.mlp_out = matrix(T, C);
            std::fill(layer.mlp_out.begin(), layer.mlp_out.end(), 0.0f);
            layer.residual_out = layer.residual_mid;
            x = layer.residual_out;
            out.layers.push_back(std::move(layer));
            continue;
        }
        // the MLP
        layer.ln_2 = matrix(T, C);
        gpt::layernorm_forward(layer.ln_2.data(), mean.data(), rstd.data(), layer.residual_mid.data(), p.ln2w + l * C, p.ln2b + l * C, T, C);
        layer.mlp_pre = matrix(T, 4 * C);
        if (packed) gpt::matmul_forward_packed(layer.mlp_pre.data(), layer.ln_2.data(), packed->fc[l].data(), p.fcb + l * 4 * C, T, C, 4 * C);
        else gpt::matmul_forward(layer.mlp_pre.data(), layer.ln_2.data(), p.fcw + static_cast<std::size_t>(l) * 4 * C * C, p.fcb + l * 4 * C, T, C, 4 * C);
        layer.mlp_post = matrix(T, 4 * C);
        gpt::gelu_forward(layer.mlp_post.data(), nullptr, layer.mlp_pre.data(), TC * 4);
        layer.mlp_out = matrix(T, C);
        if (packed) gpt::matmul_forward_packed(layer.mlp_out.data(), layer.mlp_post.data(), packed->fcproj[l].data(), p.fcprojb + l * C, T, 4 * C, C);
        else gpt::matmul_forward(layer.mlp_out.data(), layer.mlp_post.data(), p.fcprojw + static_cast<std::size_t>(l) * C * 4 * C,
                                 p.fcprojb + l * C, T, 4 * C, C);
        if (contains(ablation.mlp, l)) std::fill(layer.mlp_out.begin(), layer.mlp_out.end(), 0.0f);
        layer.residual_out = matrix(T, C);
        gpt::residual_forward(layer.residual_out.data(), layer.residual_mid.data(), layer.mlp_out.data(), TC);
        x = layer.residual_out;
        out.layers.push_back(std::move(layer));
    }
    out.ln_f = matrix(T, C);
    gpt::layernorm_forward(out.ln_f.data(), mean.data(), rstd.data(), x.data(), p.lnfw, p.lnfb, T, C);
    out.logits = unembed(model, out.ln_f.data(), T, packed);
    out.predictions = predict(out.logits, mc.is_image() ? std::vector<int>{} : tokens.ids, top_k);
    if (mc.is_image()) {  // the class token's distribution, and its loss against the label if known
        const int V = mc.vocab_size;
        const float* z = out.logits.data();
        const float m = *std::max_element(z, z + V);
        double sum = 0;
        for (int v = 0; v < V; ++v) sum += std::exp(static_cast<double>(z[v]) - m);
        for (int v = 0; v < V; ++v) out.predictions.class_probs.push_back(static_cast<float>(std::exp(static_cast<double>(z[v]) - m) / sum));
        if (label >= 0) {
            out.predictions.losses = {static_cast<float>(std::log(sum) - (static_cast<double>(z[label]) - m))};
            out.predictions.mean_loss = out.predictions.losses[0];
        }
    }
    return out;
}

// An image model's tokens: the class token, then the patches in raster order, labelled by patch
// row and column; the image and label checked.
Expected<Encoded> image_tokens(const ModelConfig& mc, const ModelTraceOptions& options) {
    const std::size_t pixels = static_cast<std::size_t>(mc.image_size) * mc.image_size;
    if (options.image.size() != pixels)
        return fail("image: expected " + std::to_string(mc.image_size) + "×" + std::to_string(mc.image_size) + " = " + std::to_string(pixels) +
                    " pixels (the model's image_size), got " + std::to_string(options.image.size()));
    if (const std::string e = detail::pixel_error("image", options.image.data(), pixels); !e.empty()) return fail(e);
    if (options.label < -1 || options.label >= mc.vocab_size)
        return fail("label: expected -1 (unknown) or a class id from 0 to " + std::to_string(mc.vocab_size - 1) + ", got " +
                    std::to_string(options.label));
    Encoded out;
    const int side = mc.patches_per_side();
    out.text.push_back("CLS");
    for (int r = 0; r < side; ++r)
        for (int c = 0; c < side; ++c) out.text.push_back("r" + std::to_string(r) + "c" + std::to_string(c));
    out.ids.assign(out.text.size(), -1);
    out.unknown.assign(out.text.size(), false);
    return out;
}

}  // namespace

Expected<ModelTrace> model_trace(const Model& model, const ModelTraceOptions& options, const PackedWeights* packed) {
    if (packed && !packed->of(model)) packed = nullptr;
    const ModelConfig& mc = model.config;
    if (const std::string e = check_model_config(mc); !e.empty()) return fail(e);
    if (options.top_k < 1 || options.top_k > mc.vocab_size)
        return fail("top_k: expected an integer from 1 to " + std::to_string(mc.vocab_size) + ", got " + std::to_string(options.top_k));
    if (!mc.is_image() && !options.image.empty()) return fail("image: expected none (a text model reads text)");
    Expected<Encoded> tokens = mc.is_image() ? image_tokens(mc, options) : encode(model.vocab, options.text, options.add_bos);
    if (!tokens) return fail(tokens.error());
    const int T = static_cast<int>(tokens.value().ids.size());
    if (T == 0) return fail("text: expected at least one character (the model has no beginning-of-text token)");
    if (T > mc.block_size)
        return fail("text: expected at most " + std::to_string(mc.block_size) + " tokens (the model's block_size), got " + std::to_string(T));
    const float* image = mc.is_image() ? options.image.data() : nullptr;
    try {
        check_ablation(options.ablation, mc);
        ModelTrace trace = trace_unchecked(model, tokens.value(), image, options.label, options.top_k, options.ablation, packed);
        if (!options.ablation.empty())
            trace.intact = trace_unchecked(model, tokens.value(), image, options.label, options.top_k, Ablation{}, packed).predictions;
        return trace;
    } catch (const detail::FieldError& e) {
        return fail(e.message);
    } catch (const std::bad_alloc&) {
        return fail("text: expected a trace that fits in memory (fewer characters)");
    }
}

Expected<int> next_token(const Model& model, const ModelTrace& trace, double temperature, std::uint64_t seed, std::uint64_t step) {
    if (!(temperature >= 0) || !std::isfinite(temperature))
        return fail("temperature: expected a finite number >= 0 (0: the most likely character), got " + std::to_string(temperature));
    if (trace.T < 1) return fail("trace: expected at least one position");
    const int V = model.config.vocab_size, last = trace.T - 1;
    const auto special = [&model](int id) { return id == model.vocab.bos || id == model.vocab.unk; };
    if (temperature == 0) {
        for (int id : trace.predictions.top_ids[last])
            if (!special(id)) return id;
        // every one of the top k is special (k small): the most likely ordinary token
        int best = -1;
        for (int id = 0; id < V; ++id)
            if (!special(id) && (best < 0 || trace.logits(last, id) > trace.logits(last, best))) best = id;
        if (best < 0) return fail("vocabulary: expected an ordinary token besides the specials");
        return best;
    }
    double top = -std::numeric_limits<double>::infinity();
    for (int id = 0; id < V; ++id)
        if (!special(id)) top = std::max(top, static_cast<double>(trace.logits(last, id)));
    std::vector<double> weights(V, 0.0);
    double sum = 0;
    for (int id = 0; id < V; ++id)
        if (!special(id)) sum += weights[id] = std::exp((static_cast<double>(trace.logits(last, id)) - top) / temperature);
    if (!(sum > 0)) return fail("vocabulary: expected an ordinary token besides the specials");
    // 53 random bits: a double uniform in [0, 1), the same on every IEEE platform
    const double u = static_cast<double>(random::bits(seed, random::hash_bytes("next_token"), step, 0) >> 11) * 0x1p-53 * sum;
    double acc = 0;
    int chosen = -1;
    for (int id = 0; id < V; ++id) {
        if (special(id)) continue;
        chosen = id;
        acc += weights[id];
        if (u < acc) break;
    }
    return chosen;
}

LogitLens logit_lens(const Model& model, const ModelTrace& trace, const PackedWeights* packed) {
    if (packed && !packed->of(model)) packed = nullptr;
    const ModelConfig& mc = model.config;
    const ParameterTensors p = model.tensors();
    const int T = trace.T, C = mc.n_embd;
    LogitLens out;
    std::vector<float> ln(static_cast<std::size_t>(T) * C), mean(T), rstd(T);
    for (int stage = 0; stage <= static_cast<int>(trace.layers.size()); ++stage) {
        const Matrix& residual = stage == 0 ? trace.layers[0].residual_in : trace.layers[stage - 1].residual_out;
        std::vector<float> norm(T);
        for (int t = 0; t < T; ++t) {
            double sq = 0;
            for (int c = 0; c < C; ++c) sq += static_cast<double>(residual(t, c)) * residual(t, c);
            norm[t] = static_cast<float>(std::sqrt(sq));
        }
        out.norm.push_back(std::move(norm));
        // the model's head on this residual: ln_f, then the unembedding, then the softmax's top 1
        gpt::layernorm_forward(ln.data(), mean.data(), rstd.data(), residual.data(), p.lnfw, p.lnfb, T, C);
        Predictions top = predict(unembed(model, ln.data(), T, packed), mc.is_image() ? std::vector<int>{} : trace.tokens.ids, 1);
        std::vector<int> ids(T);
        std::vector<float> prob(T);
        for (int t = 0; t < T; ++t) {
            ids[t] = top.top_ids[t][0];
            prob[t] = top.top_probs[t][0];
        }
        out.top_id.push_back(std::move(ids));
        out.top_prob.push_back(std::move(prob));
    }
    return out;
}

//-----------------------------------------------------------------------------
// Head roles
//-----------------------------------------------------------------------------
HeadRoles head_roles(const Matrix& w, const std::vector<int>& ids) {
    const int T = static_cast<int>(ids.size());
    HeadRoles r;
    if (T < 2) return r;
    int induction_queries = 0;
    for (int i = 0; i < T; ++i) {
        for (int j = 0; j <= i; ++j) r.mean_distance += w(i, j) * (i - j);
        if (i == 0) continue;
        r.previous_token += w(i, i - 1);
        r.first_token += w(i, 0);
        r.self += w(i, i);
        for (int k = i - 2; k >= 0; --k)  // the most recent earlier occurrence with k + 1 < i
            if (ids[k] == ids[i]) {
                r.induction += w(i, k + 1);
                ++induction_queries;
                break;
            }
    }
    r.previous_token /= T - 1;
    r.first_token /= T - 1;
    r.self /= T - 1;
    r.mean_distance /= T;
    if (induction_queries > 0) r.induction /= induction_queries;
    return r;
}

Matrix attention_rollout(const ModelTrace& trace) {
    const std::size_t T = static_cast<std::size_t>(trace.T);
    std::vector<double> rollout(T * T, 0.0), next(T * T), a(T * T);
    for (std::size_t i = 0; i < T; ++i) rollout[i * T + i] = 1.0;
    for (const LayerTrace& layer : trace.layers) {
        const std::size_t H = layer.attention.heads.size();
        for (std::size_t i = 0; i < T; ++i) {
            double row = 0;
            for (std::size_t j = 0; j < T; ++j) {
                double mean = 0;
                for (std::size_t h = 0; h < H; ++h) mean += layer.attention.heads[h].weights(i, j);
                a[i * T + j] = mean / static_cast<double>(H) + (i == j ? 1.0 : 0.0);
                row += a[i * T + j];
            }
            for (std::size_t j = 0; j < T; ++j) a[i * T + j] /= row;
        }
        for (std::size_t i = 0; i < T; ++i)
            for (std::size_t j = 0; j < T; ++j) {
                double sum = 0;
                for (std::size_t k = 0; k < T; ++k) sum += a[i * T + k] * rollout[k * T + j];
                next[i * T + j] = sum;
            }
        rollout.swap(next);
    }
    Matrix out = matrix(T, T);
    for (std::size_t i = 0; i < T * T; ++i) out.data()[i] = static_cast<float>(rollout[i]);
    return out;
}

Expected<Matrix> position_similarity(const Model& model) {
    const ModelConfig& mc = model.config;
    if (!mc.is_image()) return fail("model: expected an image model (its positions are patches)");
    const std::size_t N = static_cast<std::size_t>(mc.n_patches()), C = static_cast<std::size_t>(mc.n_embd);
    const float* wpe = model.tensors().wpe + C;  // row 0 is the class token's
    std::vector<double> norm(N);
    for (std::size_t i = 0; i < N; ++i) {
        double sq = 0;
        for (std::size_t c = 0; c < C; ++c) sq += static_cast<double>(wpe[i * C + c]) * wpe[i * C + c];
        norm[i] = std::sqrt(sq);
    }
    Matrix out = matrix(N, N);
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            double dot = 0;
            for (std::size_t c = 0; c < C; ++c) dot += static_cast<double>(wpe[i * C + c]) * wpe[j * C + c];
            out(i, j) = norm[i] > 0 && norm[j] > 0 ? static_cast<float>(dot / (norm[i] * norm[j])) : 0.0f;
        }
    return out;
}

std::vector<int> role_probe(const Model& model, int length) {
    const Vocabulary& v = model.vocab;
    const int with_bos = v.bos >= 0 ? 1 : 0;
    length = std::max(1, std::min(length, (model.config.block_size - with_bos) / 2));
    std::vector<int> ordinary;
    for (int id = 0; id < static_cast<int>(v.tokens.size()); ++id)
        if (id != v.unk && id != v.bos) ordinary.push_back(id);
    if (ordinary.empty()) return {};
    random::SplitMix64 rng(0x70726f6265ull);  // "probe"
    std::vector<int> half;
    for (int k = 0; k < length; ++k) half.push_back(ordinary[rng.below(static_cast<std::uint32_t>(ordinary.size()))]);
    std::vector<int> ids;
    if (with_bos) ids.push_back(v.bos);
    ids.insert(ids.end(), half.begin(), half.end());
    ids.insert(ids.end(), half.begin(), half.end());
    return ids;
}

Expected<std::vector<std::vector<HeadRoles>>> probe_head_roles(const Model& model, int length) {
    if (model.config.is_image()) return fail("model: head roles are measured on text; an image model has no token sequence");
    const std::vector<int> ids = role_probe(model, length);
    if (ids.size() < 2) return fail("vocab: expected ordinary tokens to build the probe from");
    std::string text;
    for (int id : ids)
        if (id != model.vocab.bos) text += model.vocab.tokens[id];
    // The probe goes through model_trace as text: ordinary tokens are single characters, so the
    // text encodes back to the same ids.
    Expected<ModelTrace> trace = model_trace(model, ModelTraceOptions{text, model.vocab.bos >= 0, 1, {}});
    if (!trace) return fail(trace.error());
    if (trace.value().tokens.ids != ids) return fail("vocab: expected the probe's characters to encode back to the same tokens");
    std::vector<std::vector<HeadRoles>> roles;
    for (const LayerTrace& layer : trace.value().layers) {
        roles.emplace_back();
        for (const HeadTrace& head : layer.attention.heads) roles.back().push_back(head_roles(head.weights, ids));
    }
    return roles;
}

//-----------------------------------------------------------------------------
// JSON
//-----------------------------------------------------------------------------
namespace {

using json::Writer;
using detail::write_matrix;

void write_predictions(Writer& out, const Predictions& p, const Vocabulary& vocab) {
    out.begin_object();
    out.key("top");
    out.begin_array();
    for (std::size_t t = 0; t < p.top_ids.size(); ++t) {
        out.begin_array();
        for (std::size_t k = 0; k < p.top_ids[t].size(); ++k) {
            out.begin_object();
            out.key("id"); out.integer(p.top_ids[t][k]);
            out.key("token"); out.string(vocab.tokens[p.top_ids[t][k]]);
            out.key("prob"); out.number(p.top_probs[t][k]);
            out.end_object();
        }
        out.end_array();
    }
    out.end_array();
    out.key("losses");
    out.begin_array();
    for (float l : p.losses) out.number(l);
    out.end_array();
    out.key("mean_loss"); out.number(p.mean_loss);
    if (!p.class_probs.empty()) {
        out.key("class_probs");
        out.begin_array();
        for (float q : p.class_probs) out.number(q);
        out.end_array();
    }
    out.end_object();
}

void write_roles(Writer& out, const HeadRoles& r) {
    out.key("previous_token"); out.number(r.previous_token);
    out.key("first_token"); out.number(r.first_token);
    out.key("self"); out.number(r.self);
    out.key("induction"); out.number(r.induction);
    out.key("mean_distance"); out.number(r.mean_distance);
}

}  // namespace

std::string model_trace_to_json(const ModelTrace& t, const Model& model, bool pretty) {
    Writer out(pretty);
    out.begin_object();
    out.key("model"); detail::write_model_config(out, model.config);
    out.key("tokens"); detail::write_tokens(out, t.tokens.text);
    out.key("ids");
    out.begin_array();
    for (int id : t.tokens.ids) out.integer(id);
    out.end_array();
    out.key("unknown");
    out.begin_array();
    for (bool u : t.tokens.unknown) out.boolean(u);
    out.end_array();
    out.key("T"); out.integer(t.T);
    if (model.config.is_image()) {
        out.key("patches"); write_matrix(out, t.patches);
    }
    out.key("ablation");
    out.begin_object();
    out.key("heads");
    out.begin_array();
    for (const auto& [l, h] : t.ablation.heads) {
        out.begin_array();
        out.integer(l);
        out.integer(h);
        out.end_array();
    }
    out.end_array();
    for (const auto& [name, layers] : {std::pair{"attention", &t.ablation.attention}, std::pair{"mlp", &t.ablation.mlp}}) {
        out.key(name);
        out.begin_array();
        for (int l : *layers) out.integer(l);
        out.end_array();
    }
    out.end_object();
    out.key("layers");
    out.begin_array();
    for (const LayerTrace& layer : t.layers) {
        out.begin_object();
        out.key("residual_in"); write_matrix(out, layer.residual_in);
        out.key("ln_1"); write_matrix(out, layer.ln_1);
        out.key("heads");
        out.begin_array();
        for (std::size_t h = 0; h < layer.attention.heads.size(); ++h) {
            out.begin_object();
            out.key("trace");
            detail::write_head(out, layer.attention.heads[h]);
            if (!model.config.is_image()) {  // the roles describe heads reading text
                out.key("roles");
                out.begin_object();
                write_roles(out, head_roles(layer.attention.heads[h].weights, t.tokens.ids));
                out.end_object();
            }
            out.end_object();
        }
        out.end_array();
        out.key("concat"); write_matrix(out, layer.attention.concat);
        out.key("attn_out"); write_matrix(out, layer.attn_out);
        out.key("residual_mid"); write_matrix(out, layer.residual_mid);
        out.key("ln_2"); write_matrix(out, layer.ln_2);
        out.key("mlp_pre"); write_matrix(out, layer.mlp_pre);
        out.key("mlp_post"); write_matrix(out, layer.mlp_post);
        out.key("mlp_out"); write_matrix(out, layer.mlp_out);
        out.key("residual_out"); write_matrix(out, layer.residual_out);
        out.end_object();
    }
    out.end_array();
    out.key("ln_f"); write_matrix(out, t.ln_f);
    out.key("predictions"); write_predictions(out, t.predictions, model.vocab);
    out.key("intact");
    if (t.intact) write_predictions(out, *t.intact, model.vocab); else out.null();
    out.end_object();
    return out.take();
}

std::string head_roles_json(const Model& model, int length) {
    Writer out(false);
    out.begin_object();
    const Expected<std::vector<std::vector<HeadRoles>>> roles = probe_head_roles(model, length);
    out.key("probe");
    out.begin_object();
    out.key("length"); out.integer(static_cast<std::int64_t>(role_probe(model, length).size()));
    out.key("description");
    out.string("the beginning-of-text token, then a seeded random sequence of ordinary tokens, then the same sequence again");
    out.end_object();
    if (!roles) {
        out.key("error");
        out.string(roles.error());
    } else {
        out.key("layers");
        out.begin_array();
        for (const auto& layer : roles.value()) {
            out.begin_array();
            for (std::size_t h = 0; h < layer.size(); ++h) {
                out.begin_object();
                out.key("head"); out.integer(static_cast<std::int64_t>(h));
                write_roles(out, layer[h]);
                out.end_object();
            }
            out.end_array();
        }
        out.end_array();
    }
    out.end_object();
    return out.take();
}

//-----------------------------------------------------------------------------
// Options JSON
//-----------------------------------------------------------------------------
namespace {

using Json = nlohmann::json;

int read_int(const Json& j, const std::string& field) {
    if (!j.is_number_integer() || j.get<long long>() < INT_MIN || j.get<long long>() > INT_MAX)
        field_error(field, "expected an integer");
    return j.get<int>();
}

std::vector<int> read_layers(const Json& j, const std::string& field) {
    if (!j.is_array()) field_error(field, "expected an array of layer indices");
    std::vector<int> out;
    for (std::size_t k = 0; k < j.size(); ++k) out.push_back(read_int(j[k], field + "[" + std::to_string(k) + "]"));
    return out;
}

}  // namespace

Expected<ModelTraceOptions> parse_model_trace_options(std::string_view text) {
    Expected<Json> doc = parse_json_strict(text);
    if (!doc) return fail(doc.error());
    try {
        const Json& j = doc.value();
        if (!j.is_object()) field_error("json", "expected an object with \"text\"");
        ModelTraceOptions o;
        bool has_text = false;
        for (const auto& [key, value] : j.items()) {
            if (key == "text") {
                if (!value.is_string()) field_error("text", "expected a string");
                o.text = value.get<std::string>();
                has_text = true;
            } else if (key == "add_bos") {
                if (!value.is_boolean()) field_error("add_bos", "expected true or false");
                o.add_bos = value.get<bool>();
            } else if (key == "top_k") {
                o.top_k = read_int(value, "top_k");
            } else if (key == "image") {
                if (!value.is_array()) field_error("image", "expected an array of pixel values, row by row");
                for (std::size_t k = 0; k < value.size(); ++k) {
                    if (!value[k].is_number()) field_error("image[" + std::to_string(k) + "]", "expected a number");
                    o.image.push_back(value[k].get<float>());
                }
            } else if (key == "label") {
                o.label = read_int(value, "label");
            } else if (key == "ablation") {
                if (!value.is_object()) field_error("ablation", "expected an object with heads, attention, mlp");
                for (const auto& [akey, avalue] : value.items()) {
                    const std::string field = "ablation." + akey;
                    if (akey == "heads") {
                        if (!avalue.is_array()) field_error(field, "expected an array of [layer, head] pairs");
                        for (std::size_t k = 0; k < avalue.size(); ++k) {
                            const std::string at = field + "[" + std::to_string(k) + "]";
                            if (!avalue[k].is_array() || avalue[k].size() != 2) field_error(at, "expected a [layer, head] pair");
                            o.ablation.heads.emplace_back(read_int(avalue[k][0], at + "[0]"), read_int(avalue[k][1], at + "[1]"));
                        }
                    } else if (akey == "attention") {
                        o.ablation.attention = read_layers(avalue, field);
                    } else if (akey == "mlp") {
                        o.ablation.mlp = read_layers(avalue, field);
                    } else {
                        field_error(detail::message_text(field), "unknown key; expected heads, attention or mlp");
                    }
                }
            } else {
                field_error(detail::message_text(key), "unknown key; expected text, add_bos, top_k, ablation, image or label");
            }
        }
        if (!has_text && o.image.empty()) field_error("text", "expected a string (or \"image\", for an image model)");
        return o;
    } catch (const detail::FieldError& e) {
        return fail(e.message);
    }
}

Expected<std::string> compute_model_json(const Model& model, std::string_view options_json, bool pretty) {
    Expected<ModelTraceOptions> options = parse_model_trace_options(options_json);
    if (!options) return fail(options.error());
    Expected<ModelTrace> trace = model_trace(model, options.value());
    if (!trace) return fail(trace.error());
    try {
        return model_trace_to_json(trace.value(), model, pretty);
    } catch (const std::bad_alloc&) {
        return fail("text: expected a trace whose JSON fits in memory (fewer characters)");
    }
}

}  // namespace attnviz
