// model.cpp — the GPT's config checks, vocabulary encoding, parameter layout and initialization
// (attnviz/model.hpp). The forward and backward passes are in gpt.cpp, the file format in
// model_file.cpp.
#include "attnviz/model.hpp"

#include <cmath>
#include <cstdint>
#include <new>
#include <unordered_map>

#include "internal.hpp"
#include "random.hpp"
#include "utf8.hpp"

namespace attnviz {

std::string check_model_config(const ModelConfig& c) {
    using detail::range_error;
    for (const std::string& e : {range_error("block_size", c.block_size, 1, model_limits::max_block_size),
                                 range_error("vocab_size", c.vocab_size, 1, model_limits::max_vocab_size),
                                 range_error("n_layer", c.n_layer, 1, model_limits::max_layers),
                                 range_error("n_head", c.n_head, 1, model_limits::max_heads),
                                 range_error("n_embd", c.n_embd, 1, model_limits::max_embd)})
        if (!e.empty()) return e;
    if (c.n_embd % c.n_head != 0)
        return "n_head: expected a divisor of n_embd (" + std::to_string(c.n_embd) + "), got " + std::to_string(c.n_head);
    if (c.image_size != 0 || c.patch_size != 0) {
        if (const std::string e = range_error("image_size", c.image_size, 1, model_limits::max_image_size); !e.empty()) return e;
        if (const std::string e = range_error("patch_size", c.patch_size, 1, c.image_size); !e.empty()) return e;
        if (c.image_size % c.patch_size != 0)
            return "patch_size: expected a divisor of image_size (" + std::to_string(c.image_size) + "), got " + std::to_string(c.patch_size);
        if (c.block_size != c.n_patches() + 1)
            return "block_size: expected the patches plus the class token, (" + std::to_string(c.image_size) + " / " +
                   std::to_string(c.patch_size) + ")² + 1 = " + std::to_string(c.n_patches() + 1) + ", got " + std::to_string(c.block_size);
        if (c.positions != Positions::learned)
            return std::string("positions: expected \"learned\" in an image model, got \"") + positions_name(c.positions) + "\"";
        if (c.tied) return "tied: expected false in an image model (its head is its own tensor; there is no token embedding)";
    }
    if (c.positions == Positions::rope && (c.n_embd / c.n_head) % 2 != 0)
        return "n_head: expected an even head size n_embd / n_head for RoPE positions (it rotates pairs), got " +
               std::to_string(c.n_embd / c.n_head);
    const double floats = static_cast<double>(c.vocab_size) * c.n_embd * (c.tied ? 1 : 2) +
                          (c.is_image() ? static_cast<double>(c.patch_pixels() + 2) * c.n_embd : 0.0) +
                          (c.positions == Positions::learned ? static_cast<double>(c.block_size) * c.n_embd : 0.0) +
                          static_cast<double>(c.n_layer) * (c.mlp ? 12.0 * c.n_embd * c.n_embd + 13.0 * c.n_embd
                                                                  : 4.0 * c.n_embd * c.n_embd + 6.0 * c.n_embd) +
                          2.0 * c.n_embd;
    if (floats > static_cast<double>(model_limits::max_params))
        return "config: expected at most " + std::to_string(model_limits::max_params) + " parameters, got " +
               std::to_string(static_cast<long long>(floats));
    return "";
}

const char* positions_name(Positions positions) {
    return positions == Positions::rope ? "rope" : positions == Positions::alibi ? "alibi" : "learned";
}

double alibi_slope(int h, int n_head) { return std::pow(2.0, -8.0 * (h + 1) / n_head); }

//-----------------------------------------------------------------------------
// Vocabulary
//-----------------------------------------------------------------------------
Expected<Encoded> encode(const Vocabulary& vocab, std::string_view text, bool add_bos) {
    // The text's characters first, then one pass over the vocabulary for their ids: a sentence has
    // a few dozen distinct characters, the vocabulary thousands (a map of the whole vocabulary
    // per call cost more than the rest of encoding); the first token with a text wins. The first
    // problem in the text's order is the one reported: the characters before an ill-formed byte
    // sequence are encoded (one of them may be unknown) before it is.
    std::vector<std::string_view> chars;
    std::size_t i = 0, ill_formed = std::string_view::npos;
    while (i < text.size()) {
        const std::size_t begin = i;
        char32_t cp;
        if (!utf8::decode(text, i, cp)) {
            ill_formed = begin;
            break;
        }
        chars.push_back(text.substr(begin, i - begin));
    }
    std::unordered_map<std::string_view, int> ids;  // the text's distinct characters → id, or -1 while not found
    // and the (first byte, last byte) pairs they have: most of the vocabulary's tokens are not
    // looked up at all (hashing each of the shipped model's 4,071 cost a tenth of a millisecond)
    std::vector<std::uint64_t> ends(65536 / 64, 0);
    const auto end_bytes = [](std::string_view s) { return static_cast<unsigned char>(s.front()) << 8 | static_cast<unsigned char>(s.back()); };
    for (std::string_view ch : chars) {
        ids.emplace(ch, -1);
        ends[end_bytes(ch) / 64] |= std::uint64_t{1} << (end_bytes(ch) % 64);
    }
    for (std::size_t k = 0; k < vocab.tokens.size(); ++k) {
        if (static_cast<int>(k) == vocab.unk || static_cast<int>(k) == vocab.bos) continue;
        const std::string& token = vocab.tokens[k];
        if (token.empty() || !(ends[end_bytes(token) / 64] >> (end_bytes(token) % 64) & 1)) continue;
        const auto found = ids.find(token);
        if (found != ids.end() && found->second < 0) found->second = static_cast<int>(k);
    }
    Encoded out;
    if (add_bos && vocab.bos >= 0) {
        out.ids.push_back(vocab.bos);
        out.text.push_back(vocab.tokens[vocab.bos]);
        out.unknown.push_back(false);
    }
    std::size_t at = 0;  // the byte where the current character begins
    for (std::string_view ch : chars) {
        const int id = ids.at(ch);
        if (id < 0 && vocab.unk < 0)
            return fail("text: the character \"" + std::string(ch) + "\" at byte " + std::to_string(at) +
                        " is not in the model's vocabulary, which has no unknown token");
        out.ids.push_back(id >= 0 ? id : vocab.unk);
        out.text.emplace_back(ch);
        out.unknown.push_back(id < 0);
        at += ch.size();
    }
    if (ill_formed != std::string_view::npos)
        return fail("text: expected valid UTF-8, found an ill-formed byte sequence at byte " + std::to_string(ill_formed));
    return out;
}

//-----------------------------------------------------------------------------
// Parameter layout
//-----------------------------------------------------------------------------
namespace {

// Sizes of ParameterTensors' members, in their order.
struct Sizes {
    std::size_t wte, patchw, patchb, cls, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb, lm_head;
};

Sizes sizes(const ModelConfig& c) {
    const std::size_t V = c.vocab_size, C = c.n_embd, L = c.n_layer, Tmax = c.block_size;
    const std::size_t positions = c.positions == Positions::learned ? Tmax * C : 0;
    const std::size_t M = c.mlp ? L : 0;  // blocks with an MLP
    const std::size_t image = c.is_image() ? 1 : 0, P = c.patch_pixels();
    return {(1 - image) * V * C, image * C * P, image * C, image * C, positions, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C, M * C, M * C,
            M * 4 * C * C, M * 4 * C, M * C * 4 * C, M * C, C, C, c.tied ? 0 : V * C};
}

// Where each member of ParameterTensors starts, in floats from the buffer's start.
struct Offsets {
    std::size_t wte, patchw, patchb, cls, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb, lm_head;
};

Offsets offsets(const ModelConfig& c) {
    const Sizes s = sizes(c);
    Offsets o;
    std::size_t at = 0;
    const auto take = [&at](std::size_t n) { const std::size_t here = at; at += n; return here; };
    o.wte = take(s.wte);
    o.patchw = take(s.patchw);
    o.patchb = take(s.patchb);
    o.cls = take(s.cls);
    o.wpe = take(s.wpe);
    o.ln1w = take(s.ln1w);
    o.ln1b = take(s.ln1b);
    o.qkvw = take(s.qkvw);
    o.qkvb = take(s.qkvb);
    o.attprojw = take(s.attprojw);
    o.attprojb = take(s.attprojb);
    o.ln2w = take(s.ln2w);
    o.ln2b = take(s.ln2b);
    o.fcw = take(s.fcw);
    o.fcb = take(s.fcb);
    o.fcprojw = take(s.fcprojw);
    o.fcprojb = take(s.fcprojb);
    o.lnfw = take(s.lnfw);
    o.lnfb = take(s.lnfb);
    o.lm_head = c.tied ? o.wte : take(s.lm_head);
    return o;
}

}  // namespace

std::size_t parameter_count(const ModelConfig& c) {
    const Sizes s = sizes(c);
    return s.wte + s.patchw + s.patchb + s.cls + s.wpe + s.ln1w + s.ln1b + s.qkvw + s.qkvb + s.attprojw + s.attprojb + s.ln2w + s.ln2b + s.fcw + s.fcb +
           s.fcprojw + s.fcprojb + s.lnfw + s.lnfb + s.lm_head;
}

ParameterTensors parameter_tensors(const ModelConfig& c, float* base) {
    const Offsets o = offsets(c);
    const auto mlp = [&](std::size_t at) { return c.mlp ? base + at : nullptr; };
    const auto image = [&](std::size_t at, bool in_image) { return c.is_image() == in_image ? base + at : nullptr; };
    return {image(o.wte, false), image(o.patchw, true), image(o.patchb, true), image(o.cls, true),
            c.positions == Positions::learned ? base + o.wpe : nullptr, base + o.ln1w, base + o.ln1b, base + o.qkvw, base + o.qkvb,
            base + o.attprojw, base + o.attprojb, mlp(o.ln2w), mlp(o.ln2b), mlp(o.fcw), mlp(o.fcb),
            mlp(o.fcprojw), mlp(o.fcprojb), base + o.lnfw, base + o.lnfb, base + o.lm_head};
}

std::vector<TensorSpec> parameter_specs(const ModelConfig& c) {
    const std::size_t V = c.vocab_size, C = c.n_embd, Tmax = c.block_size;
    const Offsets p = offsets(c);
    const auto offset = [](std::size_t at, std::size_t plus) { return at + plus; };
    std::vector<TensorSpec> specs;
    const auto add = [&](std::string name, std::vector<std::size_t> shape, std::size_t at, bool is_bias) {
        std::size_t n = 1;
        for (std::size_t k : shape) n *= k;
        const bool decay = shape.size() >= 2;
        specs.push_back({std::move(name), std::move(shape), at, n, decay, is_bias});
    };
    if (c.is_image()) {
        add("transformer.patch_embed.weight", {C, static_cast<std::size_t>(c.patch_pixels())}, offset(p.patchw, 0), false);
        add("transformer.patch_embed.bias", {C}, offset(p.patchb, 0), true);
        add("transformer.cls_token", {C}, offset(p.cls, 0), false);
    } else {
        add("transformer.wte.weight", {V, C}, offset(p.wte, 0), false);
    }
    if (c.positions == Positions::learned) add("transformer.wpe.weight", {Tmax, C}, offset(p.wpe, 0), false);
    for (int l = 0; l < c.n_layer; ++l) {
        const std::string h = "transformer.h." + std::to_string(l) + ".";
        const std::size_t L = l;
        add(h + "ln_1.weight", {C}, offset(p.ln1w, L * C), false);
        add(h + "ln_1.bias", {C}, offset(p.ln1b, L * C), true);
        add(h + "attn.c_attn.weight", {3 * C, C}, offset(p.qkvw, L * 3 * C * C), false);
        add(h + "attn.c_attn.bias", {3 * C}, offset(p.qkvb, L * 3 * C), true);
        add(h + "attn.c_proj.weight", {C, C}, offset(p.attprojw, L * C * C), false);
        add(h + "attn.c_proj.bias", {C}, offset(p.attprojb, L * C), true);
        if (!c.mlp) continue;
        add(h + "ln_2.weight", {C}, offset(p.ln2w, L * C), false);
        add(h + "ln_2.bias", {C}, offset(p.ln2b, L * C), true);
        add(h + "mlp.c_fc.weight", {4 * C, C}, offset(p.fcw, L * 4 * C * C), false);
        add(h + "mlp.c_fc.bias", {4 * C}, offset(p.fcb, L * 4 * C), true);
        add(h + "mlp.c_proj.weight", {C, 4 * C}, offset(p.fcprojw, L * C * 4 * C), false);
        add(h + "mlp.c_proj.bias", {C}, offset(p.fcprojb, L * C), true);
    }
    add("transformer.ln_f.weight", {C}, offset(p.lnfw, 0), false);
    add("transformer.ln_f.bias", {C}, offset(p.lnfb, 0), true);
    if (!c.tied) add(c.is_image() ? "head.weight" : "lm_head.weight", {V, C}, offset(p.lm_head, 0), false);
    return specs;
}

//-----------------------------------------------------------------------------
// Initialization
//-----------------------------------------------------------------------------
namespace {

// Normal(0, 1), approximately: the sum of 12 uniforms on [0, 1) minus 6 (Irwin–Hall), which has
// mean 0 and variance 1 and is computed exactly in double (24-bit uniforms), so the value is
// the same on every IEEE platform — unlike Box–Muller, whose log and cos differ between libms.
double standard_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
    double sum = 0;
    for (std::uint64_t k = 0; k < 12; ++k)
        sum += static_cast<double>(random::bits(seed, stream, index, k) >> 40) * 0x1p-24;
    return sum - 6.0;
}

}  // namespace

Expected<Model> init_model(const ModelConfig& config, Vocabulary vocab, std::uint64_t seed) {
    if (const std::string e = check_model_config(config); !e.empty()) return fail(e);
    if (static_cast<int>(vocab.tokens.size()) != config.vocab_size)
        return fail("vocab: expected " + std::to_string(config.vocab_size) + " tokens (vocab_size), got " +
                    std::to_string(vocab.tokens.size()));
    try {
        Model model;
        model.config = config;
        model.vocab = std::move(vocab);
        model.params.assign(parameter_count(config), 0.0f);
        const double residual_std = 0.02 / std::sqrt(2.0 * config.n_layer);
        for (const TensorSpec& t : parameter_specs(config)) {
            float* x = model.params.data() + t.offset;
            const bool layernorm_weight = t.name.find("ln_") != std::string::npos && !t.is_bias;
            if (t.is_bias) continue;  // zeros
            if (layernorm_weight) {
                std::fill(x, x + t.size, 1.0f);
                continue;
            }
            const bool residual = t.name.find("c_proj.weight") != std::string::npos;
            const double std_dev = residual ? residual_std : 0.02;
            const std::uint64_t stream = random::hash_bytes(t.name);
            for (std::size_t i = 0; i < t.size; ++i) x[i] = static_cast<float>(std_dev * standard_normal(seed, stream, i));
        }
        return model;
    } catch (const std::bad_alloc&) {
        return fail("config: expected a model whose parameters fit in memory");
    }
}

}  // namespace attnviz
