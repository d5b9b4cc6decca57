// view_train — train a small model on a task in the page and watch its heads form (issue 12).
//
// Top to bottom: the task and model settings; Start / Pause / Step / Reset and the run's pace;
// the loss and accuracy curves; every head's attention on a fixed probe of the task (redrawn
// with each snapshot, or at the snapshot the scrubber picks); each head's previous-token and
// induction scores over the run; then what to do with the trained model (open it in every view,
// export its weights, copy a link that trains it again). The numbers all come from the worker's
// core (web/train_worker.js); this file draws them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"
#include "page.hpp"

namespace attnviz::app {

namespace {

constexpr TaskKind kTasks[] = {TaskKind::induction, TaskKind::previous_token, TaskKind::copy,     TaskKind::reverse,
                               TaskKind::sort,      TaskKind::brackets,       TaskKind::modular_addition};

// The task's name as the form lists it, with what it asks of the model.
const char* task_label(TaskKind k) {
    switch (k) {
        case TaskKind::copy: return "copy: repeat the first half";
        case TaskKind::reverse: return "reverse: the first half backwards";
        case TaskKind::sort: return "sort: the first half in order";
        case TaskKind::previous_token: return "previous token: name the one before";
        case TaskKind::induction: return "induction: continue a repeated sequence";
        case TaskKind::brackets: return "brackets: balanced or not";
        case TaskKind::modular_addition: return "modular addition: a + b mod p";
    }
    return "";
}

struct Series {
    std::string        name;
    ImU32              colour;
    std::vector<ImVec2> points;  // (step, value), steps increasing
    float              thickness = 1.5f;
};

// A line chart over steps 0 … x_max: the series, a legend, the y range's two ends, the step the
// heatmaps show (a dashed marker), and on hover each series' value at the nearest step.
void line_chart(AppState& state, const char* id, const char* title, const std::vector<Series>& series, float x_max, float y_lo,
                float y_hi, const char* y_format, int marker_step, float width, float height) {
    ImGui::BeginGroup();
    const float left = ImGui::GetCursorScreenPos().x;
    ImGui::TextUnformatted(title);
    float line_end = left + ImGui::GetItemRectSize().x;
    for (const Series& s : series) {  // the legend: a swatch and the name, flowing within the chart's width
        const float w = ImGui::GetFontSize() * 0.6f + ImGui::GetStyle().ItemInnerSpacing.x + ImGui::CalcTextSize(s.name.c_str()).x;
        const float spacing = ImGui::GetStyle().ItemSpacing.x;
        if (line_end + spacing + w <= left + width) {
            ImGui::SameLine(0, spacing);
            line_end += spacing + w;
        } else {
            line_end = left + w;
        }
        const ImVec2 p = ImGui::GetCursorScreenPos();
        const float sw = ImGui::GetFontSize() * 0.6f;
        ImGui::GetWindowDrawList()->AddRectFilled(ImVec2(p.x, p.y + sw * 0.4f), ImVec2(p.x + sw, p.y + sw * 1.4f), s.colour);
        ImGui::Dummy(ImVec2(sw, sw));
        ImGui::SameLine(0, ImGui::GetStyle().ItemInnerSpacing.x);
        ImGui::TextDisabled("%s", s.name.c_str());
    }
    char lo_text[32], hi_text[32];
    std::snprintf(lo_text, sizeof lo_text, y_format, static_cast<double>(y_lo));
    std::snprintf(hi_text, sizeof hi_text, y_format, static_cast<double>(y_hi));
    const float label_w = std::max(ImGui::CalcTextSize(lo_text).x, ImGui::CalcTextSize(hi_text).x) + 6;
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 p0(origin.x + label_w, origin.y + 4);
    const float plot_h = height - ImGui::GetTextLineHeight() - 8;
    const ImVec2 p1(origin.x + width - 4, p0.y + plot_h);
    ImDrawList* draw = ImGui::GetWindowDrawList();
    draw->AddRectFilled(p0, p1, IM_COL32(24, 24, 28, 255));
    draw->AddRect(p0, p1, IM_COL32(90, 90, 96, 255));
    const ImU32 dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
    draw->AddText(ImVec2(origin.x, p0.y - 2), dim, hi_text);
    draw->AddText(ImVec2(origin.x, p1.y - ImGui::GetTextLineHeight() + 2), dim, lo_text);
    draw->AddText(ImVec2(p0.x, p1.y + 2), dim, "step 0");
    char end_text[32];
    std::snprintf(end_text, sizeof end_text, "%d", static_cast<int>(x_max));
    draw->AddText(ImVec2(p1.x - ImGui::CalcTextSize(end_text).x, p1.y + 2), dim, end_text);
    const float span_x = std::max(1.0f, x_max), span_y = std::max(1e-6f, y_hi - y_lo);
    const auto to_screen = [&](ImVec2 v) {
        const float y = std::clamp((v.y - y_lo) / span_y, 0.0f, 1.0f);
        return ImVec2(p0.x + (p1.x - p0.x) * v.x / span_x, p1.y - (p1.y - p0.y) * y);
    };
    draw->PushClipRect(p0, p1, true);
    for (const Series& s : series) {
        if (s.points.empty()) continue;
        // at most about one point per pixel column: a long run's every-step losses, thinned
        const std::size_t stride = std::max<std::size_t>(1, s.points.size() / static_cast<std::size_t>(std::max(1.0f, p1.x - p0.x)));
        std::vector<ImVec2> pts;
        for (std::size_t k = 0; k < s.points.size(); k += stride) pts.push_back(to_screen(s.points[k]));
        if (pts.size() == 1) draw->AddCircleFilled(pts[0], 2.5f, s.colour);
        else draw->AddPolyline(pts.data(), static_cast<int>(pts.size()), s.colour, 0, s.thickness);
    }
    if (marker_step >= 0) {
        const float x = to_screen(ImVec2(static_cast<float>(marker_step), y_lo)).x;
        for (float y = p0.y; y < p1.y; y += 6) draw->AddLine(ImVec2(x, y), ImVec2(x, std::min(y + 3, p1.y)), IM_COL32(255, 255, 255, 140));
    }
    draw->PopClipRect();
    ImGui::SetCursorScreenPos(origin);
    ImGui::InvisibleButton(id, ImVec2(width, height));
    record_item(state, id);
    if (ImGui::IsItemHovered() && !series.empty()) {
        const float mx = std::clamp((ImGui::GetIO().MousePos.x - p0.x) / (p1.x - p0.x), 0.0f, 1.0f) * span_x;
        ImGui::BeginTooltip();
        for (const Series& s : series) {
            if (s.points.empty()) continue;
            const auto it = std::lower_bound(s.points.begin(), s.points.end(), mx, [](const ImVec2& p, float x) { return p.x < x; });
            const ImVec2 v = it == s.points.end() ? s.points.back() : *it;
            ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(s.colour), "%s  step %d: %s", s.name.c_str(), static_cast<int>(v.x),
                               format_value(v.y).c_str());
        }
        ImGui::EndTooltip();
    }
    ImGui::EndGroup();
}

// One labelled integer field of the form.
bool int_field(AppState& state, const char* label, const char* id, int* value, int step, const char* tip) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(label);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
    ImGui::SameLine(ImGui::GetFontSize() * 7);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 8);
    const bool changed = ImGui::InputInt(id, value, step, step * 4);
    record_text_field(state, id + 2, id, true);
    return changed;
}

void settings_form(AppState& state) {
    TrainState& t = state.train;
    SessionSettings& s = t.settings;
    const bool locked = t.status == TrainStatus::running || t.status == TrainStatus::starting;
    ImGui::BeginDisabled(locked);
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Task");
    ImGui::SameLine(ImGui::GetFontSize() * 7);
    ImGui::SetNextItemWidth(std::min(ImGui::GetContentRegionAvail().x, ImGui::GetFontSize() * 22));
    if (ImGui::BeginCombo("##train_task", task_label(s.task.kind))) {
        for (TaskKind k : kTasks) {
            if (ImGui::Selectable(task_label(k), s.task.kind == k)) {
                const std::uint64_t seed = s.seed;
                s = default_session(k);  // each task's defaults learn within a minute
                s.seed = seed;
            }
            record_item(state, (std::string("train_task=") + task_name(k)).c_str());
        }
        ImGui::EndCombo();
    }
    record_item(state, "train_task");
    const float column = ImGui::GetFontSize() * 15;
    const bool two_columns = ImGui::GetContentRegionAvail().x >= 2 * column;
    if (two_columns) ImGui::Columns(2, "##train_form", false);
    if (s.task.kind == TaskKind::modular_addition) {
        int_field(state, "p", "##train_symbols", &s.task.symbols, 1, "the modulus: a + b mod p, with a and b from 0 to p − 1");
    } else {
        if (s.task.kind != TaskKind::brackets)
            int_field(state, "symbols", "##train_symbols", &s.task.symbols, 1, "how many different symbols the sequences use");
        int_field(state, "length", "##train_length", &s.task.length, 1, "the length n of the part the task is about");
    }
    int_field(state, "layers", "##train_layers", &s.n_layer, 1, "transformer blocks, 1 to 4");
    int_field(state, "heads", "##train_heads", &s.n_head, 1, "attention heads per layer; they divide d_model");
    int_field(state, "d_model", "##train_embd", &s.n_embd, 8, "the width of every token's vector");
    ImGui::Checkbox("MLP in every block", &s.mlp);
    record_item(state, "train_mlp");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Off: attention-only, so every circuit the model learns is made of heads");
    if (two_columns) ImGui::NextColumn();
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("learning rate");
    ImGui::SameLine(ImGui::GetFontSize() * 7);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7);
    ImGui::InputFloat("##train_lr", &s.learning_rate, 0, 0, "%.4g");
    record_text_field(state, "train_lr", "##train_lr", false);
    int_field(state, "batch", "##train_batch", &s.batch_size, 8, "examples per optimizer step");
    int_field(state, "steps", "##train_steps", &s.max_steps, 100, "the run stops after this many steps (the learning rate decays to a tenth by then)");
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("seed");
    ImGui::SameLine(ImGui::GetFontSize() * 7);
    ImGui::SetNextItemWidth(ImGui::GetFontSize() * 7);
    ImGui::InputScalar("##train_seed", ImGuiDataType_U64, &s.seed);
    record_text_field(state, "train_seed", "##train_seed", false);
    if (two_columns) ImGui::Columns(1);
    ImGui::EndDisabled();
    if (!locked) error_text(check_session(s));
}

// The run's buttons and where it stands.
void controls(AppState& state) {
    TrainState& t = state.train;
    const bool valid = check_session(t.settings).empty();
    const bool active = t.status == TrainStatus::running || t.status == TrainStatus::starting;
    ImGui::BeginDisabled(!valid || active);
    const bool restart = t.status == TrainStatus::died || t.status == TrainStatus::failed;
    if (ImGui::Button(restart ? "Restart" : "Start")) {
        t.stop_at = -1;
        train_start(state);
    }
    record_item(state, "train_start");
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (t.status == TrainStatus::running || t.status == TrainStatus::starting) {
        if (ImGui::Button("Pause")) train_command(state, "pause");
        record_item(state, "train_pause");
    } else {
        ImGui::BeginDisabled(t.status != TrainStatus::paused);
        if (ImGui::Button("Resume")) train_command(state, "resume");
        record_item(state, "train_resume");
        ImGui::EndDisabled();
    }
    ImGui::SameLine();
    ImGui::BeginDisabled(t.status != TrainStatus::paused && t.status != TrainStatus::running);
    if (ImGui::Button("Step")) train_command(state, "step");
    record_item(state, "train_step");
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(t.status == TrainStatus::idle);
    if (ImGui::Button("Reset")) train_command(state, "reset");
    record_item(state, "train_reset");
    ImGui::EndDisabled();

    const SessionSnapshot* last = t.history.kept().empty() ? nullptr : &t.history.kept().back();
    char line[256];
    if (last) {
        std::snprintf(line, sizeof line, "%s · step %d of %d · loss %s · validation accuracy %.1f %%", train_status_name(t.status),
                      last->step, t.run.max_steps, format_value(last->train_loss).c_str(), 100 * last->validation.accuracy);
    } else {
        std::snprintf(line, sizeof line, "%s", t.status == TrainStatus::starting ? "starting the training worker…" : train_status_name(t.status));
    }
    same_line_if_fits(ImGui::CalcTextSize(line).x);
    ImGui::TextWrapped("%s", line);
    state.readout["train_status"] = line;
    if (t.status == TrainStatus::running || t.steps_per_s > 0) {
        hint_text("%.0f steps/s · %.0f tokens/s · %.2f GFLOP/s (the worker's core, one thread)", t.steps_per_s, t.tokens_per_s, t.gflops);
        char pace[96];
        std::snprintf(pace, sizeof pace, "%.0f", t.tokens_per_s);
        state.readout["train_tokens_per_s"] = pace;
    }
    error_text(t.message);

    // the trained model
    if (t.history.kept().empty()) return;
    // the model is there to save once the run stands still in a live worker
    const bool settled = t.status == TrainStatus::paused || t.status == TrainStatus::finished || t.status == TrainStatus::diverged;
    ImGui::BeginDisabled(!settled);
    const auto button_width = [](const char* label) { return ImGui::CalcTextSize(label).x + 2 * ImGui::GetStyle().FramePadding.x; };
    if (ImGui::Button("Open in every view")) train_command(state, "open");
    record_item(state, "train_open");
    same_line_if_fits(button_width("Export weights"));
    if (ImGui::Button("Export weights")) train_command(state, "export");
    record_item(state, "train_export");
    same_line_if_fits(button_width("Copy run link"));
    if (ImGui::Button("Copy run link")) page_copy_run_link(state);
    record_item(state, "train_link");
    ImGui::EndDisabled();
    hint_text("%s", settled ? "Training is deterministic for one build of attnviz: the link trains the same weights again, step for step."
                            : "Pause to open the model in the other views, export its weights or copy a link to this run.");
}

// Every head's attention on the probe at the snapshot shown: L rows × H tiles.
void head_grid(AppState& state, const SessionSnapshot& snap, int shown_index) {
    TrainState& t = state.train;
    const int L = snap.L, H = snap.H, T = snap.T;
    struct Cache {
        std::uint64_t version = ~0ull;
        int index = -2;
        std::vector<Matrix> heads;          // (L·H) each (T, T)
        BoolMatrix causal;                  // (T, T)
        std::vector<std::string> labels;    // (T) the probe's tokens
    };
    static Cache cache;
    if (cache.version != t.version || cache.index != shown_index) {
        cache.version = t.version;
        cache.index = shown_index;
        cache.heads.assign(static_cast<std::size_t>(L) * H, Matrix::from_shape({static_cast<std::size_t>(T), static_cast<std::size_t>(T)}));
        for (int lh = 0; lh < L * H; ++lh)
            std::copy_n(snap.attention.begin() + static_cast<std::ptrdiff_t>(lh) * T * T, static_cast<std::size_t>(T) * T,
                        cache.heads[lh].begin());
        cache.causal = BoolMatrix::from_shape({static_cast<std::size_t>(T), static_cast<std::size_t>(T)});
        for (int i = 0; i < T; ++i)
            for (int j = 0; j < T; ++j) cache.causal(i, j) = j <= i;
        const Vocabulary vocab = task_vocabulary(t.run.task);
        cache.labels.clear();
        for (int id : snap.probe) cache.labels.push_back(id >= 0 && id < static_cast<int>(vocab.tokens.size()) ? vocab.tokens[id] : "?");
    }
    const float gap = ImGui::GetStyle().ItemSpacing.x;
    const float tile = std::clamp((ImGui::GetContentRegionAvail().x - gap * (H - 1)) / H, 60.0f, 220.0f);
    for (int l = 0; l < L; ++l) {
        for (int h = 0; h < H; ++h) {
            if (h > 0) ImGui::SameLine(0, gap);
            ImGui::BeginGroup();
            const HeadRoles& r = snap.roles[static_cast<std::size_t>(l) * H + h];
            // the tile's two lines, cut at its width (a phone's tiles are narrow): through the draw list, so they
            // never count as content past the window's edge
            char title[32], scores[64];
            std::snprintf(title, sizeof title, tile >= ImGui::CalcTextSize("layer 0 head 0").x ? "layer %d head %d" : "L%d H%d", l, h);
            std::snprintf(scores, sizeof scores, "prev %.2f · ind %.2f", r.previous_token, r.induction);
            const ImVec2 at = ImGui::GetCursorScreenPos();
            const float line = ImGui::GetTextLineHeightWithSpacing();
            ImDrawList* draw = ImGui::GetWindowDrawList();
            draw->PushClipRect(at, ImVec2(at.x + tile, at.y + 2 * line), true);
            draw->AddText(at, ImGui::GetColorU32(ImGuiCol_Text), title);
            draw->AddText(ImVec2(at.x, at.y + line), ImGui::GetColorU32(ImGuiCol_TextDisabled), scores);
            draw->PopClipRect();
            ImGui::Dummy(ImVec2(tile, 2 * line - ImGui::GetStyle().ItemSpacing.y));
            const std::string id = "train_head_" + std::to_string(l) + "_" + std::to_string(h);
            HeatmapSpec spec;
            spec.id = id.c_str();
            spec.row_labels = &cache.labels;
            spec.col_labels = &cache.labels;
            spec.scale = ColorScale::sequential;
            spec.lo = 0.0;
            spec.hi = 1.0;
            spec.size = ImVec2(tile, tile);
            spec.legend = false;
            spec.axis_labels = false;
            spec.version = t.version * 64 + static_cast<std::uint64_t>(shown_index + 1);
            heatmap(spec, cache.heads[static_cast<std::size_t>(l) * H + h], &cache.causal);
            record_item(state, id.c_str());
            ImGui::EndGroup();
        }
    }
}

}  // namespace

void view_train(AppState& state) {
    TrainState& t = state.train;
    if (t.pending_start) {  // a run link: train it again
        t.pending_start = false;
        train_start(state);
    }
    ImGui::TextWrapped("Train a small transformer on a task, here in the page, and watch its attention heads take shape. "
                       "Training runs in a worker with its own copy of the core, so the page stays responsive.");
    if (ImGui::CollapsingHeader("Task and model", t.status == TrainStatus::idle ? ImGuiTreeNodeFlags_DefaultOpen : 0)) settings_form(state);
    record_item(state, "train_settings");
    controls(state);

    const std::vector<SessionSnapshot>& kept = t.history.kept();
    if (kept.empty()) {
        hint_text("Press Start. The defaults for each task learn within a minute; try induction with 2 layers and watch layer 1's "
                  "heads become induction heads as the loss drops (or open the lessons: 14 to 16 train here).");
        return;
    }
    const int shown = t.scrub >= 0 && t.scrub < static_cast<int>(kept.size()) ? t.scrub : static_cast<int>(kept.size()) - 1;
    const SessionSnapshot& snap = kept[static_cast<std::size_t>(shown)];
    const float x_max = static_cast<float>(std::max(t.run.max_steps, 1));

    // loss and accuracy
    ImGui::Separator();
    const float avail = ImGui::GetContentRegionAvail().x;
    const bool side_by_side = avail >= 640;
    const float chart_w = side_by_side ? (avail - ImGui::GetStyle().ItemSpacing.x) / 2 : avail;
    const float chart_h = std::max(120.0f, ImGui::GetFontSize() * 8);
    Series train_loss{"training (each step)", IM_COL32(150, 150, 160, 255), {}, 1.0f}, val_loss{"validation", head_colour(0), {}, 2.0f};
    float loss_hi = 0.1f;
    for (const auto& [step, loss] : t.history.losses()) {
        train_loss.points.emplace_back(static_cast<float>(step), loss);
        loss_hi = std::max(loss_hi, loss);
    }
    Series accuracy{"validation accuracy", head_colour(2), {}, 2.0f}, sequences{"whole sequences right", head_colour(1), {}, 1.5f};
    for (const CurvePoint& p : t.history.curve()) {
        val_loss.points.emplace_back(static_cast<float>(p.step), static_cast<float>(p.validation.loss));
        loss_hi = std::max(loss_hi, static_cast<float>(p.validation.loss));
        accuracy.points.emplace_back(static_cast<float>(p.step), static_cast<float>(100 * p.validation.accuracy));
        sequences.points.emplace_back(static_cast<float>(p.step), static_cast<float>(100 * p.validation.sequences));
    }
    std::vector<Series> losses = {train_loss, val_loss}, accuracies = {accuracy, sequences};
    if (!t.reference.empty()) {  // the run before, in grey
        Series ref_loss{t.reference_label, IM_COL32(120, 120, 128, 200), {}, 2.0f}, ref_accuracy = ref_loss;
        for (const CurvePoint& p : t.reference) {
            ref_loss.points.emplace_back(static_cast<float>(p.step), static_cast<float>(p.validation.loss));
            loss_hi = std::max(loss_hi, static_cast<float>(p.validation.loss));
            ref_accuracy.points.emplace_back(static_cast<float>(p.step), static_cast<float>(100 * p.validation.accuracy));
        }
        losses.insert(losses.begin(), ref_loss);
        accuracies.insert(accuracies.begin(), ref_accuracy);
    }
    line_chart(state, "train_loss_chart", "Loss (nats per scored token)", losses, x_max, 0, loss_hi, "%.2f", snap.step, chart_w, chart_h);
    if (side_by_side) ImGui::SameLine();
    line_chart(state, "train_accuracy_chart", "Accuracy on the validation set", accuracies, x_max, 0, 100, "%.0f %%", snap.step, chart_w,
               chart_h);

    // the heads, at the snapshot shown
    ImGui::Separator();
    if (t.focus_heads) {  // a lesson step about the heads: bring them into view
        ImGui::SetScrollHereY(0.0f);
        t.focus_heads = false;
    }
    ImGui::Text("Every head on the probe at step %d", snap.step);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("The probe is the validation set's first example; rows are queries, columns keys; brighter = more weight");
    const int count = static_cast<int>(kept.size());
    int pick = shown;
    const float latest_w = ImGui::CalcTextSize("Latest").x + 2 * ImGui::GetStyle().FramePadding.x + ImGui::GetStyle().ItemSpacing.x;
    ImGui::SetNextItemWidth(std::min(ImGui::GetContentRegionAvail().x - latest_w, ImGui::GetFontSize() * 24));
    char scrub_label[64];
    std::snprintf(scrub_label, sizeof scrub_label, "step %d (%d of %d kept)", snap.step, shown + 1, count);
    if (ImGui::SliderInt("##train_scrub", &pick, 0, count - 1, scrub_label)) t.scrub = pick == count - 1 ? -1 : pick;
    record_item(state, "train_scrub");
    ImGui::SameLine();
    ImGui::BeginDisabled(t.scrub < 0);
    if (ImGui::Button("Latest")) t.scrub = -1;
    ImGui::EndDisabled();
    record_item(state, "train_latest");
    state.readout["train_shown_step"] = std::to_string(snap.step);
    head_grid(state, snap, shown);

    // each head's role scores over the run
    ImGui::Separator();
    std::vector<Series> previous, induction;
    for (int lh = 0; lh < snap.L * snap.H; ++lh) {
        const std::string name = "L" + std::to_string(lh / snap.H) + "H" + std::to_string(lh % snap.H);
        previous.push_back({name, head_colour(lh), {}, 1.5f});
        induction.push_back({name, head_colour(lh), {}, 1.5f});
        for (const CurvePoint& p : t.history.curve()) {
            if (p.roles.size() != static_cast<std::size_t>(snap.L * snap.H)) continue;
            previous.back().points.emplace_back(static_cast<float>(p.step), static_cast<float>(p.roles[lh].previous_token));
            induction.back().points.emplace_back(static_cast<float>(p.step), static_cast<float>(p.roles[lh].induction));
        }
    }
    line_chart(state, "train_previous_chart", "Previous-token score per head", previous, x_max, 0, 1, "%.1f", snap.step, chart_w, chart_h);
    if (side_by_side) ImGui::SameLine();
    line_chart(state, "train_induction_chart", "Induction score per head", induction, x_max, 0, 1, "%.1f", snap.step, chart_w, chart_h);
    hint_text("Scores on a random sequence repeated twice: previous-token = attention on the token just before; induction = "
              "attention on the token after the current one's earlier occurrence (the copying head).");
}

}  // namespace attnviz::app
