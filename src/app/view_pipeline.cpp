// view_pipeline — the forward pass of the selected head as a flow of stages, X → +positions →
// Q, K, V → Q·Kᵀ → scale → mask → softmax → ·V → concat → ·Wo. Each stage is a panel with its
// formula, the trace's matrix and its shape; only the stages this configuration has are shown,
// and where it departs from the paper (RoPE, ALiBi, Linformer, the source text's module) the
// panel says so with the trace's own numbers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"
#include "view_matrices_catalog.hpp"

namespace attnviz::app {

namespace {

const ImVec4 kTitleColor(0.55f, 0.78f, 1.0f, 1.0f);
const ImVec4 kDepartureColor(1.0f, 0.78f, 0.45f, 1.0f);

struct Stage {
    std::string title;    // "5 · scores"
    std::string formula;  // the maths of the stage
    std::string note;     // what this configuration does differently, or empty
    MatrixEntry matrix;   // what the trace holds for it
};

std::string number(double v) { return format_value(v); }

// "1/√d_k = 1/√8" — how the scale of this trace was chosen.
std::string scale_origin(const Trace& trace) {
    switch (trace.config.scale.kind) {
        case ScaleKind::inv_sqrt_dk: return "1/√d_k = 1/√" + std::to_string(trace.head_dim);
        case ScaleKind::inv_sqrt_dmodel: return "1/√d_model = 1/√" + std::to_string(trace.config.d_model);
        case ScaleKind::number: return "a chosen number";
    }
    return "";
}

std::string mask_description(const Config& c) {
    std::string mask;
    switch (c.mask) {
        case MaskKind::none: mask = "no mask"; break;
        case MaskKind::causal: mask = "causal: query i sees keys j ≤ i"; break;
        case MaskKind::padding: mask = "padding: keys equal to " + c.pad_token + " hidden"; break;
    }
    const std::string w = std::to_string(c.pattern.window);
    switch (c.pattern.kind) {
        case PatternKind::full: return mask + "; full pattern";
        case PatternKind::local: return mask + "; local: |i−j| ≤ " + w;
        case PatternKind::sliding_global: return mask + "; sliding window |i−j| ≤ " + w + " + global tokens";
        case PatternKind::bigbird: return mask + "; BigBird: window " + w + " + global + " + std::to_string(c.pattern.random) + " random keys";
        case PatternKind::strided: return mask + "; strided: |i−j| ≤ " + w + " or (i−j) a multiple of " + std::to_string(c.pattern.stride);
    }
    return mask;
}

// Largest |Q − X_in[:, head columns]|: shows on screen that the source module's Q is a plain slice.
double slice_difference(const Trace& trace, const Matrix& q, int head) {
    double diff = 0;
    const int dk = trace.head_dim;
    for (std::size_t i = 0; i < q.shape(0) && i < trace.X_in.shape(0); ++i)
        for (int c = 0; c < dk; ++c) diff = std::max(diff, std::abs(double(q(i, c)) - trace.X_in(i, head * dk + c)));
    return diff;
}

// What X is: the lab's seeded embeddings, or the input of a trained model's layer.
// trained: the trained model's config when the page shows it, else null (the lab).
std::string x_formula(const AppState& state, const ModelConfig* trained) {
    if (!trained) return "X = embedding(token): one seeded vector per token text";
    const ModelConfig& c = *trained;
    const int l = state.model.layer;
    const std::string learned = c.positions == Positions::learned ? " + a learned position" : "";
    const std::string below = l == 0 ? "" : ", plus what layers 0…" + std::to_string(l - 1) + " added";
    return "X = ln_1(x): layer " + std::to_string(l) + "'s residual stream x (" +
           (c.is_image() ? "the class token or a patch's linear embedding" : "each character's embedding") + learned + below +
           "), normalized";
}

std::vector<Stage> stages_of(const AppState& state, const Trace& trace, int h) {
    const HeadTrace& head = trace.heads[h];
    const Config& c = trace.config;
    const bool seed = c.variant == Variant::seed_module;
    const bool rope = head.Q_unrotated.shape(0) > 0;
    const bool linformer = head.K_projected.shape(0) > 0;
    const int dk = trace.head_dim;
    const std::string cols = "columns " + std::to_string(h * dk) + "…" + std::to_string((h + 1) * dk - 1);
    const char* kv_input = trace.cross ? "source X_in" : "X_in";
    std::vector<Stage> out;
    auto add = [&](std::string title, std::string formula, std::string note, const char* name) {
        out.push_back({std::to_string(out.size() + 1) + " · " + title, std::move(formula), std::move(note),
                       find_matrix(trace, h, name)});
    };

    const ModelConfig* trained = state.source == Source::model && state.model.model ? &state.model.model->config : nullptr;
    add("X", x_formula(state, trained), "", "X");
    if (trace.positional.shape(0) > 0) {
        add("+ positions", c.positional == Positional::learned ? "P[p]: row p of a learned (seeded) table"
                                                               : "PE[p,2i] = sin(p/10000^(2i/d)), PE[p,2i+1] = cos(p/10000^(2i/d))",
            "", "positional");
        add("X_in", "X_in = X + " + std::string(c.positional == Positional::learned ? "P" : "PE"), "", "X_in");
    } else {
        const bool in_x = trained && trained->positions == Positions::learned;  // a trained model's learned table
        const char* why = c.positional == Positional::rope    ? "no positional vector added (rope rotates Q and K instead, stage Q)"
                          : c.positional == Positional::alibi ? "no positional vector added (alibi biases the scores instead, stage scaled)"
                          : in_x ? "no positional vector added here: the learned positions are in x already (added before layer 0)"
                                 : "no positional vector added (positional: none — word order is invisible)";
        add("X_in", "X_in = X", why, "X_in");
    }
    if (trace.cross)
        add("source X_in", "keys and values come from the source sentence (cross-attention)", "", "source_X_in");

    if (seed) {
        const std::string slice = "= X_in[:, " + std::to_string(h * dk) + ":" + std::to_string((h + 1) * dk) + "]";
        const std::string shown = "largest |Q − X_in slice| in this trace: " + number(slice_difference(trace, head.Q, h));
        add("Q", "Q " + slice, "departure 1: no Wq — the module never calls its Linear layers. " + shown, "Q");
        const std::string kv_slice = trace.cross ? "= source X_in[:, " + std::to_string(h * dk) + ":" + std::to_string((h + 1) * dk) + "]" : slice;
        add("K", "K " + kv_slice, trace.cross ? "no Wk either" : "the same slice: K = Q", "K");
        add("V", "V " + kv_slice, trace.cross ? "no Wv either: V = K" : "the same slice: V = Q", "V");
    } else {
        const std::string proj = ", head " + std::to_string(h) + ": " + cols;
        if (rope) {
            add("Q before RoPE", "Q = X_in·Wq + bq" + proj, "", "Q_unrotated");
            add("K before RoPE", std::string("K = ") + kv_input + "·Wk + bk" + proj, "", "K_unrotated");
            add("Q (rotated)", "pair (2i, 2i+1) at position p rotated by the angle p·10000^(−2i/d_k)", "RoPE: position enters here", "Q");
            add("K (rotated)", "the same rotation, by each key's position", "q·k then depends on i − j only", "K");
        } else {
            add("Q", "Q = X_in·Wq + bq" + proj, "", "Q");
            add("K", std::string("K = ") + kv_input + "·Wk + bk" + proj, "", "K");
        }
        add("V", std::string("V = ") + kv_input + "·Wv + bv" + proj, "", "V");
    }
    if (linformer) {
        const std::string k = std::to_string(trace.N);
        add("K projected", "K′ = E·K: E is " + k + "×" + std::to_string(trace.S) + ", mixing all keys into " + k + " rows",
            "Linformer: the scores become T×" + k + ", not T×" + std::to_string(trace.S), "K_projected");
        add("V projected", "V′ = F·V: F is " + k + "×" + std::to_string(trace.S), "", "V_projected");
    }

    add("scores", linformer ? "scores = Q·K′ᵀ = Q·(E·K)ᵀ" : seed ? "energy = Q·Kᵀ" : "scores = Q·Kᵀ", "", "scores");
    std::string scaled_note = "scale = " + number(head.scale) + " (" + scale_origin(trace) + "), temperature = " + number(trace.temperature);
    if (head.alibi_slope != 0) scaled_note += ", ALiBi slope m = " + number(head.alibi_slope);
    if (seed) {
        add("scaled", "energy[masked] = −1e20, then scaled = energy / √d_model / temperature",
            "departure 2: divided by √d_model = √" + std::to_string(c.d_model) + ", not √d_k = √" + std::to_string(dk) + ". " +
                scaled_note,
            "scaled");
    } else {
        add("scaled", std::string("scaled = scores · scale / temperature") + (head.alibi_slope != 0 ? " − m·|i−j|" : ""), scaled_note,
            "scaled");
    }
    std::string mask_note = mask_description(c);
    if (!head.empty_rows.empty()) {
        mask_note += ". Queries with no allowed key:";
        for (int r : head.empty_rows) mask_note += " " + std::to_string(r);
        mask_note += seed ? " (the module gives them uniform weights)" : " (their weights and out are 0)";
    }
    add("mask", "allowed = mask ∩ pattern; grey cells never reach the softmax", mask_note, "mask");
    add("weights",
        seed ? "weights = softmax over every key (masked: −1e20/√d, exp → 0)" : "weights = softmax over allowed keys: exp(scaled − row max) / Σ",
        "", "weights");
    add("out", linformer ? "out = weights·V′ = weights·(F·V)" : "out = weights·V", "", "out");
    add("concat", "concat = [out₀ | out₁ | …]: head " + std::to_string(h) + " fills " + cols, "", "concat");
    add("output", "output = concat·Wo + bo", "", "output");
    return out;
}

void draw_stage(AppState& state, const Stage& stage, int index) {
    ImGui::PushID(index);
    ImGui::TextColored(kTitleColor, "%s", stage.title.c_str());
    if (stage.matrix.applies()) {
        ImGui::SameLine();
        ImGui::TextDisabled("%s", shape_text(stage.matrix).c_str());
    }
    ImGui::TextWrapped("%s", stage.formula.c_str());
    if (!stage.note.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, kDepartureColor);
        ImGui::TextWrapped("%s", stage.note.c_str());
        ImGui::PopStyleColor();
    }
    const MatrixEntry& m = stage.matrix;
    if (m.applies()) {
        // Tall enough for roomy cells, capped so one long matrix does not push the flow off screen.
        const float line = ImGui::GetTextLineHeight();
        const float height = std::min(2 * line + 4 + m.rows() * 28.0f, 16 * line);
        const bool query_key = std::string(m.row_axis) == "query";
        const std::string id = std::string("pipeline_") + m.name;
        // The widget reserves 70 px for the legend; its numbers need a little more to stay inside the column.
        const float width = ImGui::GetContentRegionAvail().x - 2 * line;
        const HeatmapEvents events = draw_matrix(m, id.c_str(), ImVec2(width, height), state.trace_version,
                                                 query_key && state.pinned ? &*state.pinned : nullptr);
        state.layout[id] = events.grid;
        if (query_key && events.clicked) state.pinned = events.clicked;
    }
    ImGui::PopID();
}

}  // namespace

void view_pipeline(AppState& state) {
    if (!state.trace) return;
    const Trace& trace = *state.trace;
    forget_layout(state, "pipeline_");
    const ImVec2 view_min = ImGui::GetWindowPos(), view_size = ImGui::GetWindowSize();
    state.layout["pipeline_view"] = {view_min.x, view_min.y, view_size.x, view_size.y};  // the scrolling region (tests scroll it)
    head_selector(state, "pipeline");
    if (state.narrow) {  // the worked-out cell is another tab, and the line has no room beside the heads
        hint_text("%s a scores, scaled or weights cell, then open the Cell tab to see it worked out.", state.touch ? "Tap" : "Click");
    } else {
        const char* hint = "click a scores, scaled or weights cell to work it out →";
        same_line_if_fits(ImGui::CalcTextSize(hint).x + 10);  // beside the selectors, or below them (the model's layer row is long)
        ImGui::TextDisabled("%s", hint);
    }

    if (trace.skips_qkv_projection || trace.scales_by_sqrt_dmodel) {
        ImGui::PushStyleColor(ImGuiCol_Text, kDepartureColor);
        ImGui::TextWrapped("The source text's module (seed_module) departs from the paper twice: (1) Q = K = V = head slices of X_in — "
                           "it never applies Wq, Wk, Wv; (2) it divides the scores by √d_model = √%d instead of √d_k = √%d, "
                           "after filling masked energies with −1e20.",
                           trace.config.d_model, trace.head_dim);
        ImGui::PopStyleColor();
    }

    const std::vector<Stage> stages = stages_of(state, trace, shown_head(state));
    const float min_panel = ImGui::GetFontSize() * 17;
    const int columns = std::clamp(static_cast<int>(ImGui::GetContentRegionAvail().x / min_panel), 1, 3);
    if (ImGui::BeginTable("pipeline_stages", columns, ImGuiTableFlags_BordersInner | ImGuiTableFlags_SizingStretchSame)) {
        for (std::size_t s = 0; s < stages.size(); ++s) {
            ImGui::TableNextColumn();
            draw_stage(state, stages[s], static_cast<int>(s));
            ImGui::Spacing();
        }
        ImGui::EndTable();
    }
}

}  // namespace attnviz::app
