// random.hpp — the seeded generators behind every value the user did not give.
//
// Counter-based: each value is a hash of (seed, stream, row, col), so a matrix entry does not
// depend on the matrix's size (typing more text leaves earlier tokens' vectors alone) and the
// same config gives the same numbers natively and in wasm, bit for bit. std:: distributions
// are avoided on purpose: their float algorithms differ between libstdc++ and libc++.
#pragma once

#include <cstdint>
#include <string_view>

namespace attnviz::random {

// splitmix64's finalizer: a bijective 64-bit mix with full avalanche.
inline std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// A stream id from a name or token text: FNV-1a over the UTF-8 bytes, then mixed.
inline std::uint64_t hash_bytes(std::string_view bytes) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
    return mix(h);
}

// 64 random bits for one cell of one stream.
inline std::uint64_t bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t row, std::uint64_t col) {
    return mix(mix(mix(seed ^ mix(stream)) ^ row) ^ col);
}

// Uniform on [-a, a): 24 random bits make a float-exact value in [0, 1); the arithmetic is
// exact or correctly rounded double, so the result is identical on every IEEE platform.
inline float uniform(double a, std::uint64_t seed, std::uint64_t stream, std::uint64_t row, std::uint64_t col) {
    const double u = static_cast<double>(bits(seed, stream, row, col) >> 40) * 0x1p-24;
    return static_cast<float>((2.0 * u - 1.0) * a);
}

// A sequential generator for draws that need a variable number of values (bigbird's keys).
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t state) : state_(state) {}
    std::uint64_t next() {  // splitmix64: mix() adds the golden-ratio step itself
        const std::uint64_t s = state_;
        state_ += 0x9e3779b97f4a7c15ull;
        return mix(s);
    }
    // Uniform integer in [0, n) for n < 2^32 by multiply-shift (bias below 2^-32·n).
    std::uint32_t below(std::uint32_t n) {
        return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
    }

private:
    std::uint64_t state_;
};

}  // namespace attnviz::random
