// page — EM_JS calls into the page and the functions window.attnviz calls back.
#include "page.hpp"

#include <emscripten.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <algorithm>
#include <deque>

#include "app_state.hpp"
#include "attnviz/json.hpp"
#include "attnviz/train.hpp"
#include "fonts.hpp"
#include "heatmap.hpp"
#include "view_matrices_catalog.hpp"
#include "imgui.h"

namespace attnviz::app {

namespace {

AppState* g_state = nullptr;        // the app's state, attached once by main()
std::string g_notice;               // toolbar notice text
double g_notice_until = 0;          // when it expires (ms, emscripten_get_now)
int g_png_in_frames = -1;           // capture the canvas after this many more frames render, -1 = not asked
bool g_text_focused = false;        // the page's hidden text field has the focus (the app's last word, or a tap's)
int g_tap_focus_frames = 0;         // frames left for a tap that focused the field to start an edit before the app blurs it
std::deque<int> g_key_taps;         // ImGuiKey values an on-screen keyboard pressed, one per two frames
bool g_key_held = false;            // the front of g_key_taps is down this frame
std::string g_last_hash_json;       // the state last written to the URL hash
std::string g_return;               // backing store for strings returned to JS (copied at once by the caller)

// Strings cross as UTF-8 pointers + lengths; JS copies them before this frame ends.
EM_JS(void, js_download, (const char* name, const char* mime, const char* data, int length), {
    const bytes = HEAPU8.slice(data, data + length);
    const url = URL.createObjectURL(new Blob([bytes], { type: UTF8ToString(mime) }));
    const a = document.createElement('a');
    a.href = url;
    a.download = UTF8ToString(name);
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    if (window.attnviz && window.attnviz._onDownload) window.attnviz._onDownload(a.download, bytes);
});

EM_JS(void, js_set_hash, (const char* json), {
    const hash = '#state=' + encodeURIComponent(UTF8ToString(json));
    if (hash.length > 262144) return;  // too long for a link; the page keeps the old hash
    if (location.hash !== hash) history.replaceState(null, "", hash);
});

EM_JS(int, js_copy_link, (), {
    const url = location.href;
    if (window.attnviz) window.attnviz.lastCopiedLink = url;
    if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).catch(() => {});
        return 1;
    }
    return 0;
});

// The page's address with another state in its hash (the URL itself keeps the view's state).
EM_JS(int, js_copy_state_link, (const char* json), {
    const url = location.origin + location.pathname + location.search + '#state=' + encodeURIComponent(UTF8ToString(json));
    if (window.attnviz) window.attnviz.lastCopiedLink = url;
    if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).catch(() => {});
        return 1;
    }
    return 0;
});

EM_JS(void, js_capture_png, (), {
    const canvas = Module.canvas;
    const data = canvas.toDataURL('image/png');  // synchronous: the frame just drawn is still in the buffer
    const bytes = Uint8Array.from(atob(data.split(',')[1]), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'attnviz.png';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    if (window.attnviz && window.attnviz._onDownload) window.attnviz._onDownload('attnviz.png', bytes);
});

EM_JS(void, js_open_import, (), {
    if (window.attnviz && window.attnviz._openImport) window.attnviz._openImport();
});

EM_JS(int, js_query_has, (const char* key), {
    return new URLSearchParams(location.search).has(UTF8ToString(key)) ? 1 : 0;
});

EM_JS(void, js_fetch_model, (const char* url), {
    if (window.attnviz && window.attnviz._fetchModel) window.attnviz._fetchModel(UTF8ToString(url));
});

EM_JS(void, js_fetch_image_model, (const char* dataset), {
    if (window.attnviz && window.attnviz._fetchImageModel) window.attnviz._fetchImageModel(UTF8ToString(dataset));
});

EM_JS(void, js_open_model_file, (), {
    if (window.attnviz && window.attnviz._openModelFile) window.attnviz._openModelFile();
});

EM_JS(void, js_text_focus, (int want), {
    if (window.attnviz && window.attnviz._textFocus) window.attnviz._textFocus(!!want);
});

// ImGui's IME position callback: the caret of the field being edited, in CSS px. The hidden
// text field sits there, so IME candidates and the browser's scroll-into-view follow the caret.
EM_JS(void, js_text_caret, (int x, int y), {
    if (window.attnviz && window.attnviz._textCaret) window.attnviz._textCaret(x, y);
});

EM_JS(void, js_train_post, (const char* json), {
    if (window.attnviz && window.attnviz._trainPost) window.attnviz._trainPost(UTF8ToString(json));
});

void text_caret(int x, int y) { js_text_caret(x, y); }

const char* to_c(std::string s) {
    g_return = std::move(s);
    return g_return.c_str();
}

std::string csv_field(const std::string& s) {
    std::string out = "\"";
    if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) out += '\'';  // no formulas in spreadsheets
    for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

void page_attach(AppState& state) {
    g_state = &state;
    ImGui::GetIO().ImeSetInputScreenPosFn = text_caret;
}

void page_sync_url(const AppState& state) {
    std::string json = ui_state_json(state).dump();
    if (json == g_last_hash_json) return;
    g_last_hash_json = std::move(json);
    js_set_hash(g_last_hash_json.c_str());
}

void page_fetch_model(AppState& state) {
    ModelState& m = state.model;
    if (m.model || m.loading || m.fetch_failed) return;
    m.loading = true;
    m.received = m.total = 0;
    js_fetch_model((std::string("models/") + kShippedModel + ".safetensors").c_str());
}

void page_open_model_file() { js_open_model_file(); }

void page_fetch_image_model(const std::string& dataset) { js_fetch_image_model(dataset.c_str()); }

bool page_query_has(const char* key) { return js_query_has(key) != 0; }

void page_copy_link(AppState& state) {
    page_sync_url(state);
    page_notify(js_copy_link() ? "Link copied: it reopens this exact view" : "Copy the address bar: it holds this view");
}

void page_copy_run_link(const AppState& state) {
    page_notify(js_copy_state_link(run_link_state(state).dump().c_str())
                    ? "Run link copied: it trains this run again, to this step"
                    : "The clipboard is not available here");
}

void page_export_trace(const AppState& state) {
    const ModelState& m = state.model;
    if (state.source == Source::model && m.trace && m.model) {  // the whole model trace (README "Model trace")
        const std::string json = model_trace_to_json(*m.trace, *m.model);
        js_download("attnviz-model-trace.json", "application/json", json.data(), static_cast<int>(json.size()));
        return page_notify("Model trace exported as attnviz-model-trace.json");
    }
    if (!state.trace) return page_notify("No trace to export yet");
    const std::string json = trace_to_json(*state.trace);
    js_download("attnviz-trace.json", "application/json", json.data(), static_cast<int>(json.size()));
    page_notify("Trace exported as attnviz-trace.json");
}

void page_train_post(const std::string& json) { js_train_post(json.c_str()); }

void page_download(const std::string& name, const std::string& mime, const std::string& bytes) {
    js_download(name.c_str(), mime.c_str(), bytes.data(), static_cast<int>(bytes.size()));
}

void page_export_csv(const std::string& name, const Matrix& m, const std::vector<std::string>* rows,
                     const std::vector<std::string>* cols) {
    std::string csv = "\"\"";
    for (std::size_t j = 0; j < m.shape(1); ++j) csv += "," + csv_field(cols && j < cols->size() ? (*cols)[j] : std::to_string(j));
    csv += "\n";
    for (std::size_t i = 0; i < m.shape(0); ++i) {
        csv += csv_field(rows && i < rows->size() ? (*rows)[i] : std::to_string(i));
        for (std::size_t j = 0; j < m.shape(1); ++j) csv += "," + format_value(m(i, j));
        csv += "\n";
    }
    const std::string file = "attnviz-" + name + ".csv";
    js_download(file.c_str(), "text/csv", csv.data(), static_cast<int>(csv.size()));
    page_notify("Exported " + file);
}

void page_export_png(int frames_later) { g_png_in_frames = frames_later; }

void page_after_render() {
    if (g_png_in_frames < 0) return;
    if (g_png_in_frames-- > 0) return;
    js_capture_png();
    page_notify("View exported as attnviz.png");
}

void page_open_import() { js_open_import(); }

void page_text_focus(bool want_text) {
    if (g_tap_focus_frames > 0) {  // the tap's press and release reach ImGui over the next frames
        --g_tap_focus_frames;
        if (!want_text) return;
        g_tap_focus_frames = 0;
    }
    if (g_text_focused == want_text) return;  // only tell the page when it changes
    g_text_focused = want_text;
    js_text_focus(want_text);
}

void page_key_frame() {
    if (g_key_taps.empty()) return;
    ImGuiIO& io = ImGui::GetIO();
    const int key = io.KeyMap[g_key_taps.front()];
    if (key < 0) return g_key_taps.pop_front();
    io.KeysDown[key] = !g_key_held;  // down for one frame, up the next: ImGui 1.86 samples keys once a frame
    if (g_key_held) g_key_taps.pop_front();
    g_key_held = !g_key_held;
}

void page_notify(std::string message) {
    g_notice = std::move(message);
    g_notice_until = emscripten_get_now() + 8000;
}

const std::string& page_notice() {
    static const std::string none;
    return emscripten_get_now() < g_notice_until ? g_notice : none;
}

std::string import_json(AppState& state, const std::string& text) {
    if (text.size() > limits::max_json_bytes) return "import: the file is larger than 64 MiB";
    auto parsed = parse_json_strict(text);
    if (!parsed) return "import: " + parsed.error();
    const nlohmann::json& doc = parsed.value();
    if (!doc.is_object()) return "import: expected a JSON object (an attnviz trace or config)";
    // A trace carries its resolved config; a saved view carries config + ui; anything else is a config.
    std::string config_text = text;
    if (doc.contains("heads") && doc.contains("config") && doc.at("config").is_object()) config_text = doc.at("config").dump();
    else if (doc.contains("ui") && doc.contains("config")) return apply_ui_state(state, text);
    auto config = parse_config(config_text);
    if (!config) return "import: " + config.error();
    apply_config(state, config.value());
    state.view_forced = true;
    return "";
}

}  // namespace attnviz::app

using attnviz::app::g_state;

extern "C" {
// Called by web/loader.js; every string argument is UTF-8 and every result is copied at once.
// Before main() has attached the state (the page calls only after it), they answer "not started".
EMSCRIPTEN_KEEPALIVE const char* attnviz_state_json() {
    return attnviz::app::to_c(g_state ? attnviz::app::state_json(*g_state) : std::string("null"));
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_set_state(const char* json) {
    return attnviz::app::to_c(g_state ? attnviz::app::apply_ui_state(*g_state, json) : std::string("app: not started yet"));
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_trace_json() {
    return attnviz::app::to_c(g_state && g_state->trace ? attnviz::trace_to_json(*g_state->trace) : std::string("null"));
}

// One matrix of the current trace, {"name", "head"[, "first_row", "row_count"]} → {name, head,
// rows, cols, first_row, values} (the matrices view's names; masked cells of `scaled` as null;
// `values` holds the rows asked for, all by default), or null: what a test reads of a trace too
// large to fetch whole (at T = 1024 the trace's JSON is hundreds of megabytes).
EMSCRIPTEN_KEEPALIVE const char* attnviz_matrix_json(const char* request_json) {
    const auto request = attnviz::parse_json_strict(request_json);
    if (!g_state || !g_state->trace || !request || !request.value().is_object()) return "null";
    const nlohmann::json& r = request.value();
    const std::string name = r.value("name", std::string());
    const int head = r.value("head", 0);
    if (head < 0 || head >= static_cast<int>(g_state->trace->heads.size())) return "null";
    const attnviz::app::MatrixEntry m = attnviz::app::find_matrix(*g_state->trace, head, name);
    if (!*m.name || !m.applies()) return "null";
    const int first_row = r.value("first_row", 0), row_count = r.value("row_count", -1);
    const attnviz::Matrix values = attnviz::app::exportable(m, first_row, row_count);
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t i = 0; i < values.shape(0); ++i)
        rows.push_back(std::vector<float>(&values(i, 0), &values(i, 0) + values.shape(1)));
    return attnviz::app::to_c(
        nlohmann::json{{"name", name}, {"head", head}, {"rows", m.rows()}, {"cols", m.cols()},
                                              {"first_row", std::clamp(first_row, 0, m.rows())}, {"values", rows}}.dump());
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_compute(const char* config_json) {
    auto result = attnviz::compute_json(config_json);
    if (result) return attnviz::app::to_c(std::move(result.value()));
    return attnviz::app::to_c(nlohmann::json{{"error", result.error()}}.dump());
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_import_json(const char* text) {
    if (!g_state) return "app: not started yet";
    std::string error = attnviz::app::import_json(*g_state, text);
    attnviz::app::page_notify(error.empty() ? std::string("Imported") : error);
    return attnviz::app::to_c(std::move(error));
}

// The shipped model's download: bytes so far, of `total` (0 when the server does not say).
EMSCRIPTEN_KEEPALIVE void attnviz_model_progress(double received, double total) {
    if (!g_state) return;
    g_state->model.received = received;
    g_state->model.total = total;
}

// A model's bytes (the shipped one, fetched; or a file the user dropped or picked): "" when it
// loaded, else the message, which the model panel shows (the last good model stays).
// `vocab` is the text of a vocab.json given with a nanoGPT-shaped file ("" when none).
EMSCRIPTEN_KEEPALIVE const char* attnviz_model_loaded(const unsigned char* data, int size, const char* name, int shipped, const char* vocab) {
    if (!g_state) return "app: not started yet";
    std::string error = attnviz::app::model_loaded(
        *g_state, std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(std::max(size, 0))), name, shipped != 0,
        vocab);
    const attnviz::app::ImageModel* image = attnviz::app::image_model(*g_state);
    const bool to_images = g_state->images.dataset == name && image && image->model;  // an image model opens in the Images view
    if (error.empty() && !shipped) {
        if (!to_images) attnviz::app::set_source(*g_state, attnviz::app::Source::model);
        attnviz::app::page_notify(std::string("Loaded ") + name + (to_images ? " in the Images view" : ""));
    }
    return attnviz::app::to_c(std::move(error));
}

// The shipped model could not be fetched (offline without a cache, a server error).
EMSCRIPTEN_KEEPALIVE const char* attnviz_model_failed(const char* message) {
    if (!g_state) return "";
    g_state->model.loading = false;
    g_state->model.fetch_failed = true;
    g_state->model.load_error = message;
    return "";
}

// The Images view's files, fetched by web/loader.js: a dataset's model ("" or the message),
// its gallery (JSON), or why they could not be fetched.
EMSCRIPTEN_KEEPALIVE const char* attnviz_image_model_loaded(const char* dataset, const unsigned char* data, int size) {
    if (!g_state) return "app: not started yet";
    return attnviz::app::to_c(attnviz::app::image_model_loaded(
        *g_state, dataset, std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(std::max(size, 0)))));
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_image_gallery_loaded(const char* dataset, const char* json) {
    if (!g_state) return "app: not started yet";
    return attnviz::app::to_c(attnviz::app::image_gallery_loaded(*g_state, dataset, json));
}

EMSCRIPTEN_KEEPALIVE void attnviz_image_failed(const char* dataset, const char* message) {
    if (g_state) attnviz::app::image_failed(*g_state, dataset, message);
}

// An image file dropped on the page, decoded by the browser: width × height gray values in [0, 1]
// (ink bright). "" when shown, else why it was refused (the Images view says so too).
EMSCRIPTEN_KEEPALIVE const char* attnviz_image_dropped(int width, int height, const float* gray) {
    if (!g_state) return "app: not started yet";
    const std::size_t n = static_cast<std::size_t>(std::max(width, 0)) * static_cast<std::size_t>(std::max(height, 0));
    g_state->view = attnviz::app::View::images;
    g_state->view_forced = true;
    return attnviz::app::to_c(attnviz::app::image_dropped(*g_state, width, height, std::vector<float>(gray, gray + n)));
}

// The Images view's trace as the model trace JSON (README), or {"error"}: the browser test reads it.
EMSCRIPTEN_KEEPALIVE const char* attnviz_image_trace_json() {
    if (!g_state) return "{}";
    const attnviz::app::ImageModel* m = attnviz::app::image_model(*g_state);
    if (!m || !m->model || !g_state->images.trace) return "{\"error\":\"no image traced\"}";
    return attnviz::app::to_c(attnviz::model_trace_to_json(*g_state->images.trace, *m->model));
}

// The shown dataset's model on any image through the training pass (classify_images), a second
// path to the same numbers: {"probs": [...]} or {"error"}.   pixels (S·S)
EMSCRIPTEN_KEEPALIVE const char* attnviz_image_classify(const float* pixels, int count) {
    if (!g_state) return "{}";
    const attnviz::app::ImageModel* m = attnviz::app::image_model(*g_state);
    if (!m || !m->model) return "{\"error\":\"no image model\"}";
    const int S = m->model->config.image_size;
    if (count != S * S) return "{\"error\":\"expected S*S pixels\"}";
    const std::vector<float> probs = attnviz::classify_images(*m->model, pixels, 1);
    return attnviz::app::to_c(nlohmann::json{{"probs", probs}}.dump());
}

// The training worker's events ({"type": "ready" | "started" | "error" | "died", …}) and
// snapshots (their JSON, and every head's attention as L·H·T·T floats), via web/loader.js.
EMSCRIPTEN_KEEPALIVE void attnviz_train_event(const char* json) {
    if (g_state) attnviz::app::train_message(*g_state, json);
}

EMSCRIPTEN_KEEPALIVE void attnviz_train_snapshot(const char* json, const float* attention, int count) {
    if (g_state) attnviz::app::train_snapshot(*g_state, json, std::vector<float>(attention, attention + std::max(count, 0)));
}

// The trained model's file from the worker: opened in every view ("open") or downloaded ("export").
EMSCRIPTEN_KEEPALIVE void attnviz_train_file(const unsigned char* data, int size, const char* purpose) {
    if (g_state)
        attnviz::app::train_file(*g_state, std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(std::max(size, 0))),
                                 purpose);
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_notify(const char* message) {
    attnviz::app::page_notify(message);
    return "";
}

// Text typed, composed (IME) or pasted into the page's hidden text field.
EMSCRIPTEN_KEEPALIVE const char* attnviz_text_input(const char* utf8) {
    ImGui::GetIO().AddInputCharactersUTF8(utf8);
    return "";
}

// A key an on-screen keyboard pressed in the hidden text field ("Backspace" or "Enter"): such
// keyboards send no key code the page's key events could pass on, only an edit of the field.
EMSCRIPTEN_KEEPALIVE const char* attnviz_key_tap(const char* key) {
    const std::string k = key;
    if (k == "Backspace") attnviz::app::g_key_taps.push_back(ImGuiKey_Backspace);
    else if (k == "Enter") attnviz::app::g_key_taps.push_back(ImGuiKey_Enter);
    else return "key: expected Backspace or Enter";
    return "";
}

// A tap ended at (x, y) CSS px: 1 if a text field was drawn there last frame. The page then
// focuses its hidden text field at once, inside the touch's own event handler: browsers open
// the on-screen keyboard only for a focus that a user gesture makes.
EMSCRIPTEN_KEEPALIVE int attnviz_text_field_at(double x, double y) {
    if (!g_state) return 0;
    for (const attnviz::app::Rect& r : g_state->text_fields)
        if (x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h) {
            attnviz::app::g_text_focused = true;  // so that the app blurs it again if the tap does not start an edit
            attnviz::app::g_tap_focus_frames = 6;
            return 1;
        }
    return 0;
}

// How many CSS px at the canvas's bottom an on-screen keyboard covers (0 when none): the page
// measures it with window.visualViewport, for browsers whose keyboard does not resize the page.
EMSCRIPTEN_KEEPALIVE void attnviz_set_keyboard_inset(double px) {
    if (g_state) g_state->keyboard_inset = static_cast<float>(std::clamp(px, 0.0, 4096.0));
}

EMSCRIPTEN_KEEPALIVE const char* attnviz_fonts_json() { return attnviz::app::to_c(attnviz::app::fonts_status_json()); }

EMSCRIPTEN_KEEPALIVE void attnviz_context_lost() { attnviz::app::heatmap_lost_context(); }
}
