// Input panel: the sentence box and its tokens as numbered chips.
#include "app.hpp"
#include "imgui.h"
#include "misc/cpp/imgui_stdlib.h"

namespace attnviz::app {

namespace {
Rect last_item_rect() {
    const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
    return {min.x, min.y, max.x - min.x, max.y - min.y};
}
}  // namespace

void panel_input(AppState& state) {
    ImGui::SetNextWindowPos(ImVec2(10, 10), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(520, 170), ImGuiCond_FirstUseEver);
    ImGui::Begin("Input");
    ImGui::TextUnformatted("Sentence");
    ImGui::SetNextItemWidth(-1);
    if (ImGui::InputText("##sentence", &state.text)) state.config_dirty = true;
    state.layout["text_box"] = last_item_rect();
    if (!state.error.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.54f, 0.5f, 1.0f));
        ImGui::TextWrapped("%s", state.error.c_str());
        ImGui::PopStyleColor();
    }
    if (state.trace) {
        ImGui::Text("Tokens (%zu)", state.trace->tokens.size());
        for (size_t i = 0; i < state.trace->tokens.size(); ++i) {
            if (i > 0) ImGui::SameLine();
            if (ImGui::GetCursorPosX() > ImGui::GetWindowContentRegionMax().x - 60) ImGui::NewLine();
            ImGui::PushID(static_cast<int>(i));
            ImGui::SmallButton((std::to_string(i) + " " + state.trace->tokens[i]).c_str());
            ImGui::PopID();
        }
    }
    ImGui::End();
}

}  // namespace attnviz::app
