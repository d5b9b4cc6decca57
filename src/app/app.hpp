// attnviz app — the interface's state and its panels.
//
// Index
//   AppState      what the user chose (the config being edited) and what the core returned
//   recompute()   config → core → trace, only when the config changed
//   panels        one function per panel, each in its own file (panel_*.cpp)
//
// Data flows one way: the panels read `const attnviz::Trace&` and write edits into
// AppState; recompute() turns edits into a new Config, runs the core and keeps the last
// good trace on screen when a config is refused.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "attnviz/core.hpp"

namespace attnviz::app {

struct Rect {
    float x = 0, y = 0, w = 0, h = 0;                   // CSS pixels from the canvas's top-left
};

struct AppState {
    std::string text = "the cat sat on the mat";       // the sentence being typed (UTF-8)
    int d_model = 16;                                   // model width
    int heads = 2;                                      // number of heads
    int selected_head = 0;                              // head shown in single-head views
    bool config_dirty = true;                           // an edit happened since the last recompute

    std::shared_ptr<const Trace> trace;                 // last good trace (never null after the first success)
    std::string error;                                  // the core's message for the current edit, or empty
    long long recomputes = 0;                           // how many times the core ran (test hook)
    std::map<std::string, Rect> layout;                 // named widget rectangles of the last frame (test hook)
};

std::string build_config_json(const AppState& state); // the Config JSON for what the user chose
void recompute(AppState& state);                      // runs the core if the config changed

void load_fonts(float size_px);                      // UI font with the notation's glyphs

void panel_input(AppState& state);                    // sentence box and token chips
void panel_weights(AppState& state);                  // attention-weights heatmap of one head

std::string state_json(const AppState& state);        // JSON for window.attnviz.getState()

}  // namespace attnviz::app
