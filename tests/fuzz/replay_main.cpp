// replay_main.cpp — the fuzz targets without libFuzzer: feeds every file of the directories (or
// files) given on the command line to LLVMFuzzerTestOneInput, in name order. CTest runs it over
// the committed corpora in every native build, so each crash ever found stays a regression test.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::vector<fs::path> inputs;
    for (int k = 1; k < argc; ++k) {
        if (fs::is_directory(argv[k])) {
            for (const fs::directory_entry& e : fs::directory_iterator(argv[k]))
                if (e.is_regular_file()) inputs.push_back(e.path());
        } else {
            inputs.emplace_back(argv[k]);
        }
    }
    std::sort(inputs.begin(), inputs.end());
    if (inputs.empty()) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR|FILE...  (found no input)\n", argv[0]);
        return 2;
    }
    for (const fs::path& p : inputs) {
        std::ifstream file(p, std::ios::binary);
        if (!file) {
            std::fprintf(stderr, "%s: cannot be read\n", p.c_str());
            return 2;
        }
        const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
        // a copy of exactly `size` bytes, so an over-read is caught by ASan as libFuzzer would
        std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
        LLVMFuzzerTestOneInput(data.data(), data.size());
    }
    std::printf("replayed %zu inputs\n", inputs.size());
    return 0;
}
