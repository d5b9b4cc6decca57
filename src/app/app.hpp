// attnviz app — the interface's state, its views and the widgets they share.
//
// Index
//   1. Selection      what the user pointed at (head, pinned cell, hovered token)
//   2. AppState       the config being edited, the last good trace, UI choices
//   3. Engine calls   apply_config(), recompute(): config → core (a RunJob, a few ms a frame) → trace
//   4. Layout         three columns on a wide canvas, one panel at a time on a narrow one; the views' tabs
//   5. Views          one function per view, each in its own file (view_*.cpp)
//   6. Page hooks     JSON for window.attnviz (app_state.cpp)
//
// Data flows one way: views read `const attnviz::Trace&` (never computing attention), and
// write edits into AppState::config; recompute() runs the core once per edit, spread over as
// many frames as it takes (the page never blocks), and keeps the last good trace on screen
// while it computes, when the engine refuses a config and when the user cancels.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attnviz/core.hpp"
#include "attnviz/model.hpp"
#include "attnviz/model_trace.hpp"
#include "attnviz/task_session.hpp"

namespace attnviz::app {

//-----------------------------------------------------------------------------
// 1. Selection
//-----------------------------------------------------------------------------
struct Cell {
    int query = 0;  // row: query token index i
    int key = 0;    // column: key token index j
};

struct Rect {
    float x = 0, y = 0, w = 0, h = 0;  // CSS pixels from the canvas's top-left
};

// The views' tabs, in order; the enum value is what the URL state stores.
enum class View { pipeline, matrices, heads, lines, compare, predictions, atlas, residual, train, images, count };

// What the views show: the trained model (a layer of it at a time) or the one-layer lab.
enum class Source { lab, model };

// The narrow layout's panels, one shown at a time, in the order of its tab bar.
enum class Panel { input, controls, view, cell, lesson, count };

//-----------------------------------------------------------------------------
// 2. AppState
//-----------------------------------------------------------------------------
struct CompareState {
    Config config;                          // the right-hand configuration (same text as the main one)
    std::shared_ptr<const Trace> trace;     // its last good trace
    std::string error;                      // the engine's message for `config`, or empty
    bool dirty = true;                      // `config` changed since its last run
    std::shared_ptr<RunJob> job;            // its pass in flight (after the main pass), null when none
    bool intact = true;                     // with the trained model and something switched off: the right side is the
                                            // intact model (the same layer and head), not a lab configuration
};

struct LessonState {
    int lesson = -1;                        // index into the lesson list, -1 = no lesson open
    int step = 0;                           // step within the lesson
    int applied = -1;                       // lesson whose example config was last applied (-1 = none)
    int applied_step = -1;                  // step of `applied` that was applied (a step applies once, on entry)
};

inline constexpr const char* kShippedModel = "attnviz_char";  // web/models/attnviz_char.safetensors
// The trained model's opening text: a repeated phrase, whose second copy the model predicts better.
inline constexpr const char* kModelSentence = "the cat sat on the mat. the cat sat on the mat.";

// The trained model: the shipped one, fetched after the first frame, or a file the user opened.
struct ModelState {
    std::shared_ptr<const Model> model;     // null until a model has loaded
    std::shared_ptr<const PackedWeights> packed;  // its weights packed for the kernels once (null: packed per trace)
    std::string name;                       // "attnviz_char" (shipped) or the user's file name
    bool shipped = true;                    // `model` is the shipped model (links name it; a user's file is never embedded)
    bool loading = false;                   // the page is fetching the shipped model
    bool fetch_failed = false;              // the shipped model could not be fetched or read (not asked again)
    double received = 0, total = 0;         // bytes of it so far, of `total` (0 = unknown)
    std::string load_error;                 // why the last model could not load (the last good one stays)
    std::shared_ptr<const ModelTrace> trace;  // the last good trace of the text
    std::shared_ptr<const ModelTrace> intact_trace;  // with an ablation, while Compare is open: the same text through the intact model
    std::string error;                      // the core's message for the current text, or empty
    Ablation ablation;                      // heads, attentions and MLPs switched off (the trace's predictions are then
                                            // the ablated model's, trace->intact the intact one's)
    bool ablation_changed = false;          // `ablation` was edited since the last trace
    int generate_count = 20;                // Continue: how many characters to add
    int generate_left = 0;                  // characters still to add, one per frame (0: not generating)
    float temperature = 0.0f;               // 0: the most likely character (greedy); more: a seeded draw
    std::uint64_t seed = 1;                 // the draws' seed
    std::uint64_t step = 0;                 // draws made with it (the sampler's counter)
    std::string generated;                  // what the last Continue appended
    int layer = 0;                          // the layer whose attention the per-head views show
    int selected_position = -1;             // the predictions view's position (-1: the last)
    std::vector<float> image;               // an image model's input (S·S pixels), from the Images view's "Open in every view"
    int image_label = -1;                   // its true class, -1: unknown
    double trace_ms = 0;                    // how long the last model_trace took
};

// The Train view: a model trained in the page, by a Web Worker with its own core (web/train_worker.js).
enum class TrainStatus {
    idle,      // nothing started (or Reset)
    starting,  // Start sent; the worker is loading or setting up
    running,   // steps are being taken
    paused,    // stopped by Pause, Step or the link's step count; Resume goes on
    finished,  // max_steps reached
    diverged,  // the loss blew up: the last good snapshot is shown
    failed,    // the settings were refused (message), nothing runs
    died,      // the worker crashed: Restart makes a new one
};
const char* train_status_name(TrainStatus status);  // "idle", "running", …

struct TrainState {
    SessionSettings settings = default_session(TaskKind::induction);  // the form being edited
    SessionSettings run;                    // the settings of the run shown (set by Start)
    int run_id = 0;                         // bumps with every Start: snapshots of an earlier run still in flight are dropped
    int command = 0;                        // numbers every command; a snapshot's status counts once it echoes the last
    TrainStatus status = TrainStatus::idle;
    std::string message;                    // why it failed, stopped or died; empty otherwise
    int stop_at = -1;                       // a link's step count: pause there (-1: run to max_steps)
    SessionHistory history;                 // what the run has sent so far
    std::string reference_label;            // the run before this one on the same task, drawn in grey on the curves; empty: none
    std::vector<CurvePoint> reference;      // its curve points
    std::uint64_t version = 0;              // bumps with every snapshot (heatmap textures key on it)
    int scrub = -1;                         // the kept snapshot shown, -1: the newest
    double steps_per_s = 0, tokens_per_s = 0, gflops = 0;  // over the last snapshot's steps
    long long snapshots = 0;                // snapshots received (test hook)
    std::string opened_model;               // the name the last "Open in views" gave the trained model
    bool pending_start = false;             // a link asked for a run: start it once the page is ready
    bool focus_heads = false;               // scroll the view to the heads next frame (a lesson step about them)
};

// The Images view: a small Vision Transformer over a picture from a gallery or drawn by hand.
enum class ImageOverlay { class_token, rollout, none };  // what is laid over the image (a hovered patch's row wins)

struct GalleryImage {
    int test_index = 0;                     // its index in the dataset's test split
    int label = 0;                          // the true class
    int predicted = 0;                      // the shipped model's prediction (its card's)
    std::vector<float> pixels;              // (S·S) in [0, 1]
};

struct ImageModel {                         // one dataset's model, fetched when the view first needs it
    std::shared_ptr<const Model> model;     // null until it loaded
    std::vector<GalleryImage> gallery;      // test images to pick from
    bool loading = false;                   // the page is fetching its files
    std::string error;                      // why it could not load (the view says so; other datasets still work)
};

struct ImageState {
    std::string dataset = "digits";         // "digits" (8×8) or "fashion" (28×28)
    std::map<std::string, ImageModel> models;  // by dataset
    std::vector<float> pixels;              // (S·S) the image shown, in [0, 1]
    std::vector<std::vector<float>> undo;   // earlier images (Undo pops; a stroke pushes once)
    bool stroke = false;                    // a mouse stroke is under way (it has pushed its undo entry)
    int gallery = -1;                       // the gallery image shown, -1: drawn (or edited) by hand
    int label = -1;                         // the shown image's true class, -1: unknown (drawn)
    std::shared_ptr<const ModelTrace> trace;  // the model on `pixels`; null before the first or when the image is empty
    Matrix rollout;                         // attention_rollout(*trace)
    std::string error;                      // the core's message for this image (or the view's), empty when fine
    std::string notice;                     // a message about an image dropped on the page that was refused
    int layer = 0;                          // the layer whose heads are shown
    int head = -1;                          // the head overlaid, -1: the mean of the layer's heads
    ImageOverlay overlay = ImageOverlay::class_token;
    int hovered_patch = -1;                 // the patch under the pointer (not drawing), -1: none
    std::vector<std::pair<int, int>> heads_off;  // (layer, head) switched off: their outputs zeroed (the trace's intact
                                            // predictions are the whole model's)
    int pending_gallery = -1;               // a lesson's gallery image, shown once the dataset's files arrive
    std::uint64_t version = 0;              // bumps with every new trace (textures key on it)
};

struct AppState {
    Source source = Source::lab;            // model or lab; the page opens on the model (main.cpp)
    ModelState model;
    Config config;                          // what the user chose (text included); edited by the controls
    std::string text = "the cat sat on the mat";   // the sentence box (UTF-8), copied into config.text
    std::string source_text;                // the source sentence box (cross-attention)
    bool cross = false;                     // cross-attention on: config.source_text = source_text

    std::shared_ptr<const Trace> trace;     // last good trace; null only before the first success
    std::uint64_t trace_version = 0;        // bumps with every new trace (texture caches key on it)
    std::string error;                      // the engine's message for the current config, or empty
    bool dirty = true;                      // the config changed since the last run
    std::shared_ptr<RunJob> job;            // the pass in flight for the current config, null when none
    int job_frames = 0;                     // frames `job` has computed in (the progress bar shows from the second)
    bool cancelled = false;                 // the user cancelled the last pass: `trace` is of an earlier config
    int keep_head = -1;                     // the head whose (T, N) matrices the current config's pass keeps, -1 = every head
    bool reset_widgets = false;             // a config arrived from outside (import, link, lesson): drop stale edit buffers
    long long recomputes = 0;               // how many times the core ran (test hook)

    View view = View::pipeline;             // the tab shown in the centre column
    bool view_forced = true;                // `view` was set by code (URL, lesson, setState): select its tab next frame
    int selected_head = 0;                  // head shown in single-head views
    std::vector<bool> heads_shown;          // (H) heads drawn in the lines view
    std::optional<Cell> pinned;             // cell clicked in any weights heatmap
    int hovered_token = -1;                 // token under the mouse in the lines view, -1 = none
    bool hovered_key_side = false;          // hovered_token indexes the key (right) column, else the query column
    std::string matrix = "weights";         // matrix shown in the matrices view (trace field name)

    CompareState compare;                   // the compare view's second configuration
    TrainState train;                       // the Train view's run
    ImageState images;                      // the Images view
    LessonState lesson;                     // the open lesson
    bool presentation = false;              // projector mode: large fonts, only what the lesson needs
    float font_scale = 1.0f;                // 1 normally, larger in presentation mode

    bool narrow = false;                    // the canvas is phone-sized: one panel at a time (is_narrow)
    Panel panel = Panel::view;              // the panel the narrow layout shows
    float keyboard_inset = 0;               // CSS px at the canvas's bottom the on-screen keyboard covers (the page reports it)
    std::vector<Rect> text_fields;          // text fields drawn last frame: a tap there opens the on-screen keyboard
    bool touch = false;                     // fingers drive the pointer (touch.cpp), copied each frame (test hook)
    std::string gesture = "none";           // the touch gesture under way, copied each frame (test hook)

    std::map<std::string, Rect> layout;     // named widget rectangles of the last frame (test hook)
    std::map<std::string, float> overflow;  // px by which a window's content passed its right edge last frame, by window (test hook)
    std::map<std::string, std::string> readout;  // values a view printed last frame, as printed, by name (test hook)
};

//-----------------------------------------------------------------------------
// 3. Engine calls
//-----------------------------------------------------------------------------
void apply_config(AppState& state, const Config& config);  // replace the config (lessons, imports, URL)
void recompute(AppState& state);                           // start the core if the config changed; step it within the frame's budget
void cancel_recompute(AppState& state);                    // drop the pass in flight, keep the last good trace
void set_source(AppState& state, Source source);           // switch between the trained model and the lab
void toggle_ablation(AppState& state, int layer, int head, const char* what);  // what: "head" (switch head `head` of
                                                           // `layer` off or on), "attention" or "mlp" (the layer's)
void clear_ablation(AppState& state);                      // every head, attention and MLP on again
void start_generating(AppState& state);                    // Continue: append generate_count characters, one per frame
void stop_generating(AppState& state);
std::string model_loaded(AppState& state, std::string_view bytes, const std::string& name, bool shipped,
                         std::string_view vocab_json = {});  // "" or the message; the last good model stays on an error
void recompute_compare(AppState& state);                   // same for the compare configuration
int shown_head(const AppState& state);                     // the head single-head views draw: the selected one, or the one the trace
                                                           // on screen kept while a long sequence's pass computes the selected one
std::string field_error(const AppState& state, const char* field);  // the engine's message if it names `field`

//-----------------------------------------------------------------------------
// 4. Layout
//-----------------------------------------------------------------------------
bool is_narrow(float width, float height);                 // below 960×500 CSS px the three columns do not fit: one panel at a time
void draw_ui(AppState& state);                             // the whole frame's windows
void record_item(AppState& state, const char* name);       // store the last item's rect under `name`
void record_text_field(AppState& state, const char* name, const char* label, bool step_buttons);  // record_item, and
                                                           // where a tap opens the on-screen keyboard: the field, not its label or ± buttons
void same_line_if_fits(float width);                      // the next item (`width` px) beside the last one if it fits the
                                                           // window, else on the next line (flowing chips, buttons)
void error_text(const std::string& message);               // a message in the error colour, wrapped; nothing when empty
void hint_text(const char* fmt, ...) __attribute__((format(printf, 1, 2)));  // secondary text in the disabled colour, wrapped (TextDisabled does not wrap)
void require_glyphs(std::string_view utf8);                // text the UI will draw: its CJK glyphs get rasterized (fonts.cpp)

//-----------------------------------------------------------------------------
// 5. Views (each fills the current window; each lives in its own file)
//-----------------------------------------------------------------------------
void panel_input(AppState& state);      // sentence boxes and token chips          (panel_input.cpp)
void panel_controls(AppState& state);   // every Config option                     (panel_controls.cpp)
void panel_cell(AppState& state);       // the pinned cell, worked out             (panel_cell.cpp)
void panel_lesson(AppState& state);     // the open lesson's text and steps        (panel_lesson.cpp)
void view_pipeline(AppState& state);    // X → … → output, one stage per panel     (view_pipeline.cpp)
void view_matrices(AppState& state);    // any matrix of the trace as a heatmap    (view_matrices.cpp)
void view_heads(AppState& state);       // small multiples of every head + mean   (view_heads.cpp)
void view_lines(AppState& state);       // BertViz-like head view                  (view_lines.cpp)
void view_compare(AppState& state);     // two configurations side by side         (view_compare.cpp)
void view_predictions(AppState& state); // the model's next-character predictions  (view_predictions.cpp)
std::string token_chip_text(const std::string& token);  // a character as a short label shows it: space "·", newline "↵", tab "⇥"
void view_atlas(AppState& state);       // every layer × head of the model, with roles (view_atlas.cpp)
void view_residual(AppState& state);    // the residual stream: norms and the logit lens (view_residual.cpp)
void view_train(AppState& state);       // train a small model on a task, watch its heads form (view_train.cpp)
void train_start(AppState& state);      // start state.train.settings in the worker (stop_at: pause there)
void train_command(AppState& state, const char* cmd);  // "pause", "resume", "step", "reset", "open", "export"
void train_message(AppState& state, const std::string& json);  // an event from the worker (page.cpp)
void train_snapshot(AppState& state, const std::string& json, std::vector<float> attention);  // a snapshot from the worker
void train_file(AppState& state, const std::string& bytes, const std::string& purpose);  // the model's file: "open" or "export"
void view_images(AppState& state);      // a Vision Transformer over an image from a gallery or drawn (view_images.cpp)
void image_request(AppState& state);    // fetch the shown dataset's model and gallery if not yet (image_state.cpp)
std::string image_model_loaded(AppState& state, const std::string& dataset, std::string_view bytes);  // "" or the message
std::string image_gallery_loaded(AppState& state, const std::string& dataset, const std::string& json);  // "" or the message
void image_failed(AppState& state, const std::string& dataset, const std::string& message);
void image_set_pixels(AppState& state, std::vector<float> pixels, int gallery, int label);  // show an image (undoable), trace it
std::string image_dropped(AppState& state, int width, int height, std::vector<float> gray);  // an image file from the page:
                                                           // "" or why it was refused (the last good image stays)
void image_switch(AppState& state, const std::string& dataset);  // "digits" or "fashion": its model, its first gallery image
void image_show_gallery(AppState& state, int index);  // the shown dataset's gallery image `index` (now, or once it loads)
void image_open_in_views(AppState& state);  // the Images view's model and image become the page's model: every view shows them
void image_retrace(AppState& state);    // the model on the shown image again (after a layer, dataset or pixel change)
const ImageModel* image_model(const AppState& state);  // the shown dataset's, or null
void model_picker(AppState& state);     // trained model or lab, a file of one's own (panel_model.cpp)
void panel_model(AppState& state);      // the model's facts, layer and head selectors (panel_model.cpp)

//-----------------------------------------------------------------------------
// 6. Page hooks
//-----------------------------------------------------------------------------
std::string state_json(const AppState& state);  // window.attnviz.getState()

}  // namespace attnviz::app
