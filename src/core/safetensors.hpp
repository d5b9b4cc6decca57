// safetensors.hpp — the safetensors container, read and written: no model in it.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON, then the tensors' bytes:
//
//   {"__metadata__": {"key": "string value", …},
//    "<tensor name>": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}, …}
//
// with begin/end counted from the first byte after the header. Reading is strict about what
// would make a read go wrong (a length past the file, JSON with duplicate keys, offsets outside
// the data or overlapping, a byte count that does not match shape × dtype) and lenient about
// what does not (gaps between tensors, padding spaces after the JSON). Writing follows the
// reference implementation: the JSON padded with spaces to a multiple of 8 bytes, tensors
// contiguous from offset 0 in the order given, "__metadata__" first with its entries in the order
// given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace attnviz::safetensors {

inline constexpr std::uint64_t max_header_bytes = 100'000'000;  // the reference implementation's limit

struct TensorInfo {
    std::string                name;        // as the file spells it
    std::string                dtype;       // "F32", "F16", "BF16", or another safetensors dtype
    std::size_t                dtype_size;  // bytes per element
    std::vector<std::uint64_t> shape;       // () for a scalar
    std::uint64_t              elements;    // product of shape
    std::size_t                begin, end;  // byte range within File::data
};

struct File {
    std::map<std::string, std::string> metadata;  // "__metadata__", every value a string
    std::vector<TensorInfo>            tensors;   // sorted by name
    std::string_view                   data;      // the bytes after the header (views the input)
};

// Parses and validates `bytes`. Throws detail::FieldError "<field>: <what was expected>": the
// field is "header", "__metadata__.<key>", or a tensor's name (or "<name>.dtype" …).
File parse(std::string_view bytes);

// A JSON document inside the file (the header, a metadata entry holding JSON), read with
// parse_json_strict's rules. Throws detail::FieldError naming `field`: "<field>: expected valid
// JSON (…)", "<field>.<key>: duplicate key; …".
nlohmann::json parse_json_field(std::string_view text, const std::string& field);

// A JSON value as a message shows it: "an object", "the string \"x\"", "12" (numbers as written).
std::string describe(const nlohmann::json& value);

// True for F32, F16 and BF16: the dtypes read_floats converts.
bool is_float_dtype(const TensorInfo& tensor);

// out[0 .. tensor.elements) = the tensor's values as float32, exactly (every F16 and BF16 value
// is a float32 value). Precondition: is_float_dtype(tensor); `data` is File::data.
void read_floats(float* out, const TensorInfo& tensor, std::string_view data);

// Element i of the tensor as float32, without a buffer (comparing two tensors in place).
float read_float(const TensorInfo& tensor, std::string_view data, std::size_t i);

float f16_to_float(std::uint16_t bits);   // IEEE binary16, subnormals, infinities and NaN included
std::uint16_t float_to_f16(float x);      // the nearest binary16 (ties to even); past 65504 infinity, NaN stays NaN
float bf16_to_float(std::uint16_t bits);  // bfloat16: the top half of a float32

// One tensor to write, as float32 or rounded to float16.
struct TensorOut {
    std::string              name;
    std::vector<std::size_t> shape;
    const float*             values;        // (product of shape)
    bool                     f16 = false;   // write "F16": each value rounded by float_to_f16
};

using Metadata = std::vector<std::pair<std::string, std::string>>;  // (key, value), keys distinct

// The whole file. Names and metadata must be valid UTF-8, the names distinct.
std::string write(const Metadata& metadata, const std::vector<TensorOut>& tensors);

// "[3, 4]": a shape as messages print it.
template <class Int>
std::string shape_text(const std::vector<Int>& shape) {
    std::string out = "[";
    for (std::size_t k = 0; k < shape.size(); ++k) out += (k ? ", " : "") + std::to_string(shape[k]);
    return out + "]";
}

}  // namespace attnviz::safetensors
