// attnviz-trace — reads a config (JSON) from FILE or standard input, writes its trace (JSON) to
// standard output. With --model WEIGHTS (a safetensors file) the config holds a text for that
// model and the output is the model trace. An invalid config or model prints one line
// "attnviz-trace: <field>: <expected>" to standard error, nothing to standard output, and exits with 2.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "attnviz/core.hpp"
#include "attnviz/model_trace.hpp"

namespace {

constexpr const char* kUsage =
    "usage: attnviz-trace [--pretty] [FILE]\n"
    "       attnviz-trace --model WEIGHTS [--vocab VOCAB] [--pretty] [FILE]\n"
    "  Reads an attention config (JSON) from FILE, or from standard input if FILE is absent or -,\n"
    "  and writes the full attention trace (JSON) to standard output.\n"
    "  --model WEIGHTS  a GPT in safetensors (attnviz's own or nanoGPT-shaped): the input is then\n"
    "                   {\"text\": ..., \"top_k\": 5, \"add_bos\": true, \"ablation\": {\"heads\": [[layer, head]],\n"
    "                   \"attention\": [layer], \"mlp\": [layer]}} and the output the model trace\n"
    "  --vocab VOCAB    the model's vocab.json, when its vocabulary is not inside the file\n"
    "  --pretty         one member or matrix row per line\n"
    "  --help           this text\n"
    "Exit status: 0 on success, 2 for an invalid config or unreadable input (one line on stderr).\n";

bool read_file(const char* path, std::string& out) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return false;
    out.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    return true;
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "attnviz-trace: %s\n", message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    bool pretty = false;
    const char* path = nullptr;
    const char* model_path = nullptr;
    const char* vocab_path = nullptr;
    for (int k = 1; k < argc; ++k) {
        if (std::strcmp(argv[k], "--help") == 0 || std::strcmp(argv[k], "-h") == 0) {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (std::strcmp(argv[k], "--model") == 0 || std::strcmp(argv[k], "--vocab") == 0) {
            if (k + 1 >= argc) return usage_error(std::string(argv[k]) + ": expected a file (see --help)");
            (argv[k][2] == 'm' ? model_path : vocab_path) = argv[k + 1];
            ++k;
        } else if (std::strcmp(argv[k], "--pretty") == 0) {
            pretty = true;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            return usage_error(std::string("unknown option ") + argv[k] + " (see --help)");
        } else if (path) {
            return usage_error("expected at most one FILE (see --help)");
        } else {
            path = argv[k];
        }
    }

    if (vocab_path && !model_path) return usage_error("--vocab: expected only with --model (see --help)");
    std::string input;
    if (path && std::strcmp(path, "-") != 0) {
        if (!read_file(path, input)) return usage_error(std::string(path) + ": cannot be read");
    } else {
        std::ostringstream buffer;
        buffer << std::cin.rdbuf();
        input = buffer.str();
    }

    attnviz::Expected<std::string> trace = attnviz::fail("");
    if (model_path) {
        std::string weights, vocab;
        if (!read_file(model_path, weights)) return usage_error(std::string(model_path) + ": cannot be read");
        if (vocab_path && !read_file(vocab_path, vocab)) return usage_error(std::string(vocab_path) + ": cannot be read");
        const attnviz::Expected<attnviz::Model> model = attnviz::load_model(weights, vocab);
        if (!model) return usage_error(std::string(model_path) + ": " + model.error());
        trace = attnviz::compute_model_json(model.value(), input, pretty);
    } else {
        trace = attnviz::compute_json(input, pretty);
    }
    if (!trace) return usage_error(trace.error());
    std::fwrite(trace.value().data(), 1, trace.value().size(), stdout);
    std::fputc('\n', stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}
