// PyTorch fixtures (tests/fixtures/torch/*.json, made by tests/fixtures/make_fixtures.py with
// torch.nn.MultiheadAttention and the source text's SelfAttention module): each config runs
// through the engine, simd and scalar, and is compared with torch's float64 results.
#include <filesystem>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "attnviz/core.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTorchDir = fs::path(ATTNVIZ_FIXTURES_DIR) / "torch";

std::vector<fs::path> fixture_files() {
    std::vector<fs::path> files;
    for (const fs::directory_entry& e : fs::directory_iterator(kTorchDir))
        if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

void check_fixture(const fs::path& path, attnviz::Kernels kernels) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    const json fixture = json::parse(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    INFO(path.filename().string() << ": " << fixture.value("description", std::string()));

    attnviz::Expected<attnviz::Config> config = attnviz::parse_config(fixture.at("config").dump());
    if (!config) FAIL("parse_config: " << config.error());
    config.value().kernels = kernels;
    const attnviz::Expected<attnviz::Trace> trace = attnviz::run(config.value());
    if (!trace) FAIL("run: " << trace.error());
    const attnviz::Trace& t = trace.value();

    const double weights_abs = fixture.at("tolerance").at("weights_abs").get<double>();
    const double output_rel = fixture.at("tolerance").at("output_rel").get<double>();
    REQUIRE(weights_abs <= 1e-5);  // a fixture may tighten the bounds, never loosen them
    REQUIRE(output_rel <= 1e-4);

    const json& weights = fixture.at("expected").at("weights");  // (H, T, S)
    REQUIRE(weights.size() == t.heads.size());
    double weights_error = 0;
    for (std::size_t h = 0; h < t.heads.size(); ++h) {
        REQUIRE(weights[h].size() == t.heads[h].weights.shape(0));
        for (std::size_t i = 0; i < weights[h].size(); ++i) {
            REQUIRE(weights[h][i].size() == t.heads[h].weights.shape(1));
            for (std::size_t j = 0; j < weights[h][i].size(); ++j)
                weights_error = std::max(weights_error, std::abs(t.heads[h].weights(i, j) - weights[h][i][j].get<double>()));
        }
    }
    CHECK(weights_error <= weights_abs);

    const json& output = fixture.at("expected").at("output");  // (T, d)
    REQUIRE(output.size() == t.output.shape(0));
    double output_error = 0, largest = 1e-30;
    for (std::size_t i = 0; i < output.size(); ++i) {
        REQUIRE(output[i].size() == t.output.shape(1));
        for (std::size_t k = 0; k < output[i].size(); ++k) {
            const double want = output[i][k].get<double>();
            output_error = std::max(output_error, std::abs(t.output(i, k) - want));
            largest = std::max(largest, std::abs(want));
        }
    }
    CHECK(output_error / largest <= output_rel);
}

}  // namespace

TEST_CASE("PyTorch fixtures: the engine matches torch", "[fixtures][torch]") {
    if (!fs::exists(kTorchDir)) {
        WARN("no " << kTorchDir.string() << " yet: tests/fixtures/make_fixtures.py has not been run");
        return;
    }
    const std::vector<fs::path> files = fixture_files();
    REQUIRE_FALSE(files.empty());  // the directory exists, so its fixtures must be there
    for (const fs::path& file : files)
        for (attnviz::Kernels kernels : {attnviz::Kernels::simd, attnviz::Kernels::scalar}) {
            INFO(attnviz::to_string(kernels));
            check_fixture(file, kernels);
        }
}
