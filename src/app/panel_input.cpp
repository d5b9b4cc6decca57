// Input panel: the sentence box, the source sentence for cross-attention, the progress of a
// long computation (with Cancel), and the tokens as numbered chips (hovering a chip highlights
// that token in the lines view).
#include <cmath>
#include <cstdio>
#include <string>

#include "app.hpp"
#include "imgui.h"
#include "misc/cpp/imgui_stdlib.h"

namespace attnviz::app {

void error_text(const std::string& message) {
    if (message.empty()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.54f, 0.5f, 1.0f));
    ImGui::TextWrapped("%s", message.c_str());
    ImGui::PopStyleColor();
}

namespace {

// What a pass is doing, for the progress bar: the RunJob stage in words, and the head.
std::string stage_label(const RunJob& job) {
    static const struct { const char* stage; const char* words; } kWords[] = {
        {"embed", "embeddings"},      {"positional", "positions"}, {"project", "projections"},
        {"scores", "scores"},         {"softmax", "softmax"},      {"weighted_sum", "weights·V"},
        {"output", "output projection"},
    };
    std::string label = job.stage();
    for (const auto& w : kWords)
        if (label == w.stage) label = w.words;
    if (job.head() >= 0) label += ", head " + std::to_string(job.head());
    return label;
}

// Shown once a pass has taken more than a frame: the last good view stays on screen meanwhile.
void computing_bar(AppState& state) {
    if (!state.job || state.job_frames < 2) return;
    const float cancel_w = ImGui::CalcTextSize("Cancel").x + 2 * ImGui::GetStyle().FramePadding.x;
    char overlay[96];
    std::snprintf(overlay, sizeof overlay, "%s — %d%%", stage_label(*state.job).c_str(),
                  static_cast<int>(state.job->progress() * 100));
    ImGui::ProgressBar(static_cast<float>(state.job->progress()), ImVec2(-cancel_w - ImGui::GetStyle().ItemSpacing.x, 0),
                       overlay);
    record_item(state, "progress_bar");
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) cancel_recompute(state);
    record_item(state, "cancel_button");
}

// The shipped model's download, after the page's first frame: received of total bytes.
void model_loading_bar(AppState& state) {
    const ModelState& m = state.model;
    if (!m.loading) return;
    char overlay[96];
    const double mb = m.received / 1e6;
    if (m.total > 0) std::snprintf(overlay, sizeof overlay, "Loading the trained model: %.1f of %.1f MB", mb, m.total / 1e6);
    else std::snprintf(overlay, sizeof overlay, "Loading the trained model: %.1f MB", mb);
    // without the file's size (a compressed transfer) the bar creeps towards its end
    const float fraction = m.total > 0 ? static_cast<float>(m.received / m.total) : static_cast<float>(1.0 - std::exp(-mb / 2.5));
    ImGui::ProgressBar(fraction, ImVec2(-1, 0), overlay);
    record_item(state, "model_progress");
}

void token_chips(AppState& state, const std::vector<std::string>& tokens, const char* id) {
    ImGui::PushID(id);
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string label = std::to_string(i) + " " + tokens[i];
        const float w = ImGui::CalcTextSize(label.c_str()).x + 2 * ImGui::GetStyle().FramePadding.x;
        if (i > 0) same_line_if_fits(w);
        ImGui::PushID(static_cast<int>(i));
        ImGui::SmallButton(label.c_str());
        if (ImGui::IsItemHovered()) state.hovered_token = static_cast<int>(i);
        ImGui::PopID();
    }
    ImGui::PopID();
}

}  // namespace

void panel_input(AppState& state) {
    model_picker(state);
    ImGui::TextUnformatted("Sentence");
    ImGui::SetNextItemWidth(-1);
    if (ImGui::InputText("##sentence", &state.text)) {
        state.config.tokens.reset();  // typing replaces imported tokens with the tokenizer's
        state.config.embeddings.reset();
        state.dirty = true;
    }
    record_text_field(state, "text_box", "##sentence", false);
    error_text(field_error(state, "text"));
    error_text(field_error(state, "tokens"));
    error_text(field_error(state, "embeddings"));

    if (state.source == Source::model && state.model.model && state.model.model->config.is_image()) {
        hint_text("The model open is an image model: it reads the image the Images view opened, not this text. Its tokens are "
                  "the class token and the patches, named by row and column.");
        if (ImGui::SmallButton("Back to the Images view")) {
            state.view = View::images;
            state.view_forced = true;
        }
    }
    if (state.source == Source::model) {  // the model reads one text; its download shows here until it is in
        model_loading_bar(state);
        if (field_error(state, "text").empty()) error_text(state.model.error);
    } else if (ImGui::Checkbox("Cross-attention", &state.cross)) state.dirty = true;
    if (state.source == Source::lab) {
        record_item(state, "cross_checkbox");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Queries from the sentence above; keys and values from a source sentence.");
    }
    if (state.cross && state.source == Source::lab) {
        ImGui::SetNextItemWidth(-1);
        if (ImGui::InputTextWithHint("##source", "source sentence", &state.source_text)) {
            state.config.source_tokens.reset();
            state.config.source_embeddings.reset();
            state.dirty = true;
        }
        record_text_field(state, "source_box", "##source", false);
        error_text(field_error(state, "source_text"));
        error_text(field_error(state, "source_tokens"));
    }

    const std::string& e = state.error;
    const bool placed = !field_error(state, "text").empty() || !field_error(state, "tokens").empty() ||
                        !field_error(state, "embeddings").empty() || !field_error(state, "source_text").empty() ||
                        !field_error(state, "source_tokens").empty();
    if (!e.empty() && !placed && state.presentation) error_text(e);  // controls are hidden: say it here
    computing_bar(state);

    if (!state.trace) return;
    ImGui::Separator();
    const char* note = !state.error.empty() ? " — last good input"
                       : state.job          ? " — computing the new input"
                       : state.cancelled    ? " — cancelled, previous input"
                                            : "";
    ImGui::Text("Tokens (%zu)%s", state.trace->tokens.size(), note);
    token_chips(state, state.trace->tokens, "tokens");
    if (state.trace->cross) {
        ImGui::Text("Source tokens (%zu)", state.trace->source_tokens.size());
        token_chips(state, state.trace->source_tokens, "source");
    }
}

}  // namespace attnviz::app
