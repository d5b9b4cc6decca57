// panel_lesson — the open lesson: its title, the current step's text, and the navigation.
//
// Entering a step applies it once (its config, view, matrix, head, pinned cell and, for compare
// steps, the right-hand config); the user may then edit anything without the step fighting back.
// "Show the example again" re-applies it.
#include <algorithm>
#include <string>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"
#include "lessons.hpp"

namespace attnviz::app {

namespace {

void apply_step(AppState& state, const LessonStep& step) {
    if (step.image) {  // the Images view; the lab and the model stay as they were
        const ImageStep& i = *step.image;
        image_switch(state, i.dataset);
        state.images.overlay = i.overlay;
        state.images.layer = i.layer;
        state.images.head = i.head;
        state.images.heads_off = i.heads_off;
        image_show_gallery(state, i.gallery);
    } else if (step.train) {  // a run in the Train view; the lab and the model stay as they were
        state.train.settings = *step.train;
        state.train.stop_at = -1;
        train_start(state);
    } else if (step.view == View::train) {  // a step about the run under way: its heads
        state.train.focus_heads = true;
        if (state.train.status == TrainStatus::idle || state.train.status == TrainStatus::failed ||
            state.train.status == TrainStatus::died) {
            // no run (the step was opened from a link): the lesson's run, from its last step that has one
            const auto& steps = lessons()[static_cast<std::size_t>(state.lesson.lesson)].steps;
            for (int k = std::min(state.lesson.step, static_cast<int>(steps.size()) - 1); k >= 0; --k)
                if (steps[static_cast<std::size_t>(k)].train) {
                    state.train.settings = *steps[static_cast<std::size_t>(k)].train;
                    state.train.stop_at = -1;
                    train_start(state);
                    break;
                }
        }
    } else if (step.model) {  // the trained model on the step's text; the lab's config stays as it was
        state.text = step.config.text.value_or(kModelSentence);
        set_source(state, Source::model);
        state.model.layer = step.layer;
        state.model.ablation = step.ablation;
        state.model.ablation_changed = true;
        state.model.selected_position = -1;
        state.dirty = true;
        state.reset_widgets = true;
    } else if (step.view != View::train && step.view != View::images) {
        apply_config(state, step.config);
    }
    state.view = step.view;
    state.view_forced = true;
    state.matrix = step.matrix;
    state.selected_head = step.head;
    state.pinned = step.pinned;
    if (!step.model) state.heads_shown.assign(step.config.heads, true);
    if (step.compare) {
        state.compare.config = *step.compare;
        state.compare.dirty = true;
    }
    state.lesson.applied = state.lesson.lesson;
    state.lesson.applied_step = state.lesson.step;
}

// Moves by one step, crossing into the neighbouring lesson at either end.
void go(AppState& state, int delta) {
    const auto& all = lessons();
    LessonState& ls = state.lesson;
    ls.step += delta;
    if (ls.step < 0 && ls.lesson > 0) {
        --ls.lesson;
        ls.step = static_cast<int>(all[ls.lesson].steps.size()) - 1;
    } else if (ls.step >= static_cast<int>(all[ls.lesson].steps.size()) && ls.lesson + 1 < static_cast<int>(all.size())) {
        ++ls.lesson;
        ls.step = 0;
    }
    ls.step = std::clamp(ls.step, 0, static_cast<int>(all[ls.lesson].steps.size()) - 1);
}

// What the trace says about the factors the lesson talks about, so the text's claims can be checked.
void trace_facts(const AppState& state) {
    if (!state.trace) return;  // the first pass is still computing (a link opened on a lesson)
    const Trace& t = *state.trace;
    const HeadTrace& head = t.heads[shown_head(state)];
    hint_text("In this trace: d_k = %d, scale = %s, temperature = %s", t.head_dim, format_value(head.scale).c_str(),
              format_value(t.temperature).c_str());
    if (t.skips_qkv_projection) ImGui::TextWrapped("skips_qkv_projection: Q = K = V = slices of X_in");
    if (t.scales_by_sqrt_dmodel) ImGui::TextWrapped("scales_by_sqrt_dmodel: scale = 1/√d_model");
}

}  // namespace

void panel_lesson(AppState& state) {
    const auto& all = lessons();
    LessonState& ls = state.lesson;
    ls.lesson = std::clamp(ls.lesson, 0, static_cast<int>(all.size()) - 1);
    ls.step = std::clamp(ls.step, 0, static_cast<int>(all[ls.lesson].steps.size()) - 1);
    if (ls.applied != ls.lesson || ls.applied_step != ls.step) apply_step(state, all[ls.lesson].steps[ls.step]);
    const Lesson& lesson = all[ls.lesson];
    const LessonStep& step = lesson.steps[ls.step];
    const int n = static_cast<int>(lesson.steps.size());
    require_glyphs(lesson.title_zh);
    require_glyphs(step.zh);

    // The lesson list.
    ImGui::SetNextItemWidth(-1);
    const std::string current = std::to_string(ls.lesson + 1) + ". " + lesson.title;
    if (ImGui::BeginCombo("##lesson_pick", current.c_str())) {
        for (int i = 0; i < static_cast<int>(all.size()); ++i) {
            const std::string label = std::to_string(i + 1) + ". " + all[i].title;
            if (ImGui::Selectable(label.c_str(), i == ls.lesson)) {
                ls.lesson = i;
                ls.step = 0;
            }
        }
        ImGui::EndCombo();
    }
    record_item(state, "lesson_combo");

    // Step k of n, with Previous / Next.
    const bool first = ls.lesson == 0 && ls.step == 0;
    const bool last = ls.lesson + 1 == static_cast<int>(all.size()) && ls.step + 1 == n;
    ImGui::BeginDisabled(first);
    if (ImGui::Button("← Previous")) go(state, -1);
    ImGui::EndDisabled();
    record_item(state, "lesson_prev");
    ImGui::SameLine();
    ImGui::Text("step %d of %d", ls.step + 1, n);
    const char* next_label = ls.step + 1 == n ? "Next lesson →" : "Next →";
    same_line_if_fits(ImGui::CalcTextSize(next_label).x + 2 * ImGui::GetStyle().FramePadding.x);
    ImGui::BeginDisabled(last);
    if (ImGui::Button(next_label)) go(state, +1);
    ImGui::EndDisabled();
    record_item(state, "lesson_next");
    ImGui::Separator();

    // The text: title, Chinese title, the step's explanation, its key sentence in Chinese.
    ImGui::BeginChild("##lesson_text");
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.85f, 0.45f, 1.0f));
    ImGui::TextWrapped("%s", lesson.title.c_str());
    ImGui::PopStyleColor();
    ImGui::TextDisabled("%s", lesson.title_zh.c_str());
    ImGui::Spacing();
    ImGui::TextWrapped("%s", step.text.c_str());
    if (!step.zh.empty()) {
        ImGui::Spacing();
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.6f, 0.85f, 1.0f, 1.0f));
        ImGui::TextWrapped("%s", step.zh.c_str());
        ImGui::PopStyleColor();
    }
    ImGui::Spacing();
    if (step.view != View::train && step.view != View::images) trace_facts(state);  // the lab's factors; the Train and Images views show their own numbers
    if (ImGui::SmallButton("Show the example again")) apply_step(state, step);
    record_item(state, "lesson_reapply");
    ImGui::EndChild();

    state.readout["lesson"] = std::to_string(ls.lesson + 1) + ". " + lesson.title;
    state.readout["lesson_step"] = std::to_string(ls.step + 1) + "/" + std::to_string(n);
}

}  // namespace attnviz::app
