// view_compare — two configurations side by side on the same text.
//
// Left: the main config's trace. Right: state.compare.config, run by recompute_compare() with the
// left's text. A row of presets copies the left config and changes one thing; compact controls
// edit the right config's key options. Below: both weights heatmaps for the selected head, their
// difference (right − left, only when the shapes match), the largest difference of the outputs,
// and what each configuration cost. Differences, maxima and counts are presentational reductions
// of the two traces' numbers; nothing here computes attention.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"

namespace attnviz::app {

namespace {

const ImVec4 kErrorColour(1.0f, 0.54f, 0.5f, 1.0f);
// Heatmap panes: the heatmaps fit themselves to the pane, and the wheel zooms them rather than scrolling.
constexpr ImGuiWindowFlags kPane = ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse;

//-----------------------------------------------------------------------------
// Presets: the left config with one thing changed
//-----------------------------------------------------------------------------
struct Preset {
    const char* label;
    const char* help;
    void (*change)(Config& c, int keys);  // keys = S, the number of key tokens
};

// Options the variant or Linformer cannot be combined with are reset to what they accept.
void drop_linformer(Config& c) { c.linformer_k = 0; }

const Preset kPresets[] = {
    {"same as left", "An exact copy: every difference is zero.", [](Config&, int) {}},
    {"causal", "Query i sees only keys j ≤ i (decoder attention).", [](Config& c, int) { c.mask = MaskKind::causal; drop_linformer(c); }},
    {"bidirectional", "No mask: every query sees every key (encoder attention).", [](Config& c, int) { c.mask = MaskKind::none; }},
    {"local w=2", "Each query sees keys within 2 positions.",
     [](Config& c, int) { c.pattern.kind = PatternKind::local; c.pattern.window = 2; drop_linformer(c); }},
    {"Longformer", "Sliding window 2 plus global token 0.",
     [](Config& c, int) { c.pattern.kind = PatternKind::sliding_global; c.pattern.window = 2; c.pattern.global = {0}; drop_linformer(c); }},
    {"BigBird", "Window 1, global token 0, and 1 random key per query.",
     [](Config& c, int) {
         c.pattern.kind = PatternKind::bigbird; c.pattern.window = 1; c.pattern.global = {0}; c.pattern.random = 1; drop_linformer(c);
     }},
    {"strided s=3", "Sparse Transformer: window 1 plus every 3rd key back.",
     [](Config& c, int) { c.pattern.kind = PatternKind::strided; c.pattern.window = 1; c.pattern.stride = 3; drop_linformer(c); }},
    {"Linformer k=4", "Keys and values projected along the sequence to k = 4 rows (fewer if the text is shorter).",
     [](Config& c, int keys) {
         c.linformer_k = std::max(1, std::min(4, keys));
         c.mask = MaskKind::none;
         c.pattern.kind = PatternKind::full;
         if (c.positional == Positional::alibi) c.positional = Positional::sinusoidal;
         c.variant = Variant::standard;
     }},
    {"seed_module", "The source article's module: no Q/K/V projection, scaled by 1/√d_model.",
     [](Config& c, int) {
         c.variant = Variant::seed_module;
         c.scale.kind = ScaleKind::inv_sqrt_dmodel;
         if (c.positional == Positional::rope || c.positional == Positional::alibi) c.positional = Positional::sinusoidal;
         drop_linformer(c);
     }},
    {"temperature 0.5", "Scaled scores divided by 0.5: sharper weights.", [](Config& c, int) { c.temperature = 0.5; }},
    {"no scaling", "scale = 1: raw dot products go into the softmax.",
     [](Config& c, int) { c.scale.kind = ScaleKind::number; c.scale.value = 1.0; }},
    {"1/√d_model", "Scaled by 1/√d_model instead of 1/√d_k.", [](Config& c, int) { c.scale.kind = ScaleKind::inv_sqrt_dmodel; }},
    {"ALiBi", "No added positions; each head penalises distance with its own slope.",
     [](Config& c, int) { c.positional = Positional::alibi; drop_linformer(c); c.variant = Variant::standard; }},
    {"RoPE", "Q and K rotated by position.", [](Config& c, int) { c.positional = Positional::rope; c.variant = Variant::standard; }},
    {"2× heads", "Twice the heads, half the d_k each (when it divides d_model).",
     [](Config& c, int) { if (c.d_model % (2 * c.heads) == 0) c.heads *= 2; }},
};

//-----------------------------------------------------------------------------
// What differs between the two configs, in words
//-----------------------------------------------------------------------------
std::string scale_name(const Scale& s) {
    switch (s.kind) {
        case ScaleKind::inv_sqrt_dk: return "1/√d_k";
        case ScaleKind::inv_sqrt_dmodel: return "1/√d_model";
        case ScaleKind::number: return format_value(s.value);
    }
    return "";
}

std::string pattern_name(const Pattern& p) {
    std::string out = to_string(p.kind);
    if (p.kind != PatternKind::full) out += " w=" + std::to_string(p.window);
    if (p.kind == PatternKind::bigbird) out += " r=" + std::to_string(p.random);
    if (p.kind == PatternKind::strided) out += " s=" + std::to_string(p.stride);
    return out;
}

std::vector<std::string> differences(const Config& l, const Config& r) {
    std::vector<std::string> out;
    auto add = [&](const char* name, const std::string& a, const std::string& b) {
        if (a != b) out.push_back(std::string(name) + " " + b + " (left " + a + ")");
    };
    add("variant", to_string(l.variant), to_string(r.variant));
    add("d_model", std::to_string(l.d_model), std::to_string(r.d_model));
    add("heads", std::to_string(l.heads), std::to_string(r.heads));
    add("seed", std::to_string(l.seed), std::to_string(r.seed));
    add("tokenizer", to_string(l.tokenizer), to_string(r.tokenizer));
    add("positional", to_string(l.positional), to_string(r.positional));
    add("mask", to_string(l.mask), to_string(r.mask));
    add("pattern", pattern_name(l.pattern), pattern_name(r.pattern));
    add("Linformer k", std::to_string(l.linformer_k), std::to_string(r.linformer_k));
    add("scale", scale_name(l.scale), scale_name(r.scale));
    add("temperature", format_value(l.temperature), format_value(r.temperature));
    add("kernels", to_string(l.kernels), to_string(r.kernels));
    return out;
}

//-----------------------------------------------------------------------------
// Compact controls for the right-hand config
//-----------------------------------------------------------------------------
template <class E>
bool enum_combo(const char* label, E& value, std::initializer_list<E> options) {
    bool changed = false;
    if (ImGui::BeginCombo(label, to_string(value))) {
        for (E option : options)
            if (ImGui::Selectable(to_string(option), option == value)) {
                changed = option != value;
                value = option;
            }
        ImGui::EndCombo();
    }
    return changed;
}

bool right_controls(AppState& state, Config& c) {
    bool changed = false;
    // Each field fills its column but leaves room for the longest label on its right.
    const float w = -(ImGui::CalcTextSize("temperature").x + ImGui::GetStyle().ItemInnerSpacing.x + 2);
    if (!ImGui::BeginTable("##right_controls", 3, ImGuiTableFlags_SizingStretchSame)) return false;
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= ImGui::InputInt("heads", &c.heads, 1, 1);
    record_text_field(state, "compare_heads", "heads", true);
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= enum_combo("mask", c.mask, {MaskKind::none, MaskKind::causal, MaskKind::padding});
    record_item(state, "compare_mask");
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= enum_combo("positional", c.positional,
                          {Positional::none, Positional::sinusoidal, Positional::learned, Positional::rope, Positional::alibi});
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= enum_combo("pattern", c.pattern.kind,
                          {PatternKind::full, PatternKind::local, PatternKind::sliding_global, PatternKind::bigbird, PatternKind::strided});
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= ImGui::InputInt("window", &c.pattern.window);
    record_text_field(state, "compare_window", "window", true);
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= ImGui::InputInt("Linformer k", &c.linformer_k);
    record_text_field(state, "compare_linformer_k", "Linformer k", true);
    ImGui::TableNextColumn();
    const char* scale_names[] = {"1/√d_k", "1/√d_model", "a number"};
    int scale_kind = static_cast<int>(c.scale.kind);
    ImGui::SetNextItemWidth(w);
    if (ImGui::Combo("scale", &scale_kind, scale_names, 3)) {
        c.scale.kind = static_cast<ScaleKind>(scale_kind);
        if (c.scale.kind == ScaleKind::number && !(c.scale.value > 0)) c.scale.value = 1.0;
        changed = true;
    }
    if (c.scale.kind == ScaleKind::number) {
        ImGui::SetNextItemWidth(w);
        changed |= ImGui::InputDouble("scale value", &c.scale.value, 0.0, 0.0, "%.6g");
        record_text_field(state, "compare_scale_value", "scale value", false);
    }
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= ImGui::InputDouble("temperature", &c.temperature, 0.1, 1.0, "%.6g");
    record_text_field(state, "compare_temperature", "temperature", true);
    ImGui::TableNextColumn();
    ImGui::SetNextItemWidth(w);
    changed |= enum_combo("variant", c.variant, {Variant::standard, Variant::seed_module});
    ImGui::EndTable();
    return changed;
}

//-----------------------------------------------------------------------------
// Reductions of the two traces, kept per trace version
//-----------------------------------------------------------------------------
struct OutputDifference {
    double largest = 0;  // max |right.output − left.output|
    int row = 0, col = 0;  // where: query token, output dimension
};

struct DiffCache {
    std::uint64_t version = ~std::uint64_t{0};
    int head = -1;
    bool weights_match = false;  // same (T, N) for the selected head
    Matrix weights;              // (T, N) right − left
    BoolMatrix allowed;          // (T, N) allowed on either side
    bool outputs_match = false;  // same (T, d)
    OutputDifference output;
};

const DiffCache& differences_of(const Trace& left, const Trace& right, int head, std::uint64_t version) {
    static DiffCache cache;
    if (cache.version == version && cache.head == head) return cache;
    cache.version = version;
    cache.head = head;
    const HeadTrace& l = left.heads[std::min<std::size_t>(head, left.heads.size() - 1)];
    const HeadTrace& r = right.heads[std::min<std::size_t>(head, right.heads.size() - 1)];
    cache.weights_match = l.weights.shape() == r.weights.shape() && head < static_cast<int>(right.heads.size()) && l.weights.size() > 0;
    if (cache.weights_match) {
        cache.weights = r.weights - l.weights;
        cache.allowed = l.mask || r.mask;
    }
    cache.outputs_match = left.output.shape() == right.output.shape();
    cache.output = {};
    if (cache.outputs_match) {
        for (std::size_t i = 0; i < left.output.shape(0); ++i)
            for (std::size_t c = 0; c < left.output.shape(1); ++c) {
                const double d = std::abs(static_cast<double>(right.output(i, c)) - left.output(i, c));
                if (d > cache.output.largest) cache.output = {d, static_cast<int>(i), static_cast<int>(c)};
            }
    }
    return cache;
}

// Over every head: the core counts one head's (Stats::allowed_pairs; the heads share the mask).
long long allowed_pairs(const Trace& t) {
    return static_cast<long long>(t.stats.allowed_pairs) * static_cast<long long>(t.heads.size());
}

std::string ratio(double right, double left) {
    if (!(left > 0)) return "–";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g×", right / left);
    return buf;
}

//-----------------------------------------------------------------------------
// The pieces of the view
//-----------------------------------------------------------------------------
HeatmapSpec weights_spec(const char* id, const Trace& t, const AppState& state, ImVec2 size, bool legend) {
    HeatmapSpec spec;
    spec.id = id;
    spec.row_labels = &t.tokens;
    const std::vector<std::string>& keys = t.cross ? t.source_tokens : t.tokens;
    spec.col_labels = t.N == static_cast<int>(keys.size()) ? &keys : nullptr;
    spec.col_axis = spec.col_labels ? "key" : "projected key";
    spec.scale = ColorScale::sequential;
    spec.lo = 0.0;
    spec.hi = 1.0;
    spec.size = size;
    spec.legend = legend;
    spec.version = state.trace_version;
    spec.pinned = state.pinned ? &*state.pinned : nullptr;
    return spec;
}

void presets_row(AppState& state) {
    const Trace& left = *state.trace;
    const int keys = left.cross ? left.S : left.T;
    ImGui::TextDisabled("Right = left with one change:");
    int n = 0;
    for (const Preset& p : kPresets) {
        const float w = ImGui::CalcTextSize(p.label).x + ImGui::GetStyle().FramePadding.x * 2;
        if (n++ > 0) same_line_if_fits(w);
        if (ImGui::SmallButton(p.label)) {
            Config c = state.config;
            p.change(c, keys);
            state.compare.config = c;
            state.compare.dirty = true;
        }
        record_item(state, (std::string("preset_") + p.label).c_str());
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", p.help);
    }
}

void cost_table(const Trace& left, const Trace& right) {
    // In millions and kibibytes so that long texts still fit the half-width table.
    // Measured wall time is noisy at these sizes: three decimals of a millisecond are all it carries.
    char lt[32], rt[32];
    std::snprintf(lt, sizeof lt, "%.3f", left.stats.ms.total);
    std::snprintf(rt, sizeof rt, "%.3f", right.stats.ms.total);
    const long long lp = allowed_pairs(left), rp = allowed_pairs(right);
    const std::string rows[4][4] = {
        {"MFLOP", format_value(left.stats.flops / 1e6), format_value(right.stats.flops / 1e6), ratio(right.stats.flops, left.stats.flops)},
        {"KiB", format_value(left.stats.bytes / 1024), format_value(right.stats.bytes / 1024), ratio(right.stats.bytes, left.stats.bytes)},
        {"ms", lt, rt, ratio(right.stats.ms.total, left.stats.ms.total)},
        {"pairs", std::to_string(lp), std::to_string(rp), ratio(static_cast<double>(rp), static_cast<double>(lp))},
    };
    const char* const header[4] = {"", "left", "right", "ratio"};  // ratio: right / left
    // The table's natural width: each column's widest cell plus the cells' padding and borders.
    const ImGuiStyle& style = ImGui::GetStyle();
    float width = 0;
    for (int c = 0; c < 4; ++c) {
        float widest = ImGui::CalcTextSize(header[c]).x;
        for (const auto& row : rows) widest = std::max(widest, ImGui::CalcTextSize(row[c].c_str()).x);
        width += widest + 2 * style.CellPadding.x + 1;
    }
    if (width > ImGui::GetContentRegionAvail().x) {  // large type in a half-width pane: a line per measure, wrapped
        for (const auto& row : rows)
            ImGui::TextWrapped("%s: left %s, right %s (%s)", row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str());
    } else if (ImGui::BeginTable("##costs", 4, ImGuiTableFlags_Borders | ImGuiTableFlags_SizingFixedFit)) {
        for (const char* name : header) ImGui::TableSetupColumn(name);
        ImGui::TableHeadersRow();
        for (const auto& row : rows) {
            ImGui::TableNextRow();
            for (const std::string& cell : row) {
                ImGui::TableNextColumn();
                ImGui::TextUnformatted(cell.c_str());
            }
        }
        ImGui::EndTable();
    }
    hint_text("kernels: %s | %s. \"pairs\" counts the (query, key) pairs the masks allow, over all heads: the work a sparse "
              "kernel would do. The FLOPs count every pair (heads on screen score every pair, then mask), so only Linformer changes them.",
              left.stats.kernel_path.c_str(), right.stats.kernel_path.c_str());
}

}  // namespace

void view_compare(AppState& state) {
    if (!state.trace) return;
    const Trace& left = *state.trace;
    CompareState& cmp = state.compare;
    // Until something chose the right side (a preset, a lesson, a link), it is the untouched default
    // Config, which differs from an edited left side in many ways at once. Start from "left with the
    // mask flipped" instead: one change, the most common comparison.
    static bool seeded = false;
    if (!seeded) {
        seeded = true;
        if (config_to_json(cmp.config) == config_to_json(Config{})) {
            cmp.config = state.config;
            cmp.config.mask = state.config.mask == MaskKind::causal ? MaskKind::none : MaskKind::causal;
            if (cmp.config.mask == MaskKind::causal) cmp.config.linformer_k = 0;
            cmp.dirty = true;
        }
    }

    // The trained model with something switched off: the right side may be the intact model instead
    const ModelState& m = state.model;
    const bool can_intact = state.source == Source::model && m.intact_trace &&
                            m.layer < static_cast<int>(m.intact_trace->layers.size());
    if (can_intact) {
        if (ImGui::Checkbox("Right: the intact model (nothing switched off)", &cmp.intact)) ++state.trace_version;
        record_item(state, "compare_intact");
    }
    const bool intact = can_intact && cmp.intact;
    if (!intact) {
        presets_row(state);
        const bool options_open = ImGui::CollapsingHeader("Right-hand options");
        record_item(state, "compare_options");
        if (options_open && right_controls(state, cmp.config)) cmp.dirty = true;
    }

    if (cmp.job) {  // a long sequence's right-hand pass, a few milliseconds a frame
        ImGui::ProgressBar(static_cast<float>(cmp.job->progress()), ImVec2(ImGui::GetFontSize() * 16, 0), "right-hand side");
        record_item(state, "compare_progress");
    }
    if (!cmp.trace && !intact) {
        if (!cmp.error.empty()) ImGui::TextColored(kErrorColour, "Right side not computed: %s", cmp.error.c_str());
        else ImGui::TextDisabled("Computing the right-hand side…");
        return;
    }
    const Trace& right = intact ? m.intact_trace->layers[m.layer].attention : *cmp.trace;
    std::string summary;
    if (intact) {
        summary = "the intact model, layer " + std::to_string(m.layer) + " (left: the model with the switches in the atlas off)";
        ImGui::TextWrapped("Right: %s. A head switched off leaves its own layer's weights as they were; the layers after it "
                           "read a different residual stream.", summary.c_str());
    } else {
        const std::vector<std::string> diff = differences(left.config, cmp.config);  // what was chosen, even if the engine refused it
        summary = diff.empty() ? "the same configuration" : "";
        for (const std::string& d : diff) summary += (summary.empty() ? "" : "; ") + d;
        ImGui::TextWrapped("Right: %s", summary.c_str());
    }
    state.readout["compare_differences"] = summary;

    if (state.source == Source::model && state.model.trace) {  // the left side is the trained model's layer
        ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
        ImGui::SliderInt("layer", &state.model.layer, 0, static_cast<int>(state.model.trace->layers.size()) - 1);
        record_item(state, "compare_layer");
        ImGui::SameLine();
    }
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 6);
    ImGui::SliderInt("head", &state.selected_head, 0, static_cast<int>(left.heads.size()) - 1);
    if (right.heads.size() != left.heads.size()) {
        const std::string note = "(left " + std::to_string(left.heads.size()) + " heads, right " + std::to_string(right.heads.size()) + ")";
        same_line_if_fits(ImGui::CalcTextSize(note.c_str()).x);
        hint_text("%s", note.c_str());
    }
    const int head = shown_head(state);
    const int right_head = std::min(head, static_cast<int>(right.heads.size()) - 1);
    if (!right.keeps(right_head)) {  // a long sequence: the right side keeps the selected head, computed after the left
        ImGui::TextDisabled("Computing head %d of the right-hand side…", head);
        return;
    }

    // Row 1: the two weights heatmaps, the right one carrying the shared [0, 1] legend. On a
    // narrow screen the four panes stack, each the full width, and the view scrolls.
    const float line = ImGui::GetTextLineHeight();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const bool stacked = state.narrow;
    const float half = stacked ? avail.x : (avail.x - ImGui::GetStyle().ItemSpacing.x) / 2;
    const float row_h = std::clamp((avail.y - 2 * line) / 2, 8 * line, 22 * line);
    constexpr float legend_w = 70;

    ImGui::BeginChild("##cmp_left", ImVec2(half, row_h), false, kPane);
    ImGui::Text("left: head %d weights", head);
    const HeatmapEvents le = heatmap(weights_spec("cmp_left", left, state, ImVec2(half - legend_w, 0), false),
                                     left.heads[head].weights, &left.heads[head].mask);
    if (le.clicked) state.pinned = le.clicked;
    ImGui::EndChild();
    if (!stacked) ImGui::SameLine();
    ImGui::BeginChild("##cmp_right", ImVec2(half, row_h), false, kPane);
    ImGui::Text("right: head %d weights", right_head);
    if (!cmp.error.empty() && !intact) {
        ImGui::PushStyleColor(ImGuiCol_Text, kErrorColour);
        ImGui::TextWrapped("Not computed: %s. Showing the last right-hand configuration that worked.", cmp.error.c_str());
        ImGui::PopStyleColor();
    }
    const HeatmapEvents re = heatmap(weights_spec("cmp_right", right, state, ImVec2(half, 0), true), right.heads[right_head].weights,
                                     &right.heads[right_head].mask);
    if (re.clicked && right.T == left.T && right.N == left.N) state.pinned = re.clicked;
    ImGui::EndChild();
    if (!cmp.error.empty() && !intact) state.readout["compare_error"] = cmp.error;

    // Row 2: the difference (left half), the outputs and costs (right half).
    const DiffCache& d = differences_of(left, right, head, state.trace_version);
    ImGui::BeginChild("##cmp_diff", ImVec2(half, stacked ? row_h : 0), false, kPane);
    if (d.weights_match) {
        ImGui::Text("right − left, head %d weights", head);
        // A little narrower than the pane: the diverging legend's labels are wider than the weights' "0" and "1".
        HeatmapSpec spec = weights_spec("cmp_diff", left, state, ImVec2(half - 56, 0), true);
        spec.scale = ColorScale::diverging;
        spec.lo.reset();
        spec.hi.reset();
        const HeatmapEvents de = heatmap(spec, d.weights, &d.allowed);
        if (de.clicked) state.pinned = de.clicked;
    } else if (right.N != left.N) {
        ImGui::TextWrapped("No cell-by-cell difference: the right side's weights are %d × %d, the left's %d × %d%s.", right.T, right.N,
                           left.T, left.N,
                           right.config.linformer_k > 0 || left.config.linformer_k > 0
                               ? " (Linformer projects the keys along the sequence to k rows, so the columns are no longer tokens)"
                               : "");
    } else {
        ImGui::TextWrapped("No cell-by-cell difference: the two sides have different shapes (T = %d vs %d).", left.T, right.T);
    }
    ImGui::EndChild();
    if (stacked) {
        ImGui::BeginGroup();  // below the panes, in the view's own scrolling
    } else {
        ImGui::SameLine();
        ImGui::BeginChild("##cmp_costs", ImVec2(half, 0));
    }
    ImGui::TextWrapped("Outputs (T × d_model, after W_o)");
    if (d.outputs_match) {
        const std::string largest = format_value(d.output.largest);
        ImGui::Text("largest |right − left| = %s", largest.c_str());
        ImGui::Text("at token %d \"%s\", dimension %d", d.output.row, left.tokens[d.output.row].c_str(), d.output.col);
        ImGui::TextDisabled("left %s, right %s", format_value(left.output(d.output.row, d.output.col)).c_str(),
                            format_value(right.output(d.output.row, d.output.col)).c_str());
        state.readout["compare_max_output_diff"] = largest;
        state.readout["compare_max_output_at"] = std::to_string(d.output.row) + "," + std::to_string(d.output.col);
    } else {
        ImGui::TextWrapped("The outputs have different shapes (%zu × %zu vs %zu × %zu): nothing to subtract.", left.output.shape(0),
                           left.output.shape(1), right.output.shape(0), right.output.shape(1));
    }
    ImGui::Spacing();
    cost_table(left, right);
    if (stacked) ImGui::EndGroup();
    else ImGui::EndChild();
}

}  // namespace attnviz::app
