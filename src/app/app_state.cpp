// AppState → Config → core → Trace, and the JSON the page's hooks read and write.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <new>

#include "app.hpp"
#include "app_state.hpp"
#include "attnviz/json.hpp"

namespace attnviz::app {

namespace {

const char* const kViewNames[] = {"pipeline", "matrices", "heads", "lines", "compare", "predictions", "atlas", "residual", "train", "images"};
static_assert(sizeof kViewNames / sizeof kViewNames[0] == static_cast<int>(View::count), "one name per view");
const char* const kPanelNames[] = {"input", "controls", "view", "cell", "lesson"};
static_assert(sizeof kPanelNames / sizeof kPanelNames[0] == static_cast<int>(Panel::count), "one name per panel");

// The config the engine runs: the edited config with the sentence boxes filled in.
Config effective_config(const AppState& state) {
    Config config = state.config;
    if (!config.tokens) config.text = state.text;
    if (state.cross) {
        if (!config.source_tokens) config.source_text = state.source_text;
    } else {
        config.source_text.reset();
        config.source_tokens.reset();
        config.source_embeddings.reset();
    }
    return config;
}

// Milliseconds of computing per frame: half a 60 Hz frame, leaving the rest to drawing. Teaching
// sizes take a fraction of it, so their trace still arrives in the frame of the edit.
constexpr double kFrameBudgetMs = 8.0;

// The selections index the trace on screen: fit them to it every frame, since a pass in flight
// keeps an earlier trace on screen that may have fewer heads or tokens than the new config. The
// selected head is fitted only once no pass is in flight (the views draw shown_head() meanwhile),
// so a head the new config has, chosen by a link or a lesson, survives the wait.
void fit_selection(AppState& state) {
    if (!state.trace) return;
    const int heads = static_cast<int>(state.trace->heads.size());
    if (!state.job) state.selected_head = std::clamp(state.selected_head, 0, heads - 1);
    state.heads_shown.resize(heads, true);
    if (state.pinned && (state.pinned->query >= state.trace->T || state.pinned->key >= state.trace->N)) state.pinned.reset();
}

// The main pass ended: swap in its trace, or keep the last good one and show the message.
void finish_job(AppState& state) {
    Expected<Trace> result = state.job->take();
    state.job.reset();
    state.compare.dirty = true;
    if (!result) {
        state.error = result.error();
        return;
    }
    state.error.clear();
    state.trace = std::make_shared<const Trace>(std::move(result.value()));
    ++state.trace_version;
}

// Tokens given as a list, shown in a sentence box: separated by single spaces.
std::string join_tokens(const std::vector<std::string>& tokens) {
    std::string joined;
    for (const auto& t : tokens) joined += (joined.empty() ? "" : " ") + t;
    return joined;
}

// A key from a link, as a message may show it: one line, at most 40 bytes, control bytes escaped.
std::string printable_key(const std::string& key) {
    std::size_t cut = std::min<std::size_t>(key.size(), 40);
    while (cut < key.size() && cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;  // whole characters only
    std::string out;
    for (unsigned char c : key.substr(0, cut)) {
        if (c < 0x20 || c == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            out += esc;
        } else {
            out += static_cast<char>(c);
        }
    }
    return cut < key.size() ? out + "…" : out;
}

}  // namespace

const char* train_status_name(TrainStatus status) {
    switch (status) {
        case TrainStatus::idle: return "idle";
        case TrainStatus::starting: return "starting";
        case TrainStatus::running: return "running";
        case TrainStatus::paused: return "paused";
        case TrainStatus::finished: return "finished";
        case TrainStatus::diverged: return "diverged";
        case TrainStatus::failed: return "failed";
        case TrainStatus::died: return "died";
    }
    return "idle";
}

const char* view_name(View v) { return kViewNames[static_cast<int>(v)]; }

std::optional<View> view_from_name(const std::string& name) {
    for (int i = 0; i < static_cast<int>(View::count); ++i)
        if (name == kViewNames[i]) return static_cast<View>(i);
    return std::nullopt;
}

void apply_config(AppState& state, const Config& config) {
    state.config = config;
    if (config.text) state.text = *config.text;
    else if (config.tokens) {
        state.text = join_tokens(*config.tokens);
    }
    state.cross = config.source_text.has_value() || config.source_tokens.has_value();
    if (config.source_text) state.source_text = *config.source_text;
    else if (config.source_tokens) {
        state.source_text = join_tokens(*config.source_tokens);
    }
    set_source(state, Source::lab);  // a config is the lab's (lessons, imports, links; a link may then ask for the model)
    state.dirty = true;
    state.compare.dirty = true;
    state.reset_widgets = true;
}

namespace {

// The layer's attention, as the per-head views read it: a Trace that shares the model trace's
// ownership, so it lives as long as any view holds it.
void show_layer(AppState& state) {
    const auto& mt = state.model.trace;
    if (!mt || mt->layers.empty()) return;
    state.model.layer = std::clamp(state.model.layer, 0, static_cast<int>(mt->layers.size()) - 1);
    const Trace* layer = &mt->layers[state.model.layer].attention;
    if (state.trace.get() == layer) return;
    state.trace = std::shared_ptr<const Trace>(mt, layer);
    ++state.trace_version;
    state.compare.dirty = true;
}

// The model's pass over the text: synchronous (a few ms for a sentence, about 90 ms at the
// model's 512 characters in wasm); on an error the last good trace stays, with the message.
void recompute_model(AppState& state) {
    ModelState& m = state.model;
    if ((state.dirty || m.ablation_changed) && m.model) {
        state.dirty = false;
        m.ablation_changed = false;
        ++state.recomputes;
        ModelTraceOptions options;
        options.text = state.text;
        if (m.model->config.is_image()) {  // an image model reads the image the Images view opened, not the text
            options.image = m.image;
            options.label = m.image_label;
            options.top_k = std::min(options.top_k, m.model->config.vocab_size);
        }
        // a link's ablation may name layers or heads a model from a file does not have: only those it has apply
        options.ablation = m.ablation;
        const ModelConfig& mc = m.model->config;
        const auto missing_head = [&mc](const std::pair<int, int>& lh) { return lh.first >= mc.n_layer || lh.second >= mc.n_head; };
        const auto missing_layer = [&mc](int l) { return l >= mc.n_layer; };
        const auto drop = [](auto& list, auto missing) { list.erase(std::remove_if(list.begin(), list.end(), missing), list.end()); };
        drop(options.ablation.heads, missing_head);
        drop(options.ablation.attention, missing_layer);
        drop(options.ablation.mlp, missing_layer);
        if (!mc.mlp) options.ablation.mlp.clear();  // an attention-only model has no MLP to switch off
        const auto begin = std::chrono::steady_clock::now();
        Expected<ModelTrace> t = model_trace(*m.model, options, m.packed.get());
        m.trace_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
        if (t) {
            m.error.clear();
            m.intact_trace.reset();
            m.trace = std::make_shared<const ModelTrace>(std::move(t.value()));
            m.selected_position = std::min(m.selected_position, m.trace->T - 1);
            state.trace.reset();  // show_layer points it at the new trace
        } else {
            m.error = t.error();
        }
    }
    // Continue: one character a frame, from the trace just made (so each appears with its attention)
    if (m.model && m.model->config.is_image()) m.generate_left = 0;  // an image model has no text to continue
    if (m.generate_left > 0 && !state.dirty) {
        const Expected<int> id = m.trace && m.error.empty() ? next_token(*m.model, *m.trace, m.temperature, m.seed, m.step)
                                                             : Expected<int>(fail(m.error.empty() ? "no trace" : m.error));
        if (!id || m.trace->T >= m.model->config.block_size) {
            m.generate_left = 0;  // an error, or the model's context is full
        } else {
            const std::string& token = m.model->vocab.tokens[id.value()];
            state.text += token;
            m.generated += token;
            ++m.step;
            --m.generate_left;
            state.dirty = true;  // the next frame traces the longer text
            state.reset_widgets = true;
        }
    }
    // Compare with something switched off shows the intact model's layers: one more pass, made
    // only while Compare is open (model_trace keeps only the intact model's predictions)
    if (state.view == View::compare && !state.dirty && m.trace && !m.trace->ablation.empty() && !m.intact_trace) {
        ModelTraceOptions intact;
        intact.text = state.text;
        if (m.model->config.is_image()) {
            intact.image = m.image;
            intact.label = m.image_label;
            intact.top_k = std::min(intact.top_k, m.model->config.vocab_size);
        }
        if (Expected<ModelTrace> t = model_trace(*m.model, intact, m.packed.get())) {
            m.intact_trace = std::make_shared<const ModelTrace>(std::move(t.value()));
            ++state.trace_version;  // the compare view's caches key on it
        }
    }
    state.error = m.error;
    show_layer(state);
    fit_selection(state);
    recompute_compare(state);
}

}  // namespace

void set_source(AppState& state, Source source) {
    if (state.source == source) return;
    state.source = source;
    state.job.reset();
    state.error.clear();
    state.pinned.reset();
    state.dirty = true;
    state.compare.dirty = true;
    if (source == Source::lab) state.trace.reset();  // the lab's pass replaces the model's layer at once (a sentence takes a frame)
    else if (state.model.trace) {
        state.trace.reset();
        show_layer(state);
    }
}

void toggle_ablation(AppState& state, int layer, int head, const char* what) {
    Ablation& a = state.model.ablation;
    const auto flip = [](auto& list, const auto& item) {
        const auto at = std::find(list.begin(), list.end(), item);
        if (at == list.end()) list.push_back(item);
        else list.erase(at);
        std::sort(list.begin(), list.end());
    };
    const std::string kind = what;
    if (kind == "head") flip(a.heads, std::pair{layer, head});
    else if (kind == "attention") flip(a.attention, layer);
    else flip(a.mlp, layer);
    state.model.ablation_changed = true;
}

void start_generating(AppState& state) {
    ModelState& m = state.model;
    m.generate_left = std::clamp(m.generate_count, 1, 512);
    m.generated.clear();
    m.step = 0;  // a Continue with the same seed draws the same characters
}

void stop_generating(AppState& state) { state.model.generate_left = 0; }

void clear_ablation(AppState& state) {
    if (state.model.ablation.empty()) return;
    state.model.ablation = Ablation{};
    state.model.ablation_changed = true;
}

std::string model_loaded(AppState& state, std::string_view bytes, const std::string& name, bool shipped, std::string_view vocab_json) {
    ModelState& m = state.model;
    if (shipped) m.loading = false;
    Expected<Model> loaded = load_model(bytes, vocab_json);
    if (!loaded) {
        m.fetch_failed |= shipped;
        m.load_error = name + ": " + loaded.error();
        return m.load_error;
    }
    if (loaded.value().config.is_image() && !shipped) {  // a Vision Transformer of one's own: the Images view shows it
        ImageModel& im = state.images.models[name];
        im = ImageModel{};
        im.model = std::make_shared<const Model>(std::move(loaded.value()));
        state.images.dataset.clear();  // image_switch starts afresh even if a file of this name was open before
        image_switch(state, name);
        state.view = View::images;
        state.view_forced = true;
        return "";
    }
    m.load_error.clear();
    m.model = std::make_shared<const Model>(std::move(loaded.value()));
    try {
        m.packed = pack_weights(*m.model);
    } catch (const std::bad_alloc&) {
        m.packed.reset();  // no room for the copy: each trace packs what it needs
    }
    m.name = name;
    m.shipped = shipped;
    m.trace.reset();
    if (state.source == Source::model) state.trace.reset();
    state.dirty = true;
    return "";
}

void recompute(AppState& state) {
    if (state.source == Source::model) {
        recompute_model(state);
        return;
    }
    // A long sequence keeps one head's (T, N) matrices: selecting another head runs the pass
    // again for it (the head on screen stays until it is done).
    const bool head_changed = !state.dirty && state.keep_head >= 0 && !state.cancelled && state.error.empty() &&
                              (state.job || state.trace) && state.config.heads >= 1 &&
                              std::clamp(state.selected_head, 0, state.config.heads - 1) != state.keep_head;
    if (state.dirty || head_changed) {  // a new config (or head to keep): cancel the pass in flight, start its own
        state.dirty = false;
        state.cancelled = false;
        state.job.reset();
        ++state.recomputes;
        const Config config = effective_config(state);
        state.keep_head = RunJob::keep_head_for(config, state.selected_head);
        Expected<RunJob> started = RunJob::start(config, RunJob::default_work_per_step, state.keep_head);
        if (started) {
            state.error.clear();  // valid; an overflow, if any, is known at the end
            state.job = std::make_shared<RunJob>(std::move(started.value()));
            state.job_frames = 0;
        } else {
            state.error = started.error();
            state.compare.dirty = true;
        }
    }
    if (state.job) {
        ++state.job_frames;
        if (state.job->step(kFrameBudgetMs)) finish_job(state);
    }
    fit_selection(state);
    recompute_compare(state);
}

int shown_head(const AppState& state) {
    if (!state.trace || state.trace->heads.empty()) return 0;
    const int h = std::clamp(state.selected_head, 0, static_cast<int>(state.trace->heads.size()) - 1);
    return state.trace->keeps(h) ? h : state.trace->kept_head;
}

void cancel_recompute(AppState& state) {
    if (!state.job) return;
    state.job.reset();
    state.cancelled = true;
}

// The compare view's right-hand pass: a job like the main one, stepped within the frame's budget
// once the main pass is done (it borrows the main text), only while the compare view is open.
void recompute_compare(AppState& state) {
    CompareState& cmp = state.compare;
    if (state.job) return;
    if (cmp.dirty && state.view == View::compare) {  // a new right-hand config (or a new main one): start over
        cmp.dirty = false;
        cmp.job.reset();
        Config right = cmp.config;
        const Config left = effective_config(state);
        right.text = left.text;  // the same sentence on both sides
        right.tokens = left.tokens;
        right.source_text = left.source_text;
        right.source_tokens = left.source_tokens;
        right.embeddings = left.embeddings;
        right.source_embeddings = left.source_embeddings;
        Expected<RunJob> started = RunJob::start(right, RunJob::default_work_per_step, RunJob::keep_head_for(right, state.selected_head));
        if (!started) {
            cmp.error = started.error();
            ++state.trace_version;
            return;
        }
        cmp.job = std::make_shared<RunJob>(std::move(started.value()));
    }
    if (!cmp.job || !cmp.job->step(kFrameBudgetMs)) return;  // a small pass ends within the frame it starts in
    Expected<Trace> result = cmp.job->take();
    cmp.job.reset();
    if (result) {
        cmp.error.clear();
        cmp.trace = std::make_shared<const Trace>(std::move(result.value()));
    } else {
        cmp.error = result.error();
    }
    ++state.trace_version;
}

std::string field_error(const AppState& state, const char* field) {
    const std::string prefix = std::string(field);
    const std::string& e = state.error;
    if (e.size() > prefix.size() && e.compare(0, prefix.size(), prefix) == 0 &&
        (e[prefix.size()] == ':' || e[prefix.size()] == '.' || e[prefix.size()] == '['))
        return e;
    return "";
}

std::string state_json(const AppState& state) {
    nlohmann::json out = ui_state_json(state);
    out["text"] = state.text;
    out["error"] = state.error;
    out["recomputes"] = state.recomputes;
    out["computing"] = state.job != nullptr;
    out["progress"] = state.job ? state.job->progress() : 1.0;
    out["stage"] = state.job ? state.job->stage() : "";
    out["cancelled"] = state.cancelled;
    out["kept_head"] = state.trace ? state.trace->kept_head : -1;
#ifdef __EMSCRIPTEN__
    out["memory_bytes"] = static_cast<double>(__builtin_wasm_memory_size(0)) * 65536;  // the wasm heap: it grows, never shrinks
#else
    out["memory_bytes"] = 0;
#endif
    out["tokens"] = state.trace ? nlohmann::json(state.trace->tokens) : nlohmann::json::array();
    out["source_tokens"] = state.trace ? nlohmann::json(state.trace->source_tokens) : nlohmann::json::array();
    out["compare_error"] = state.compare.error;
    out["compare_computing"] = state.compare.job != nullptr;
    out["hovered_token"] = state.hovered_token;
    out["hovered_side"] = state.hovered_token < 0 ? "" : state.hovered_key_side ? "key" : "query";
    out["readout"] = state.readout;
    const ModelState& m = state.model;
    nlohmann::json model = {{"loaded", m.model != nullptr}, {"name", m.name}, {"shipped", m.shipped}, {"loading", m.loading},
                            {"received", m.received}, {"total", m.total}, {"load_error", m.load_error}, {"error", m.error},
                            {"trace_ms", m.trace_ms}, {"T", m.trace ? m.trace->T : 0}, {"generating", m.generate_left > 0},
                            {"generated", m.generated}};
    if (m.model) {
        const ModelConfig& c = m.model->config;
        model["config"] = {{"n_layer", c.n_layer}, {"n_head", c.n_head}, {"n_embd", c.n_embd}, {"block_size", c.block_size},
                           {"vocab_size", c.vocab_size}, {"positions", positions_name(c.positions)}};
    }
    if (m.trace) {  // the core's predictions, as numbers (the view's readout has them as printed)
        const Predictions& p = m.trace->predictions;
        nlohmann::json top = nlohmann::json::array();
        for (std::size_t t = 0; t < p.top_ids.size(); ++t) {
            nlohmann::json row = nlohmann::json::array();
            for (std::size_t k = 0; k < p.top_ids[t].size(); ++k)
                row.push_back({{"token", m.model->vocab.tokens[p.top_ids[t][k]]}, {"p", p.top_probs[t][k]}});
            top.push_back(row);
        }
        model["tokens"] = m.trace->tokens.text;
        model["top"] = top;
        model["losses"] = p.losses;
        model["mean_loss"] = p.mean_loss;
        if (m.trace->intact) {
            model["intact_losses"] = m.trace->intact->losses;
            model["intact_mean_loss"] = m.trace->intact->mean_loss;
        }
    }
    out["model"] = model;
    const TrainState& t = state.train;
    nlohmann::json train = {{"status", train_status_name(t.status)}, {"message", t.message}, {"snapshots", t.snapshots},
                            {"settings", nlohmann::json::parse(session_settings_json(t.settings))},
                            {"steps_per_s", t.steps_per_s}, {"tokens_per_s", t.tokens_per_s}, {"gflops", t.gflops},
                            {"kept", t.history.kept().size()}, {"scrub", t.scrub}, {"opened_model", t.opened_model},
                            {"reference", t.reference_label}};
    if (!t.history.kept().empty()) {
        const SessionSnapshot& last = t.history.kept().back();
        train["step"] = last.step;
        train["train_loss"] = last.train_loss;
        train["validation"] = {{"loss", last.validation.loss}, {"accuracy", last.validation.accuracy}};
        train["first_validation_loss"] = t.history.curve().front().validation.loss;
        double induction = 0, previous = 0;
        for (const HeadRoles& r : last.roles) {
            induction = std::max(induction, r.induction);
            previous = std::max(previous, r.previous_token);
        }
        train["induction_score"] = induction;
        train["previous_token_score"] = previous;
    }
    out["training"] = train;
    const ImageState& im = state.images;
    const ImageModel* image = image_model(state);
    nlohmann::json images = {{"dataset", im.dataset}, {"loaded", image && image->model}, {"loading", image && image->loading},
                             {"load_error", image ? image->error : std::string()}, {"error", im.error}, {"notice", im.notice},
                             {"pixels", im.pixels}, {"label", im.label}, {"gallery", im.gallery},
                             {"gallery_size", image ? image->gallery.size() : 0}, {"undo", im.undo.size()}, {"layer", im.layer},
                             {"head", im.head}, {"hovered_patch", im.hovered_patch}, {"version", im.version}, {"heads_off", im.heads_off},
                             {"overlay", im.overlay == ImageOverlay::rollout ? "rollout" : im.overlay == ImageOverlay::none ? "none" : "class_token"}};
    if (image && image->model) {
        const ModelConfig& c = image->model->config;
        images["config"] = {{"image_size", c.image_size}, {"patch_size", c.patch_size}, {"n_layer", c.n_layer}, {"n_head", c.n_head},
                            {"classes", image->model->vocab.tokens}};
    }
    if (im.trace) {
        const std::vector<float>& probs = im.trace->predictions.class_probs;
        images["class_probs"] = probs;
        images["predicted"] = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
    }
    out["images"] = images;
    out["narrow"] = state.narrow;
    out["panel"] = kPanelNames[static_cast<int>(state.panel)];
    out["keyboard_inset"] = state.keyboard_inset;
    out["touch"] = state.touch;
    out["gesture"] = state.gesture;
    out["overflow"] = state.overflow;
    for (const auto& [name, r] : state.layout) out["layout"][name] = {{"x", r.x}, {"y", r.y}, {"w", r.w}, {"h", r.h}};
    return out.dump();
}

nlohmann::json ui_state_json(const AppState& state) {
    nlohmann::json ui = {
        {"view", view_name(state.view)},
        {"selected_head", state.selected_head},
        {"matrix", state.matrix},
        {"presentation", state.presentation},
        {"lesson", state.lesson.lesson},
        {"lesson_step", state.lesson.step},
        {"heads_shown", state.heads_shown},
        {"source", state.source == Source::model ? "model" : "lab"},
        {"layer", state.model.layer},
        {"image_dataset", state.images.dataset},
        {"model", state.model.model ? state.model.name : std::string(kShippedModel)},
        {"ablation", {{"heads", state.model.ablation.heads}, {"attention", state.model.ablation.attention},
                      {"mlp", state.model.ablation.mlp}}},
    };
    ui["pinned"] = state.pinned ? nlohmann::json{state.pinned->query, state.pinned->key} : nlohmann::json(nullptr);
    nlohmann::json config = nlohmann::json::parse(config_to_json(effective_config(state)));
    nlohmann::json compare = nlohmann::json::parse(config_to_json(state.compare.config));
    for (const char* key : {"text", "tokens", "source_text", "source_tokens", "embeddings", "source_embeddings"}) compare.erase(key);
    return {{"config", config}, {"ui", ui}, {"compare", compare}};
}

nlohmann::json run_link_state(const AppState& state) {
    nlohmann::json doc = ui_state_json(state);
    // the run's settings, and the step it stood at when paused or diverged (absent: to the end)
    const TrainState& t = state.train;
    if (t.status != TrainStatus::idle && t.status != TrainStatus::failed) {
        doc["train"] = {{"settings", nlohmann::json::parse(session_settings_json(t.run))}};
        const bool stopped = t.status == TrainStatus::paused || t.status == TrainStatus::diverged;
        if (stopped && !t.history.kept().empty()) doc["train"]["steps"] = t.history.kept().back().step;
    }
    return doc;
}

std::string apply_ui_state(AppState& state, const std::string& json_text) {
    auto parsed_doc = parse_json_strict(json_text);  // the core's rules: depth, duplicates, size
    if (!parsed_doc) return "state: " + parsed_doc.error();
    const nlohmann::json& doc = parsed_doc.value();
    if (!doc.is_object()) return "state: expected a JSON object";
    if (!doc.contains("config")) return "state.config: missing; expected the Config JSON";
    // getState() also reports read-only facts (tokens, error, layout…); setState() accepts them back and ignores them.
    static const char* const read_only[] = {"text", "error", "recomputes", "computing", "progress", "stage", "cancelled", "kept_head", "memory_bytes", "tokens", "source_tokens", "compare_error", "compare_computing", "layout", "readout", "hovered_token", "hovered_side", "narrow", "panel", "keyboard_inset", "touch", "gesture", "overflow", "model", "training", "images"};
    for (const auto& item : doc.items()) {
        const std::string& key = item.key();
        if (key == "config" || key == "ui" || key == "compare" || key == "train") continue;
        if (std::find_if(std::begin(read_only), std::end(read_only), [&](const char* k) { return key == k; }) == std::end(read_only))
            return "state." + printable_key(key) + ": unknown key";
    }

    auto config = parse_config(doc.at("config").dump());
    if (!config) return "state.config." + config.error();
    std::optional<Config> compare;
    if (doc.contains("compare")) {
        nlohmann::json c = doc.at("compare");
        if (!c.is_object()) return "state.compare: expected a Config JSON object";
        c["tokens"] = nlohmann::json::array({"x"});  // the compare side borrows the main text
        auto parsed = parse_config(c.dump());
        if (!parsed) return "state.compare." + parsed.error();
        compare = parsed.value();
        compare->tokens.reset();
    }

    std::optional<SessionSettings> train;
    int train_steps = -1;  // -1: the link trains to the end
    if (doc.contains("train")) {
        const nlohmann::json& tr = doc.at("train");
        if (!tr.is_object() || !tr.contains("settings")) return "state.train: expected {\"settings\": {…}, \"steps\": n}";
        for (const auto& [key, value] : tr.items())
            if (key != "settings" && key != "steps") return "state.train." + printable_key(key) + ": unknown key";
        Expected<SessionSettings> s = read_session_settings(tr.at("settings").dump());
        if (!s) return "state.train.settings." + s.error();
        train = s.value();
        if (tr.contains("steps")) {
            const nlohmann::json& n = tr.at("steps");
            if (!n.is_number_integer() || n.get<long long>() < 0 || n.get<long long>() > train->max_steps)
                return "state.train.steps: expected an integer from 0 to the run's max_steps (" + std::to_string(train->max_steps) + ")";
            train_steps = n.get<int>();
        }
    }

    AppState next = state;
    apply_config(next, config.value());
    Source source = Source::lab;  // links from before the trained model open the lab
    std::string model_name = kShippedModel;
    std::string image_dataset = state.images.dataset;
    if (compare) next.compare.config = *compare;
    if (doc.contains("ui")) {
        const nlohmann::json& ui = doc.at("ui");
        if (!ui.is_object()) return "state.ui: expected an object";
        for (const auto& [key, value] : ui.items()) {
            if (key == "view") {
                auto v = value.is_string() ? view_from_name(value.get<std::string>()) : std::nullopt;
                if (!v) return "state.ui.view: expected one of pipeline, matrices, heads, lines, compare, predictions, atlas, residual, train, images";
                next.view = *v;
            } else if (key == "selected_head") {
                if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() > limits::max_heads)
                    return "state.ui.selected_head: expected an integer 0..63";
                next.selected_head = value.get<int>();
            } else if (key == "matrix") {
                if (!value.is_string() || value.get<std::string>().size() > 32) return "state.ui.matrix: expected a matrix name";
                next.matrix = value.get<std::string>();
            } else if (key == "presentation") {
                if (!value.is_boolean()) return "state.ui.presentation: expected true or false";
                next.presentation = value.get<bool>();
            } else if (key == "lesson" || key == "lesson_step") {
                if (!value.is_number_integer() || value.get<long long>() < -1 || value.get<long long>() > 1000)
                    return "state.ui." + key + ": expected an integer -1..1000";
                (key == "lesson" ? next.lesson.lesson : next.lesson.step) = value.get<int>();
            } else if (key == "heads_shown") {
                if (!value.is_array() || value.size() > limits::max_heads) return "state.ui.heads_shown: expected an array of booleans";
                next.heads_shown.clear();
                for (const auto& b : value) {
                    if (!b.is_boolean()) return "state.ui.heads_shown: expected an array of booleans";
                    next.heads_shown.push_back(b.get<bool>());
                }
            } else if (key == "source") {
                if (!value.is_string() || (value != "model" && value != "lab")) return "state.ui.source: expected \"model\" or \"lab\"";
                source = value == "model" ? Source::model : Source::lab;
            } else if (key == "layer") {
                if (!value.is_number_integer() || value.get<long long>() < 0 || value.get<long long>() >= model_limits::max_layers)
                    return "state.ui.layer: expected an integer 0.." + std::to_string(model_limits::max_layers - 1);
                next.model.layer = value.get<int>();
            } else if (key == "ablation") {
                const std::string e = "state.ui.ablation: expected {\"heads\": [[layer, head], …], \"attention\": [layer, …], \"mlp\": [layer, …]}";
                if (!value.is_object()) return e;
                Ablation a;
                const auto index = [](const nlohmann::json& v) {
                    return v.is_number_integer() && v.get<long long>() >= 0 && v.get<long long>() < model_limits::max_layers * 64;
                };
                for (const auto& [part, list] : value.items()) {
                    if (!list.is_array() || list.size() > 4096) return e;
                    for (const auto& item : list) {
                        if (part == "heads") {
                            if (!item.is_array() || item.size() != 2 || !index(item[0]) || !index(item[1])) return e;
                            a.heads.emplace_back(item[0].get<int>(), item[1].get<int>());
                        } else if (part == "attention" || part == "mlp") {
                            if (!index(item)) return e;
                            (part == "attention" ? a.attention : a.mlp).push_back(item.get<int>());
                        } else {
                            return "state.ui.ablation." + printable_key(part) + ": unknown key";
                        }
                    }
                }
                next.model.ablation = a;
                next.model.ablation_changed = true;
            } else if (key == "image_dataset") {
                if (!value.is_string() || (value != "digits" && value != "fashion")) return "state.ui.image_dataset: expected \"digits\" or \"fashion\"";
                image_dataset = value.get<std::string>();
            } else if (key == "model") {
                if (!value.is_string() || value.get<std::string>().size() > 200) return "state.ui.model: expected a model's name";
                model_name = value.get<std::string>();
            } else if (key == "pinned") {
                if (value.is_null()) next.pinned.reset();
                else if (value.is_array() && value.size() == 2 && value[0].is_number_integer() && value[1].is_number_integer() &&
                         value[0].get<long long>() >= 0 && value[1].get<long long>() >= 0 &&
                         value[0].get<long long>() < limits::max_tokens && value[1].get<long long>() < limits::max_tokens)
                    next.pinned = Cell{value[0].get<int>(), value[1].get<int>()};
                else return "state.ui.pinned: expected null or [query, key]";
            } else {
                return "state.ui." + printable_key(key) + ": unknown key";
            }
        }
    }
    set_source(next, source);
    // a user's own model file is named in a link, never embedded: unless it is the one loaded,
    // the shipped model stands in, and the notice says so
    if (source == Source::model && model_name != kShippedModel && !(next.model.model && next.model.name == model_name))
        next.model.load_error = "This link was made with the model file \"" + printable_key(model_name) +
                                "\", which a link cannot carry: open that file to see it. Showing the shipped model.";
    if (next.lesson.lesson >= 0 && state.lesson.lesson < 0) next.panel = Panel::lesson;  // a link that opens a lesson shows it first on a phone
    if (train) {  // a run link: the Train view trains it again, to the step the link was made at
        next.train.settings = *train;
        next.train.stop_at = train_steps;
        next.train.pending_start = true;
        next.view = View::train;
    }
    state = std::move(next);
    image_switch(state, image_dataset);
    state.view_forced = true;
    state.dirty = true;
    state.compare.dirty = true;
    return "";
}

}  // namespace attnviz::app
