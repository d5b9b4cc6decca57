// Predictions view: what the trained model expects next at every position of the text. A strip
// of the text's characters, each coloured by the model's surprise at it (the loss of predicting
// it from the characters before), and for the chosen position the five most likely next
// characters with their probabilities, the actual next one marked. Every number is the core's
// (ModelTrace::predictions); the view only formats them.
#include <algorithm>
#include <cstdarg>
#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"

namespace attnviz::app {

namespace {

// A remark in the disabled colour, wrapped to the view's width (a phone's included).
void note(const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
    ImGui::TextWrappedV(fmt, args);
    ImGui::PopStyleColor();
    va_end(args);
}


// A character in the table of predictions, where a dot could be mistaken for a full stop.
std::string named(const std::string& token) {
    if (token == " ") return "space";
    if (token == "\n") return "newline";
    if (token == "\t") return "tab";
    return token;
}

// Loss (nats) → chip colour: dark green at 0 (the model was sure), through amber, to red at 6+.
ImVec4 loss_colour(float loss) {
    const float x = std::clamp(loss / 6.0f, 0.0f, 1.0f);
    return x < 0.5f ? ImVec4(0.16f + 1.1f * x, 0.45f, 0.22f, 1.0f) : ImVec4(0.71f, 0.45f - 0.6f * (x - 0.5f), 0.22f - 0.2f * (x - 0.5f), 1.0f);
}

// The tail of the text up to and including position `pos`, for a sentence about it.
std::string context_tail(const ModelTrace& t, int pos, int chars) {
    std::string out;
    for (int i = std::max(1, pos - chars + 1); i <= pos; ++i) out += t.tokens.text[i];
    return (pos - chars + 1 > 1 ? "…" : "") + out;
}

void strip(AppState& state, const ModelTrace& t, int selected) {
    const Predictions& p = t.predictions;
    ImGui::PushStyleVar(ImGuiStyleVar_ItemSpacing, ImVec2(3, 4));
    for (int i = 0; i < t.T; ++i) {
        const std::string label = token_chip_text(t.tokens.text[i]);
        require_glyphs(label);
        const float w = std::max(ImGui::CalcTextSize(label.c_str()).x + 2 * ImGui::GetStyle().FramePadding.x, ImGui::GetFrameHeight());
        if (i > 0) same_line_if_fits(w);
        const bool scored = i >= 1 && i - 1 < static_cast<int>(p.losses.size());
        const ImVec4 colour = scored ? loss_colour(p.losses[i - 1]) : ImVec4(0.3f, 0.3f, 0.34f, 1.0f);
        ImGui::PushStyleColor(ImGuiCol_Button, colour);
        ImGui::PushStyleColor(ImGuiCol_ButtonHovered, ImVec4(colour.x + 0.12f, colour.y + 0.12f, colour.z + 0.12f, 1.0f));
        if (i == selected) ImGui::PushStyleVar(ImGuiStyleVar_FrameBorderSize, 2.0f);
        ImGui::PushID(i);
        if (ImGui::Button(label.c_str(), ImVec2(w, 0))) state.model.selected_position = i;
        ImGui::PopID();
        if (i == selected) ImGui::PopStyleVar();
        ImGui::PopStyleColor(2);
        if (t.intact && t.intact->top_ids[i][0] != p.top_ids[i][0]) {  // the guess after this character changed
            const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
            ImGui::GetWindowDrawList()->AddLine(ImVec2(a.x, b.y + 1), ImVec2(b.x, b.y + 1), IM_COL32(255, 184, 128, 255), 2.0f);
        }
        record_item(state, ("pred_chip_" + std::to_string(i)).c_str());
        if (ImGui::IsItemHovered()) {
            if (scored)
                ImGui::SetTooltip("position %d: \"%s\" had probability %.4f after the text before it (loss %.3f nats)\nclick: what the model predicts after it",
                                  i, t.tokens.text[i].c_str(), std::exp(-p.losses[i - 1]), p.losses[i - 1]);
            else
                ImGui::SetTooltip("position %d: %s\nclick: what the model predicts after it", i,
                                  t.tokens.unknown[i] ? "a character outside the vocabulary (the unknown token)" : t.tokens.text[i].c_str());
        }
    }
    ImGui::PopStyleVar();
}

void top_table(AppState& state, const ModelTrace& t, const Model& model, int pos) {
    const Predictions& p = t.predictions;
    const bool has_next = pos + 1 < t.T;
    const std::string actual = has_next ? t.tokens.text[pos + 1] : "";
    ImGui::TextWrapped("After \"%s\" (position %d), the model predicts:", context_tail(t, pos, 24).c_str(), pos);
    state.readout["pred_position"] = std::to_string(pos);
    // the table exactly as wide as the view; fixed widths for the character and the mark, the bars take the rest
    if (!ImGui::BeginTable("##top", 3, ImGuiTableFlags_RowBg, ImVec2(ImGui::GetContentRegionAvail().x, 0))) return;
    ImGui::TableSetupColumn("next", ImGuiTableColumnFlags_WidthFixed, ImGui::CalcTextSize("newline").x);
    ImGui::TableSetupColumn("probability", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed, ImGui::CalcTextSize("← actual").x);
    ImGui::TableHeadersRow();
    nlohmann::json readout = nlohmann::json::array();  // [[token, probability as printed], …]
    for (std::size_t k = 0; k < p.top_ids[pos].size(); ++k) {
        const std::string& token = model.vocab.tokens[p.top_ids[pos][k]];
        const float prob = p.top_probs[pos][k];
        const std::string label = named(token);
        require_glyphs(label);
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(label.c_str());
        ImGui::TableNextColumn();
        char overlay[32];
        std::snprintf(overlay, sizeof overlay, "%.2f%%", 100.0 * prob);
        ImGui::ProgressBar(prob, ImVec2(-1, 0), overlay);
        ImGui::TableNextColumn();
        const bool is_actual = has_next && token == actual && !t.tokens.unknown[pos + 1];
        if (is_actual) ImGui::TextColored(ImVec4(0.6f, 0.85f, 0.6f, 1.0f), "← actual");
        char printed[32];
        std::snprintf(printed, sizeof printed, "%.4f", prob);
        readout.push_back({token, printed});
    }
    ImGui::EndTable();
    state.readout["pred_top"] = readout.dump();
    if (t.intact) {  // what the intact model predicted here
        std::string intact;
        for (std::size_t k = 0; k < std::min<std::size_t>(3, t.intact->top_ids[pos].size()); ++k) {
            char entry[64];
            std::snprintf(entry, sizeof entry, "%s\"%s\" %.1f%%", k ? ", " : "", named(model.vocab.tokens[t.intact->top_ids[pos][k]]).c_str(),
                          100.0 * t.intact->top_probs[pos][k]);
            intact += entry;
        }
        note("Intact model here: %s", intact.c_str());
    }
    if (has_next) {
        const float loss = p.losses[pos];
        ImGui::TextWrapped("The actual next character, \"%s\", had probability %.4f: a loss of %.3f nats (%.2f bits).",
                           named(actual).c_str(), std::exp(-loss), loss, loss / std::log(2.0));
        if (t.intact)
            note("Intact model: loss %.3f nats (%+.3f with the switches off).", t.intact->losses[pos], loss - t.intact->losses[pos]);
        char value[32];
        std::snprintf(value, sizeof value, "%.4f", loss);
        state.readout["pred_loss"] = value;
    } else {
        note("The text ends here: this is the model's guess for the next character you type.");
        state.readout["pred_loss"] = "";
    }
}

// What is switched off, in words: "layer 1 head 1, layer 2's MLP".
std::string ablation_text(const Ablation& a) {
    std::string out;
    const auto add = [&out](const std::string& s) { out += (out.empty() ? "" : ", ") + s; };
    for (const auto& [l, h] : a.heads) add("layer " + std::to_string(l) + " head " + std::to_string(h));
    for (int l : a.attention) add("layer " + std::to_string(l) + "'s attention");
    for (int l : a.mlp) add("layer " + std::to_string(l) + "'s MLP");
    return out;
}

// The change from the intact model: mean loss before and after, how many top predictions changed.
void ablation_summary(AppState& state, const ModelTrace& t) {
    if (!t.intact) return;
    const Predictions& p = t.predictions;
    const Predictions& intact = *t.intact;
    int changed = 0;
    for (std::size_t i = 0; i < p.top_ids.size(); ++i) changed += p.top_ids[i][0] != intact.top_ids[i][0];
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.72f, 0.5f, 1.0f));
    ImGui::TextWrapped("Switched off: %s. Mean loss %.3f → %.3f nats (%+.3f); the most likely next character changed at %d of %d positions "
                       "(underlined).",
                       ablation_text(t.ablation).c_str(), intact.mean_loss, p.mean_loss, p.mean_loss - intact.mean_loss, changed,
                       static_cast<int>(p.top_ids.size()));
    ImGui::PopStyleColor();
    char delta[32];
    std::snprintf(delta, sizeof delta, "%.4f", p.mean_loss - intact.mean_loss);
    state.readout["pred_loss_change"] = delta;
    state.readout["pred_changed"] = std::to_string(changed);
    if (ImGui::Button("Restore every head")) clear_ablation(state);
    record_item(state, "restore_button");
}

// Continue: N characters, greedy or sampled, one a frame (each with its attention, below).
void continue_row(AppState& state) {
    ModelState& m = state.model;
    if (m.generate_left > 0) {
        if (ImGui::Button("Stop")) stop_generating(state);
        record_item(state, "stop_button");
        ImGui::SameLine();
        ImGui::Text("generating… %d left", m.generate_left);
    } else {
        if (ImGui::Button("Continue")) start_generating(state);
        record_item(state, "continue_button");
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Append characters the model predicts, one at a time");
    }
    const float w = ImGui::GetFontSize() * 5.5f;
    const ImGuiStyle& style = ImGui::GetStyle();
    // the next widget on this line if it fits (a phone's width takes them one per line)
    const auto beside = [&style](const char* label, float width) {
        same_line_if_fits(width + style.ItemInnerSpacing.x + ImGui::CalcTextSize(label).x);
    };
    beside("chars", w);
    ImGui::SetNextItemWidth(w);
    ImGui::InputInt("chars", &m.generate_count, 1, 10);
    m.generate_count = std::clamp(m.generate_count, 1, 512);
    record_text_field(state, "generate_count", "chars", true);
    beside("temperature", w);
    ImGui::SetNextItemWidth(w);
    ImGui::SliderFloat("temperature", &m.temperature, 0.0f, 2.0f, m.temperature == 0 ? "0 (greedy)" : "%.2f");
    record_item(state, "temperature_slider");
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("0: always the most likely character. Above 0: a draw from the probabilities sharpened (< 1) or flattened (> 1)");
    if (m.temperature > 0) {
        beside("seed", w);
        ImGui::SetNextItemWidth(w);
        ImGui::InputScalar("seed", ImGuiDataType_U64, &m.seed);
        record_text_field(state, "generate_seed", "seed", false);
    }
    if (!m.generated.empty()) {
        std::string shown_text;
        for (char c : m.generated) shown_text += c == '\n' ? std::string("↵") : std::string(1, c);
        require_glyphs(shown_text);
        ImGui::TextWrapped("Generated: \"%s\"", shown_text.c_str());
    }
}

// What the last character attends to, in every layer and head: one row each, over the text.
void last_attention(AppState& state, const ModelTrace& t) {
    if (t.layers.empty()) return;
    const int L = static_cast<int>(t.layers.size()), H = static_cast<int>(t.layers[0].attention.heads.size()), T = t.T;
    static Matrix rows;
    static BoolMatrix allowed;
    static std::vector<std::string> labels;
    static std::uint64_t made_for = ~std::uint64_t{0};
    if (made_for != state.trace_version) {
        made_for = state.trace_version;
        rows = Matrix::from_shape({static_cast<std::size_t>(L * H), static_cast<std::size_t>(T)});
        allowed = BoolMatrix::from_shape(rows.shape());
        labels.clear();
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < H; ++h) {
                const HeadTrace& head = t.layers[l].attention.heads[h];
                for (int j = 0; j < T; ++j) {
                    rows(l * H + h, j) = head.weights(T - 1, j);
                    allowed(l * H + h, j) = head.mask(T - 1, j);
                }
                labels.push_back("L" + std::to_string(l) + " H" + std::to_string(h));
            }
    }
    ImGui::Spacing();
    ImGui::TextWrapped("What the last character, \"%s\", looks at in each layer and head (one row each; bright: more weight):",
                       t.tokens.text[T - 1].c_str());
    HeatmapSpec spec;
    spec.id = "pred_last_attention";
    spec.row_labels = &labels;
    spec.col_labels = &t.tokens.text;
    spec.row_axis = "layer, head";
    spec.scale = ColorScale::sequential;
    spec.lo = 0.0;
    spec.hi = 1.0;
    spec.max_cell = 22;
    spec.version = state.trace_version;
    const float rows_h = (L * H) * 22.0f + 3 * ImGui::GetTextLineHeight();
    spec.size = ImVec2(ImGui::GetContentRegionAvail().x, std::min(rows_h, std::max(ImGui::GetContentRegionAvail().y, 120.0f)));
    heatmap(spec, rows, &allowed);
    record_item(state, "pred_last_attention");
}

}  // namespace

std::string token_chip_text(const std::string& token) {
    if (token == " ") return "·";
    if (token == "\n") return "↵";
    if (token == "\t") return "⇥";
    return token;
}

void view_predictions(AppState& state) {
    ModelState& m = state.model;
    if (state.source != Source::model) {
        ImGui::TextWrapped("Predictions come from the trained model, which reads the text and guesses each next character. "
                           "The one-layer lab has random weights and makes no predictions.");
        if (ImGui::Button("Use the trained model")) set_source(state, Source::model);
        record_item(state, "use_model_button");
        return;
    }
    if (!m.trace || !m.model) {
        ImGui::TextWrapped("%s", m.loading             ? "Loading the trained model…"
                                 : !m.load_error.empty() ? m.load_error.c_str()
                                                         : "Type a text: the model's predictions appear here.");
        return;
    }
    const ModelTrace& t = *m.trace;
    const Predictions& p = t.predictions;
    if (m.model->config.is_image()) {  // an image model: the class token's answer, and each patch token's own guess
        ImGui::TextWrapped("This model classifies an image: the class token's answer after the last layer.");
        for (std::size_t k = 0; k < p.class_probs.size(); ++k) {
            char label[96];
            std::snprintf(label, sizeof label, "%s%s %.1f %%", m.model->vocab.tokens[k].c_str(), static_cast<int>(k) == m.image_label ? " (true)" : "",
                          100.0 * p.class_probs[k]);
            ImGui::ProgressBar(p.class_probs[k], ImVec2(std::min(ImGui::GetContentRegionAvail().x, 360.0f), 0), label);
        }
        if (t.intact) {
            const auto& whole = t.intact->class_probs;
            const int was = static_cast<int>(std::max_element(whole.begin(), whole.end()) - whole.begin());
            ImGui::TextWrapped("With the switches off. The whole model says %s (%.1f %%).", m.model->vocab.tokens[was].c_str(), 100.0 * whole[was]);
        }
        ImGui::Spacing();
        ImGui::TextWrapped("Each patch token read out by the final LayerNorm and the head, as if it were the class token:");
        for (int i = 1; i < t.T; ++i) {
            char chip[96];
            std::snprintf(chip, sizeof chip, "%s: %s", t.tokens.text[i].c_str(), m.model->vocab.tokens[p.top_ids[i][0]].c_str());
            if (i > 1) same_line_if_fits(ImGui::CalcTextSize(chip).x + 2 * ImGui::GetStyle().FramePadding.x);
            ImGui::SmallButton(chip);
        }
        return;
    }
    const int pos = std::clamp(m.selected_position < 0 ? t.T - 1 : m.selected_position, 0, t.T - 1);
    char mean[32];
    std::snprintf(mean, sizeof mean, "%.4f", p.mean_loss);
    state.readout["pred_mean_loss"] = mean;
    if (!p.losses.empty())
        ImGui::TextWrapped("Mean loss %.3f nats per character over %zu predictions (%.2f bits). Each character's colour is "
                           "the model's surprise at it: green sure, red surprised. Click one for what the model predicts after it.",
                           p.mean_loss, p.losses.size(), p.mean_loss / std::log(2.0));
    continue_row(state);
    ablation_summary(state, t);
    if (!t.intact) state.readout.erase("pred_loss_change");
    ImGui::Spacing();
    strip(state, t, pos);
    ImGui::Spacing();
    ImGui::Separator();
    top_table(state, t, *m.model, pos);
    last_attention(state, t);
}

}  // namespace attnviz::app
