// view_heads — every head's weights as small multiples, plus their mean.
//
// One tile per head (the shared heatmap widget, no legend of its own) and a last tile with the
// mean over heads; the grid's column count is chosen so the tiles are as large as the region
// allows. All tiles share one colour range, [0, 1] (or [0, largest weight] past
// kRelativeWeightsAbove keys), drawn once as a legend on the right. A click
// on a head's tile selects that head for the single-head views.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "app.hpp"
#include "colormap.hpp"
#include "heatmap.hpp"
#include "imgui.h"
#include "view_matrices_catalog.hpp"

namespace attnviz::app {

namespace {

constexpr ImU32 kSelectedBorder = IM_COL32(255, 196, 64, 255);
constexpr ImU32 kTileBorder = IM_COL32(90, 90, 96, 255);

// The mean of the heads' weights is presentational averaging of the trace's numbers; it is kept
// for one trace so it is summed once per trace, not once per frame.
struct MeanCache {
    std::uint64_t version = ~std::uint64_t{0};  // state.trace_version it was made from
    Matrix weights;                              // (T, N) mean over heads of heads[h].weights (every head kept)
    BoolMatrix allowed;                          // (T, N) true where any head may attend
    double top = 1.0;                            // the colour scale's end: 1, or the largest kept weight (kRelativeWeightsAbove)
};

const MeanCache& mean_of_heads(const Trace& trace, std::uint64_t version) {
    static MeanCache cache;
    if (cache.version == version) return cache;
    cache.version = version;
    cache.top = 1.0;
    if (trace.N > kRelativeWeightsAbove) {
        float top = 0;
        for (const HeadTrace& head : trace.heads)
            for (float w : head.weights) top = std::max(top, w);
        cache.top = top > 0 ? top : 1.0;
    }
    cache.weights = Matrix();
    cache.allowed = BoolMatrix();
    if (trace.kept_head >= 0) return cache;  // a long sequence: one head's weights, no mean
    cache.weights = xt::zeros<float>(trace.heads[0].weights.shape());
    cache.allowed = xt::zeros<bool>(trace.heads[0].mask.shape());
    for (const HeadTrace& head : trace.heads) {
        cache.weights += head.weights;
        cache.allowed = cache.allowed || head.mask;
    }
    cache.weights /= static_cast<float>(trace.heads.size());
    return cache;
}

// The tile grid: as many columns as make the cells largest. A tile holds a title line, the axis
// labels (row labels `label_w` wide on the left, two lines of column labels on top) and the cells.
struct Grid {
    int cols = 1, rows = 1;
    ImVec2 tile;          // one tile's size, padding included
    float cell = 0;       // cell edge with axis labels
};

Grid best_grid(int tiles, int T, int N, ImVec2 region, float title_h, float label_w, float top, float pad) {
    Grid best;
    for (int c = 1; c <= tiles; ++c) {
        const int r = (tiles + c - 1) / c;
        const ImVec2 tile(region.x / c, region.y / r);
        const float cell = std::min((tile.x - 2 * pad - label_w) / std::max(N, 1), (tile.y - 2 * pad - title_h - top) / std::max(T, 1));
        if (c == 1 || cell > best.cell) best = {c, r, tile, cell};
    }
    return best;
}

void draw_shared_legend(ImVec2 at, float height, double top) {
    ImDrawList* draw = ImGui::GetWindowDrawList();
    constexpr int steps = 48;
    constexpr float bar_w = 12;
    for (int s = 0; s < steps; ++s) {
        const float t = 1.0f - (s + 0.5f) / steps;
        draw->AddRectFilled(ImVec2(at.x, at.y + s * height / steps), ImVec2(at.x + bar_w, at.y + (s + 1) * height / steps + 1),
                            to_abgr(viridis(t)));
    }
    const float line = ImGui::GetTextLineHeight();
    const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
    char label[16];
    std::snprintf(label, sizeof label, "%.2g", top);
    draw->AddText(ImVec2(at.x + bar_w + 4, at.y - line * 0.3f), text, label);
    draw->AddText(ImVec2(at.x + bar_w + 4, at.y + height - line * 0.7f), text, "0");
    draw->AddText(ImVec2(at.x, at.y + height + 4), ImGui::GetColorU32(ImGuiCol_TextDisabled), "weight");
}

}  // namespace

void view_heads(AppState& state) {
    if (!state.trace) return;
    const Trace& trace = *state.trace;
    const int H = static_cast<int>(trace.heads.size());
    const std::vector<std::string>& keys = trace.cross ? trace.source_tokens : trace.tokens;
    const bool keys_are_tokens = trace.N == static_cast<int>(keys.size());  // false with Linformer: keys are projections

    ImGui::TextWrapped("%d heads, each with its own Q, K, V of d_k = %d dimensions, each giving its own weights. "
                       "Click a head to select it (selected: head %d).",
                       H, trace.head_dim, state.selected_head);
    if (!keys_are_tokens) ImGui::TextDisabled("Linformer: the %d columns are projected keys, not tokens.", trace.N);
    const bool every_head = trace.kept_head < 0;  // a long sequence keeps one head's weights (Trace::kept_head)
    if (!every_head) {
        hint_text("Long sequence: only head %d's T×N matrices are kept (all %d would not fit the page's memory); "
                  "click a head to compute its weights.", trace.kept_head, H);
    }

    const float line = ImGui::GetTextLineHeight();
    const float title_h = line + 4;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float legend_w = ImGui::CalcTextSize("weight").x + 16;  // the shared legend's column, right of the grid
    const ImVec2 region(std::max(avail.x - legend_w, 60.0f), std::max(avail.y - 4, 60.0f));
    const int tiles = H + 1;  // every head, then the mean
    constexpr float pad = 6;

    // Axis labels only when a tile's cells are tall enough to read them.
    float label_w = 0;
    for (int i = 0; i < std::min(trace.T, 512); ++i) label_w = std::max(label_w, ImGui::CalcTextSize(trace.tokens[i].c_str()).x);
    label_w = std::min(label_w + 8, 110.0f);
    const Grid grid = best_grid(tiles, trace.T, trace.N, region, title_h, label_w, 2 * line + 4, pad);
    const bool labels = grid.cell >= line * 0.9f;
    const int cols = grid.cols;
    constexpr float max_cell = 64;  // a few tokens on a large screen: cells this large fill a tile
    // Rows only as tall as their cells need, so spare height collects below the grid, not between rows.
    const float bare_cell = std::min((grid.tile.x - 2 * pad) / std::max(trace.N, 1),
                                     (grid.tile.y - 2 * pad - title_h) / std::max(trace.T, 1));  // no room kept for labels
    const float cell = std::min(labels ? grid.cell : bare_cell, max_cell);
    const float needed_h = 2 * pad + title_h + (labels ? 2 * line + 4 : 0.0f) + trace.T * cell + 2;
    const ImVec2 tile(grid.tile.x, std::min(grid.tile.y, needed_h));

    const MeanCache& mean = mean_of_heads(trace, state.trace_version);
    ImDrawList* draw = ImGui::GetWindowDrawList();
    for (int t = 0; t < tiles; ++t) {
        const bool is_mean = t == H;
        const ImVec2 at(origin.x + (t % cols) * tile.x, origin.y + (t / cols) * tile.y);
        const ImVec2 inner(at.x + pad, at.y + pad);
        const ImVec2 inner_size(tile.x - 2 * pad, tile.y - 2 * pad - title_h);
        ImGui::SetCursorScreenPos(inner);
        ImGui::PushClipRect(at, ImVec2(at.x + tile.x, at.y + tile.y), true);  // a long title stops at its tile
        if (is_mean) {
            const std::string title = "mean of the " + std::to_string(H) + " heads' weights";
            const bool fits = ImGui::CalcTextSize(title.c_str()).x <= tile.x - 2 * pad;
            ImGui::TextUnformatted(fits ? title.c_str() : ("mean of " + std::to_string(H) + " heads").c_str());
        } else if (trace.heads[t].alibi_slope != 0) {
            ImGui::Text("head %d  (ALiBi m = %s)", t, format_value(trace.heads[t].alibi_slope).c_str());
        } else {
            ImGui::Text("head %d", t);
        }
        ImGui::PopClipRect();
        ImGui::SetCursorScreenPos(ImVec2(inner.x, inner.y + title_h));

        HeatmapSpec spec;
        const std::string id = is_mean ? "heads_mean" : "heads_tile_" + std::to_string(t);
        spec.id = id.c_str();
        spec.row_labels = &trace.tokens;
        spec.col_labels = keys_are_tokens ? &keys : nullptr;
        spec.col_axis = keys_are_tokens ? "key" : "projected key";
        spec.scale = ColorScale::sequential;
        spec.lo = 0.0;
        spec.hi = mean.top;
        spec.size = inner_size;
        spec.max_cell = max_cell;
        spec.legend = false;
        spec.axis_labels = labels;
        spec.version = state.trace_version;
        HeatmapEvents events;
        if (is_mean ? !every_head : !trace.keeps(t)) {  // not kept: a button that selects the head (and so computes it)
            const ImVec2 box(inner_size.x, std::max(inner_size.y - 4, line));
            if (ImGui::InvisibleButton(id.c_str(), box) && !is_mean) state.selected_head = t;
            const ImVec2 b0 = ImGui::GetItemRectMin(), b1 = ImGui::GetItemRectMax();
            draw->AddRectFilled(b0, b1, IM_COL32(40, 40, 46, 255));
            const char* note = is_mean ? "needs every head" : t == state.selected_head ? "computing…" : "click to compute";
            draw->AddText(ImVec2(b0.x + 6, b0.y + 6), ImGui::GetColorU32(ImGuiCol_TextDisabled), note);
            events.grid = {b0.x, b0.y, b1.x - b0.x, b1.y - b0.y};
        } else {
            events = is_mean ? heatmap(spec, mean.weights, &mean.allowed) : heatmap(spec, trace.heads[t].weights, &trace.heads[t].mask);
        }
        record_item(state, id.c_str());
        if (!is_mean && events.clicked) state.selected_head = t;

        const ImVec2 g0(events.grid.x, events.grid.y), g1(events.grid.x + events.grid.w, events.grid.y + events.grid.h);
        const bool selected = !is_mean && t == state.selected_head;
        draw->AddRect(ImVec2(g0.x - 3, g0.y - 3), ImVec2(g1.x + 3, g1.y + 3), selected ? kSelectedBorder : kTileBorder, 0, 0,
                      selected ? 3.0f : 1.0f);
    }
    const float legend_h = std::min(region.y * 0.6f, 220.0f);
    draw_shared_legend(ImVec2(origin.x + region.x + 14, origin.y + title_h + pad), legend_h, mean.top);
    ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + region.y));
    ImGui::Dummy(ImVec2(1, 1));
}

}  // namespace attnviz::app
