// attnviz-trace — reads a config (JSON) from FILE or standard input, writes its trace (JSON) to
// standard output. An invalid config prints one line "attnviz-trace: <field>: <expected>" to
// standard error, nothing to standard output, and exits with 2.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "attnviz/core.hpp"

namespace {

constexpr const char* kUsage =
    "usage: attnviz-trace [--pretty] [FILE]\n"
    "  Reads an attention config (JSON) from FILE, or from standard input if FILE is absent or -,\n"
    "  and writes the full attention trace (JSON) to standard output.\n"
    "  --pretty   one member or matrix row per line\n"
    "  --help     this text\n"
    "Exit status: 0 on success, 2 for an invalid config or unreadable input (one line on stderr).\n";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "attnviz-trace: %s\n", message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    bool pretty = false;
    const char* path = nullptr;
    for (int k = 1; k < argc; ++k) {
        if (std::strcmp(argv[k], "--help") == 0 || std::strcmp(argv[k], "-h") == 0) {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (std::strcmp(argv[k], "--pretty") == 0) {
            pretty = true;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            return usage_error(std::string("unknown option ") + argv[k] + " (see --help)");
        } else if (path) {
            return usage_error("expected at most one FILE (see --help)");
        } else {
            path = argv[k];
        }
    }

    std::string input;
    if (path && std::strcmp(path, "-") != 0) {
        std::ifstream file(path, std::ios::binary);
        if (!file) return usage_error(std::string(path) + ": cannot be read");
        input.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } else {
        std::ostringstream buffer;
        buffer << std::cin.rdbuf();
        input = buffer.str();
    }

    const attnviz::Expected<std::string> trace = attnviz::compute_json(input, pretty);
    if (!trace) return usage_error(trace.error());
    std::fwrite(trace.value().data(), 1, trace.value().size(), stdout);
    std::fputc('\n', stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}
