// view_matrices — any matrix of the trace, large: pick it by name (and head), read its shape
// and range, zoom and pan in the heatmap, pin a query×key cell, export it as CSV.
#include <cmath>
#include <cstdio>
#include <string>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"
#include "page.hpp"
#include "view_matrices_catalog.hpp"

namespace attnviz::app {

namespace {

// The matrix picker: every name of the trace, those that do not apply to this config disabled.
void matrix_combo(AppState& state, const Trace& trace) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Matrix");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
    if (ImGui::BeginCombo("##matrix", state.matrix.c_str(), ImGuiComboFlags_HeightLarge)) {
        for (const char* name : matrix_names()) {
            const MatrixEntry m = find_matrix(trace, shown_head(state), name);
            ImGui::BeginDisabled(!m.applies());
            const std::string label = m.applies() ? std::string(name) : std::string(name) + "  (not in this configuration)";
            if (ImGui::Selectable(label.c_str(), state.matrix == name)) state.matrix = name;
            record_item(state, (std::string("matrix_item_") + name).c_str());
            ImGui::EndDisabled();
        }
        ImGui::EndCombo();
    }
    record_item(state, "matrix_combo");
}

}  // namespace

void view_matrices(AppState& state) {
    if (!state.trace) return;
    const Trace& trace = *state.trace;
    const MatrixEntry m = find_matrix(trace, shown_head(state), state.matrix);
    forget_layout(state, "matrix_");
    forget_layout(state, "matrices_");

    matrix_combo(state, trace);
    if (m.per_head) {
        // a phone's line has no room for both, nor has a wide one beside the trained model's layer selector
        if (!state.narrow && state.source != Source::model) ImGui::SameLine(0, 18);
        head_selector(state, "matrices");
    }
    if (m.applies()) {
        same_line_if_fits(ImGui::CalcTextSize("Export CSV").x + 2 * ImGui::GetStyle().FramePadding.x + 10);
        if (ImGui::Button("Export CSV")) {
            const std::string file = m.per_head ? std::string(m.name) + "-head" + std::to_string(shown_head(state)) : m.name;
            page_export_csv(file, exportable(m), m.row_labels, m.col_labels);
        }
        record_item(state, "matrix_export_csv");
    }

    if (m.name[0] == '\0') {
        ImGui::TextWrapped("\"%s\" is not a matrix of the trace. Pick one above.", state.matrix.c_str());
        return;
    }
    if (m.per_head) ImGui::TextWrapped("%s · head %d — %s", m.name, shown_head(state), m.meaning);
    else ImGui::TextWrapped("%s — %s", m.name, m.meaning);
    if (!m.applies()) {
        ImGui::TextDisabled("Not part of this configuration (the trace holds it as null).");
        return;
    }
    hint_text("shape %s (%s × %s) · %s: %s", shape_text(m).c_str(), m.row_axis, m.col_axis, m.is_mask ? "mask" : "range",
              range_text(m).c_str());

    // The width leaves the legend's numbers room (the widget reserves less than a long value needs).
    // Only query×key matrices have a cell the worked-out panel can explain.
    const bool query_key = std::string(m.row_axis) == "query";
    const HeatmapEvents events = draw_matrix(m, "matrices_view", ImVec2(ImGui::GetContentRegionAvail().x - 3 * ImGui::GetTextLineHeight(), 0),
                                             state.trace_version, query_key && state.pinned ? &*state.pinned : nullptr, true, 160.0f);
    state.layout["matrix_grid"] = events.grid;
    if (query_key && events.clicked) state.pinned = events.clicked;
    if (events.zoom > 1.0f) {  // which part of the matrix is on screen, since its labels may be off it
        const Rect& c = events.cells;
        char zoom[32], shown[96];
        std::snprintf(zoom, sizeof zoom, "%.1f×", events.zoom);
        std::snprintf(shown, sizeof shown, "%s %d–%d, %s %d–%d", m.row_axis, static_cast<int>(c.y), static_cast<int>(std::ceil(c.y + c.h)) - 1,
                      m.col_axis, static_cast<int>(c.x), static_cast<int>(std::ceil(c.x + c.w)) - 1);
        hint_text("zoom %s: %s shown · %s to reset", zoom, shown, state.touch ? "double-tap" : "double-click");
        state.readout["matrix_zoom"] = zoom;
        state.readout["matrix_shown"] = shown;
    }
}

}  // namespace attnviz::app
