// safetensors.cpp — the safetensors container: header validation, dtype conversion, writing.
#include "safetensors.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "attnviz/json.hpp"
#include "internal.hpp"

namespace attnviz::safetensors {
namespace {

using Json = nlohmann::json;
using detail::field_error;
using detail::message_text;

// Every dtype of the format with a whole number of bytes per element. Only the first three are
// model weights attnviz reads; the others may still appear in a file (a buffer it ignores).
struct Dtype {
    const char* name;
    std::size_t size;
};
constexpr Dtype kDtypes[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8}, {"U64", 8},
                             {"I32", 4}, {"U32", 4}, {"I16", 2}, {"U16", 2}, {"I8", 1}, {"U8", 1},
                             {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};

std::uint32_t load_u32(const char* p) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
}

std::uint16_t load_u16(const char* p) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
}

float from_bits(std::uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// "[begin, end]"
std::string offsets_text(std::size_t begin, std::size_t end) {
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

TensorInfo read_tensor(const std::string& key, const Json& entry, std::size_t data_size) {
    const std::string name = message_text(key, 96);
    if (!entry.is_object())
        field_error(name, "expected an object {\"dtype\", \"shape\", \"data_offsets\"}, got " + describe(entry));
    for (auto it = entry.begin(); it != entry.end(); ++it)
        if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets")
            field_error(name + "." + message_text(it.key()), "unknown key; expected dtype, shape, data_offsets");
    for (const char* required : {"dtype", "shape", "data_offsets"})
        if (!entry.contains(required)) field_error(name + "." + required, "expected a value, but the key is missing");

    TensorInfo t;
    t.name = key;
    const Json& dtype = entry["dtype"];
    const Dtype* known = nullptr;
    if (dtype.is_string())
        for (const Dtype& d : kDtypes)
            if (dtype.get_ref<const std::string&>() == d.name) known = &d;
    if (!known)
        field_error(name + ".dtype", "expected a safetensors dtype (F32, F16, BF16, F64, I64, I32, U8, BOOL, …), got " +
                                         describe(dtype));
    t.dtype = known->name;
    t.dtype_size = known->size;

    const Json& shape = entry["shape"];
    const auto bad_shape = [&] { field_error(name + ".shape", "expected an array of sizes (integers >= 0), got " + describe(shape)); };
    if (!shape.is_array()) bad_shape();
    bool overflow = false;
    t.elements = 1;
    for (const Json& dim : shape) {
        if (!dim.is_number_unsigned()) bad_shape();
        const std::uint64_t n = dim.get<std::uint64_t>();
        t.shape.push_back(n);
        if (n != 0 && t.elements > UINT64_MAX / n) overflow = true;  // unless a later size is 0
        t.elements *= n;
    }
    if (std::find(t.shape.begin(), t.shape.end(), 0u) != t.shape.end()) {
        t.elements = 0;
        overflow = false;
    }

    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned() ||
        offsets[0].get<std::uint64_t>() > offsets[1].get<std::uint64_t>())
        field_error(name + ".data_offsets", "expected [begin, end], two integers with 0 <= begin <= end, got " +
                                                message_text(offsets.dump(), 60));
    const std::uint64_t begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    if (end > data_size)
        field_error(name, "expected data_offsets within the " + std::to_string(data_size) +
                              " bytes after the header, got [" + std::to_string(begin) + ", " + std::to_string(end) +
                              "] (is the file truncated?)");
    t.begin = static_cast<std::size_t>(begin);
    t.end = static_cast<std::size_t>(end);
    if (overflow || t.elements > UINT64_MAX / t.dtype_size || t.elements * t.dtype_size != end - begin)
        field_error(name, "expected data_offsets holding shape " + shape_text(t.shape) + " of " + t.dtype + " (" +
                              (overflow || t.elements > UINT64_MAX / t.dtype_size
                                   ? std::string("more than 2^64")
                                   : std::to_string(t.elements * t.dtype_size)) +
                              " bytes), got " + offsets_text(t.begin, t.end) + ", " + std::to_string(end - begin) + " bytes");
    return t;
}

// Two tensors may not share a byte (empty ones share none); gaps between them are allowed.
void check_overlaps(const std::vector<TensorInfo>& tensors) {
    std::vector<std::size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return tensors[a].begin != tensors[b].begin ? tensors[a].begin < tensors[b].begin : a < b;
    });
    const TensorInfo* reach = nullptr;  // of the tensors so far, the one ending last
    for (std::size_t k : order) {
        const TensorInfo& t = tensors[k];
        if (t.begin == t.end) continue;
        if (reach && t.begin < reach->end)
            field_error(message_text(t.name, 96), "expected data_offsets that overlap no other tensor's, got " +
                                                      offsets_text(t.begin, t.end) + ", which overlap " +
                                                      message_text(reach->name, 96) + "'s " +
                                                      offsets_text(reach->begin, reach->end));
        if (!reach || t.end > reach->end) reach = &t;
    }
}

}  // namespace

std::string describe(const Json& j) {
    switch (j.type()) {
        case Json::value_t::null: return "null";
        case Json::value_t::boolean: return j.get<bool>() ? "true" : "false";
        case Json::value_t::string: return "the string " + message_text(j.dump());
        case Json::value_t::object: return "an object";
        case Json::value_t::array: return "an array";
        default: return message_text(j.dump());  // numbers as written
    }
}

Json parse_json_field(std::string_view text, const std::string& field) {
    Expected<Json> doc = parse_json_strict(text);
    if (doc) return std::move(doc.value());
    // "json: expected valid JSON (…)" names the document; "<path>: duplicate key; …" a key in it
    const std::string& m = doc.error();
    if (m.rfind("json: ", 0) == 0) field_error(field, m.substr(6));
    const std::size_t colon = m.find(": ");
    field_error(field + "." + m.substr(0, colon), m.substr(colon + 2));
}

File parse(std::string_view bytes) {
    if (bytes.size() < 8)
        field_error("header", "expected an 8-byte little-endian header length, got a file of " + std::to_string(bytes.size()) +
                                  " bytes");
    const std::uint64_t n = std::uint64_t{load_u32(bytes.data())} | std::uint64_t{load_u32(bytes.data() + 4)} << 32;
    if (n > max_header_bytes)
        field_error("header", "expected a length of at most 100000000 bytes (safetensors' limit), got " + std::to_string(n));
    if (n > bytes.size() - 8)
        field_error("header", "expected " + std::to_string(n) + " bytes of JSON after the length, the file has " +
                                  std::to_string(bytes.size() - 8) + " (is it truncated?)");
    if (n > limits::max_json_bytes)
        field_error("header", "expected at most 64 MiB of JSON (attnviz's limit for a JSON document), got " +
                                  std::to_string(n) + " bytes");

    const Json header = parse_json_field(bytes.substr(8, static_cast<std::size_t>(n)), "header");
    if (!header.is_object()) field_error("header", "expected a JSON object, got " + describe(header));

    File file;
    file.data = bytes.substr(8 + static_cast<std::size_t>(n));
    for (auto it = header.begin(); it != header.end(); ++it) {  // sorted by name (nlohmann's std::map)
        if (it.key() != "__metadata__") {
            file.tensors.push_back(read_tensor(it.key(), it.value(), file.data.size()));
            continue;
        }
        const Json& metadata = it.value();
        if (metadata.is_null()) continue;  // the reference implementation reads null as no metadata
        if (!metadata.is_object()) field_error("__metadata__", "expected an object of strings, got " + describe(metadata));
        for (auto m = metadata.begin(); m != metadata.end(); ++m) {
            if (!m.value().is_string())
                field_error("__metadata__." + message_text(m.key()), "expected a string, got " + describe(m.value()));
            file.metadata.emplace(m.key(), m.value().get<std::string>());
        }
    }
    check_overlaps(file.tensors);
    return file;
}

bool is_float_dtype(const TensorInfo& tensor) {
    return tensor.dtype == "F32" || tensor.dtype == "F16" || tensor.dtype == "BF16";
}

float f16_to_float(std::uint16_t bits) {
    const std::uint32_t sign = std::uint32_t{bits & 0x8000u} << 16;
    const std::uint32_t exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
    if (exponent == 0) {  // zero or subnormal: mantissa · 2^-24, exact in float32
        const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) return from_bits(sign | 0x7F800000u | mantissa << 13);  // infinity, NaN
    return from_bits(sign | (exponent + 112) << 23 | mantissa << 13);          // rebias 15 -> 127
}

std::uint16_t float_to_f16(float x) {
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const std::uint16_t sign = static_cast<std::uint16_t>(bits >> 16 & 0x8000u);
    const std::uint32_t magnitude = bits & 0x7FFFFFFFu;
    if (magnitude > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u);  // NaN
    if (magnitude >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u); // rounds past 65504: infinity
    if (magnitude < 0x38800000u) {  // below 2^-14: a subnormal half, round(|x|·2^24), ties to even
        const float scaled = std::fabs(x) * 0x1p24f;  // exact: a power-of-two scaling
        return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
    }
    // a normal half: rebias the exponent (127 -> 15) and round the mantissa's 13 dropped bits to
    // nearest, ties to even (a carry into the exponent is the right result)
    const std::uint32_t rounded = magnitude - 0x38000000u + 0xFFFu + (magnitude >> 13 & 1u);
    return static_cast<std::uint16_t>(sign | rounded >> 13);
}

float bf16_to_float(std::uint16_t bits) { return from_bits(std::uint32_t{bits} << 16); }

float read_float(const TensorInfo& tensor, std::string_view data, std::size_t i) {
    const char* p = data.data() + tensor.begin + i * tensor.dtype_size;
    if (tensor.dtype == "F32") return from_bits(load_u32(p));
    if (tensor.dtype == "F16") return f16_to_float(load_u16(p));
    return bf16_to_float(load_u16(p));
}

void read_floats(float* out, const TensorInfo& tensor, std::string_view data) {
    const char* p = data.data() + tensor.begin;
    const std::size_t n = static_cast<std::size_t>(tensor.elements);
    if (tensor.dtype == "F32") {
        for (std::size_t i = 0; i < n; ++i) out[i] = from_bits(load_u32(p + 4 * i));
    } else if (tensor.dtype == "F16") {
        for (std::size_t i = 0; i < n; ++i) out[i] = f16_to_float(load_u16(p + 2 * i));
    } else {
        for (std::size_t i = 0; i < n; ++i) out[i] = bf16_to_float(load_u16(p + 2 * i));
    }
}

std::string write(const Metadata& metadata, const std::vector<TensorOut>& tensors) {
    json::Writer header;
    header.begin_object();
    if (!metadata.empty()) {
        header.key("__metadata__");
        header.begin_object();
        for (const auto& [key, value] : metadata) {
            header.key(key);
            header.string(value);
        }
        header.end_object();
    }
    std::vector<std::size_t> sizes;
    std::uint64_t offset = 0;
    for (const TensorOut& t : tensors) {
        const std::size_t size = std::accumulate(t.shape.begin(), t.shape.end(), std::size_t{1}, std::multiplies<>());
        sizes.push_back(size);
        header.key(t.name);
        header.begin_object();
        const std::uint64_t width = t.f16 ? 2 : 4;
        header.key("dtype");
        header.string(t.f16 ? "F16" : "F32");
        header.key("shape");
        header.begin_array();
        for (std::size_t d : t.shape) header.integer(static_cast<std::int64_t>(d));
        header.end_array();
        header.key("data_offsets");
        header.begin_array();
        header.integer(static_cast<std::int64_t>(offset));
        header.integer(static_cast<std::int64_t>(offset + width * size));
        header.end_array();
        header.end_object();
        offset += width * size;
    }
    header.end_object();
    std::string json = header.take();
    json.append((8 - json.size() % 8) % 8, ' ');  // the data starts 8-byte aligned

    std::string file(8 + json.size() + static_cast<std::size_t>(offset), '\0');
    for (int k = 0; k < 8; ++k) file[k] = static_cast<char>(std::uint64_t{json.size()} >> (8 * k) & 0xFF);
    std::memcpy(&file[8], json.data(), json.size());
    char* out = &file[8 + json.size()];
    for (std::size_t t = 0; t < tensors.size(); ++t)
        for (std::size_t i = 0; i < sizes[t]; ++i) {
            std::uint32_t bits;
            if (tensors[t].f16) {
                bits = float_to_f16(tensors[t].values[i]);
            } else {
                std::memcpy(&bits, &tensors[t].values[i], sizeof bits);
            }
            for (int k = 0; k < (tensors[t].f16 ? 2 : 4); ++k) *out++ = static_cast<char>(bits >> (8 * k) & 0xFF);
        }
    return file;
}

}  // namespace attnviz::safetensors
