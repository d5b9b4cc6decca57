// view_matrices_catalog — the trace's matrices by name, with their labels and colour scales.
#include "view_matrices_catalog.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "imgui.h"

namespace attnviz::app {

int MatrixEntry::rows() const {
    if (values) return static_cast<int>(values->shape(0));
    if (values_f64) return static_cast<int>(values_f64->shape(0));
    if (allowed) return static_cast<int>(allowed->shape(0));
    return 0;
}

int MatrixEntry::cols() const {
    if (values) return static_cast<int>(values->shape(1));
    if (values_f64) return static_cast<int>(values_f64->shape(1));
    if (allowed) return static_cast<int>(allowed->shape(1));
    return 0;
}

const std::vector<const char*>& matrix_names() {
    static const std::vector<const char*> names = {
        "X", "positional", "X_in", "source_X", "source_positional", "source_X_in",
        "Q_unrotated", "K_unrotated", "Q", "K", "V", "K_projected", "V_projected",
        "scores", "scaled", "mask", "weights", "out", "concat", "output",
    };
    return names;
}

const std::vector<std::string>& key_tokens(const Trace& trace) { return trace.cross ? trace.source_tokens : trace.tokens; }

MatrixEntry find_matrix(const Trace& trace, int head, const std::string& name) {
    MatrixEntry m;
    const std::vector<std::string>& keys = key_tokens(trace);
    auto token_rows = [&](const Matrix& v, const char* meaning) {  // (T, d) or (T, dk): a row per query token
        m.values = &v;
        m.meaning = meaning;
        m.row_labels = &trace.tokens;
        m.row_axis = "token";
        m.col_axis = "dim";
    };
    auto key_rows = [&](const Matrix& v, const char* meaning) {  // (S, …): a row per key/value token
        m.values = &v;
        m.meaning = meaning;
        m.row_labels = &keys;
        m.row_axis = "key token";
        m.col_axis = "dim";
    };

    // Whole-sequence matrices.
    if (name == "X") token_rows(trace.X, "token embeddings");
    else if (name == "positional") token_rows(trace.positional, "positional vectors added to X");
    else if (name == "X_in") token_rows(trace.X_in, "X + positions: the attention's input");
    else if (name == "source_X") key_rows(trace.source_X, "source token embeddings (cross-attention)");
    else if (name == "source_positional") key_rows(trace.source_positional, "positional vectors added to the source X");
    else if (name == "source_X_in") key_rows(trace.source_X_in, "source X + positions: keys' and values' input");
    else if (name == "concat") token_rows(trace.concat, "every head's out, side by side");
    else if (name == "output") token_rows(trace.output, "concat·Wo + bo: the layer's output");
    if (m.values) {
        for (const char* n : matrix_names())
            if (name == n) m.name = n;
        return m;
    }

    if (trace.heads.empty()) return m;
    const HeadTrace& h = trace.heads[std::clamp(head, 0, static_cast<int>(trace.heads.size()) - 1)];
    const bool linformer = h.K_projected.shape(0) > 0;
    auto projected_rows = [&](const Matrix& v, const char* meaning) {  // (N, dk): Linformer's mixed rows
        m.values = &v;
        m.meaning = meaning;
        m.row_labels = nullptr;
        m.row_axis = "projected row";
        m.col_axis = "dim";
    };
    auto query_key = [&](const char* meaning) {  // (T, N)
        m.meaning = meaning;
        m.row_labels = &trace.tokens;
        m.col_labels = linformer ? nullptr : &keys;
        m.row_axis = "query";
        m.col_axis = linformer ? "projected key" : "key";
    };
    if (name == "Q") token_rows(h.Q, "queries as used in the scores");
    else if (name == "K") key_rows(h.K, "keys as used in the scores");
    else if (name == "V") key_rows(h.V, "values");
    else if (name == "Q_unrotated") token_rows(h.Q_unrotated, "queries before the RoPE rotation");
    else if (name == "K_unrotated") key_rows(h.K_unrotated, "keys before the RoPE rotation");
    else if (name == "K_projected") projected_rows(h.K_projected, "E·K: Linformer's k mixed keys");
    else if (name == "V_projected") projected_rows(h.V_projected, "F·V: Linformer's k mixed values");
    else if (name == "out") token_rows(h.out, "weights·V: this head's output");
    else if (name == "scores") {
        query_key("raw Q·Kᵀ");
        m.values = &h.scores;
    } else if (name == "scaled") {
        query_key("scores·scale/temperature (+ ALiBi), what the softmax reads");
        m.values_f64 = &h.scaled;
        m.allowed = &h.mask;
    } else if (name == "mask") {
        query_key("allowed cells: the mask ∩ the pattern");
        m.allowed = &h.mask;
        m.is_mask = true;
        m.scale = ColorScale::sequential;
    } else if (name == "weights") {
        query_key("softmax over the allowed keys");
        m.values = &h.weights;
        m.allowed = &h.mask;
        m.scale = ColorScale::sequential;
    } else {
        return m;  // unknown: name stays ""
    }
    m.per_head = true;
    for (const char* n : matrix_names())
        if (name == n) m.name = n;
    return m;
}

HeatmapEvents draw_matrix(const MatrixEntry& m, const char* id, ImVec2 size, std::uint64_t version, const Cell* pinned, bool legend,
                          float max_cell) {
    HeatmapSpec spec;
    spec.id = id;
    spec.row_labels = m.row_labels;
    spec.col_labels = m.col_labels;
    spec.row_axis = m.row_axis;
    spec.col_axis = m.col_axis;
    spec.scale = m.scale;
    spec.size = size;
    spec.legend = legend;
    spec.max_cell = max_cell;
    spec.version = version;
    spec.pinned = pinned;
    if (m.scale == ColorScale::sequential && std::strcmp(m.name, "weights") == 0) {  // probabilities: 0..1 (kRelativeWeightsAbove)
        spec.lo = 0.0;
        if (m.cols() <= kRelativeWeightsAbove) spec.hi = 1.0;
    }
    if (m.is_mask) return heatmap_mask(spec, *m.allowed);
    if (m.values_f64) return heatmap(spec, *m.values_f64, m.allowed);
    return heatmap(spec, *m.values, m.allowed);
}

std::string shape_text(const MatrixEntry& m) { return std::to_string(m.rows()) + "×" + std::to_string(m.cols()); }

std::string range_text(const MatrixEntry& m) {
    if (m.is_mask) {
        int allowed = 0;
        for (bool a : *m.allowed) allowed += a;
        return std::to_string(allowed) + " of " + std::to_string(m.rows() * m.cols()) + " cells allowed";
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < m.rows(); ++i)
        for (int j = 0; j < m.cols(); ++j) {
            if (m.allowed && !(*m.allowed)(i, j)) continue;
            const double v = m.values_f64 ? (*m.values_f64)(i, j) : (*m.values)(i, j);
            if (!std::isfinite(v)) continue;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (lo > hi) return "no allowed finite value";
    return format_value(lo) + " … " + format_value(hi);
}

void head_selector(AppState& state, const char* prefix) {
    const int heads = state.trace ? static_cast<int>(state.trace->heads.size()) : 0;
    if (state.source == Source::model && state.model.trace) {  // the trained model: the layer first, then its head
        const int layers = static_cast<int>(state.model.trace->layers.size());
        ImGui::AlignTextToFramePadding();
        ImGui::TextUnformatted("Layer");
        ImGui::PushID("layer");
        for (int l = 0; l < layers; ++l) {
            ImGui::SameLine();
            if (ImGui::RadioButton(std::to_string(l).c_str(), state.model.layer == l)) state.model.layer = l;
            record_item(state, (std::string(prefix) + "_layer_" + std::to_string(l)).c_str());
        }
        ImGui::PopID();
        ImGui::SameLine(0, 2 * ImGui::GetStyle().ItemSpacing.x);
    }
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Head");
    if (heads <= 8) {
        for (int h = 0; h < heads; ++h) {
            ImGui::SameLine();
            if (ImGui::RadioButton(std::to_string(h).c_str(), state.selected_head == h)) state.selected_head = h;
            record_item(state, (std::string(prefix) + "_head_" + std::to_string(h)).c_str());
        }
    } else {
        ImGui::SameLine();
        ImGui::SetNextItemWidth(ImGui::GetFontSize() * 10);
        ImGui::SliderInt("##head", &state.selected_head, 0, heads - 1);
        record_item(state, (std::string(prefix) + "_head").c_str());
    }
    const int shown = shown_head(state);
    if (heads > 0 && shown != std::clamp(state.selected_head, 0, heads - 1)) {
        ImGui::SameLine();
        ImGui::TextDisabled("(long sequence: one head's T×N matrices at a time; head %d shown until head %d is computed)", shown,
                            state.selected_head);
    }
}

void forget_layout(AppState& state, const std::string& prefix) {
    for (auto it = state.layout.lower_bound(prefix); it != state.layout.end() && it->first.compare(0, prefix.size(), prefix) == 0;)
        it = state.layout.erase(it);
}

Matrix exportable(const MatrixEntry& m, int first, int count) {
    first = std::clamp(first, 0, m.rows());
    const int end = count < 0 ? m.rows() : std::min(m.rows(), first + count);
    Matrix out = xt::zeros<float>({static_cast<std::size_t>(end - first), static_cast<std::size_t>(m.cols())});
    for (int i = first; i < end; ++i)
        for (int j = 0; j < m.cols(); ++j) {
            if (m.is_mask) {
                out(i - first, j) = (*m.allowed)(i, j) ? 1.0f : 0.0f;
                continue;
            }
            const double v = m.values_f64 ? (*m.values_f64)(i, j) : (*m.values)(i, j);
            out(i - first, j) = std::isinf(v) ? NAN : static_cast<float>(v);  // only scaled's masked cells are infinite
        }
    return out;
}

}  // namespace attnviz::app
