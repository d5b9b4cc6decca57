// RunJob: run() a little at a time. Stepped with the smallest budget (one step per call) a job
// gives run()'s trace bit for bit; its row blocks give what the kernels give on whole matrices;
// progress only grows and ends at 1; errors are run()'s; a job dropped mid-way frees everything
// (this file runs under ASan + UBSan in CI).
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <vector>

#include "helpers.hpp"
#include "kernels.hpp"

namespace {

// Long enough that, with the smallest steps, every per-row task takes several (blocks of 16 rows).
std::string long_text(int words) {
    std::string text;
    for (int i = 0; i < words; ++i) text += (i ? " w" : "w") + std::to_string(i % 61);
    return text;
}

attnviz::Config must_parse(const std::string& json) {
    attnviz::Expected<attnviz::Config> config = attnviz::parse_config(json);
    INFO(json);
    if (!config) FAIL("parse_config: " << config.error());
    return std::move(config.value());
}

struct Stepped {
    attnviz::Expected<attnviz::Trace> result = attnviz::fail("not run");
    std::vector<double> progress;  // after start, then after each step
    std::vector<std::string> stages;  // stage() after start, then after each step
    std::vector<int> heads;        // head() alongside
};

// Steps with a zero budget (exactly one step per call) of the smallest size (blocks of 16 rows).
Stepped step_to_end(const attnviz::Config& config, int keep_head = -1) {
    Stepped out;
    attnviz::Expected<attnviz::RunJob> started = attnviz::RunJob::start(config, 1.0, keep_head);
    REQUIRE(started.ok());
    attnviz::RunJob& job = started.value();
    const auto record = [&] {
        out.progress.push_back(job.progress());
        out.stages.push_back(job.stage());
        out.heads.push_back(job.head());
    };
    record();
    while (!job.step(0.0)) record();
    record();
    out.result = job.take();
    return out;
}

bool same_bits(const attnviz::Matrix& a, const attnviz::Matrix& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const char* const kConfigs[] = {
    R"({"text":"The cat sat on the mat because it was tired."})",
    R"({"text":"TEXT","d_model":48,"heads":3,"mask":"causal","positional":"rope"})",
    R"({"text":"TEXT","d_model":40,"heads":5,"positional":"alibi","pattern":{"kind":"bigbird","window":3,"global":[0,7],"random":4}})",
    R"({"text":"TEXT","source_text":"s1 s2 [PAD] s3 s4 s5 s6 s7 s8 s9 s10 s11 s12","d_model":36,"heads":3,"positional":"learned","mask":"padding"})",
    R"({"text":"TEXT","d_model":32,"heads":4,"linformer_k":100})",
    R"({"text":"TEXT","d_model":32,"heads":2,"variant":"seed_module","mask":"causal","kernels":"scalar"})",
    R"({"text":"TEXT","d_model":24,"heads":2,"pattern":{"kind":"strided","window":2,"stride":5},"temperature":0.3,"scale":0.9})",
    // sliding windows: a head not kept computes only each block's span of keys
    R"({"text":"TEXT","d_model":24,"heads":3,"pattern":{"kind":"local","window":5},"positional":"alibi"})",
    R"({"text":"TEXT","d_model":16,"heads":2,"mask":"causal","pattern":{"kind":"local","window":37},"kernels":"scalar"})",
    R"({"text":"TEXT","d_model":16,"heads":2,"pattern":{"kind":"sliding_global","window":3,"global":[150]}})",
    R"({"text":"TEXT","source_text":"[PAD] [PAD] a b c d e f g h i j k l m n o p q r s t u v w x y z","d_model":16,"heads":2,"mask":"padding","pattern":{"kind":"local","window":1}})",
};

std::string with_long_text(std::string json) {
    const auto at = json.find("TEXT");
    if (at != std::string::npos) json.replace(at, 4, long_text(300));
    return json;
}

}  // namespace

TEST_CASE("a job stepped one step at a time gives run()'s trace bit for bit", "[job]") {
    for (const char* json : kConfigs) {
        const attnviz::Config config = must_parse(with_long_text(json));
        INFO(json);
        const attnviz::Expected<attnviz::Trace> direct = attnviz::run(config);
        REQUIRE(direct.ok());
        const Stepped stepped = step_to_end(config);
        REQUIRE(stepped.result.ok());
        CHECK(test::json_without_stats(stepped.result.value()) == test::json_without_stats(direct.value()));
        CHECK(stepped.result.value().stats.flops == direct.value().stats.flops);
        CHECK(stepped.result.value().stats.bytes == direct.value().stats.bytes);
    }
}

bool same_bits(const xt::xtensor<double, 2>& a, const xt::xtensor<double, 2>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST_CASE("keep_head: one head keeps its T×N matrices, every other number is run()'s bit for bit", "[job][keep]") {
    for (const char* json : kConfigs) {
        const attnviz::Config config = must_parse(with_long_text(json));
        INFO(json);
        const attnviz::Expected<attnviz::Trace> direct = attnviz::run(config);
        REQUIRE(direct.ok());
        const attnviz::Trace& all = direct.value();
        CHECK(all.kept_head == -1);
        const int H = static_cast<int>(all.heads.size());
        for (int keep = 0; keep < H; ++keep) {
            INFO("keep_head " << keep);
            const Stepped stepped = step_to_end(config, keep);
            REQUIRE(stepped.result.ok());
            const attnviz::Trace& t = stepped.result.value();
            CHECK(t.kept_head == keep);
            CHECK(same_bits(t.concat, all.concat));
            CHECK(same_bits(t.output, all.output));
            CHECK(t.stats.flops == all.stats.flops);
            CHECK(t.stats.bytes < all.stats.bytes);
            for (int h = 0; h < H; ++h) {
                INFO("head " << h);
                const attnviz::HeadTrace& a = all.heads[h];
                const attnviz::HeadTrace& b = t.heads[h];
                CHECK(t.keeps(h) == (h == keep));
                CHECK(same_bits(b.Q, a.Q));
                CHECK(same_bits(b.K, a.K));
                CHECK(same_bits(b.V, a.V));
                CHECK(same_bits(b.out, a.out));
                CHECK(b.empty_rows == a.empty_rows);
                CHECK(b.scale == a.scale);
                CHECK(b.alibi_slope == a.alibi_slope);
                if (h == keep) {
                    CHECK(same_bits(b.scores, a.scores));
                    CHECK(same_bits(b.weights, a.weights));
                    CHECK(same_bits(b.scaled, a.scaled));
                    CHECK(b.mask == a.mask);
                } else {
                    CHECK(b.scores.size() == 0);
                    CHECK(b.weights.size() == 0);
                    CHECK(b.scaled.size() == 0);
                    CHECK(b.mask.size() == 0);
                }
            }
            // the JSON says which head is kept and writes the others' T×N matrices as null
            const std::string j = attnviz::trace_to_json(t);
            CHECK(j.find("\"kept_head\":" + std::to_string(keep)) != std::string::npos);
            if (H > 1) CHECK(j.find("\"scores\":null,\"scaled\":null,\"mask\":null,\"weights\":null") != std::string::npos);
        }
    }
}

TEST_CASE("keep_head: the trace's bytes and the memory check count only the head kept", "[job][keep]") {
    const attnviz::Config config = must_parse(R"({"text":")" + long_text(300) + R"(","d_model":32,"heads":4})");
    const attnviz::Expected<attnviz::Trace> t = attnviz::run(config);
    const Stepped kept = step_to_end(config, 2);
    REQUIRE(t.ok());
    REQUIRE(kept.result.ok());
    CHECK(attnviz::trace_bytes(config).value() >= t.value().stats.bytes);
    CHECK(attnviz::trace_bytes(config, 2).value() >= kept.result.value().stats.bytes);
    // what the heads not kept do not hold: scores, weights (float), scaled (double), mask (bool)
    const double T = 300, per_head = T * T * (4 + 4 + 8 + 1);
    CHECK(t.value().stats.bytes - kept.result.value().stats.bytes == 3 * per_head);
}

TEST_CASE("keep_head_for: every head while the trace fits keep_every_head_bytes, else the head on screen", "[job][keep]") {
    const attnviz::Config small = must_parse(R"({"text":")" + long_text(300) + R"(","d_model":32,"heads":4})");
    CHECK(attnviz::RunJob::keep_head_for(small, 2) == -1);
    const attnviz::Config huge = must_parse(R"({"text":")" + long_text(4096) + R"(","d_model":512,"heads":8})");
    CHECK(attnviz::trace_bytes(huge).value() > attnviz::RunJob::keep_every_head_bytes);
    CHECK(attnviz::RunJob::keep_head_for(huge, 5) == 5);
    CHECK(attnviz::RunJob::keep_head_for(huge, 99) == 7);
    CHECK(attnviz::RunJob::keep_head_for(huge, -3) == 0);
    attnviz::Config invalid = small;
    invalid.heads = 3;
    CHECK(attnviz::RunJob::keep_head_for(invalid, 1) == -1);
}

TEST_CASE("row blocks give what the kernels give on whole matrices, bit for bit", "[job]") {
    // T = 300 queries: with the smallest steps every per-row stage takes 19 blocks of 16 rows.
    // Under a mask a kept head's softmax and weighted sum cover only the keys each row (each
    // block) may see: the weights must still be the softmax of the whole scaled rows and out the
    // whole product, bit for bit. The masks: causal (ALiBi too), padding, a causal band, BigBird
    // (rows whose keys are not one run).
    const char* const masks[] = {R"("mask":"causal")", R"("mask":"causal","positional":"alibi")", R"("mask":"padding")",
                                 R"("mask":"causal","pattern":{"kind":"local","window":20})",
                                 R"("pattern":{"kind":"bigbird","window":3,"global":[0,7],"random":4})"};
    for (const char* kernels : {"simd", "scalar"})
    for (const char* mask : masks) {
        INFO(kernels << " " << mask);
        const std::string text = long_text(296) + (std::strstr(mask, "padding") ? " [PAD] [PAD] [PAD] [PAD]" : " a b c d");
        const attnviz::Config config = must_parse(R"({"text":")" + text + R"(","d_model":40,"heads":4,)" + mask +
                                                  R"(,"kernels":")" + kernels + "\"}");
        const Stepped stepped = step_to_end(config);
        REQUIRE(stepped.result.ok());
        const attnviz::Trace& t = stepped.result.value();
        const attnviz::Kernels path = t.config.kernels;
        const int T = t.T, N = t.N, dk = t.head_dim;
        const auto whole_matmul = [&](const attnviz::Matrix& a, const attnviz::Matrix& b, const attnviz::Vector* bias) {
            attnviz::Matrix c = attnviz::Matrix::from_shape({a.shape(0), b.shape(1)});
            attnviz::kernels::matmul(c.data(), a.data(), b.data(), bias ? bias->data() : nullptr, static_cast<int>(a.shape(0)),
                                     static_cast<int>(a.shape(1)), static_cast<int>(b.shape(1)), path);
            return c;
        };
        // a head's products: the SIMD path packs the keys and values once per head (matmul_packed)
        const auto head_matmul = [&](const attnviz::Matrix& a, const attnviz::Matrix& b, bool b_transposed) {
            if (path == attnviz::Kernels::scalar) return whole_matmul(a, b_transposed ? attnviz::Matrix(xt::transpose(b)) : b, nullptr);
            const int K = static_cast<int>(a.shape(1)), N = static_cast<int>(b_transposed ? b.shape(0) : b.shape(1));
            std::vector<float> packed(attnviz::kernels::packed_size(K, N));
            if (b_transposed) attnviz::kernels::pack_transposed(packed.data(), b.data(), b.shape(1), K, N);
            else attnviz::kernels::pack(packed.data(), b.data(), b.shape(1), K, N);
            attnviz::Matrix c = attnviz::Matrix::from_shape({a.shape(0), static_cast<std::size_t>(N)});
            attnviz::kernels::matmul_packed(c.data(), N, a.data(), packed.data(), static_cast<int>(a.shape(0)), K, N);
            return c;
        };
        const attnviz::Matrix Q = whole_matmul(t.X_in, *t.config.weights.Wq, &*t.config.weights.bq);  // (T, d)
        for (int h = 0; h < static_cast<int>(t.heads.size()); ++h) {
            INFO("head " << h);
            const attnviz::HeadTrace& head = t.heads[h];
            attnviz::Matrix Qh = attnviz::Matrix::from_shape({static_cast<std::size_t>(T), static_cast<std::size_t>(dk)});
            for (int i = 0; i < T; ++i)
                for (int k = 0; k < dk; ++k) Qh(i, k) = Q(i, h * dk + k);
            CHECK(same_bits(head.Q, Qh));
            CHECK(same_bits(head.scores, head_matmul(head.Q, head.K, true)));
            // scaled: scores·scale/temperature where the mask allows, else -inf, bit for bit; with
            // ALiBi minus slope·distance, to 1e-12 (whether a compiler fuses that multiply-subtract
            // differs between the engine and this test)
            int wrong_scaled = 0;
            for (int i = 0; i < T; ++i)
                for (int j = 0; j < N; ++j) {
                    const double v = head.scores(i, j) * (head.scale / t.config.temperature);
                    const double got = head.scaled(i, j);
                    if (!head.mask(i, j)) wrong_scaled += got != -std::numeric_limits<double>::infinity();
                    else if (head.alibi_slope == 0) wrong_scaled += std::memcmp(&got, &v, sizeof v) != 0;
                    else wrong_scaled += !(std::abs(got - (v - head.alibi_slope * std::abs(i - j))) <= 1e-12 * (1 + std::abs(got)));
                }
            CHECK(wrong_scaled == 0);
            attnviz::Matrix weights = attnviz::Matrix::from_shape({static_cast<std::size_t>(T), static_cast<std::size_t>(N)});
            attnviz::kernels::softmax_rows(weights.data(), head.scaled.data(), T, N, path);
            CHECK(same_bits(head.weights, weights));
            CHECK(same_bits(head.out, head_matmul(head.weights, head.V, false)));
        }
        CHECK(same_bits(t.output, whole_matmul(t.concat, *t.config.weights.Wo, &*t.config.weights.bo)));
    }
}

TEST_CASE("a job's progress only grows, follows the stages in order and ends at 1", "[job]") {
    const attnviz::Config config = must_parse(R"({"text":")" + long_text(300) + R"(","d_model":32,"heads":4})");
    const Stepped s = step_to_end(config);
    REQUIRE(s.result.ok());
    CHECK(s.progress.front() == 0.0);
    CHECK(s.progress.back() == 1.0);
    for (std::size_t k = 1; k < s.progress.size(); ++k) {
        INFO("step " << k);
        CHECK(s.progress[k] >= s.progress[k - 1]);
        CHECK(s.progress[k] <= 1.0);
    }
    // the stages in run()'s order, each visited once
    std::vector<std::string> order;
    for (const std::string& stage : s.stages)
        if (order.empty() || order.back() != stage) order.push_back(stage);
    CHECK(order == std::vector<std::string>{"embed", "positional", "project", "scores", "attention", "output", "done"});
    CHECK(s.heads.back() == -1);
    // the heads come in order, and a head's attention (scores to out) takes several steps
    std::vector<int> softmax_heads;
    for (std::size_t k = 0; k < s.stages.size(); ++k)
        if (s.stages[k] == "attention" && s.heads[k] >= 0) softmax_heads.push_back(s.heads[k]);
    REQUIRE(softmax_heads.size() > 4);
    CHECK(std::is_sorted(softmax_heads.begin(), softmax_heads.end()));
    CHECK(std::set<int>(softmax_heads.begin(), softmax_heads.end()) == std::set<int>{0, 1, 2, 3});
    CHECK(softmax_heads.size() > std::set<int>(softmax_heads.begin(), softmax_heads.end()).size());
}

TEST_CASE("a large budget finishes a small config in one step", "[job]") {
    attnviz::Expected<attnviz::RunJob> job = attnviz::RunJob::start(must_parse(R"({"text":"the cat sat on the mat"})"));
    REQUIRE(job.ok());
    CHECK(job.value().step(1e9));
    CHECK(job.value().done());
    CHECK(job.value().progress() == 1.0);
    CHECK(std::string(job.value().stage()) == "done");
    const attnviz::Expected<attnviz::Trace> trace = job.value().take();
    REQUIRE(trace.ok());
    CHECK(trace.value().T == 6);
}

TEST_CASE("a job's errors are run()'s messages, as values", "[job]") {
    SECTION("an invalid config fails to start") {
        attnviz::Config c = must_parse(R"({"text":"a b c"})");
        c.heads = 3;
        const attnviz::Expected<attnviz::RunJob> job = attnviz::RunJob::start(c);
        REQUIRE_FALSE(job.ok());
        CHECK(job.error() == "heads: expected a divisor of d_model (16), got 3");
        CHECK(job.error() == attnviz::run(c).error());
    }
    SECTION("overflow while computing: the step that meets it ends the job, take() has the message") {
        attnviz::Config overflow_q = must_parse(R"({"text":"a b","d_model":2,"heads":1,"positional":"none"})");
        overflow_q.embeddings = attnviz::Matrix{{3e38f, 3e38f}, {1, 1}};
        overflow_q.weights.Wq = attnviz::Matrix{{10, 0}, {0, 10}};
        const attnviz::Config& q = overflow_q;
        const attnviz::Config scaled = must_parse(R"({"text":")" + long_text(200) + R"(","scale":1e300,"temperature":1e-300})");
        for (const attnviz::Config* c : {&q, &scaled}) {
            const Stepped s = step_to_end(*c);
            REQUIRE_FALSE(s.result.ok());
            CHECK(s.result.error() == attnviz::run(*c).error());
            CHECK(s.progress.back() == 1.0);
            CHECK(s.stages.back() == "done");
        }
        CHECK(attnviz::run(q).error() == "Q: overflowed float32 (|value| > 3.4e38); expected embeddings and weights small enough");
        CHECK(attnviz::run(scaled).error().rfind("scaled: overflowed float64", 0) == 0);
    }
    SECTION("take() before the end, and twice") {
        attnviz::Expected<attnviz::RunJob> job = attnviz::RunJob::start(must_parse(R"({"text":"a b c"})"));
        REQUIRE(job.ok());
        const attnviz::Expected<attnviz::Trace> early = job.value().take();
        REQUIRE_FALSE(early.ok());
        CHECK(early.error() == "job: expected a finished job; call step() until it returns true");
        while (!job.value().step(0.0)) {}
        CHECK(job.value().take().ok());
        CHECK(job.value().done());
        CHECK(job.value().step(0.0));
        CHECK(job.value().take().error() == "job: expected a job with a result; take() was already called");
    }
}

TEST_CASE("a job dropped or replaced mid-way frees what it held", "[job]") {
    // Under ASan a leak or a use after free here fails the run.
    const attnviz::Config config = must_parse(R"({"text":")" + long_text(400) + R"(","d_model":64,"heads":4,"positional":"rope"})");
    for (int steps : {1, 3, 10, 40, 80}) {
        attnviz::Expected<attnviz::RunJob> job = attnviz::RunJob::start(config, 1.0);
        REQUIRE(job.ok());
        for (int k = 0; k < steps && !job.value().step(0.0); ++k) {}
        CHECK(job.value().progress() < 1.0);
    }  // dropped here
    attnviz::Expected<attnviz::RunJob> first = attnviz::RunJob::start(config, 1.0);
    REQUIRE(first.ok());
    for (int k = 0; k < 20; ++k) first.value().step(0.0);
    attnviz::Expected<attnviz::RunJob> second = attnviz::RunJob::start(must_parse(R"({"text":"a b c"})"));
    REQUIRE(second.ok());
    first.value() = std::move(second.value());  // what the app does when the config changes
    CHECK(second.value().done());              // a moved-from job is empty
    while (!first.value().step(0.0)) {}
    const attnviz::Expected<attnviz::Trace> trace = first.value().take();
    REQUIRE(trace.ok());
    CHECK(trace.value().T == 3);
}

TEST_CASE("all_finite finds a NaN or an infinity at any position of any length", "[kernels]") {
    for (int n = 0; n <= 70; ++n) {
        std::vector<float> x(n, 1.5f);
        INFO("n " << n);
        CHECK(attnviz::kernels::all_finite(x.data(), x.size()));
        for (int p = 0; p < n; ++p)
            for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity()}) {
                INFO("position " << p << " value " << bad);
                x[p] = bad;
                CHECK_FALSE(attnviz::kernels::all_finite(x.data(), x.size()));
                x[p] = 3e38f;  // finite, and the sum of x - x stays 0 however large x is
                CHECK(attnviz::kernels::all_finite(x.data(), x.size()));
                x[p] = 1.5f;
            }
    }
}
