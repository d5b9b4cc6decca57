// heatmap — the one widget every view uses to show a matrix of the trace.
//
// A matrix is uploaded once as a GPU texture (one texel per cell) and drawn as a single image,
// so a 4096×4096 weights matrix costs one quad, not 16 million rectangles. Token labels show
// on both axes when the cells are large enough to read them; the mouse wheel or a pinch zooms
// and a drag pans. Masked cells are drawn grey (hatched when zoomed in), never as 0. Hover (a
// long press on a touch screen) shows the row and column tokens and the exact value; a click
// or tap pins the cell.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app.hpp"
#include "imgui.h"

namespace attnviz::app {

enum class ColorScale {
    sequential,  // viridis over [lo, hi]: weights, masks, non-negative values
    diverging,   // blue–white–red, symmetric around 0: signed values
};

struct HeatmapSpec {
    const char* id = "heatmap";                              // unique within the window
    const std::vector<std::string>* row_labels = nullptr;    // (rows) tokens, or null for indices
    const std::vector<std::string>* col_labels = nullptr;    // (cols) tokens, or null for indices
    const char* row_axis = "query";                          // what a row is, for the tooltip
    const char* col_axis = "key";                            // what a column is
    ColorScale scale = ColorScale::diverging;
    std::optional<double> lo, hi;                            // colour range; default from the data
    ImVec2 size = ImVec2(0, 0);                              // 0 = the available region
    float max_cell = 40.0f;                                  // largest cell edge in pixels when fitting
    bool legend = true;                                      // draw the colour legend with its range
    bool axis_labels = true;                                 // false: no room kept for axis labels (small multiples); tooltips still name tokens
    std::uint64_t version = 0;                               // bump when the data changes (texture cache key)
    const Cell* pinned = nullptr;                            // cell to outline, if any
};

struct HeatmapEvents {
    std::optional<Cell> hovered;   // cell under the mouse this frame
    std::optional<Cell> clicked;   // cell clicked this frame
    Rect grid;                     // where the cells were drawn
    float zoom = 1.0f;             // 1 = the whole matrix fits; more = cells larger, part of it shown
    Rect cells;                    // the part shown, in cell units: first column x, first row y, columns w, rows h
};

using BoolMatrix = xt::xtensor<bool, 2>;

HeatmapEvents heatmap(const HeatmapSpec& spec, const Matrix& values, const BoolMatrix* allowed = nullptr);
HeatmapEvents heatmap(const HeatmapSpec& spec, const xt::xtensor<double, 2>& values, const BoolMatrix* allowed = nullptr);
HeatmapEvents heatmap_mask(const HeatmapSpec& spec, const BoolMatrix& allowed);  // allowed = 1, masked = grey

void heatmap_end_frame();  // frees textures of heatmaps not drawn for a while
void heatmap_lost_context();  // forget every texture (the WebGL context was lost)

// `text` cut to `width` pixels at a whole character, ending in "…" when cut.
std::string fit_text(const std::string& text, float width);

// Head h's colour (or series k's) wherever heads are told apart by colour: Okabe–Ito, the
// colour-blind-safe categorical palette (light grey for black on the dark background); beyond
// eight the colours repeat, and a label names them.
ImU32 head_colour(int h, float alpha = 1.0f);

// A value as the UI prints it everywhere: shortest round-trip form of the float.
std::string format_value(double v);

}  // namespace attnviz::app
