// cli.hpp — what the two training commands (attnviz-train, attnviz-train-vit) share: the fatal
// error, whole-file reading and writing, option values, and h:mm clocks for their progress lines.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace attnviz::train {

// The command's name, for its error messages.
inline const char*& program() {
    static const char* name = "attnviz-train";
    return name;
}

// "<program>: <message>" on stderr, exit status 2.
[[noreturn]] inline void die(const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program(), message.c_str());
    std::exit(2);
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) die(path + ": cannot be read");
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) die(path + ": cannot be written");
}

// "m:ss"
inline std::string clock_text(double seconds) {
    const long s = std::lround(seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

// An option's value as an integer or a number; `option` names it in the error.
inline long integer_value(const std::string& option, const std::string& v) {
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0') die(option + ": expected an integer, got " + v);
    return n;
}
inline double number_value(const std::string& option, const std::string& v) {
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0') die(option + ": expected a number, got " + v);
    return x;
}

}  // namespace attnviz::train
