// panel_cell — one cell of attention worked out with the trace's own numbers: for the pinned
// (query i, key j) of the selected head, the dot product q_i·k_j term by term, the scale,
// temperature and ALiBi bias, the mask, the softmax of row i, and output row i as Σ_j w_ij·v_j.
//
// Nothing here recomputes attention: every matrix value comes from the trace. The sums and
// quotients shown (Σ q·k, exp(s − max), w·v) are the arithmetic a student would do by hand on
// those values, printed next to the trace's result so the two can be seen to agree.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"
#include "view_matrices_catalog.hpp"

namespace attnviz::app {

namespace {

const ImVec4 kHeadingColor(0.55f, 0.78f, 1.0f, 1.0f);
const ImVec4 kAgreeColor(0.55f, 0.88f, 0.55f, 1.0f);
const ImVec4 kMaskedColor(1.0f, 0.7f, 0.45f, 1.0f);
const ImU32 kPinnedRowBg = IM_COL32(70, 110, 170, 110);
constexpr int kAllTermsUpTo = 16;   // list every key of the row up to this many, else the largest few
constexpr int kLargestTerms = 8;

// A few decimals for reading; the exact value is on hover (format_value).
std::string short_number(double v) {
    if (std::isinf(v)) return v > 0 ? "+inf" : "−inf";
    if (std::isnan(v)) return "NaN";
    char buf[32];
    const double a = std::abs(v);
    if (v == 0) return "0";
    if (a >= 1e-3 && a < 1e5) std::snprintf(buf, sizeof buf, "%.4f", v);
    else std::snprintf(buf, sizeof buf, "%.3e", v);
    return buf;
}

// Right-aligned number in the current table cell, exact value in a tooltip.
void number_cell(double v) {
    const std::string text = short_number(v);
    const float w = ImGui::CalcTextSize(text.c_str()).x;
    ImGui::SetCursorPosX(ImGui::GetCursorPosX() + std::max(0.0f, ImGui::GetContentRegionAvail().x - w));
    ImGui::TextUnformatted(text.c_str());
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", format_value(v).c_str());
}

void text_cell(const std::string& text, bool disabled = false) {
    if (disabled) ImGui::TextDisabled("%s", text.c_str());
    else ImGui::TextUnformatted(text.c_str());
}

void heading(const std::string& text) {
    ImGui::Spacing();
    ImGui::PushStyleColor(ImGuiCol_Text, kHeadingColor);
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
    ImGui::Separator();
}

void disabled_wrapped(const std::string& text) {
    hint_text("%s", text.c_str());
}

// Under a worked-out value: "= the trace's <what>", green when the two agree to the printed precision.
void agreement(const char* what, double shown, double traced) {
    const bool same = short_number(shown) == short_number(traced);
    ImGui::PushStyleColor(ImGuiCol_Text, same ? kAgreeColor : kMaskedColor);
    if (same) ImGui::TextWrapped("= the trace's %s", what);
    else ImGui::TextWrapped("≈ the trace's %s = %s (float32 rounding)", what, short_number(traced).c_str());
    ImGui::PopStyleColor();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("worked out: %s\ntrace: %s", format_value(shown).c_str(), format_value(traced).c_str());
}

// Why key j is hidden from query i, in the words of the config that hid it.
std::string why_masked(const Trace& trace, int i, int j) {
    const Config& c = trace.config;
    const std::vector<std::string>& keys = key_tokens(trace);
    if (c.mask == MaskKind::causal && j > i) return "causal mask: key " + std::to_string(j) + " comes after query " + std::to_string(i);
    if (c.mask == MaskKind::padding && j < static_cast<int>(keys.size()) && keys[j] == c.pad_token)
        return "padding mask: the key is the pad token " + c.pad_token;
    return std::string("outside the ") + to_string(c.pattern.kind) + " pattern (window " + std::to_string(c.pattern.window) + ")";
}

// The keys of row i the softmax reads: standard = the allowed ones (masked hold −inf);
// seed_module = every key (masked hold the scaled −1e20 fill, whose exp is 0 unless all are).
bool in_softmax(const HeadTrace& head, int i, int j) { return std::isfinite(head.scaled(i, j)); }

// Rows of the table listing row i: every key for short rows, else the pinned key and the largest non-zero weights.
std::vector<int> listed_keys(const HeadTrace& head, int i, int pinned_key) {
    const int n = static_cast<int>(head.weights.shape(1));
    std::vector<int> keys(n);
    std::iota(keys.begin(), keys.end(), 0);
    if (n <= kAllTermsUpTo) return keys;
    std::partial_sort(keys.begin(), keys.begin() + kLargestTerms, keys.end(),
                      [&](int a, int b) { return head.weights(i, a) > head.weights(i, b); });
    keys.resize(kLargestTerms);
    keys.erase(std::remove_if(keys.begin(), keys.end(), [&](int k) { return head.weights(i, k) == 0 && k != pinned_key; }), keys.end());
    if (std::find(keys.begin(), keys.end(), pinned_key) == keys.end()) keys.push_back(pinned_key);
    std::sort(keys.begin(), keys.end());
    return keys;
}

// Height of a table with `rows` text rows and a horizontal scrollbar.
float table_height(int rows) {
    const ImGuiStyle& style = ImGui::GetStyle();
    return rows * (ImGui::GetTextLineHeight() + 2 * style.CellPadding.y) + style.ScrollbarSize + 2 * style.CellPadding.y;
}

}  // namespace

void panel_cell(AppState& state) {
    if (!state.trace) return;
    const Trace& trace = *state.trace;
    const int h = shown_head(state);
    const HeadTrace& head = trace.heads[h];
    const int T = static_cast<int>(head.weights.shape(0)), N = static_cast<int>(head.weights.shape(1));
    const int dk = trace.head_dim;
    if (T == 0 || N == 0) {
        ImGui::TextWrapped("This trace has no query or no key.");
        return;
    }
    const bool seed = trace.config.variant == Variant::seed_module;
    const bool linformer = head.K_projected.shape(0) > 0;
    const Matrix& keys = linformer ? head.K_projected : head.K;    // (N, dk) what q_i is multiplied with
    const Matrix& values = linformer ? head.V_projected : head.V;  // (N, dk) what the weights mix
    const std::vector<std::string>& key_labels = key_tokens(trace);
    const Cell cell = state.pinned.value_or(Cell{});
    const int i = std::min(cell.query, T - 1), j = std::min(cell.key, N - 1);
    auto key_name = [&](int k) { return linformer ? "(row " + std::to_string(k) + " of E·K)" : "\"" + key_labels[k] + "\""; };
    auto show = [&](const char* name, double v) { state.readout[std::string("cell.") + name] = format_value(v); };

    if (!state.pinned)
        ImGui::TextWrapped("%s a cell of a weights or scores heatmap to pin it. Showing query 0, key 0.", state.touch ? "Tap" : "Click");
    ImGui::TextWrapped("Head %d · query %d \"%s\" · key %d %s", h, i, trace.tokens[i].c_str(), j, key_name(j).c_str());
    if (linformer)
        ImGui::TextWrapped("Linformer: key %d is row %d of E·K, a mix of all %d keys, not one token.", j, j, trace.S);
    show("head", h);
    show("query", i);
    show("key", j);

    // 1. The dot product, term by term.
    heading("1 · scores(i,j) = q_i · k_j");
    double dot = 0;
    if (ImGui::BeginTable("dot", 4, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchSame)) {
        ImGui::TableSetupColumn("d");
        ImGui::TableSetupColumn("q_i");
        ImGui::TableSetupColumn(linformer ? "k′_j" : "k_j");
        ImGui::TableSetupColumn("q·k");
        ImGui::TableHeadersRow();
        for (int d = 0; d < dk; ++d) {
            const double product = double(head.Q(i, d)) * keys(j, d);
            dot += product;
            ImGui::TableNextColumn();
            text_cell(std::to_string(d), true);
            ImGui::TableNextColumn();
            number_cell(head.Q(i, d));
            ImGui::TableNextColumn();
            number_cell(keys(j, d));
            ImGui::TableNextColumn();
            number_cell(product);
        }
        ImGui::TableNextColumn();
        text_cell("Σ");
        ImGui::TableNextColumn();
        ImGui::TableNextColumn();
        ImGui::TableNextColumn();
        number_cell(dot);
        ImGui::EndTable();
    }
    const double score = head.scores(i, j);
    agreement("scores(i,j)", dot, score);
    show("dot_sum", dot);
    show("scores", score);
    state.readout["cell.dot_sum_shown"] = short_number(dot);
    state.readout["cell.scores_shown"] = short_number(score);

    // 2. Scale, temperature, ALiBi and the mask.
    heading(seed ? "2 · mask, then scale (the source module's order)"
                 : head.alibi_slope != 0 ? "2 · scale, temperature, ALiBi, mask" : "2 · scale, temperature, mask");
    const bool allowed = head.mask(i, j);
    const double bias = -head.alibi_slope * std::abs(i - j);
    const double scaled = head.scaled(i, j);
    double worked_scaled = 0;
    if (ImGui::BeginTable("scale", 2, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        auto row = [](const std::string& label, double v) {
            ImGui::TableNextColumn();
            text_cell(label);
            ImGui::TableNextColumn();
            number_cell(v);
        };
        row(seed ? "energy = scores(i,j)" : "scores(i,j)", score);
        double energy = score;
        if (seed && !allowed) {
            energy = -1e20;
            row("masked → filled with", energy);
        }
        const std::string scale_label = trace.scales_by_sqrt_dmodel ? "× scale (1/√d_model)" : "× scale";
        row(scale_label, head.scale);
        row("÷ temperature", trace.temperature);
        if (head.alibi_slope != 0) row("+ ALiBi −m·|i−j| (m = " + short_number(head.alibi_slope) + ")", bias);
        worked_scaled = energy * head.scale / trace.temperature + bias;
        if (allowed || seed) {
            row("= scaled", worked_scaled);
        } else {  // the standard softmax excludes the cell: the trace holds −inf, not this product
            ImGui::TableNextColumn();
            text_cell("= scaled");
            ImGui::TableNextColumn();
            text_cell("masked (−inf)", true);
        }
        ImGui::EndTable();
    }
    show("scale", head.scale);
    show("temperature", trace.temperature);
    show("alibi", bias);
    show("allowed", allowed ? 1 : 0);
    if (allowed || seed) {
        agreement("scaled(i,j)", worked_scaled, scaled);
        show("scaled", scaled);
    }
    if (!allowed) {
        ImGui::PushStyleColor(ImGuiCol_Text, kMaskedColor);
        ImGui::TextWrapped("Masked — %s.", why_masked(trace, i, j).c_str());
        ImGui::PopStyleColor();
        if (seed)
            ImGui::TextWrapped("The module fills the energy with −1e20 before dividing, so exp(scaled − max) underflows to 0 "
                               "unless every key of the row is masked.");
        else
            ImGui::TextWrapped("The cell never reaches the softmax (the trace holds −inf): its weight is exactly 0.");
    } else {
        disabled_wrapped("allowed: query " + std::to_string(i) + " may see this key");
    }

    // 3. Softmax over row i.
    heading("3 · softmax over row i");
    double row_max = -INFINITY;
    for (int k = 0; k < N; ++k)
        if (in_softmax(head, i, k)) row_max = std::max(row_max, head.scaled(i, k));
    const bool empty_row = !std::isfinite(row_max);
    const bool listed_empty = std::find(head.empty_rows.begin(), head.empty_rows.end(), i) != head.empty_rows.end();
    double exp_sum = 0;
    if (!empty_row)
        for (int k = 0; k < N; ++k)
            if (in_softmax(head, i, k)) exp_sum += std::exp(head.scaled(i, k) - row_max);
    if (empty_row) {
        ImGui::PushStyleColor(ImGuiCol_Text, kMaskedColor);
        ImGui::TextWrapped("Query %d has no allowed key: every weight of the row and out_i are 0.", i);
        ImGui::PopStyleColor();
    } else {
        if (listed_empty && seed)
            ImGui::TextWrapped("Every key of this row is masked: all hold the same −1e20 fill, so the module's softmax gives "
                               "each the same weight 1/%d (as torch computes it).", N);
        if (ImGui::BeginTable("row", 2, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
            ImGui::TableNextColumn();
            text_cell("row max");
            ImGui::TableNextColumn();
            number_cell(row_max);
            ImGui::TableNextColumn();
            text_cell("Σ exp(scaled − max)");
            ImGui::TableNextColumn();
            number_cell(exp_sum);
            ImGui::EndTable();
        }
        const std::vector<int> listed = listed_keys(head, i, j);
        if (static_cast<int>(listed.size()) < N)
            disabled_wrapped(std::to_string(N) + " keys; showing the largest weights (up to " + std::to_string(kLargestTerms) + ") and key " +
                             std::to_string(j));
        const ImGuiTableFlags flags = ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollX;
        if (ImGui::BeginTable("softmax", 5, flags, ImVec2(0, table_height(static_cast<int>(listed.size()) + 1)))) {
            ImGui::TableSetupColumn("j");  // the token last: it is the widest, and the numbers matter more
            ImGui::TableSetupColumn("scaled");
            ImGui::TableSetupColumn("exp(s−max)");
            ImGui::TableSetupColumn("weight");
            ImGui::TableSetupColumn("key");
            ImGui::TableHeadersRow();
            for (int k : listed) {
                ImGui::TableNextRow();
                if (k == j) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, kPinnedRowBg);
                ImGui::TableNextColumn();
                text_cell(std::to_string(k), k != j);
                ImGui::TableNextColumn();
                if (in_softmax(head, i, k)) number_cell(head.scaled(i, k));
                else text_cell("masked", true);
                ImGui::TableNextColumn();
                if (in_softmax(head, i, k)) number_cell(std::exp(head.scaled(i, k) - row_max));
                else text_cell("—", true);
                ImGui::TableNextColumn();
                number_cell(head.weights(i, k));
                ImGui::TableNextColumn();
                text_cell(linformer ? "E·K row" : key_labels[k], k != j);
            }
            ImGui::EndTable();
        }
        if (in_softmax(head, i, j)) {
            const double e = std::exp(scaled - row_max);
            ImGui::Text("w_ij = %s / %s", short_number(e).c_str(), short_number(exp_sum).c_str());
            agreement("weights(i,j)", e / exp_sum, head.weights(i, j));
            show("exp", e);
            show("weight_worked", e / exp_sum);
        } else {
            ImGui::TextWrapped("w_ij = 0 exactly: the key is masked (trace weights(i,j) = %s).", format_value(head.weights(i, j)).c_str());
        }
        show("row_max", row_max);
        show("row_sum", exp_sum);
    }
    show("weight", head.weights(i, j));

    // 4. Output row i = Σ_j w_ij·v_j.
    heading(linformer ? "4 · out_i = Σ_j w_ij · v′_j (v′ = rows of F·V)" : "4 · out_i = Σ_j w_ij · v_j");
    std::vector<double> out_sum(dk, 0.0);
    for (int k = 0; k < N; ++k)
        for (int d = 0; d < dk; ++d) out_sum[d] += double(head.weights(i, k)) * values(k, d);
    std::vector<int> terms;
    for (int k : listed_keys(head, i, j))
        if (head.weights(i, k) != 0) terms.push_back(k);
    int zero_weights = 0;
    for (int k = 0; k < N; ++k) zero_weights += head.weights(i, k) == 0;
    if (zero_weights > 0) disabled_wrapped(std::to_string(zero_weights) + " keys have weight 0 (masked or underflowed) and add nothing.");
    const ImGuiTableFlags flags = ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollX;
    if (ImGui::BeginTable("output", dk + 2, flags, ImVec2(0, table_height(static_cast<int>(terms.size()) + 3)))) {
        ImGui::TableSetupScrollFreeze(2, 0);
        ImGui::TableSetupColumn("term");
        ImGui::TableSetupColumn("w_ij");
        for (int d = 0; d < dk; ++d) ImGui::TableSetupColumn(("d" + std::to_string(d)).c_str());
        ImGui::TableHeadersRow();
        for (int k : terms) {
            ImGui::TableNextRow();
            if (k == j) ImGui::TableSetBgColor(ImGuiTableBgTarget_RowBg1, kPinnedRowBg);
            ImGui::TableNextColumn();
            text_cell("j=" + std::to_string(k) + (linformer ? "" : " " + key_labels[k]));
            ImGui::TableNextColumn();
            number_cell(head.weights(i, k));
            for (int d = 0; d < dk; ++d) {
                ImGui::TableNextColumn();
                number_cell(double(head.weights(i, k)) * values(k, d));
            }
        }
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        text_cell("Σ all " + std::to_string(N));
        ImGui::TableNextColumn();
        for (int d = 0; d < dk; ++d) {
            ImGui::TableNextColumn();
            number_cell(out_sum[d]);
        }
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        text_cell("trace out_i");
        ImGui::TableNextColumn();
        for (int d = 0; d < dk; ++d) {
            ImGui::TableNextColumn();
            number_cell(head.out(i, d));
        }
        ImGui::EndTable();
    }
    bool rows_agree = true;
    for (int d = 0; d < dk; ++d) {
        rows_agree &= short_number(out_sum[d]) == short_number(head.out(i, d));
        show(("out_sum." + std::to_string(d)).c_str(), out_sum[d]);
        show(("out." + std::to_string(d)).c_str(), head.out(i, d));
    }
    ImGui::PushStyleColor(ImGuiCol_Text, rows_agree ? kAgreeColor : kMaskedColor);
    ImGui::TextWrapped(rows_agree ? "The sum equals the trace's out row %d to the shown precision."
                                  : "The sum and the trace's out row %d differ in the last shown digit (float32 rounding).",
                       i);
    ImGui::PopStyleColor();
}

}  // namespace attnviz::app
