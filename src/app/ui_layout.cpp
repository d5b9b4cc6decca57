// The frame's windows: a toolbar on top, input and controls on the left, the views' tabs in
// the centre, the worked-out cell and the lesson on the right. Positions and sizes follow the
// canvas every frame, so the layout fits any window (1280×720 and 1920×1080 included) without
// overlap and follows resizes.
#include <algorithm>

#include "app.hpp"
#include "app_state.hpp"
#include "imgui.h"
#include "imgui_internal.h"  // ClearActiveID
#include "page.hpp"

namespace attnviz::app {

namespace {

constexpr ImGuiWindowFlags kFixed = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                    ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;

// Places the next window and records its rectangle as "window:<name>" (tests check overlap).
void place(AppState& state, const char* name, float x, float y, float w, float h) {
    w = std::max(w, 50.0f);
    h = std::max(h, 20.0f);
    ImGui::SetNextWindowPos(ImVec2(x, y), ImGuiCond_Always);
    ImGui::SetNextWindowSize(ImVec2(w, h), ImGuiCond_Always);
    state.layout[std::string("window:") + name] = {x, y, w, h};
}

void toolbar(AppState& state) {
    ImGui::TextUnformatted("attnviz");
    ImGui::SameLine();
    ImGui::TextDisabled("every number of attention");
    ImGui::SameLine(0, 24);
    if (ImGui::Button(state.lesson.lesson >= 0 ? "Close lesson" : "Lessons")) {
        state.lesson.lesson = state.lesson.lesson >= 0 ? -1 : 0;
        state.lesson.step = 0;
        state.lesson.applied = -1;
    }
    record_item(state, "lessons_button");
    ImGui::SameLine();
    if (ImGui::Button(state.presentation ? "Leave presentation" : "Presentation")) state.presentation = !state.presentation;
    record_item(state, "presentation_button");
    ImGui::SameLine();
    if (ImGui::Button("Copy link")) page_copy_link(state);
    record_item(state, "share_button");
    ImGui::SameLine();
    if (ImGui::Button("Export trace")) page_export_trace(state);
    record_item(state, "export_trace_button");
    ImGui::SameLine();
    if (ImGui::Button("Export PNG")) page_export_png();
    record_item(state, "export_png_button");
    ImGui::SameLine();
    if (ImGui::Button("Import…")) page_open_import();
    record_item(state, "import_button");
    if (const std::string& note = page_notice(); !note.empty()) {
        ImGui::SameLine(0, 16);
        ImGui::TextColored(ImVec4(0.6f, 0.85f, 0.6f, 1.0f), "%s", note.c_str());
    }
}

}  // namespace

void record_item(AppState& state, const char* name) {
    const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
    state.layout[name] = {min.x, min.y, max.x - min.x, max.y - min.y};
}

void draw_ui(AppState& state) {
    ImGuiIO& io = ImGui::GetIO();
    for (auto it = state.layout.begin(); it != state.layout.end();)  // windows hidden this frame must not linger
        it = it->first.rfind("window:", 0) == 0 ? state.layout.erase(it) : std::next(it);
    if (state.reset_widgets) {  // an active text field would otherwise write its old text back
        ImGui::ClearActiveID();
        state.reset_widgets = false;
    }
    state.hovered_token = -1;  // set again by whichever widget is under the mouse this frame
    state.readout.clear();     // refilled by the views drawn this frame
    const float W = io.DisplaySize.x, H = io.DisplaySize.y;
    const float gap = 6;
    const float bar_h = ImGui::GetFrameHeight() + 2 * ImGui::GetStyle().WindowPadding.y;
    const bool lesson_open = state.lesson.lesson >= 0;
    // Presentation mode hides the controls, so the left column only holds the sentence and
    // gives its width to the views; the right column widens for the larger lesson text.
    const float left_w = state.presentation ? std::clamp(W * 0.2f, 240.0f, 420.0f) : std::clamp(W * 0.27f, 300.0f, 460.0f);
    const float right_w = std::clamp(W * 0.25f, 280.0f, 440.0f) * (state.presentation ? 1.15f : 1.0f);
    const float body_y = bar_h + gap, body_h = H - body_y - gap;
    const float centre_x = left_w + 2 * gap, centre_w = W - left_w - right_w - 4 * gap;

    place(state, "toolbar", gap, 0, W - 2 * gap, bar_h);
    ImGui::Begin("##toolbar", nullptr, kFixed | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoScrollbar);
    toolbar(state);
    ImGui::End();

    // Left: the sentence, then (outside presentation mode) every option of the engine.
    const float input_h = state.presentation ? body_h : std::min(body_h * 0.38f, 260.0f);
    place(state, "input", gap, body_y, left_w, input_h);
    ImGui::Begin("Input", nullptr, kFixed);
    panel_input(state);
    ImGui::End();
    if (!state.presentation) {
        place(state, "controls", gap, body_y + input_h + gap, left_w, body_h - input_h - gap);
        ImGui::Begin("Controls", nullptr, kFixed);
        panel_controls(state);
        ImGui::End();
    }

    // Centre: the views.
    place(state, "views", centre_x, body_y, centre_w, body_h);
    ImGui::Begin("Views", nullptr, kFixed | ImGuiWindowFlags_NoTitleBar);
    if (ImGui::BeginTabBar("views")) {
        struct Tab { View view; const char* label; void (*draw)(AppState&); };
        static const Tab tabs[] = {
            {View::pipeline, "Pipeline", view_pipeline}, {View::matrices, "Matrices", view_matrices},
            {View::heads, "All heads", view_heads},      {View::lines, "Lines", view_lines},
            {View::compare, "Compare", view_compare},
        };
        for (const Tab& tab : tabs) {
            // A tab is selected by the user's click or, for one frame, by state.view (URL, lesson, setState).
            const bool force = state.view == tab.view && state.view_forced;
            if (ImGui::BeginTabItem(tab.label, nullptr, force ? ImGuiTabItemFlags_SetSelected : 0)) {
                if (!state.view_forced) state.view = tab.view;
                ImGui::BeginChild("##view");
                tab.draw(state);
                ImGui::EndChild();
                ImGui::EndTabItem();
            }
            record_item(state, (std::string("tab_") + view_name(tab.view)).c_str());
        }
        state.view_forced = false;
        ImGui::EndTabBar();
    }
    ImGui::End();

    // Right: the lesson (when one is open) above the worked-out cell.
    const float lesson_h = lesson_open ? body_h * (state.presentation ? 0.6f : 0.45f) : 0.0f;
    if (lesson_open) {
        place(state, "lesson", W - right_w - gap, body_y, right_w, lesson_h);
        ImGui::Begin("Lesson", nullptr, kFixed);
        panel_lesson(state);
        ImGui::End();
    }
    const float cell_y = body_y + (lesson_open ? lesson_h + gap : 0.0f);
    place(state, "cell", W - right_w - gap, cell_y, right_w, body_y + body_h - cell_y);
    ImGui::Begin("One cell, worked out", nullptr, kFixed);
    panel_cell(state);
    ImGui::End();
}

}  // namespace attnviz::app
