// AppState → Config → core → Trace, and the state the page's test hook reads.
#include <nlohmann/json.hpp>

#include "app.hpp"

namespace attnviz::app {

std::string build_config_json(const AppState& state) {
    nlohmann::json config = {
        {"text", state.text},
        {"d_model", state.d_model},
        {"heads", state.heads},
    };
    return config.dump();
}

void recompute(AppState& state) {
    if (!state.config_dirty) return;
    state.config_dirty = false;
    auto config = parse_config(build_config_json(state));
    if (!config) {
        state.error = config.error();
        return;
    }
    auto trace = run(config.value());
    ++state.recomputes;
    if (!trace) {
        state.error = trace.error();  // the last good trace stays on screen
        return;
    }
    state.error.clear();
    state.trace = std::make_shared<const Trace>(std::move(trace.value()));
    if (state.selected_head >= static_cast<int>(state.trace->heads.size())) state.selected_head = 0;
}

std::string state_json(const AppState& state) {
    nlohmann::json out = {
        {"text", state.text},
        {"d_model", state.d_model},
        {"heads", state.heads},
        {"selected_head", state.selected_head},
        {"error", state.error},
        {"recomputes", state.recomputes},
    };
    for (const auto& [name, r] : state.layout) out["layout"][name] = {{"x", r.x}, {"y", r.y}, {"w", r.w}, {"h", r.h}};
    if (state.trace) {
        out["tokens"] = state.trace->tokens;
        const auto& weights = state.trace->heads[state.selected_head].weights;
        out["heatmap"] = {{"rows", weights.shape(0)}, {"cols", weights.shape(1)}};
    } else {
        out["tokens"] = nlohmann::json::array();
    }
    return out.dump();
}

}  // namespace attnviz::app
