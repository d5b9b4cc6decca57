// Model picker and panel: which model the views show (the trained model or the one-layer lab) and
// a model file of one's own, at the top of the Input panel; with the trained model chosen, the
// Controls panel shows its facts and the layer and head the per-head views show instead of the
// lab's options (which do not apply to it).
#include <cmath>
#include <cstdio>
#include <string>

#include "app.hpp"
#include "page.hpp"
#include "imgui.h"

namespace attnviz::app {

namespace {

std::string model_label(const ModelState& m) {
    if (!m.model) return m.loading ? "Trained model (loading…)" : "Trained model";
    return "Trained model: " + m.name;
}

// Radio buttons 0..n-1 on one line, wrapping when the panel is narrow; records "<name>_<i>".
bool index_buttons(AppState& state, const char* name, int& value, int n) {
    bool changed = false;
    ImGui::PushID(name);
    for (int i = 0; i < n; ++i) {
        const std::string label = std::to_string(i);
        const float w = ImGui::GetFrameHeight() + ImGui::CalcTextSize(label.c_str()).x + 2 * ImGui::GetStyle().ItemInnerSpacing.x;
        if (i > 0) same_line_if_fits(w);
        if (ImGui::RadioButton(label.c_str(), value == i)) {
            changed = value != i;
            value = i;
        }
        record_item(state, (std::string(name) + "_" + label).c_str());
    }
    ImGui::PopID();
    return changed;
}

}  // namespace

void model_picker(AppState& state) {
    ModelState& m = state.model;
    // one row: the picker, then "Open…"
    const float open_w = ImGui::CalcTextSize("Open…").x + 2 * ImGui::GetStyle().FramePadding.x;
    ImGui::SetNextItemWidth(-open_w - ImGui::GetStyle().ItemSpacing.x);
    const std::string current = state.source == Source::model ? model_label(m) : "One-layer lab (random weights)";
    if (ImGui::BeginCombo("##model", current.c_str())) {
        if (ImGui::Selectable(model_label(m).c_str(), state.source == Source::model)) set_source(state, Source::model);
        record_item(state, "model=model");
        if (ImGui::Selectable("One-layer lab (random weights)", state.source == Source::lab)) set_source(state, Source::lab);
        record_item(state, "model=lab");
        ImGui::EndCombo();
    }
    record_item(state, "model_combo");
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("The trained model: a 4-layer character transformer attnviz trained itself.\n"
                          "The lab: one attention layer with seeded random weights and every option.");
    ImGui::SameLine();
    if (ImGui::Button("Open…")) page_open_model_file();
    record_item(state, "open_model_button");
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("A .safetensors character model (attnviz's own or nanoGPT-shaped); you can also drop it on the page.\n"
                          "It is read here, in the page, and never sent anywhere.");
    error_text(m.load_error);
}

void panel_model(AppState& state) {
    ModelState& m = state.model;
    if (state.source != Source::model) return;
    if (!m.model) {
        if (m.loading) ImGui::TextWrapped("Loading the trained model…");
        return;
    }

    const ModelConfig& c = m.model->config;
    if (c.is_image())
        ImGui::TextWrapped("A Vision Transformer: %d×%d images in %d patches of %d×%d pixels plus a class token, %d layers, %d heads of "
                           "size %d, d_model %d, %d classes, learned positions, no mask.",
                           c.image_size, c.image_size, c.n_patches(), c.patch_size, c.patch_size, c.n_layer, c.n_head, c.n_embd / c.n_head,
                           c.n_embd, c.vocab_size);
    else ImGui::TextWrapped("%d layers, %d heads of size %d, d_model %d, context %d characters, vocabulary %d, %s positions%s%s.",
                       c.n_layer, c.n_head, c.n_embd / c.n_head, c.n_embd, c.block_size, c.vocab_size,
                       c.positions == Positions::rope ? "RoPE" : c.positions == Positions::alibi ? "ALiBi" : "learned",
                       c.tied ? ", unembedding tied to the embedding" : "", c.mlp ? "" : ", attention-only (no MLP)");
    ImGui::Spacing();
    ImGui::TextUnformatted("Layer");
    if (index_buttons(state, "layer", m.layer, c.n_layer)) state.pinned.reset();
    ImGui::TextUnformatted("Head");
    index_buttons(state, "head", state.selected_head, c.n_head);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
    ImGui::TextWrapped("The per-head views (Pipeline, Matrices, All heads, Lines) show this layer's attention.");
    ImGui::PopStyleColor();
    if (m.trace) {
        ImGui::Spacing();
        ImGui::TextDisabled("Model trace: %d tokens in %.1f ms", m.trace->T, m.trace_ms);
    }
}

}  // namespace attnviz::app
