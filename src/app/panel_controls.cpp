// Controls panel: every option of the engine's Config. Each edit marks the config dirty so
// the core reruns at once; when the engine refuses a value, its message appears under the
// control that owns the field and the last good trace stays on screen.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "app.hpp"
#include "imgui.h"
#include "misc/cpp/imgui_stdlib.h"

namespace attnviz::app {

namespace {

void field_message(const AppState& state, const char* field) {
    const std::string message = field_error(state, field);
    if (message.empty()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.54f, 0.5f, 1.0f));
    ImGui::TextWrapped("%s", message.c_str());
    ImGui::PopStyleColor();
}

// A combo over an enum whose JSON spellings come from the core's to_string().
// Records the combo as `label` and, while it is open, each option as "label=option".
template <class E>
bool enum_combo(AppState& state, const char* label, E& value, std::initializer_list<E> options) {
    bool changed = false;
    const bool open = ImGui::BeginCombo(label, to_string(value));
    if (open) {
        for (E option : options) {
            if (ImGui::Selectable(to_string(option), option == value)) {
                changed = option != value;
                value = option;
            }
            record_item(state, (std::string(label) + "=" + to_string(option)).c_str());
        }
        ImGui::EndCombo();
    }
    return changed;
}

std::string join_indices(const std::vector<int>& v) {
    std::string out;
    for (int x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
    return out;
}

// "0, 3 5" → {0, 3, 5}; anything else than digits, commas and spaces is refused.
std::optional<std::vector<int>> parse_indices(const std::string& text) {
    std::vector<int> out;
    std::string number;
    for (char c : text + ",") {
        if (c >= '0' && c <= '9') {
            number += c;
            if (number.size() > 5) return std::nullopt;
        } else if (c == ',' || c == ' ') {
            if (!number.empty()) out.push_back(std::stoi(number));
            number.clear();
        } else {
            return std::nullopt;
        }
    }
    if (out.size() > 256) return std::nullopt;
    return out;
}

void help(const char* text) {
    ImGui::SameLine();
    ImGui::TextDisabled("(?)");
    if (ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        ImGui::PushTextWrapPos(std::min(ImGui::GetFontSize() * 28, ImGui::GetIO().DisplaySize.x * 0.8f));  // within a phone's width
        ImGui::TextUnformatted(text);
        ImGui::PopTextWrapPos();
        ImGui::EndTooltip();
    }
}

}  // namespace

void panel_controls(AppState& state) {
    if (state.source == Source::model) return panel_model(state);  // its layer and head; the lab's options do not apply
    Config& c = state.config;
    bool changed = false;
    ImGui::PushItemWidth(-ImGui::GetFontSize() * 7.5f);

    ImGui::TextDisabled("Model");
    if (ImGui::InputInt("d_model", &c.d_model, 1, 8)) changed = true;
    record_text_field(state, "d_model", "d_model", true);
    help("Width of every token vector. The heads split it: each head works in d_k = d_model / heads dimensions.");
    field_message(state, "d_model");
    if (ImGui::InputInt("heads", &c.heads, 1, 1)) changed = true;
    record_text_field(state, "heads", "heads", true);
    help("Number of attention heads. Must divide d_model.");
    field_message(state, "heads");
    if (ImGui::InputScalar("seed", ImGuiDataType_U64, &c.seed)) changed = true;
    record_text_field(state, "seed", "seed", false);
    help("Every generated embedding and weight matrix comes from this seed.");
    field_message(state, "seed");
    changed |= enum_combo(state, "tokenizer", c.tokenizer, {Tokenizer::words, Tokenizer::chars});
    record_item(state, "tokenizer");

    ImGui::Separator();
    ImGui::TextDisabled("Positions and masks");
    changed |= enum_combo(state, "positional", c.positional,
                          {Positional::none, Positional::sinusoidal, Positional::learned, Positional::rope, Positional::alibi});
    record_item(state, "positional");
    help("none | sinusoidal (added to X) | learned (a seeded table, added) | rope (rotates Q and K) | alibi (distance penalty on the scores).");
    field_message(state, "positional");
    changed |= enum_combo(state, "mask", c.mask, {MaskKind::none, MaskKind::causal, MaskKind::padding});
    record_item(state, "mask");
    help("causal: query i sees keys j ≤ i. padding: keys equal to the pad token are hidden.");
    field_message(state, "mask");
    if (c.mask == MaskKind::padding) {
        if (ImGui::InputText("pad token", &c.pad_token)) changed = true;
        record_text_field(state, "pad_token", "pad token", false);
        field_message(state, "pad_token");
    }

    ImGui::Separator();
    ImGui::TextDisabled("Sparse and efficient attention");
    changed |= enum_combo(state, "pattern", c.pattern.kind,
                          {PatternKind::full, PatternKind::local, PatternKind::sliding_global, PatternKind::bigbird, PatternKind::strided});
    record_item(state, "pattern");
    help("full | local (|i−j| ≤ window) | sliding_global (Longformer: local + global tokens) | "
         "bigbird (Longformer + random keys) | strided (Sparse Transformer: local + every s-th key).");
    field_message(state, "pattern.kind");
    const PatternKind kind = c.pattern.kind;
    if (kind != PatternKind::full) {
        if (ImGui::InputInt("window", &c.pattern.window)) changed = true;
        record_text_field(state, "window", "window", true);
        field_message(state, "pattern.window");
    }
    if (kind == PatternKind::sliding_global || kind == PatternKind::bigbird) {
        static std::string global_text;
        static const Config* editing = nullptr;
        if (!ImGui::IsAnyItemActive() || editing != &c) global_text = join_indices(c.pattern.global);
        editing = &c;
        if (ImGui::InputText("global tokens", &global_text)) {
            if (auto parsed = parse_indices(global_text)) {
                c.pattern.global = *parsed;
                changed = true;
            }
        }
        record_text_field(state, "global", "global tokens", false);
        help("Indices of the tokens that see, and are seen by, every token — e.g. 0 for [CLS]. Comma-separated.");
        field_message(state, "pattern.global");
    }
    if (kind == PatternKind::bigbird) {
        if (ImGui::InputInt("random keys", &c.pattern.random)) changed = true;
        record_text_field(state, "random", "random keys", true);
        field_message(state, "pattern.random");
    }
    if (kind == PatternKind::strided) {
        if (ImGui::InputInt("stride", &c.pattern.stride)) changed = true;
        record_text_field(state, "stride", "stride", true);
        field_message(state, "pattern.stride");
    }
    if (ImGui::InputInt("Linformer k", &c.linformer_k)) changed = true;
    record_text_field(state, "linformer_k", "Linformer k", true);
    help("0 = off. k > 0 projects keys and values along the sequence to k rows (Linformer): scores become T×k.");
    field_message(state, "linformer_k");
    field_message(state, "weights");

    ImGui::Separator();
    ImGui::TextDisabled("Scores");
    const char* scale_names[] = {"1/√d_k", "1/√d_model", "a number"};
    int scale_kind = static_cast<int>(c.scale.kind);
    if (ImGui::Combo("scale", &scale_kind, scale_names, 3)) {  // labels read as maths, so not enum_combo
        c.scale.kind = static_cast<ScaleKind>(scale_kind);
        if (c.scale.kind == ScaleKind::number && !(c.scale.value > 0)) c.scale.value = 1.0;
        changed = true;
    }
    record_item(state, "scale");
    if (c.scale.kind == ScaleKind::number) {
        if (ImGui::InputDouble("scale value", &c.scale.value, 0.0, 0.0, "%.6g")) changed = true;
        record_text_field(state, "scale_value", "scale value", false);
    }
    field_message(state, "scale");
    if (ImGui::InputDouble("temperature", &c.temperature, 0.1, 1.0, "%.6g")) changed = true;
    record_text_field(state, "temperature", "temperature", true);
    help("Divides the scaled scores before the softmax: below 1 sharpens the weights, above 1 flattens them.");
    field_message(state, "temperature");

    ImGui::Separator();
    ImGui::TextDisabled("Implementation");
    changed |= enum_combo(state, "variant", c.variant, {Variant::standard, Variant::seed_module});
    record_item(state, "variant");
    help("standard: the paper's multi-head attention. seed_module: the source article's PyTorch SelfAttention as printed — "
         "it never applies its Q/K/V layers and divides by √d_model.");
    field_message(state, "variant");
    changed |= enum_combo(state, "kernels", c.kernels, {Kernels::simd, Kernels::scalar});
    record_item(state, "kernels");
    field_message(state, "kernels");
    ImGui::PopItemWidth();

    if (changed) state.dirty = true;
    if (state.trace) {
        const Stats& s = state.trace->stats;
        ImGui::Separator();
        ImGui::TextDisabled("Cost of this configuration");
        ImGui::TextWrapped("%.4g MFLOP · %.4g KiB · %.3f ms (%s)", s.flops / 1e6, s.bytes / 1024, s.ms.total, s.kernel_path.c_str());
        record_item(state, "cost_readout");
        const Trace& t = *state.trace;
        const double pairs = static_cast<double>(t.T) * t.N;
        if (s.allowed_pairs < pairs) {  // a mask or a sparse pattern: what skipping the masked pairs would save
            const double dense = 4.0 * pairs * t.config.d_model, sparse = 4.0 * s.allowed_pairs * t.config.d_model;
            ImGui::TextWrapped("%.0f of %.0f query-key pairs allowed (%.3g %%): Q·Kᵀ and weights·V need %.4g MFLOP of %.4g for "
                               "every pair. Heads on screen compute every pair (the heatmaps show them), then mask; %s",
                               s.allowed_pairs, pairs, 100 * s.allowed_pairs / pairs, sparse / 1e6, dense / 1e6,
                               t.kept_head >= 0 ? "the other heads compute only each block's span of allowed keys."
                                                : "with a long sequence the other heads would compute only the allowed span.");
            record_item(state, "sparse_readout");
            state.readout["allowed_pairs"] = std::to_string(static_cast<long long>(s.allowed_pairs));
        }
        if (ImGui::TreeNode("time per stage")) {
            const std::pair<const char*, double> stages[] = {
                {"tokenize", s.ms.tokenize}, {"embed", s.ms.embed},     {"positions", s.ms.positional},
                {"Q, K, V", s.ms.project},   {"scores", s.ms.scores},   {"softmax", s.ms.softmax},
                {"weights·V", s.ms.weighted_sum}, {"output", s.ms.output},
            };
            for (const auto& [name, ms] : stages) ImGui::Text("%-10s %8.3f ms", name, ms);
            ImGui::TreePop();
        }
    }
    if (!state.error.empty()) {
        ImGui::Separator();
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.54f, 0.5f, 1.0f));
        ImGui::TextWrapped("Not computed: %s", state.error.c_str());
        ImGui::PopStyleColor();
        ImGui::TextDisabled("The views show the last configuration that worked.");
    }
}

}  // namespace attnviz::app
