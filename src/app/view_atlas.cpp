// view_atlas — every head of every layer of the trained model, as small multiples on the text.
//
// Rows are layers, columns heads; each tile is that head's weights on the current text with its
// role: the largest of the core's role scores (head_roles: previous-token, first-token/sink,
// self, induction) on this text, or "broad" when none reaches kRoleAt, beside the same score on
// the core's standard probe (a random sequence repeated twice, where induction is measurable).
// A click on a tile selects its layer and head for every per-head view and opens the pipeline.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"

namespace attnviz::app {

namespace {

constexpr double kRoleAt = 0.3;  // a score below this on every role: the head attends broadly
constexpr ImU32 kSelectedBorder = IM_COL32(255, 196, 64, 255);
constexpr ImU32 kTileBorder = IM_COL32(90, 90, 96, 255);

struct Role {
    const char* name = "broad";
    double score = 0;      // on the current text (for "broad": the mean distance)
    double probe = -1;     // the same role's score on the standard probe, -1 if not computed
};

double role_score(const HeadRoles& r, const char* name) {
    const std::string n = name;
    return n == "previous-token" ? r.previous_token : n == "first-token" ? r.first_token : n == "self" ? r.self
           : n == "induction"    ? r.induction
                                 : r.mean_distance;
}

Role role_of(const HeadRoles& text, const HeadRoles* probe) {
    Role best;
    for (const char* name : {"previous-token", "first-token", "self", "induction"}) {
        const double s = role_score(text, name);
        if (s >= kRoleAt && s > (std::string(best.name) == "broad" ? 0.0 : best.score)) best = {name, s};
    }
    if (std::string(best.name) == "broad") best.score = text.mean_distance;
    if (probe) best.probe = role_score(*probe, best.name);
    return best;
}

// Roles of every head on the text (per model trace) and on the standard probe (per model).
// Keyed on the objects (weak_ptr), not their addresses: a later trace may be allocated where a
// freed one was.
struct RoleCache {
    std::weak_ptr<const ModelTrace> trace;
    std::weak_ptr<const Model> model;
    std::vector<std::vector<HeadRoles>> text, probe;
};

const RoleCache& roles(const ModelState& m) {
    static RoleCache cache;
    if (cache.model.lock() != m.model) {
        cache.model = m.model;
        Expected<std::vector<std::vector<HeadRoles>>> probe = probe_head_roles(*m.model);
        cache.probe = probe ? probe.value() : std::vector<std::vector<HeadRoles>>{};
        cache.trace.reset();
    }
    if (cache.trace.lock() != m.trace) {
        cache.trace = m.trace;
        cache.text.clear();
        // an image's tokens have no ids: each patch counts as its own token (no repeats, so no induction);
        // "previous token" is then the patch before in raster order, "first token" the class token
        std::vector<int> ids = m.trace->tokens.ids;
        if (m.model->config.is_image())
            for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
        for (const LayerTrace& layer : m.trace->layers) {
            cache.text.emplace_back();
            for (const HeadTrace& head : layer.attention.heads) cache.text.back().push_back(head_roles(head.weights, ids));
        }
    }
    return cache;
}

// The role's score line under its name: on this text, then on the probe.
std::string score_text(const Role& r) {
    char text[96];
    if (std::string(r.name) == "broad") std::snprintf(text, sizeof text, "distance %.1f", r.score);
    else if (r.probe >= 0) std::snprintf(text, sizeof text, "%.2f · probe %.2f", r.score, r.probe);
    else std::snprintf(text, sizeof text, "%.2f", r.score);
    return text;
}

}  // namespace

void view_atlas(AppState& state) {
    ModelState& m = state.model;
    if (state.source != Source::model || !m.trace || !m.model) {
        ImGui::TextWrapped("The atlas shows every head of every layer of the trained model.");
        if (state.source != Source::model && ImGui::Button("Use the trained model")) set_source(state, Source::model);
        return;
    }
    const ModelTrace& t = *m.trace;
    const RoleCache& r = roles(m);
    const int L = static_cast<int>(t.layers.size()), H = L ? static_cast<int>(t.layers[0].attention.heads.size()) : 0;
    ImGui::TextWrapped("Every head of every layer on the text: rows are layers, columns heads. Each is labelled with its "
                       "strongest role on this text (and on a random sequence repeated twice, the probe). Click one to "
                       "show it in every view; untick \"on\" to switch a head off (or a layer's attention or MLP) and see "
                       "what the predictions lose.");
    if (!m.ablation.empty()) {
        if (ImGui::Button("Restore every head")) clear_ablation(state);
        record_item(state, "restore_button");
    }
    const float line = ImGui::GetTextLineHeight();
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    constexpr float pad = 5;
    const float label_w = ImGui::GetFrameHeight() + ImGui::CalcTextSize("attn ").x + ImGui::GetStyle().ItemInnerSpacing.x + 8;
    const float tile_w = std::max((avail.x - label_w) / std::max(H, 1), 60.0f);
    const float title_h = 3 * line + 6;
    const float cells = std::min(tile_w - 2 * pad, std::max((avail.y - 4) / std::max(L, 1) - title_h - 2 * pad, 40.0f));
    const float tile_h = title_h + cells + 2 * pad;
    ImDrawList* draw = ImGui::GetWindowDrawList();
    for (int l = 0; l < L; ++l) {
        // the row's label, and its attention and MLP switches
        ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + l * tile_h + title_h + pad));
        ImGui::Text("layer %d", l);
        ImGui::PushID(l);
        for (const char* part : {"attention", "mlp"}) {
            if (std::string(part) == "mlp" && !m.model->config.mlp) continue;  // attention-only
            const auto& list = std::string(part) == "attention" ? m.ablation.attention : m.ablation.mlp;
            bool on = std::find(list.begin(), list.end(), l) == list.end();
            ImGui::SetCursorScreenPos(ImVec2(origin.x, ImGui::GetCursorScreenPos().y));
            if (ImGui::Checkbox(std::string(part) == "attention" ? "attn" : "MLP", &on)) toggle_ablation(state, l, -1, part);
            record_item(state, ("atlas_" + std::string(part) + "_" + std::to_string(l)).c_str());
            if (ImGui::IsItemHovered())
                ImGui::SetTooltip("Untick to switch layer %d's %s off: it then adds nothing to the residual stream", l,
                                  std::string(part) == "attention" ? "attention" : "MLP (feed-forward network)");
        }
        ImGui::PopID();
        for (int h = 0; h < H; ++h) {
            const ImVec2 at(origin.x + label_w + h * tile_w, origin.y + l * tile_h);
            const HeadRoles* probe = l < static_cast<int>(r.probe.size()) ? &r.probe[l][h] : nullptr;
            const Role role = role_of(r.text[l][h], probe);
            const std::string id = "atlas_" + std::to_string(l) + "_" + std::to_string(h);
            const bool off = std::find(m.ablation.heads.begin(), m.ablation.heads.end(), std::pair{l, h}) != m.ablation.heads.end();
            ImGui::PushClipRect(at, ImVec2(at.x + tile_w, at.y + title_h), true);
            ImGui::SetCursorScreenPos(ImVec2(at.x + pad, at.y + pad));
            // "head 2 [x] on" where the tile has room, "H2 [x]" on a phone
            const bool roomy = tile_w - 2 * pad >= ImGui::CalcTextSize("head 0 on").x + ImGui::GetFrameHeight() + 3 * ImGui::GetStyle().ItemSpacing.x;
            ImGui::Text(roomy ? "head %d" : "H%d", h);
            ImGui::SameLine();
            ImGui::PushID(id.c_str());
            bool on = !off;
            ImGui::PushStyleVar(ImGuiStyleVar_FramePadding, ImVec2(2, 0));
            if (ImGui::Checkbox(roomy ? "on" : "##on", &on)) toggle_ablation(state, l, h, "head");
            ImGui::PopStyleVar();
            record_item(state, ("atlas_on_" + std::to_string(l) + "_" + std::to_string(h)).c_str());
            if (ImGui::IsItemHovered()) ImGui::SetTooltip("Untick to switch this head off: its output is zeroed before the layer's output projection");
            ImGui::PopID();
            // the role's two lines through the draw list: cut at the tile's edge without counting as content past it
            const ImU32 dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
            draw->AddText(ImVec2(at.x + pad, at.y + pad + line + 2), dim, role.name);
            draw->AddText(ImVec2(at.x + pad, at.y + pad + 2 * line + 2), dim, score_text(role).c_str());
            ImGui::PopClipRect();
            state.readout[id] = std::string(role.name) + " " + std::to_string(role.score);

            const LayerTrace& layer = t.layers[l];
            HeatmapSpec spec;
            spec.id = id.c_str();
            spec.row_labels = &t.tokens.text;
            spec.col_labels = &t.tokens.text;
            spec.scale = ColorScale::sequential;
            spec.lo = 0.0;
            spec.hi = 1.0;
            spec.size = ImVec2(cells, cells);
            spec.legend = false;
            spec.axis_labels = false;
            spec.version = state.trace_version;
            ImGui::SetCursorScreenPos(ImVec2(at.x + pad, at.y + title_h + pad));
            const HeatmapEvents events = heatmap(spec, layer.attention.heads[h].weights, &layer.attention.heads[h].mask);
            record_item(state, id.c_str());
            if (events.clicked) {
                m.layer = l;
                state.selected_head = h;
                state.pinned.reset();
                state.view = View::pipeline;
                state.view_forced = true;
            }
            if (off) {  // switched off: dimmed, and said so
                draw->AddRectFilled(ImVec2(events.grid.x, events.grid.y), ImVec2(events.grid.x + events.grid.w, events.grid.y + events.grid.h),
                                    IM_COL32(20, 20, 24, 170));
                draw->AddText(ImVec2(events.grid.x + 6, events.grid.y + 6), IM_COL32(255, 140, 128, 255), "switched off");
            }
            const bool selected = l == m.layer && h == state.selected_head;
            const ImVec2 g0(events.grid.x, events.grid.y), g1(events.grid.x + events.grid.w, events.grid.y + events.grid.h);
            draw->AddRect(ImVec2(g0.x - 2, g0.y - 2), ImVec2(g1.x + 2, g1.y + 2), selected ? kSelectedBorder : kTileBorder, 0, 0,
                          selected ? 3.0f : 1.0f);
        }
    }
    ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + L * tile_h));
    ImGui::Dummy(ImVec2(1, 1));
}

}  // namespace attnviz::app
