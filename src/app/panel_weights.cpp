// Weights panel: the selected head's softmax weights as a heatmap (queries down, keys
// across), token labels on both axes, viridis legend, masked cells grey and hatched.
#include <algorithm>
#include <cstdio>

#include "app.hpp"
#include "colormap.hpp"
#include "imgui.h"

namespace attnviz::app {

void panel_weights(AppState& state) {
    ImGui::SetNextWindowPos(ImVec2(10, 190), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(520, 500), ImGuiCond_FirstUseEver);
    ImGui::Begin("Attention weights");
    if (!state.trace) {
        ImGui::TextUnformatted("No trace yet.");
        ImGui::End();
        return;
    }
    const Trace& trace = *state.trace;
    const int head_count = static_cast<int>(trace.heads.size());
    ImGui::SliderInt("head", &state.selected_head, 0, head_count - 1);
    state.selected_head = std::clamp(state.selected_head, 0, head_count - 1);
    const HeadTrace& head = trace.heads[state.selected_head];
    const auto& weights = head.weights;  // (T, S)
    const auto& mask = head.mask;        // (T, S), true = allowed
    const auto& keys = trace.source_tokens.empty() ? trace.tokens : trace.source_tokens;
    const int rows = static_cast<int>(weights.shape(0)), cols = static_cast<int>(weights.shape(1));

    float label_width = 0;
    for (const auto& t : trace.tokens) label_width = std::max(label_width, ImGui::CalcTextSize(t.c_str()).x);
    label_width += 8;
    const float line = ImGui::GetTextLineHeight();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float cell = std::clamp(std::min((avail.x - label_width - 70) / cols, (avail.y - 3 * line - 10) / rows), 2.0f, 48.0f);

    ImDrawList* draw = ImGui::GetWindowDrawList();
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 grid(origin.x + label_width, origin.y + line + 4);

    for (int j = 0; j < cols; ++j) {  // key labels across the top, first letters when cells are narrow
        const char* label = keys[j].c_str();
        const float w = ImGui::CalcTextSize(label).x;
        if (w <= cell * 1.8f) draw->AddText(ImVec2(grid.x + j * cell + (cell - w) / 2, origin.y), IM_COL32(220, 220, 220, 255), label);
    }
    for (int i = 0; i < rows; ++i) {
        const char* label = trace.tokens[i].c_str();
        const float w = ImGui::CalcTextSize(label).x;
        if (cell >= line * 0.8f) draw->AddText(ImVec2(grid.x - w - 6, grid.y + i * cell + (cell - line) / 2), IM_COL32(220, 220, 220, 255), label);
        for (int j = 0; j < cols; ++j) {
            const ImVec2 a(grid.x + j * cell, grid.y + i * cell), b(a.x + cell, a.y + cell);
            if (mask(i, j)) {
                draw->AddRectFilled(a, b, to_abgr(viridis(weights(i, j))));
            } else {
                draw->AddRectFilled(a, b, IM_COL32(70, 70, 74, 255));
                draw->AddLine(ImVec2(a.x, b.y), ImVec2(b.x, a.y), IM_COL32(110, 110, 116, 255));
            }
        }
    }
    const ImVec2 grid_end(grid.x + cols * cell, grid.y + rows * cell);
    ImGui::SetCursorScreenPos(grid);
    ImGui::InvisibleButton("##grid", ImVec2(cols * cell, rows * cell));
    state.layout["weights_grid"] = {grid.x, grid.y, cols * cell, rows * cell};
    if (ImGui::IsItemHovered()) {
        const ImVec2 m = ImGui::GetIO().MousePos;
        const int i = std::clamp(static_cast<int>((m.y - grid.y) / cell), 0, rows - 1);
        const int j = std::clamp(static_cast<int>((m.x - grid.x) / cell), 0, cols - 1);
        ImGui::BeginTooltip();
        ImGui::Text("query %d \"%s\" → key %d \"%s\"", i, trace.tokens[i].c_str(), j, keys[j].c_str());
        if (mask(i, j)) ImGui::Text("weight = %.9g", static_cast<double>(weights(i, j)));
        else ImGui::TextUnformatted("masked: this key is hidden from this query");
        ImGui::EndTooltip();
    }

    // Legend: the viridis scale over the weights' range [0, 1].
    const ImVec2 legend(grid_end.x + 16, grid.y);
    const float legend_h = std::max(rows * cell, 60.0f);
    constexpr int steps = 32;
    for (int s = 0; s < steps; ++s) {
        const float t0 = 1.0f - static_cast<float>(s) / steps;
        draw->AddRectFilled(ImVec2(legend.x, legend.y + s * legend_h / steps),
                            ImVec2(legend.x + 12, legend.y + (s + 1) * legend_h / steps), to_abgr(viridis(t0)));
    }
    draw->AddText(ImVec2(legend.x + 16, legend.y - line / 2), IM_COL32(220, 220, 220, 255), "1");
    draw->AddText(ImVec2(legend.x + 16, legend.y + legend_h - line / 2), IM_COL32(220, 220, 220, 255), "0");
    ImGui::SetCursorScreenPos(ImVec2(origin.x, std::max(grid_end.y, legend.y + legend_h) + 8));
    ImGui::Text("head %d of %d · %d queries × %d keys · softmax(Q·Kᵀ/√d_k)", state.selected_head, head_count, rows, cols);
    ImGui::End();
}

}  // namespace attnviz::app
