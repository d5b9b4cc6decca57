// train_worker — the core's training session for the page's Web Worker (web/train_worker.js):
// a thin binding, as whisper.cpp's wasm example keeps its own. The worker holds one
// TaskSession, steps it in time slices and sends the page snapshots; strings and buffers cross
// as plain values (the returned pointers stay valid until the next call).
#include <emscripten.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "attnviz/task_session.hpp"
#include "attnviz/train.hpp"

namespace {

using attnviz::TaskSession;

std::optional<TaskSession> g_session;
std::vector<std::pair<int, float>> g_losses;  // (step, training loss) since the last snapshot
double g_ms = 0, g_tokens = 0, g_flops = 0;   // work since the last snapshot, for the throughput
int g_steps = 0;
std::string g_return;                         // the last string returned
std::vector<float> g_attention;               // the last snapshot's (L, H, T, T)
std::string g_file;                           // the last saved model file

const char* give(std::string s) {
    g_return = std::move(s);
    return g_return.c_str();
}

// {"finished", "diverged", "stop_reason", "step"}, into `out`.
void add_status(nlohmann::json& out) {
    out["finished"] = g_session && g_session->finished();
    out["diverged"] = g_session && g_session->diverged();
    out["stop_reason"] = g_session ? g_session->stop_reason() : std::string();
    out["step"] = g_session ? g_session->steps() : 0;
}

}  // namespace

extern "C" {

// Starts a session from its settings' JSON: "" or the message naming the field (the session
// before it, if any, is dropped either way).
EMSCRIPTEN_KEEPALIVE const char* tw_start(const char* settings_json) {
    g_session.reset();
    g_losses.clear();
    g_ms = g_tokens = g_flops = 0;
    g_steps = 0;
    attnviz::Expected<attnviz::SessionSettings> settings = attnviz::read_session_settings(settings_json);
    if (!settings) return give(settings.error());
    attnviz::Expected<TaskSession> session = TaskSession::start(settings.value());
    if (!session) return give(session.error());
    g_session.emplace(std::move(session.value()));
    return give("");
}

// Steps until `budget_ms` have passed, `max_steps` were taken or the session stops (0 = no step
// limit): {"taken", "finished", "diverged", "stop_reason", "step"}.
EMSCRIPTEN_KEEPALIVE const char* tw_run(double budget_ms, int max_steps) {
    nlohmann::json out;
    if (!g_session) {
        out["taken"] = 0;
        add_status(out);
        return give(out.dump());
    }
    const auto begin = std::chrono::steady_clock::now();
    const attnviz::ModelConfig& mc = g_session->model().config;
    const int T = mc.block_size, B = g_session->settings().batch_size;
    int taken = 0;
    while (!g_session->finished() && (max_steps <= 0 || taken < max_steps)) {
        const attnviz::StepStats s = g_session->step();
        ++taken;
        if (g_session->diverged()) break;
        g_losses.emplace_back(s.step, s.loss);
        g_ms += s.ms;
        g_tokens += static_cast<double>(B) * T;
        g_flops += static_cast<double>(B) * T * attnviz::training_flops_per_token(mc, T);
        ++g_steps;
        if (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count() >= budget_ms) break;
    }
    out["taken"] = taken;
    add_status(out);
    return give(out.dump());
}

// The run as it is now: {"snapshot": {…}, "losses": [[step, loss], …] since the last one,
// "throughput": {"steps_per_s", "tokens_per_s", "gflops"} over those steps, and the status};
// every head's attention waits in tw_attention.
EMSCRIPTEN_KEEPALIVE const char* tw_snapshot() {
    if (!g_session) return give("{\"error\":\"no session\"}");
    attnviz::SessionSnapshot snap = g_session->snapshot();
    g_attention = std::move(snap.attention);
    nlohmann::json out;
    out["losses"] = g_losses;  // [[step, loss], …]
    const double seconds = g_ms / 1000;
    out["throughput"] = {{"steps_per_s", seconds > 0 ? g_steps / seconds : 0.0},
                         {"tokens_per_s", seconds > 0 ? g_tokens / seconds : 0.0},
                         {"gflops", seconds > 0 ? g_flops / seconds / 1e9 : 0.0}};
    add_status(out);
    // the snapshot's own JSON (the core's writer: each float in its shortest round-trip form) spliced in
    std::string text = out.dump();
    text.insert(1, "\"snapshot\":" + attnviz::session_snapshot_json(snap) + ",");
    g_losses.clear();
    g_ms = g_tokens = g_flops = 0;
    g_steps = 0;
    return give(std::move(text));
}

EMSCRIPTEN_KEEPALIVE const float* tw_attention() { return g_attention.data(); }
EMSCRIPTEN_KEEPALIVE int tw_attention_size() { return static_cast<int>(g_attention.size()); }

// The model as a safetensors file (its settings and step in the metadata); its size in bytes,
// the bytes at tw_file.
EMSCRIPTEN_KEEPALIVE int tw_save() {
    if (!g_session) return 0;
    attnviz::Model model = g_session->model();
    model.metadata["session"] = attnviz::session_settings_json(g_session->settings());
    model.metadata["trained_steps"] = std::to_string(g_session->diverged() ? g_session->good_step() : g_session->steps());
    g_file = attnviz::save_model(model);
    return static_cast<int>(g_file.size());
}

EMSCRIPTEN_KEEPALIVE const char* tw_file() { return g_file.data(); }

}  // extern "C"
