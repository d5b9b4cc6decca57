// model_file.cpp — the model as a safetensors file: save_model and load_model.
//
// Tensor names are nanoGPT's (transformer.wte.weight, transformer.h.0.attn.c_attn.weight, …,
// lm_head.weight), so a file written here opens in PyTorch and a nanoGPT-shaped character model
// opens here. Reading maps the file's tensors onto parameter_specs in four steps:
//   1. every tensor name is classified: a parameter (with or without "transformer."), a causal
//      mask buffer nanoGPT and GPT-2 save beside the weights (h.{l}.attn.bias / attn.masked_bias:
//      skipped), or unknown (an error);
//   2. the ModelConfig comes from the "config" metadata entry, or else from the shapes (V and C
//      from wte, Tmax from wpe, L from the h.{l} blocks, n_head from an "n_head" entry), biases
//      from their presence, tying from lm_head's absence or equality with wte;
//   3. the config is checked against model_limits and the caller's byte budget before any
//      parameter is allocated, and the vocabulary against V;
//   4. each tensor of parameter_specs is checked for shape, converted to float32 and checked for
//      NaN and infinity.
// Every failure is a detail::FieldError caught at the API boundary.
#include <cassert>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>

#include "attnviz/model.hpp"
#include "internal.hpp"
#include "kernels.hpp"
#include "safetensors.hpp"

namespace attnviz {
namespace {

using Json = nlohmann::json;
using detail::field_error;
using detail::message_text;
using safetensors::describe;
using safetensors::shape_text;
using safetensors::TensorInfo;

constexpr std::string_view kPrefix = "transformer.";

// Metadata entries save_model writes from the model itself and load_model reads into it. An
// entry of Model::metadata with one of these names is not written (the file holds each key
// once, and the model's own value wins); load_model never puts one there.
constexpr const char* kModelMetadata[] = {"format", "attnviz_model", "config", "vocab", "unk_token", "bos_token", "n_head"};

// A block's parameters, after "h.{l}.", and the buffers (causal masks) that may sit beside them.
constexpr const char* kBlockParameters[] = {"ln_1.weight",        "ln_1.bias",        "attn.c_attn.weight", "attn.c_attn.bias",
                                            "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight",        "ln_2.bias",
                                            "mlp.c_fc.weight",    "mlp.c_fc.bias",    "mlp.c_proj.weight",  "mlp.c_proj.bias"};
constexpr const char* kBlockBuffers[] = {"attn.bias", "attn.masked_bias"};
constexpr const char* kTopParameters[] = {"wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias", "lm_head.weight",
                                          "patch_embed.weight", "patch_embed.bias", "cls_token", "head.weight"};

constexpr const char* kWte = "transformer.wte.weight";
constexpr const char* kWpe = "transformer.wpe.weight";
constexpr const char* kLmHead = "lm_head.weight";
constexpr const char* kHead = "head.weight";  // an image model's classifier

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

//-----------------------------------------------------------------------------
// 1. Tensor names
//-----------------------------------------------------------------------------
enum class Role { parameter, buffer, unknown };

struct Name {
    Role        role = Role::unknown;
    std::string canonical;  // parameter_specs' spelling: "transformer." + bare, lm_head.weight as is
    int         layer = -1;  // l of h.{l}, -1 outside the blocks
};

Name classify(std::string_view name) {
    std::string_view bare = name;
    if (starts_with(bare, kPrefix)) bare.remove_prefix(kPrefix.size());
    const auto parameter = [&](int layer) {
        return Name{Role::parameter, bare == kLmHead || bare == kHead ? std::string(bare) : std::string(kPrefix) + std::string(bare), layer};
    };
    for (const char* top : kTopParameters)
        if (bare == top) return parameter(-1);
    if (!starts_with(bare, "h.")) return {};
    std::size_t end = 2;  // "h.{l}.": l in decimal without leading zeros, at most 6 digits
    while (end < bare.size() && end < 8 && bare[end] >= '0' && bare[end] <= '9') ++end;
    if (end == 2 || end >= bare.size() || bare[end] != '.' || (bare[2] == '0' && end > 3)) return {};
    const int layer = std::stoi(std::string(bare.substr(2, end - 2)));
    const std::string_view rest = bare.substr(end + 1);
    for (const char* p : kBlockParameters)
        if (rest == p) return parameter(layer);
    for (const char* b : kBlockBuffers)
        if (rest == b) return {Role::buffer, {}, layer};
    return {};
}

// The file's parameters by canonical name.
struct FileTensors {
    std::map<std::string, const TensorInfo*> by_name;
    int  layers = 0;         // 1 + the largest l of an h.{l} parameter
    bool prefixed = false;   // the file spells names with "transformer." (messages then do too)
    bool any_bias = false;   // some Linear or LayerNorm bias is present
    bool any_mlp = false;    // some block has an ln_2 or mlp tensor (else the model is attention-only)

    const TensorInfo* find(const std::string& canonical) const {
        const auto it = by_name.find(canonical);
        return it == by_name.end() ? nullptr : it->second;
    }
    // A tensor the file lacks, named as the file would name it.
    std::string display(const std::string& canonical) const {
        return !prefixed && starts_with(canonical, kPrefix) ? canonical.substr(kPrefix.size()) : canonical;
    }
};

std::string file_name(const TensorInfo& t) { return message_text(t.name, 96); }

FileTensors map_tensors(const safetensors::File& file) {
    FileTensors out;
    for (const TensorInfo& t : file.tensors) {
        const Name name = classify(t.name);
        if (name.role == Role::buffer) continue;
        if (name.role == Role::unknown) field_error(file_name(t), "not a tensor of a nanoGPT-shaped model");
        if (!safetensors::is_float_dtype(t)) field_error(file_name(t), "expected dtype F32, F16 or BF16, got " + t.dtype);
        const auto [it, inserted] = out.by_name.emplace(name.canonical, &t);
        if (!inserted)
            field_error(file_name(t), "expected each tensor once, but " + file_name(*it->second) + " is the same tensor");
        out.layers = std::max(out.layers, name.layer + 1);
        out.prefixed = out.prefixed || starts_with(t.name, kPrefix);
        out.any_bias = out.any_bias || ends_with(name.canonical, ".bias");
        out.any_mlp = out.any_mlp || name.canonical.find(".mlp.") != std::string::npos ||
                      name.canonical.find(".ln_2.") != std::string::npos;
    }
    return out;
}

//-----------------------------------------------------------------------------
// 2. The config
//-----------------------------------------------------------------------------
struct ConfigEntry {
    ModelConfig config;
    bool has_bias = false;  // the entry says whether biases are present
    bool has_tied = false;  // … and whether lm_head is wte
    bool has_mlp = false;   // … and whether the blocks have MLPs
};

ConfigEntry read_config_entry(const std::string& text) {
    const Json j = safetensors::parse_json_field(text, "config");
    if (!j.is_object()) field_error("config", "expected a JSON object like nanoGPT's GPTConfig, got " + describe(j));
    ConfigEntry entry;
    const auto integer = [&](const char* key, int& slot) {
        const std::string field = std::string("config.") + key;
        if (!j.contains(key)) field_error(field, "expected an integer, but the key is missing");
        const Json& v = j[key];
        if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > INT_MAX) ||
            (!v.is_number_unsigned() && v.get<std::int64_t>() < INT_MIN))
            field_error(field, "expected an integer, got " + describe(v));
        slot = static_cast<int>(v.get<std::int64_t>());
    };
    const auto boolean = [&](const char* key, bool& slot, bool& given) {
        if (!j.contains(key)) return;
        if (!j[key].is_boolean()) field_error(std::string("config.") + key, "expected true or false, got " + describe(j[key]));
        slot = j[key].get<bool>();
        given = true;
    };
    integer("block_size", entry.config.block_size);
    integer("vocab_size", entry.config.vocab_size);
    integer("n_layer", entry.config.n_layer);
    integer("n_head", entry.config.n_head);
    integer("n_embd", entry.config.n_embd);
    boolean("bias", entry.config.bias, entry.has_bias);
    boolean("tied", entry.config.tied, entry.has_tied);
    boolean("mlp", entry.config.mlp, entry.has_mlp);
    if (j.contains("image_size") || j.contains("patch_size")) {  // a Vision Transformer
        integer("image_size", entry.config.image_size);
        integer("patch_size", entry.config.patch_size);
        if (entry.config.image_size < 1) field_error("config.image_size", "expected a positive integer, got " + describe(j["image_size"]));
        if (!entry.has_tied) {  // an image model's head is its own tensor (a "tied": true is refused by the check)
            entry.config.tied = false;
            entry.has_tied = true;
        }
    }
    if (j.contains("positions")) {
        const Json& v = j["positions"];
        if (v == "learned") entry.config.positions = Positions::learned;
        else if (v == "alibi") entry.config.positions = Positions::alibi;
        else if (v == "rope") entry.config.positions = Positions::rope;
        else field_error("config.positions", "expected \"learned\" (transformer.wpe.weight), \"alibi\" or \"rope\", got " + describe(v));
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
        static const std::set<std::string> known = {"block_size", "vocab_size", "n_layer", "n_head", "n_embd", "bias",
                                                    "tied", "positions", "mlp", "image_size", "patch_size"};
        if (!known.count(it.key()) && !it.value().is_number())  // numbers such as nanoGPT's dropout do not shape the model
            field_error("config." + message_text(it.key()),
                        "unknown key; expected block_size, vocab_size, n_layer, n_head, n_embd, bias, tied, positions, mlp, "
                        "image_size, patch_size (numbers such as dropout are ignored)");
    }
    return entry;
}

int read_n_head_entry(const std::string& text) {
    const bool digits = !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) field_error("n_head", "expected a number of heads written as text, such as \"4\", got " + message_text(Json(text).dump()));
    return std::stoi(text);
}

// A shape's size as a ModelConfig field; sizes past int's range are clamped for
// check_model_config to refuse.
int config_size(std::uint64_t n) { return n > INT_MAX ? INT_MAX : static_cast<int>(n); }

// The shapes say everything but the number of heads.
void infer_from_shapes(ModelConfig& config, const FileTensors& tensors, const std::optional<std::string>& n_head_entry) {
    const TensorInfo* wte = tensors.find(kWte);
    const TensorInfo* wpe = tensors.find(kWpe);
    if (!wte && tensors.find("transformer.patch_embed.weight"))
        field_error("config", "expected a \"config\" metadata entry: an image model's shape needs image_size and patch_size");
    if (!wte) field_error(tensors.display(kWte), "missing from the file");
    if (wte->shape.size() != 2) field_error(file_name(*wte), "expected shape [vocab_size, n_embd], got " + shape_text(wte->shape));
    if (!wpe) field_error(tensors.display(kWpe), "missing from the file");
    if (wpe->shape.size() != 2) field_error(file_name(*wpe), "expected shape [block_size, n_embd], got " + shape_text(wpe->shape));
    config.vocab_size = config_size(wte->shape[0]);
    config.n_embd = config_size(wte->shape[1]);
    config.block_size = config_size(wpe->shape[0]);
    config.n_layer = tensors.layers;
    if (!n_head_entry)
        field_error("n_head", "expected an \"n_head\" metadata entry (the shapes do not tell the number of heads) "
                              "or a \"config\" entry like nanoGPT's GPTConfig");
    config.n_head = read_n_head_entry(*n_head_entry);
}

// Whether lm_head holds the same float32 values as wte, bit for bit (so the model is tied).
bool same_values(const TensorInfo& a, const TensorInfo& b, std::string_view data) {
    if (a.shape != b.shape) return false;
    for (std::size_t i = 0; i < a.elements; ++i) {
        const float x = safetensors::read_float(a, data, i), y = safetensors::read_float(b, data, i);
        if (std::memcmp(&x, &y, sizeof x) != 0) return false;
    }
    return true;
}

//-----------------------------------------------------------------------------
// 3. The vocabulary
//-----------------------------------------------------------------------------
std::vector<std::string> read_token_list(const Json& j, const std::string& field) {
    std::vector<std::string> tokens;
    for (std::size_t k = 0; k < j.size(); ++k) {
        if (!j[k].is_string())
            field_error(field + "[" + std::to_string(k) + "]", "expected a token (a string), got " + describe(j[k]));
        tokens.push_back(j[k].get<std::string>());
    }
    return tokens;
}

// vocab.json as an object {token: id}: the ids must be 0 .. V-1, each once.
std::vector<std::string> read_token_ids(const Json& j) {
    std::vector<std::string> tokens(j.size());
    std::vector<bool> given(j.size(), false);
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string field = "vocab.json[" + message_text(Json(it.key()).dump()) + "]";
        const Json& id = it.value();
        if (!id.is_number_unsigned() || id.get<std::uint64_t>() >= j.size())
            field_error(field, "expected an id from 0 to " + std::to_string(j.size() - 1) + ", got " + describe(id));
        const std::size_t k = static_cast<std::size_t>(id.get<std::uint64_t>());
        if (given[k])
            field_error(field, "expected each id once, got " + std::to_string(k) + ", the id of " +
                                   message_text(Json(tokens[k]).dump()) + " too");
        given[k] = true;
        tokens[k] = it.key();
    }
    return tokens;
}

Vocabulary read_vocabulary(std::map<std::string, std::string>& metadata, std::string_view vocab_json, int vocab_size) {
    std::vector<std::string> tokens;
    std::string field;
    if (const auto entry = metadata.find("vocab"); entry != metadata.end()) {
        field = "vocab";
        const Json j = safetensors::parse_json_field(entry->second, field);
        if (!j.is_array()) field_error(field, "expected a JSON list of tokens, got " + describe(j));
        tokens = read_token_list(j, field);
        metadata.erase(entry);
    } else if (!vocab_json.empty()) {
        field = "vocab.json";
        const Json j = safetensors::parse_json_field(vocab_json, field);
        if (j.is_array()) {
            tokens = read_token_list(j, field);
        } else if (j.is_object()) {
            tokens = read_token_ids(j);
        } else {
            field_error(field, "expected a JSON list of tokens or an object mapping each token to its id, got " + describe(j));
        }
    } else {
        field_error("vocab", "expected a \"vocab\" metadata entry (a JSON list of tokens) or a vocab.json beside the file");
    }
    if (tokens.size() != static_cast<std::size_t>(vocab_size))
        field_error(field, "expected " + std::to_string(vocab_size) + " tokens (the rows of wte), got " + std::to_string(tokens.size()));

    // Tokens are valid UTF-8 already: nlohmann refuses ill-formed bytes and lone surrogates.
    std::map<std::string_view, std::size_t> seen;
    for (std::size_t k = 0; k < tokens.size(); ++k) {
        const std::string at = field + "[" + std::to_string(k) + "]";
        if (tokens[k].empty()) field_error(at, "expected a non-empty token, got \"\"");
        const auto [first, inserted] = seen.emplace(tokens[k], k);
        if (!inserted)
            field_error(at, "expected each token once, got " + message_text(Json(tokens[k]).dump()) + " again (also " + field + "[" +
                                std::to_string(first->second) + "])");
    }

    Vocabulary vocab;
    const auto special = [&](const char* key, int& slot) {
        const auto entry = metadata.find(key);
        if (entry == metadata.end()) return;
        const auto it = seen.find(entry->second);
        if (it == seen.end())
            field_error(key, "expected one of the vocabulary's tokens, got " + message_text(Json(entry->second).dump()));
        slot = static_cast<int>(it->second);
        metadata.erase(entry);
    };
    special("unk_token", vocab.unk);
    special("bos_token", vocab.bos);
    if (vocab.unk >= 0 && vocab.unk == vocab.bos)
        field_error("bos_token", "expected a token other than unk_token's, got " + message_text(Json(tokens[vocab.bos]).dump()) +
                                     " for both");
    vocab.tokens = std::move(tokens);
    return vocab;
}

//-----------------------------------------------------------------------------
// 4. The parameters
//-----------------------------------------------------------------------------
// "[2][17]": the position of flat index i in a tensor of `shape`.
std::string index_text(const std::vector<std::size_t>& shape, std::size_t i) {
    std::string out;
    for (std::size_t d = shape.size(); d-- > 0;) {
        out = "[" + std::to_string(i % shape[d]) + "]" + out;
        i /= shape[d];
    }
    return out;
}

// "12.3 MiB", "4.0 KiB", "100 bytes"
std::string size_text(double bytes) {
    char buf[48];
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%.0f bytes", bytes);
    else if (bytes < 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024);
    else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
    return buf;
}

bool same_shape(const std::vector<std::uint64_t>& got, const std::vector<std::size_t>& expected) {
    return std::equal(got.begin(), got.end(), expected.begin(), expected.end(),
                      [](std::uint64_t a, std::size_t b) { return a == b; });
}

Model read_model(std::string_view bytes, std::string_view vocab_json, std::size_t max_bytes) {
    const safetensors::File file = safetensors::parse(bytes);
    std::map<std::string, std::string> metadata = file.metadata;
    const auto take = [&](const char* key) -> std::optional<std::string> {
        const auto it = metadata.find(key);
        if (it == metadata.end()) return std::nullopt;
        std::string value = std::move(it->second);
        metadata.erase(it);
        return value;
    };

    FileTensors tensors = map_tensors(file);

    if (const auto version = take("attnviz_model"); version && *version != "1")
        field_error("attnviz_model", "expected version \"1\" (the only one this attnviz reads), got " + message_text(Json(*version).dump()));
    take("format");  // "pt" from PyTorch and from attnviz: tells nothing about the model
    const std::optional<std::string> n_head_entry = take("n_head");
    ConfigEntry entry;
    const std::optional<std::string> config_text = take("config");
    if (config_text) entry = read_config_entry(*config_text);
    ModelConfig& config = entry.config;

    // safetensors.torch.save_model keeps one name of tensors that share memory, the first in
    // sorted order: a tied nanoGPT's wte is then saved as lm_head.weight only.
    if (!tensors.find(kWte) && tensors.find(kLmHead) && !(entry.has_tied && !config.tied)) {
        tensors.by_name[kWte] = tensors.by_name[kLmHead];
        tensors.by_name.erase(kLmHead);
        config.tied = true;
        entry.has_tied = true;
    }

    if (config_text) {
        if (n_head_entry && read_n_head_entry(*n_head_entry) != config.n_head)
            field_error("n_head", "expected " + std::to_string(config.n_head) + " as in config.n_head, got " +
                                      message_text(Json(*n_head_entry).dump()));
    } else {
        infer_from_shapes(config, tensors, n_head_entry);
    }
    if (!entry.has_bias) config.bias = tensors.any_bias;
    if (!entry.has_mlp) config.mlp = tensors.any_mlp;

    const TensorInfo* wte = tensors.find(kWte);
    const TensorInfo* lm_head = tensors.find(kLmHead);
    if (!entry.has_tied) {
        config.tied = !lm_head || (wte && same_values(*wte, *lm_head, file.data));
    } else if (config.tied && lm_head && !(wte && same_values(*wte, *lm_head, file.data))) {
        field_error(file_name(*lm_head), "expected the same values as " + tensors.display(kWte) +
                                             " (config.tied is true), or no lm_head.weight");
    }

    if (const std::string problem = check_model_config(config); !problem.empty()) throw detail::FieldError{problem};
    const std::size_t count = parameter_count(config);
    if (count > max_bytes / sizeof(float))
        field_error("model", "needs " + size_text(static_cast<double>(count) * sizeof(float)) + " for its " + std::to_string(count) +
                                 " parameters, more than the limit of " + size_text(static_cast<double>(max_bytes)));

    Model model;
    model.config = config;
    model.vocab = read_vocabulary(metadata, vocab_json, config.vocab_size);

    model.params.assign(count, 0.0f);
    std::set<std::string> used;
    for (const TensorSpec& spec : parameter_specs(config)) {
        if (spec.is_bias && !config.bias) continue;
        const TensorInfo* t = tensors.find(spec.name);
        if (!t)
            field_error(tensors.display(spec.name),
                        spec.is_bias && !entry.has_bias ? "missing from the file (it has other biases: expected all or none)"
                                                        : "missing from the file");
        if (!same_shape(t->shape, spec.shape)) {
            const bool transposed = spec.shape.size() == 2 && spec.shape[0] != spec.shape[1] &&
                                    same_shape(t->shape, {spec.shape[1], spec.shape[0]});
            field_error(file_name(*t), "expected shape " + shape_text(spec.shape) + ", got " + shape_text(t->shape) +
                                           (transposed ? " (the transpose: GPT-2's Conv1D layout? expected torch.nn.Linear's "
                                                         "(out_features, in_features))"
                                                       : ""));
        }
        float* values = model.params.data() + spec.offset;
        safetensors::read_floats(values, *t, file.data);
        if (!kernels::all_finite(values, spec.size)) {
            std::size_t i = 0;
            while (std::isfinite(values[i])) ++i;
            field_error(file_name(*t) + index_text(spec.shape, i), "expected a finite number, got " + detail::number_text(values[i]));
        }
        used.insert(spec.name);
    }
    if (config.tied && lm_head) used.insert(kLmHead);  // equal to wte, checked above
    for (const auto& [name, t] : tensors.by_name) {
        if (used.count(name)) continue;
        if (ends_with(name, ".bias") && !config.bias)
            field_error(file_name(*t), "expected no bias tensors (config.bias is false)");
        if (!config.mlp && (name.find(".mlp.") != std::string::npos || name.find(".ln_2.") != std::string::npos))
            field_error(file_name(*t), "expected no MLP tensors (config.mlp is false: attention-only)");
        const bool image_tensor = name == kHead || name.find("patch_embed") != std::string::npos || name.find("cls_token") != std::string::npos;
        if (image_tensor && !config.is_image())
            field_error(file_name(*t), "expected no image-model tensors (config has no image_size: a text model)");
        if ((name == kWte || name == kLmHead) && config.is_image())
            field_error(file_name(*t), "expected no token embedding or lm_head in an image model (patch_embed and head instead)");
        if (name == kWpe && config.positions != Positions::learned)
            field_error(file_name(*t), std::string("expected no position table (config.positions is \"") +
                                           positions_name(config.positions) + "\")");
        field_error(file_name(*t), "expected the blocks h.0 to h." + std::to_string(config.n_layer - 1) +
                                       " only (config.n_layer is " + std::to_string(config.n_layer) + ")");
    }

    model.metadata = std::move(metadata);
    return model;
}

//-----------------------------------------------------------------------------
// Writing
//-----------------------------------------------------------------------------
std::string config_json(const ModelConfig& c) {
    json::Writer out;
    detail::write_model_config(out, c);
    return out.take();
}

std::string tokens_json(const std::vector<std::string>& tokens) {
    json::Writer out;
    out.begin_array();
    for (const std::string& t : tokens) out.string(t);
    out.end_array();
    return out.take();
}

}  // namespace

void detail::write_model_config(json::Writer& out, const ModelConfig& c) {
    out.begin_object();
    out.key("block_size"); out.integer(c.block_size);
    out.key("vocab_size"); out.integer(c.vocab_size);
    out.key("n_layer"); out.integer(c.n_layer);
    out.key("n_head"); out.integer(c.n_head);
    out.key("n_embd"); out.integer(c.n_embd);
    out.key("bias"); out.boolean(c.bias);
    out.key("tied"); out.boolean(c.tied);
    if (c.positions != Positions::learned) {  // absent: learned, as in nanoGPT's GPTConfig
        out.key("positions"); out.string(positions_name(c.positions));
    }
    if (!c.mlp) {  // absent: every block has its MLP
        out.key("mlp"); out.boolean(false);
    }
    if (c.is_image()) {  // absent: a text model
        out.key("image_size"); out.integer(c.image_size);
        out.key("patch_size"); out.integer(c.patch_size);
    }
    out.end_object();
}

std::string save_model(const Model& model, FileDtype dtype) {
    const ModelConfig& c = model.config;
    const std::vector<std::string>& tokens = model.vocab.tokens;
    assert(model.params.size() == parameter_count(c) && "save_model: params must hold parameter_count(config) floats");
    // the model's own entries first, in a fixed order, then Model::metadata's in key order
    safetensors::Metadata metadata = {{"format", "pt"}, {"attnviz_model", "1"}, {"config", config_json(c)}, {"vocab", tokens_json(tokens)}};
    if (model.vocab.unk >= 0 && model.vocab.unk < static_cast<int>(tokens.size())) metadata.emplace_back("unk_token", tokens[model.vocab.unk]);
    if (model.vocab.bos >= 0 && model.vocab.bos < static_cast<int>(tokens.size())) metadata.emplace_back("bos_token", tokens[model.vocab.bos]);
    for (const auto& entry : model.metadata)
        if (std::none_of(std::begin(kModelMetadata), std::end(kModelMetadata), [&](const char* m) { return entry.first == m; }))
            metadata.push_back(entry);

    std::vector<safetensors::TensorOut> out;
    for (const TensorSpec& spec : parameter_specs(c))
        if (c.bias || !spec.is_bias) out.push_back({spec.name, spec.shape, model.params.data() + spec.offset, dtype == FileDtype::f16});
    return safetensors::write(metadata, out);
}

Expected<Model> load_model(std::string_view file, std::string_view vocab_json, std::size_t max_bytes) {
    try {
        return read_model(file, vocab_json, max_bytes);
    } catch (const detail::FieldError& e) {
        return fail(e.message);
    } catch (const std::bad_alloc&) {
        return fail("model: expected a file that fits in memory (ran out while loading it)");
    } catch (const std::exception& e) {
        return fail("model: " + message_text(e.what(), 200));
    }
}

}  // namespace attnviz
