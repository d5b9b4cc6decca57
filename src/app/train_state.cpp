// train_state — the Train view's run: commands to the training worker and what comes back.
//
// The worker (web/train_worker.js) owns the TaskSession; the page only keeps what it sent: the
// SessionHistory the view draws. Commands and events are small JSON documents; a snapshot's
// attention crosses as floats (page.cpp).
#include <nlohmann/json.hpp>

#include <algorithm>

#include "app.hpp"
#include "attnviz/json.hpp"
#include "page.hpp"

namespace attnviz::app {

void train_start(AppState& state) {
    TrainState& t = state.train;
    if (const std::string e = check_session(t.settings); !e.empty()) {  // refused before anything starts
        t.status = TrainStatus::failed;
        t.message = e;
        return;
    }
    const TaskSpec& before = t.run.task, now = t.settings.task;
    t.reference.clear();
    t.reference_label.clear();
    if (!t.history.curve().empty() && before.kind == now.kind && before.symbols == now.symbols && before.length == now.length) {
        // the run before on the same task, kept on the curves for comparison
        t.reference = t.history.curve();
        t.reference_label = "before: " + std::to_string(t.run.n_layer) + (t.run.n_layer == 1 ? " layer, " : " layers, ") +
                            task_name(t.run.task.kind) + (t.run.mlp ? ", MLP" : "");
    }
    t.run = t.settings;
    // the kept snapshots' attention within 64 MiB of the page's memory: 48 of them for the small
    // models, fewer (at least 2) for a long context's L·H·T² weights
    const double T = task_context(t.run.task);
    const double snapshot_bytes = 4.0 * t.run.n_layer * t.run.n_head * T * T;
    t.history = SessionHistory(static_cast<std::size_t>(std::clamp(64.0 * (1 << 20) / snapshot_bytes, 2.0, 48.0)));
    t.scrub = -1;
    t.steps_per_s = t.tokens_per_s = t.gflops = 0;
    t.message.clear();
    t.status = TrainStatus::starting;
    ++t.version;
    ++t.run_id;
    const nlohmann::json command = {{"cmd", "start"}, {"settings", session_settings_json(t.run)}, {"stop_at", t.stop_at},
                                    {"run", t.run_id},  {"seq", ++t.command}};
    page_train_post(command.dump());
}

void train_command(AppState& state, const char* cmd) {
    TrainState& t = state.train;
    const std::string c = cmd;
    if (c == "reset") {
        if (t.status != TrainStatus::idle && t.status != TrainStatus::died) page_train_post(R"({"cmd":"stop"})");
        t.status = TrainStatus::idle;
        t.history.clear();
        t.reference.clear();
        t.reference_label.clear();
        t.message.clear();
        t.stop_at = -1;
        t.scrub = -1;
        ++t.version;
        return;
    }
    if (c == "resume") t.stop_at = -1;
    if (c == "open" || c == "export") {
        page_train_post(nlohmann::json{{"cmd", "save"}, {"purpose", c}}.dump());
        return;
    }
    if (c == "pause" && t.status == TrainStatus::running) t.status = TrainStatus::paused;
    if (c == "resume" && t.status == TrainStatus::paused) t.status = TrainStatus::running;
    if (c == "step") t.status = TrainStatus::paused;
    page_train_post(nlohmann::json{{"cmd", c}, {"seq", ++t.command}}.dump());
}

void train_message(AppState& state, const std::string& json) {
    TrainState& t = state.train;
    Expected<nlohmann::json> parsed = parse_json_strict(json);
    if (!parsed || !parsed.value().is_object()) return;
    const nlohmann::json& m = parsed.value();
    const std::string type = m.value("type", "");
    const std::string message = m.contains("message") && m["message"].is_string() ? m["message"].get<std::string>() : "";
    if (m.value("run", t.run_id) != t.run_id) return;  // about an earlier run
    if (type == "started" && t.status == TrainStatus::starting) {
        t.status = TrainStatus::running;
    } else if (type == "error") {
        t.status = TrainStatus::failed;
        t.message = message;
    } else if (type == "died") {
        if (t.status == TrainStatus::idle) return;  // no run was using it
        t.status = TrainStatus::died;
        t.message = message + ". Restart trains again in a new worker.";
    }
}

void train_snapshot(AppState& state, const std::string& json, std::vector<float> attention) {
    TrainState& t = state.train;
    if (t.status == TrainStatus::idle || t.status == TrainStatus::failed || t.status == TrainStatus::died) return;  // a dropped run's
    Expected<nlohmann::json> parsed = parse_json_strict(json);
    if (!parsed || !parsed.value().is_object() || !parsed.value().contains("snapshot")) return;
    const nlohmann::json& m = parsed.value();
    if (m.value("run", -1) != t.run_id) return;  // sent before the worker had the latest Start
    Expected<SessionSnapshot> snap = read_session_snapshot(m["snapshot"].dump(), std::move(attention));
    if (!snap) {
        page_train_post(R"({"cmd":"stop"})");
        t.status = TrainStatus::failed;
        t.message = "the worker sent a snapshot the page could not read (" + snap.error() + ")";
        return;
    }
    std::vector<std::pair<int, float>> losses;
    if (m.contains("losses") && m["losses"].is_array())
        for (const auto& point : m["losses"])
            if (point.is_array() && point.size() == 2 && point[0].is_number_integer() && point[1].is_number())
                losses.emplace_back(point[0].get<int>(), point[1].get<float>());
    t.history.add_losses(losses);
    if (m.contains("throughput") && m["throughput"].is_object() && !losses.empty()) {
        const nlohmann::json& r = m["throughput"];
        t.steps_per_s = r.value("steps_per_s", 0.0);
        t.tokens_per_s = r.value("tokens_per_s", 0.0);
        t.gflops = r.value("gflops", 0.0);
    }
    t.history.add(std::move(snap.value()));
    ++t.snapshots;
    ++t.version;
    const bool running = m.value("running", false);
    if (m.value("diverged", false)) {
        t.status = TrainStatus::diverged;
        t.message = m.value("stop_reason", "");
    } else if (m.value("finished", false)) {
        t.status = TrainStatus::finished;
        t.message.clear();
    } else if (m.value("seq", -1) == t.command &&
               (t.status == TrainStatus::starting || t.status == TrainStatus::running || t.status == TrainStatus::paused)) {
        // the worker has handled the last command (a Pause, Resume or Step): its word stands
        t.status = running ? TrainStatus::running : TrainStatus::paused;
    }
}

void train_file(AppState& state, const std::string& bytes, const std::string& purpose) {
    TrainState& t = state.train;
    if (bytes.empty()) {  // a worker made after the run's died has no model to give
        page_notify("No trained model to " + purpose + ": the run is gone; start it again");
        return;
    }
    const int step = t.history.kept().empty() ? 0 : t.history.kept().back().step;
    const std::string name = std::string("attnviz_") + task_name(t.run.task.kind) + "_" + std::to_string(t.run.n_layer) + "L_step" +
                             std::to_string(step);
    if (purpose == "export") {
        page_download(name + ".safetensors", "application/octet-stream", bytes);
        page_notify("Weights exported as " + name + ".safetensors (open it with the model picker to load it back)");
        return;
    }
    const std::string error = model_loaded(state, bytes, name, false);
    if (!error.empty()) {
        page_notify("The trained model could not open: " + error);
        return;
    }
    t.opened_model = name;
    // the probe's symbols as the text: the page's sentence is rarely spelled in a task's vocabulary
    if (!t.history.kept().empty()) {
        const Vocabulary vocab = task_vocabulary(t.run.task);
        std::string text;
        for (int id : t.history.kept().back().probe) text += vocab.tokens[static_cast<std::size_t>(id)];
        state.text = text;
        state.reset_widgets = true;
    }
    set_source(state, Source::model);
    state.view = View::atlas;
    state.view_forced = true;
    page_notify("Opened " + name + " in every view");
}

}  // namespace attnviz::app
