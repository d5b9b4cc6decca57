// trace_json.cpp — the Trace's JSON form (the contract in README.md) and compute_json().
#include <string>

#include "internal.hpp"

namespace attnviz {
namespace detail {

using json::Writer;

namespace {

// `scaled` with masked cells as null (their value is -inf, or seed_module's fill).
void write_scaled(Writer& out, const xt::xtensor<double, 2>& scaled, const xt::xtensor<bool, 2>& mask) {
    if (scaled.size() == 0) {  // a head not kept (Trace::kept_head)
        out.null();
        return;
    }
    out.begin_array();
    for (std::size_t r = 0; r < scaled.shape(0); ++r) {
        out.begin_array();
        for (std::size_t c = 0; c < scaled.shape(1); ++c) {
            if (mask(r, c))
                out.number(scaled(r, c));
            else
                out.null();
        }
        out.end_array();
    }
    out.end_array();
}

}  // namespace

void write_head(Writer& out, const HeadTrace& h) {
    out.begin_object();
    out.key("Q"); write_matrix(out, h.Q);
    out.key("K"); write_matrix(out, h.K);
    out.key("V"); write_matrix(out, h.V);
    out.key("Q_unrotated"); write_matrix(out, h.Q_unrotated);
    out.key("K_unrotated"); write_matrix(out, h.K_unrotated);
    out.key("K_projected"); write_matrix(out, h.K_projected);
    out.key("V_projected"); write_matrix(out, h.V_projected);
    out.key("scores"); write_matrix(out, h.scores);
    out.key("scaled"); write_scaled(out, h.scaled, h.mask);
    out.key("mask"); write_matrix(out, h.mask);
    out.key("weights"); write_matrix(out, h.weights);
    out.key("out"); write_matrix(out, h.out);
    out.key("empty_rows");
    out.begin_array();
    for (int i : h.empty_rows) out.integer(i);
    out.end_array();
    out.key("scale"); out.number(h.scale);
    out.key("alibi_slope"); out.number(h.alibi_slope);
    out.end_object();
}

}  // namespace detail

namespace {

using json::Writer;
using detail::write_matrix;

void write_stats(Writer& out, const Stats& s) {
    out.begin_object();
    out.key("flops"); out.number(s.flops);
    out.key("bytes"); out.number(s.bytes);
    out.key("allowed_pairs"); out.number(s.allowed_pairs);
    out.key("ms");
    out.begin_object();
    const StageTimes& t = s.ms;
    const std::pair<const char*, double> stages[] = {
        {"tokenize", t.tokenize}, {"embed", t.embed}, {"positional", t.positional}, {"project", t.project},
        {"scores", t.scores}, {"softmax", t.softmax}, {"weighted_sum", t.weighted_sum}, {"output", t.output},
        {"total", t.total}};
    for (const auto& [name, ms] : stages) {
        out.key(name);
        out.number(ms);
    }
    out.end_object();
    out.key("kernel_path"); out.string(s.kernel_path);
    out.end_object();
}

}  // namespace

void detail::write_tokens(Writer& out, const std::vector<std::string>& tokens) {
    out.begin_array();
    for (const std::string& t : tokens) out.string(t);
    out.end_array();
}

namespace {
using detail::write_head;
using detail::write_tokens;
}  // namespace

std::string trace_to_json(const Trace& t, bool pretty) {
    Writer out(pretty);
    out.begin_object();
    out.key("tokens"); write_tokens(out, t.tokens);
    out.key("source_tokens");
    if (t.cross) write_tokens(out, t.source_tokens); else out.null();
    out.key("config"); detail::write_config(out, t.config);
    out.key("T"); out.integer(t.T);
    out.key("S"); out.integer(t.S);
    out.key("N"); out.integer(t.N);
    out.key("head_dim"); out.integer(t.head_dim);
    out.key("temperature"); out.number(t.temperature);
    out.key("X"); write_matrix(out, t.X);
    out.key("positional"); write_matrix(out, t.positional);
    out.key("X_in"); write_matrix(out, t.X_in);
    out.key("source_X"); write_matrix(out, t.source_X);
    out.key("source_positional"); write_matrix(out, t.source_positional);
    out.key("source_X_in"); write_matrix(out, t.source_X_in);
    out.key("random_keys"); write_matrix(out, t.random_keys);
    out.key("heads");
    out.begin_array();
    for (const HeadTrace& h : t.heads) write_head(out, h);
    out.end_array();
    out.key("kept_head"); out.integer(t.kept_head);
    out.key("concat"); write_matrix(out, t.concat);
    out.key("output"); write_matrix(out, t.output);
    out.key("skips_qkv_projection"); out.boolean(t.skips_qkv_projection);
    out.key("scales_by_sqrt_dmodel"); out.boolean(t.scales_by_sqrt_dmodel);
    out.key("stats"); write_stats(out, t.stats);
    out.end_object();
    return out.take();
}

Expected<std::string> compute_json(std::string_view config_json, bool pretty) {
    try {
        Expected<Config> config = parse_config(config_json);
        if (!config) return fail(config.error());
        Expected<Trace> trace = run(config.value());
        if (!trace) return fail(trace.error());
        return trace_to_json(trace.value(), pretty);
    } catch (const std::bad_alloc&) {
        return fail("config: expected a trace whose JSON fits in memory (fewer tokens, heads or d_model)");
    }
}

}  // namespace attnviz
