// attnviz/model.hpp — a small GPT: its hyper-parameters, vocabulary, parameters and file.
//
// Index
//   1. ModelConfig        nanoGPT's GPTConfig
//   2. Vocabulary         character-level tokens, with unknown and beginning-of-text tokens
//   3. ParameterTensors   named views into one flat parameter buffer (llm.c's layout)
//   4. Model              config + vocabulary + parameters, and the tensors' file names
//   5. Model file         safetensors in and out (attnviz's own files and nanoGPT-shaped ones)
//
// The model is nanoGPT's decoder-only transformer: token embedding wte plus learned positions
// wpe; n_layer pre-LayerNorm blocks, x += attn(ln_1(x)); x += mlp(ln_2(x)) with causal multi-head
// self-attention and an MLP C -> 4C, GELU (erf form, as torch.nn.GELU()), 4C -> C; a final
// LayerNorm ln_f; logits = ln_f(x)·lm_headᵀ, lm_head tied to wte unless the file has its own.
// LayerNorm eps is 1e-5. Linear weights are kept in torch's layout, (out_features, in_features),
// so y = x·Wᵀ + b, and a file's bytes are the buffer's bytes.
//
// The same blocks make a Vision Transformer (Dosovitskiy et al., 2020) when image_size > 0: a
// one-channel image of S×S pixels is cut into N = (S/p)² patches of p×p pixels, in raster order;
// each patch (its p² pixels, row by row) is a token, embedded by a linear map (patch_embed); a
// learned class token goes first, learned positions are added (wpe, N + 1 rows), and attention is
// bidirectional (no causal mask). The "vocabulary" is the class names, and logits =
// ln_f(x)·headᵀ at every position; the class token's (position 0) are the prediction.
//
// Shapes: V vocab_size, C n_embd (d_model), L n_layer, H n_head, hs = C / H, Tmax block_size;
// image models: S image_size, p patch_size, P = p² pixels per patch, N = (S/p)² patches,
// Tmax = N + 1, V = the number of classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "attnviz/expected.hpp"

namespace attnviz {

//-----------------------------------------------------------------------------
// 1. ModelConfig
//-----------------------------------------------------------------------------
// Where a token's position enters: a learned row of wpe added to its embedding (nanoGPT, GPT-2),
// ALiBi (Press et al.): no position tensor, each head h of H subtracts slope_h·(i − j) from its
// scaled scores, slope_h = 2^(−8(h+1)/H) — relative distance, the same bias the lab's "alibi" adds;
// or RoPE (Su et al.): no position tensor, each head's query and key at position t rotated pair by
// pair, (2i, 2i+1) by the angle t·10000^(−2i/hs) — the lab's "rope" exactly, so q·k depends on
// the distance t − t2 alone (hs must be even).
enum class Positions { learned, alibi, rope };

// "learned", "alibi", "rope": the config's spelling (files, the trainer's --positions, the card).
const char* positions_name(Positions positions);

struct ModelConfig {
    int  block_size = 256;   // Tmax, the longest sequence (rows of wpe when learned)
    int  vocab_size = 0;     // V
    int  n_layer    = 4;     // L
    int  n_head     = 4;     // H, divides n_embd
    int  n_embd     = 128;   // C
    bool bias       = true;  // Linear and LayerNorm biases (nanoGPT's `bias`); false: they stay 0 and are not trained
    bool tied       = true;  // lm_head is wte (nanoGPT's weight tying); false: its own (V, C) tensor
    Positions positions = Positions::learned;
    bool mlp        = true;  // each block's MLP (ln_2, c_fc, GELU, c_proj); false: attention-only, x += attn(ln_1(x))
                             // alone, and the file has no ln_2 / mlp tensors
    int  image_size = 0;     // S: > 0 makes a Vision Transformer over S×S one-channel images (learned
    int  patch_size = 0;     // positions, untied head, block_size = N + 1); p divides S

    bool is_image() const { return image_size > 0; }
    bool causal() const { return !is_image(); }                     // text: causal; images: bidirectional
    int  patch_pixels() const { return patch_size * patch_size; }   // P
    int  patches_per_side() const { return is_image() ? image_size / patch_size : 0; }
    int  n_patches() const { return patches_per_side() * patches_per_side(); }  // N
};

// ALiBi's slope of head h of n_head.
double alibi_slope(int h, int n_head);

namespace model_limits {
inline constexpr int         max_block_size = 4096;             // like the lab's max_tokens
inline constexpr int         max_vocab_size = 65536;
inline constexpr int         max_layers     = 64;
inline constexpr int         max_heads      = 64;
inline constexpr int         max_embd       = 2048;
inline constexpr int         max_image_size = 256;
inline constexpr std::size_t max_params     = 256u * 1024 * 1024;  // floats: 1 GiB of parameters
}  // namespace model_limits

// "" when the config is within the limits above and consistent, else "<field>: <expected>".
std::string check_model_config(const ModelConfig& config);

//-----------------------------------------------------------------------------
// 2. Vocabulary
//-----------------------------------------------------------------------------
// Character-level: each token is one Unicode code point (UTF-8), except the specials, whose text
// is their name ("<|unk|>", "<|bos|>"). Encoding never drops a character: one outside the
// vocabulary becomes the unknown token (an error if the vocabulary has none).
struct Vocabulary {
    std::vector<std::string> tokens;  // (V) id -> text
    int unk = -1;                     // id of the unknown-character token, -1 if none
    int bos = -1;                     // id of the beginning-of-text token, -1 if none
};

struct Encoded {
    std::vector<int>         ids;      // (T) token ids, the beginning-of-text token first if asked for
    std::vector<std::string> text;     // (T) what each id stands for in the input (the character; "<|bos|>")
    std::vector<bool>        unknown;  // (T) true where a character was outside the vocabulary
};

// text -> ids. Invalid UTF-8 is an error naming the byte offset; so is an unknown character when
// the vocabulary has no unknown token. `add_bos` prepends the beginning-of-text token if there is one.
Expected<Encoded> encode(const Vocabulary& vocab, std::string_view text, bool add_bos = true);

//-----------------------------------------------------------------------------
// 3. ParameterTensors
//-----------------------------------------------------------------------------
// Every parameter lives in one float buffer, grouped by kind across layers as llm.c does; the
// same layout serves the gradients and AdamW's two moments.
struct ParameterTensors {
    float* wte;       // (V, C)        transformer.wte.weight (nullptr in image models)
    float* patchw;    // (C, P)        transformer.patch_embed.weight (image models; else nullptr)
    float* patchb;    // (C)           transformer.patch_embed.bias (image models)
    float* cls;       // (C)           transformer.cls_token (image models)
    float* wpe;       // (Tmax, C)     transformer.wpe.weight (nullptr with ALiBi or RoPE)
    float* ln1w;      // (L, C)        transformer.h.{l}.ln_1.weight
    float* ln1b;      // (L, C)        transformer.h.{l}.ln_1.bias
    float* qkvw;      // (L, 3C, C)    transformer.h.{l}.attn.c_attn.weight: rows [0,C) query, [C,2C) key, [2C,3C) value
    float* qkvb;      // (L, 3C)       transformer.h.{l}.attn.c_attn.bias
    float* attprojw;  // (L, C, C)     transformer.h.{l}.attn.c_proj.weight
    float* attprojb;  // (L, C)        transformer.h.{l}.attn.c_proj.bias
    float* ln2w;      // (L, C)        transformer.h.{l}.ln_2.weight (ln2w … fcprojb nullptr when attention-only)
    float* ln2b;      // (L, C)        transformer.h.{l}.ln_2.bias
    float* fcw;       // (L, 4C, C)    transformer.h.{l}.mlp.c_fc.weight
    float* fcb;       // (L, 4C)       transformer.h.{l}.mlp.c_fc.bias
    float* fcprojw;   // (L, C, 4C)    transformer.h.{l}.mlp.c_proj.weight
    float* fcprojb;   // (L, C)        transformer.h.{l}.mlp.c_proj.bias
    float* lnfw;      // (C)           transformer.ln_f.weight
    float* lnfb;      // (C)           transformer.ln_f.bias
    float* lm_head;   // (V, C)        lm_head.weight; points at wte when tied; head.weight in image models
};

// How many floats the buffer holds for `config` (lm_head's only when untied).
std::size_t parameter_count(const ModelConfig& config);

// The views into `base` (parameter_count floats).
ParameterTensors parameter_tensors(const ModelConfig& config, float* base);

// One tensor as the file names it: its nanoGPT name, shape, where it starts in the buffer, and
// whether AdamW decays it (nanoGPT: every tensor of two or more dimensions, i.e. the weights of
// the linear layers and the embeddings; not biases or LayerNorm parameters).
struct TensorSpec {
    std::string              name;    // e.g. "transformer.h.0.attn.c_attn.weight"
    std::vector<std::size_t> shape;   // e.g. {3C, C}
    std::size_t              offset;  // floats from the start of the buffer
    std::size_t              size;    // product of shape
    bool                     decay;   // weight decay applies
    bool                     is_bias; // a Linear or LayerNorm bias (absent from files with bias = false)
};

// Every tensor of the model, in file order: wte (image models: patch_embed.weight, patch_embed.bias,
// cls_token), wpe, h.0 … h.{L-1} (ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj;
// weight before bias), ln_f, then lm_head if untied (head.weight in image models).
std::vector<TensorSpec> parameter_specs(const ModelConfig& config);

//-----------------------------------------------------------------------------
// 4. Model
//-----------------------------------------------------------------------------
struct Model {
    ModelConfig                        config;
    Vocabulary                         vocab;
    std::vector<float>                 params;    // (parameter_count(config)) in ParameterTensors' layout
    std::map<std::string, std::string> metadata;  // the file's other __metadata__ entries (model card, training)

    ParameterTensors       tensors()       { return parameter_tensors(config, params.data()); }
    ParameterTensors       tensors() const { return parameter_tensors(config, const_cast<float*>(params.data())); }
};

// A freshly initialized model, as nanoGPT initializes it: weights normal(0, 0.02), the residual
// projections (attn.c_proj, mlp.c_proj) normal(0, 0.02/sqrt(2L)), biases 0, LayerNorm weights 1.
// The normals come from the core's counter-based generator: the same for a seed natively and in wasm.
Expected<Model> init_model(const ModelConfig& config, Vocabulary vocab, std::uint64_t seed);

//-----------------------------------------------------------------------------
// 5. Model file (safetensors)
//-----------------------------------------------------------------------------
// Writes the model as safetensors: an 8-byte little-endian header length, a JSON header (each
// tensor's dtype "F32" (or "F16"), shape, data_offsets; "__metadata__" with string values: "format": "pt",
// "attnviz_model": "1", "config" (ModelConfig as JSON, nanoGPT's field names), "vocab" (JSON list
// of the token texts), "unk_token" / "bos_token" (their texts, when present), and every entry of
// model.metadata), then the tensors' little-endian float32 bytes in parameter_specs order.
// Biases are left out when config.bias is false; lm_head only when untied. FileDtype::f16 rounds
// every value to IEEE float16 (nearest, ties to even; "F16"): half the bytes, the precision the
// shipped model needs (its card's losses are measured on the rounded weights). Model::metadata
// entries named like the model's own (format, attnviz_model, config, vocab, unk_token, bos_token,
// n_head) are not written: the model's values win.
enum class FileDtype { f32, f16 };
std::string save_model(const Model& model, FileDtype dtype = FileDtype::f32);

// Reads a safetensors file: attnviz's own, or a nanoGPT-shaped character model saved from
// PyTorch (names with or without the "transformer." prefix; F32, F16 or BF16; biases all present
// or all absent; lm_head.weight absent or equal to wte means tied). The config comes from the
// "config" metadata entry if present, else from the shapes, with n_head from the "n_head"
// metadata entry (required then). The vocabulary comes from the "vocab" metadata entry (a JSON
// list of strings), else from `vocab_json` (the contents of a vocab.json beside the file: a JSON
// list, or an object mapping each token to its id); "unk_token" / "bos_token" name the specials.
// Every problem is an error naming the tensor or field ("transformer.h.1.mlp.c_fc.weight:
// expected shape [512, 128], got [512, 64]", "header: …", "vocab: …"), never a crash: a
// truncated file, an oversized (> 100 MB) or malformed header, overlapping or out-of-range
// offsets, NaN or infinite weights, a model past model_limits or larger than `max_bytes`.
Expected<Model> load_model(std::string_view file, std::string_view vocab_json = {},
                           std::size_t max_bytes = model_limits::max_params * sizeof(float));

}  // namespace attnviz
