// view_matrices_catalog — every matrix of a trace by its field name, with what a heatmap needs
// to draw it (labels, colour scale, mask). Shared by the matrices and pipeline views so that a
// matrix looks the same wherever it appears.
#pragma once

#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"

namespace attnviz::app {

struct MatrixEntry {
    const char* name = "";                                  // trace field name: "X", "Q", "scaled", …
    const char* meaning = "";                               // one line for the reader
    bool per_head = false;                                  // lives in trace.heads[h]
    const Matrix* values = nullptr;                         // float32 matrices
    const xt::xtensor<double, 2>* values_f64 = nullptr;     // `scaled` (float64 in the trace)
    const BoolMatrix* allowed = nullptr;                    // cells to grey out (scaled, weights) or the mask itself
    bool is_mask = false;                                   // draw `allowed` as the matrix (heatmap_mask)
    const std::vector<std::string>* row_labels = nullptr;   // tokens, or null for indices
    const std::vector<std::string>* col_labels = nullptr;
    const char* row_axis = "row";                           // tooltip names of the axes
    const char* col_axis = "col";
    ColorScale scale = ColorScale::diverging;               // diverging for signed values, viridis for weights/mask

    int rows() const;                                       // shape of whichever matrix is set
    int cols() const;
    bool applies() const { return rows() > 0 && cols() > 0; }  // (0, …) = not part of this configuration
};

// Weights are probabilities, coloured on a fixed 0..1 scale, except with more keys than this:
// then each weight is near 1/N and 0..1 would paint one dark colour, so the scale ends at the
// largest weight shown (the legend says so).
inline constexpr int kRelativeWeightsAbove = 64;

// The names in the order the data flows, the per-head ones among them.
const std::vector<const char*>& matrix_names();

// The entry for `name` (head `head` for per-head matrices), or an entry with name "" if unknown.
MatrixEntry find_matrix(const Trace& trace, int head, const std::string& name);

// Key-side labels: the source tokens in cross-attention, else the tokens.
const std::vector<std::string>& key_tokens(const Trace& trace);

// Draws an entry with the shared widget; `id` must be unique in the window.
// `max_cell` is the largest cell edge when the matrix is fitted (the matrices view shows small ones large).
HeatmapEvents draw_matrix(const MatrixEntry& m, const char* id, ImVec2 size, std::uint64_t version, const Cell* pinned,
                          bool legend = true, float max_cell = 40.0f);

// "6×8" and "−1.23 … 4.56" (range over allowed finite cells), as the views print them.
std::string shape_text(const MatrixEntry& m);
std::string range_text(const MatrixEntry& m);

// The head picker of the single-head views (radio buttons, a slider past 8 heads); each button's
// rect is recorded as "<prefix>_head_<h>" for the browser tests.
void head_selector(AppState& state, const char* prefix);

// Drops the layout rects named "<prefix>…" so that widgets not drawn this frame do not linger in the
// test hook (state.layout keeps every rect until it is written again).
void forget_layout(AppState& state, const std::string& prefix);

// The entry as a float matrix for CSV: the mask as 1/0, scaled's masked −inf cells as NaN: a CSV has no "masked", and NaN reads as missing in spreadsheets.
// Rows [first, first + count) only, clipped to the matrix (count -1: to the end).
Matrix exportable(const MatrixEntry& m, int first = 0, int count = -1);

}  // namespace attnviz::app
