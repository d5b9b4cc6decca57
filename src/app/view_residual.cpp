// view_residual — the residual stream of the trained model, layer by layer: how large it is at
// each position (its L2 norm) and what it already predicts (the logit lens: the model's final
// LayerNorm and unembedding applied to the residual after each layer). Every number is the
// core's (logit_lens); computed once per trace, when this view is first shown for it.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"

namespace attnviz::app {

namespace {

struct LensCache {
    std::weak_ptr<const ModelTrace> trace;  // the object, not its address (a freed trace's address can come back)
    LogitLens lens;
    Matrix norms;                      // (stages, T)
    std::vector<std::string> stages;   // "embeddings", "after layer 0", …
};

const LensCache& lens_of(const ModelState& m) {
    static LensCache cache;
    if (cache.trace.lock() == m.trace) return cache;
    cache.trace = m.trace;
    cache.lens = logit_lens(*m.model, *m.trace, m.packed.get());
    const std::size_t S = cache.lens.norm.size(), T = static_cast<std::size_t>(m.trace->T);
    cache.norms = Matrix::from_shape({S, T});
    cache.stages.clear();
    for (std::size_t s = 0; s < S; ++s) {
        for (std::size_t t = 0; t < T; ++t) cache.norms(s, t) = cache.lens.norm[s][t];
        cache.stages.push_back(s == 0 ? "embeddings" : "after layer " + std::to_string(s - 1));
    }
    return cache;
}

}  // namespace

void view_residual(AppState& state) {
    ModelState& m = state.model;
    if (state.source != Source::model || !m.trace || !m.model) {
        ImGui::TextWrapped("The residual stream belongs to the trained model: each layer adds its attention and its MLP to it.");
        if (state.source != Source::model && ImGui::Button("Use the trained model")) set_source(state, Source::model);
        return;
    }
    const ModelTrace& t = *m.trace;
    const LensCache& c = lens_of(m);
    const int S = static_cast<int>(c.stages.size());
    const ModelConfig& mc = m.model->config;
    ImGui::TextWrapped("Each position's vector travels up the layers; every layer adds its attention's%s output to it. Top: its "
                       "length (L2 norm) after each layer. Below: the logit lens, what the model would predict if it stopped "
                       "there (the final LayerNorm and unembedding applied early); the last column is the model's own "
                       "prediction.%s",
                       mc.mlp ? " and its MLP's" : "", mc.tied ? " The unembedding is the embedding itself (tied), so the embeddings' "
                                                                "row reads back each character itself." : "");

    HeatmapSpec spec;
    spec.id = "residual_norms";
    spec.row_labels = &c.stages;
    spec.col_labels = &t.tokens.text;
    spec.row_axis = "stage";
    spec.col_axis = "position";
    spec.scale = ColorScale::sequential;
    spec.lo = 0.0;
    spec.max_cell = 24;
    spec.version = state.trace_version;
    spec.size = ImVec2(ImGui::GetContentRegionAvail().x, std::min(S * 24.0f + 4 * ImGui::GetTextLineHeight(), 240.0f));
    heatmap(spec, c.norms);
    record_item(state, "residual_norms");

    ImGui::Spacing();
    // ScrollX: in large type (presentation) or a narrow pane the stages scroll sideways rather than
    // the last columns being cut
    const ImGuiTableFlags flags = ImGuiTableFlags_ScrollX | ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg |
                                  ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingFixedFit;
    if (!ImGui::BeginTable("##lens", 2 + S, flags, ImVec2(0, ImGui::GetContentRegionAvail().y))) return;
    ImGui::TableSetupScrollFreeze(2, 1);  // position and character stay while the stages scroll
    ImGui::TableSetupColumn("pos");
    ImGui::TableSetupColumn("char → next");
    for (int s = 0; s < S; ++s) ImGui::TableSetupColumn(s == 0 ? "embed" : s == S - 1 ? "model" : ("L" + std::to_string(s - 1)).c_str());
    ImGui::TableHeadersRow();
    ImGuiListClipper clipper;
    clipper.Begin(t.T);
    while (clipper.Step())
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::Text("%d", i);
            ImGui::TableNextColumn();
            const bool has_next = i + 1 < t.T;
            const std::string here = token_chip_text(t.tokens.text[i]), next = has_next ? token_chip_text(t.tokens.text[i + 1]) : "?";
            require_glyphs(here + next);
            ImGui::Text("%s → %s", here.c_str(), next.c_str());
            for (int s = 0; s < S; ++s) {
                ImGui::TableNextColumn();
                const int id = c.lens.top_id[s][i];
                const float p = c.lens.top_prob[s][i];
                const std::string guess = token_chip_text(m.model->vocab.tokens[id]);
                require_glyphs(guess);
                ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, IM_COL32(40, 70 + static_cast<int>(120 * p), 110, 255));
                const bool right = has_next && id == t.tokens.ids[i + 1];
                if (right) ImGui::TextColored(ImVec4(0.65f, 1.0f, 0.65f, 1.0f), "%s %2.0f%%", guess.c_str(), 100.0 * p);
                else ImGui::Text("%s %2.0f%%", guess.c_str(), 100.0 * p);
                if (ImGui::IsItemHovered())
                    ImGui::SetTooltip("%s, position %d: top next \"%s\" with p = %.4f; residual norm %.3f%s", c.stages[s].c_str(), i,
                                      m.model->vocab.tokens[id].c_str(), p, c.lens.norm[s][i], right ? " (the actual next)" : "");
            }
        }
    ImGui::EndTable();
    // the last position's read-outs, for the tests: [[token, p], …] per stage
    nlohmann::json lens_last = nlohmann::json::array();
    for (int s = 0; s < S; ++s) {
        char p[32];
        std::snprintf(p, sizeof p, "%.4f", c.lens.top_prob[s][t.T - 1]);
        lens_last.push_back({m.model->vocab.tokens[c.lens.top_id[s][t.T - 1]], p});
    }
    state.readout["lens_last"] = lens_last.dump();
}

}  // namespace attnviz::app
