// The frame's windows. On a wide canvas: a toolbar on top, input and controls on the left, the
// views' tabs in the centre, the worked-out cell and the lesson on the right. On a narrow one (a
// phone either way up, a tablet upright): the toolbar with a menu, a tab bar, and one panel at a
// time, full width, with larger touch targets. Positions and sizes follow the canvas every frame,
// so the layout fits any window without overlap and follows resizes and rotations; both layouts
// draw the same panels from the same AppState, so switching loses nothing.
#include <algorithm>
#include <cfloat>
#include <cstdarg>
#include <iterator>
#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"
#include "app_state.hpp"
#include "imgui.h"
#include "imgui_internal.h"  // ClearActiveID, the active text field's window
#include "lessons.hpp"
#include "page.hpp"
#include "touch.hpp"

namespace attnviz::app {

namespace {

constexpr ImGuiWindowFlags kFixed = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                    ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;

// Below this width the three columns leave the views a sliver (768 px: 164 px); below this
// height a phone turned sideways has no room for panels stacked in a column.
constexpr float kNarrowWidth = 960.0f;
constexpr float kNarrowHeight = 500.0f;

struct ViewTab {
    View view;                       // which view
    const char* label;               // its tab in the wide layout
    const char* short_label;         // its tab in the narrow layout's bar
    void (*draw)(AppState&);         // fills the current window
};

// Every view, in tab order; both layouts list them from here.
constexpr ViewTab kViewTabs[] = {
    {View::pipeline, "Pipeline", "Pipeline", view_pipeline}, {View::matrices, "Matrices", "Matrices", view_matrices},
    {View::heads, "All heads", "Heads", view_heads},         {View::lines, "Lines", "Lines", view_lines},
    {View::compare, "Compare", "Compare", view_compare},     {View::predictions, "Predictions", "Predict", view_predictions},
    {View::atlas, "Atlas", "Atlas", view_atlas},             {View::residual, "Residual", "Residual", view_residual},
    {View::train, "Train", "Train", view_train},             {View::images, "Images", "Images", view_images},
};
static_assert(std::size(kViewTabs) == static_cast<std::size_t>(View::count), "one tab per view");

const ViewTab& view_tab(View v) { return kViewTabs[static_cast<int>(v)]; }

// Places the next window and records its rectangle as "window:<name>" (tests check overlap).
void place(AppState& state, const char* name, float x, float y, float w, float h) {
    w = std::max(w, 50.0f);
    h = std::max(h, 20.0f);
    ImGui::SetNextWindowPos(ImVec2(x, y), ImGuiCond_Always);
    ImGui::SetNextWindowSize(ImVec2(w, h), ImGuiCond_Always);
    state.layout[std::string("window:") + name] = {x, y, w, h};
}

void toggle_lesson(AppState& state) {
    state.lesson.lesson = state.lesson.lesson >= 0 ? -1 : 0;
    state.lesson.step = 0;
    state.lesson.applied = -1;
}

void notice_text() {
    if (const std::string& note = page_notice(); !note.empty()) ImGui::TextColored(ImVec4(0.6f, 0.85f, 0.6f, 1.0f), "%s", note.c_str());
}

// The notice on the wide toolbar's one line: cut to the room left, with "…", whole on hover
// (a refused link's message is often longer than the toolbar).
void notice_line() {
    const std::string& note = page_notice();
    if (note.empty()) return;
    const std::string shown = fit_text(note, ImGui::GetContentRegionAvail().x);
    ImGui::TextColored(ImVec4(0.6f, 0.85f, 0.6f, 1.0f), "%s", shown.c_str());
    if (shown != note && ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        ImGui::PushTextWrapPos(ImGui::GetFontSize() * 36);
        ImGui::TextUnformatted(note.c_str());
        ImGui::PopTextWrapPos();
        ImGui::EndTooltip();
    }
}

void toolbar(AppState& state) {
    ImGui::TextUnformatted("attnviz");
    ImGui::SameLine();
    ImGui::TextDisabled("every number of attention");
    ImGui::SameLine(0, 24);
    if (ImGui::Button(state.lesson.lesson >= 0 ? "Close lesson" : "Lessons")) toggle_lesson(state);
    record_item(state, "lessons_button");
    ImGui::SameLine();
    if (ImGui::Button(state.presentation ? "Leave presentation" : "Presentation")) state.presentation = !state.presentation;
    record_item(state, "presentation_button");
    ImGui::SameLine();
    if (ImGui::Button("Copy link")) page_copy_link(state);
    record_item(state, "share_button");
    ImGui::SameLine();
    if (ImGui::Button("Export trace")) page_export_trace(state);
    record_item(state, "export_trace_button");
    ImGui::SameLine();
    if (ImGui::Button("Export PNG")) page_export_png();
    record_item(state, "export_png_button");
    ImGui::SameLine();
    if (ImGui::Button("Import…")) page_open_import();
    record_item(state, "import_button");
    if (!page_notice().empty()) {
        ImGui::SameLine(0, 16);
        notice_line();
    }
}

// A touch-sized entry of the narrow toolbar's menu.
bool menu_entry(AppState& state, const char* label, const char* name) {
    const bool chosen = ImGui::Selectable(label, false, 0, ImVec2(ImGui::GetFontSize() * 11, ImGui::GetFrameHeight()));
    record_item(state, name);
    return chosen;
}

struct PanelTab {
    Panel panel;        // what it shows
    const char* label;  // on the tab
    const char* name;   // its recorded rect (test hook)
};

// The narrow layout's tab bar: Input, Controls, the current view, One cell, Lesson.
std::vector<PanelTab> panel_tabs(const AppState& state) {
    return {{Panel::input, "Input", "panel_tab_input"},
            {Panel::controls, "Controls", "panel_tab_controls"},
            {Panel::view, view_tab(state.view).short_label, "panel_tab_view"},
            {Panel::cell, "Cell", "panel_tab_cell"},
            {Panel::lesson, "Lesson", "panel_tab_lesson"}};
}

// The tabs' width with no spare room: each as wide as its label.
float panel_tabs_width(const std::vector<PanelTab>& tabs) {
    const ImGuiStyle& style = ImGui::GetStyle();
    float w = (tabs.size() - 1) * style.ItemSpacing.x;
    for (const PanelTab& tab : tabs) w += ImGui::CalcTextSize(tab.label).x + 2 * style.FramePadding.x;
    return w;
}

// The tabs in `width` px from the cursor, the spare width shared out; the shown one highlighted.
void draw_panel_tabs(AppState& state, const std::vector<PanelTab>& tabs, float width) {
    const ImGuiStyle& style = ImGui::GetStyle();
    const float spare = std::max(0.0f, width - panel_tabs_width(tabs)) / tabs.size();
    for (std::size_t i = 0; i < tabs.size(); ++i) {
        if (i > 0) ImGui::SameLine();
        const bool selected = state.panel == tabs[i].panel;
        if (selected) ImGui::PushStyleColor(ImGuiCol_Button, style.Colors[ImGuiCol_ButtonActive]);
        if (ImGui::Button(tabs[i].label, ImVec2(ImGui::CalcTextSize(tabs[i].label).x + 2 * style.FramePadding.x + spare, 0)))
            state.panel = tabs[i].panel;
        if (selected) ImGui::PopStyleColor();
        record_item(state, tabs[i].name);
    }
}

// The narrow toolbar: the name, the tabs when the canvas is wide enough for one row (a phone on
// its side, a tablet), and a menu with the wide toolbar's buttons. Presentation mode (a
// projector's large type, controls hidden) is not offered on a phone-sized screen.
void narrow_toolbar(AppState& state, const std::vector<PanelTab>* tabs) {
    const ImGuiStyle& style = ImGui::GetStyle();
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("attnviz");
    const float menu_w = ImGui::CalcTextSize("Menu").x + 2 * style.FramePadding.x;
    const float menu_x = ImGui::GetWindowContentRegionMax().x - menu_w;
    if (tabs) {
        ImGui::SameLine(0, 2 * style.ItemSpacing.x);
        draw_panel_tabs(state, *tabs, menu_x - 2 * style.ItemSpacing.x - ImGui::GetCursorPosX());
    }
    ImGui::SameLine(menu_x);
    if (ImGui::Button("Menu")) ImGui::OpenPopup("##menu");
    record_item(state, "menu_button");
    if (ImGui::BeginPopup("##menu")) {
        if (menu_entry(state, state.lesson.lesson >= 0 ? "Close lesson" : "Lessons", "lessons_button")) {
            toggle_lesson(state);
            if (state.lesson.lesson >= 0) state.panel = Panel::lesson;
        }
        if (menu_entry(state, "Copy link", "share_button")) page_copy_link(state);
        if (menu_entry(state, "Export trace", "export_trace_button")) page_export_trace(state);
        if (menu_entry(state, "Export PNG", "export_png_button")) page_export_png(1);  // after the menu has closed
        if (menu_entry(state, "Import…", "import_button")) page_open_import();
        state.layout["window:menu"] = {ImGui::GetWindowPos().x, ImGui::GetWindowPos().y, ImGui::GetWindowWidth(), ImGui::GetWindowHeight()};
        ImGui::EndPopup();
    }
}

// The views' own tabs (the wide layout's centre column; the narrow layout's view panel uses a
// picker instead, since five tabs do not fit a phone's width with readable labels).
void view_tabs(AppState& state) {
    if (!ImGui::BeginTabBar("views")) return;
    const bool forced = state.view_forced;  // a view drawn below may force another tab (the atlas opens the pipeline): next frame's
    for (const ViewTab& tab : kViewTabs) {
        // A tab is selected by the user's click or, for one frame, by state.view (URL, lesson, setState).
        const bool force = state.view == tab.view && state.view_forced;
        if (ImGui::BeginTabItem(tab.label, nullptr, force ? ImGuiTabItemFlags_SetSelected : 0)) {
            if (!state.view_forced) state.view = tab.view;
            ImGui::BeginChild("##view");
            tab.draw(state);
            ImGui::EndChild();
            ImGui::EndTabItem();
        }
        record_item(state, (std::string("tab_") + view_name(tab.view)).c_str());
    }
    if (forced) state.view_forced = false;
    ImGui::EndTabBar();
}

void view_picker(AppState& state) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("View");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(-1);
    if (ImGui::BeginCombo("##view_picker", view_tab(state.view).label, ImGuiComboFlags_HeightLargest)) {  // every view, no scrolling
        for (const ViewTab& tab : kViewTabs) {
            if (ImGui::Selectable(tab.label, state.view == tab.view, 0, ImVec2(0, ImGui::GetFrameHeight()))) state.view = tab.view;
            record_item(state, (std::string("view=") + view_name(tab.view)).c_str());
        }
        ImGui::EndCombo();
    }
    record_item(state, "view_picker");
    state.view_forced = false;
    ImGui::BeginChild("##view");
    view_tab(state.view).draw(state);
    ImGui::EndChild();
}

// The narrow layout's lesson panel before a lesson is open: the list to start from.
void lesson_list(AppState& state) {
    ImGui::TextWrapped("Short lessons walk through attention one idea at a time; each step sets up the example it talks about.");
    ImGui::Spacing();
    const auto& all = lessons();
    for (int i = 0; i < static_cast<int>(all.size()); ++i) {
        const std::string label = std::to_string(i + 1) + ". " + all[i].title;
        ImGui::PushID(i);
        if (ImGui::Selectable(label.c_str(), false, 0, ImVec2(0, ImGui::GetFrameHeight()))) {
            state.lesson = LessonState{};
            state.lesson.lesson = i;
        }
        record_item(state, ("lesson_open_" + std::to_string(i)).c_str());
        ImGui::PopID();
    }
}

// Larger touch targets while the layout is narrow; the desktop style otherwise.
void apply_style(bool narrow) {
    static const ImGuiStyle desktop = ImGui::GetStyle();  // as main() set it up, captured on the first frame
    ImGuiStyle& style = ImGui::GetStyle();
    style = desktop;
    if (!narrow) return;
    style.WindowPadding = ImVec2(8, 8);
    style.FramePadding = ImVec2(8, 9);      // a 34 px tall button or field at the 16 px font
    style.ItemSpacing = ImVec2(8, 8);
    style.ItemInnerSpacing = ImVec2(6, 6);
    style.ScrollbarSize = 16;
    style.GrabMinSize = 20;
}

void wide_layout(AppState& state, float W, float H) {
    const float gap = 6;
    const float bar_h = ImGui::GetFrameHeight() + 2 * ImGui::GetStyle().WindowPadding.y;
    const bool lesson_open = state.lesson.lesson >= 0;
    // Presentation mode hides the controls, so the left column only holds the sentence and
    // gives its width to the views; the right column widens for the larger lesson text.
    const float left_w = state.presentation ? std::clamp(W * 0.2f, 240.0f, 420.0f) : std::clamp(W * 0.27f, 300.0f, 460.0f);
    const float right_w = std::clamp(W * 0.25f, 280.0f, 440.0f) * (state.presentation ? 1.15f : 1.0f);
    const float body_y = bar_h + gap, body_h = H - body_y - gap;
    // The Train and Images views have their own inputs and none of the sentence, engine options or
    // worked-out cell apply to them: they take those columns (the lesson, when one is open, keeps its own).
    const bool training = state.view == View::train || state.view == View::images;
    const float centre_x = training ? gap : left_w + 2 * gap;
    const float centre_w = W - 2 * gap - (training ? 0.0f : left_w + gap) - (training && !lesson_open ? 0.0f : right_w + gap);

    place(state, "toolbar", gap, 0, W - 2 * gap, bar_h);
    ImGui::Begin("##toolbar", nullptr, kFixed | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoScrollbar);
    toolbar(state);
    ImGui::End();

    if (training) {
        for (const char* hidden : {"window:input", "window:controls", "window:cell"}) state.layout.erase(hidden);
        place(state, "views", centre_x, body_y, centre_w, body_h);
        ImGui::Begin("Views", nullptr, kFixed | ImGuiWindowFlags_NoTitleBar);
        view_tabs(state);
        ImGui::End();
        if (lesson_open) {
            place(state, "lesson", W - right_w - gap, body_y, right_w, body_h);
            ImGui::Begin("Lesson", nullptr, kFixed);
            panel_lesson(state);
            ImGui::End();
        }
        return;
    }

    // Left: the sentence, then (outside presentation mode) every option of the engine.
    const float input_h = state.presentation ? body_h : std::min(body_h * 0.38f, 260.0f);
    place(state, "input", gap, body_y, left_w, input_h);
    ImGui::Begin("Input", nullptr, kFixed);
    panel_input(state);
    ImGui::End();
    if (!state.presentation) {
        place(state, "controls", gap, body_y + input_h + gap, left_w, body_h - input_h - gap);
        ImGui::Begin("Controls", nullptr, kFixed);
        panel_controls(state);
        ImGui::End();
    }

    // Centre: the views.
    place(state, "views", centre_x, body_y, centre_w, body_h);
    ImGui::Begin("Views", nullptr, kFixed | ImGuiWindowFlags_NoTitleBar);
    view_tabs(state);
    ImGui::End();

    // Right: the lesson (when one is open) above the worked-out cell.
    const float lesson_h = lesson_open ? body_h * (state.presentation ? 0.6f : 0.58f) : 0.0f;  // the lesson's text first
    if (lesson_open) {
        place(state, "lesson", W - right_w - gap, body_y, right_w, lesson_h);
        ImGui::Begin("Lesson", nullptr, kFixed);
        panel_lesson(state);
        ImGui::End();
    }
    const float cell_y = body_y + (lesson_open ? lesson_h + gap : 0.0f);
    place(state, "cell", W - right_w - gap, cell_y, right_w, body_y + body_h - cell_y);
    ImGui::Begin("One cell, worked out", nullptr, kFixed);
    panel_cell(state);
    ImGui::End();
}

// One panel at a time under a tab bar: Input, Controls, the current view, One cell, Lesson. The
// panels are the wide layout's windows (same names), so their scroll positions survive a rotation.
// The panel ends above the on-screen keyboard when the page reports one covering the canvas.
void narrow_layout(AppState& state, float W, float H) {
    const float gap = 4;
    const ImGuiStyle& style = ImGui::GetStyle();
    const float row_h = ImGui::GetFrameHeight() + 2 * style.WindowPadding.y;
    constexpr ImGuiWindowFlags kBar = kFixed | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoScrollbar;

    // One row (name, tabs, menu) when they fit, else the tabs get a row of their own.
    const std::vector<PanelTab> tabs = panel_tabs(state);
    const float fixed_w = ImGui::CalcTextSize("attnviz").x + ImGui::CalcTextSize("Menu").x + 2 * style.FramePadding.x +
                          4 * style.ItemSpacing.x + 2 * style.WindowPadding.x;
    const bool one_row = fixed_w + panel_tabs_width(tabs) + 60 <= W;

    float y = 0;
    place(state, "toolbar", 0, y, W, row_h);
    ImGui::Begin("##toolbar", nullptr, kBar);
    narrow_toolbar(state, one_row ? &tabs : nullptr);
    ImGui::End();
    y += row_h;

    if (!page_notice().empty()) {  // its own line: a phone's toolbar has no room beside the menu
        const float note_h = ImGui::GetTextLineHeightWithSpacing() * 2 + 2 * style.WindowPadding.y;
        place(state, "notice", 0, y, W, note_h);
        ImGui::Begin("##notice", nullptr, kBar);
        ImGui::PushTextWrapPos(0);
        notice_text();
        ImGui::PopTextWrapPos();
        ImGui::End();
        y += note_h;
    }

    if (!one_row) {
        place(state, "tabs", 0, y, W, row_h);
        ImGui::Begin("##panel_tabs", nullptr, kBar);
        draw_panel_tabs(state, tabs, ImGui::GetContentRegionAvail().x);
        ImGui::End();
        y += row_h;
    }

    const float bottom = std::max(y + 60, H - state.keyboard_inset);
    constexpr ImGuiWindowFlags kPanel = kFixed | ImGuiWindowFlags_NoTitleBar;
    switch (state.panel) {
        case Panel::input:
            place(state, "input", 0, y + gap, W, bottom - y - gap);
            ImGui::Begin("Input", nullptr, kPanel);
            panel_input(state);
            ImGui::End();
            break;
        case Panel::controls:
            place(state, "controls", 0, y + gap, W, bottom - y - gap);
            ImGui::Begin("Controls", nullptr, kPanel);
            panel_controls(state);
            ImGui::End();
            break;
        case Panel::view:
            place(state, "views", 0, y + gap, W, bottom - y - gap);
            ImGui::Begin("Views", nullptr, kPanel);
            view_picker(state);
            ImGui::End();
            break;
        case Panel::cell:
            place(state, "cell", 0, y + gap, W, bottom - y - gap);
            ImGui::Begin("One cell, worked out", nullptr, kPanel);
            panel_cell(state);
            ImGui::End();
            break;
        case Panel::lesson:
        case Panel::count:
            place(state, "lesson", 0, y + gap, W, bottom - y - gap);
            ImGui::Begin("Lesson", nullptr, kPanel);
            if (state.lesson.lesson >= 0) panel_lesson(state);
            else lesson_list(state);
            ImGui::End();
            break;
    }
}

// While a field is being typed in on a touch screen, keep its line inside the visible part of
// its window: above the on-screen keyboard, which shrinks the canvas (Android) or covers its
// bottom (the inset the page reports, iOS).
void keep_caret_visible(const AppState& state) {
    ImGuiContext& g = *GImGui;
    if (!g.IO.WantTextInput || !touch_input() || !g.ActiveIdWindow || g.PlatformImePos.y <= 1.0f) return;
    ImGuiWindow* window = g.ActiveIdWindow;
    const float margin = ImGui::GetFrameHeight();
    const float top = g.PlatformImePos.y, bottom = top + g.FontSize;  // the caret's line (InputText sets PlatformImePos)
    const float visible_top = window->InnerClipRect.Min.y + margin;
    const float visible_bottom = std::min(window->InnerClipRect.Max.y, g.IO.DisplaySize.y - state.keyboard_inset) - margin;
    for (ImGuiWindow* w = window; w; w = (w->Flags & ImGuiWindowFlags_ChildWindow) ? w->ParentWindow : nullptr) {
        if (w->ScrollMax.y <= 0) continue;
        if (bottom > visible_bottom) ImGui::SetScrollY(w, w->Scroll.y + (bottom - visible_bottom));
        else if (top < visible_top) ImGui::SetScrollY(w, w->Scroll.y - (visible_top - top));
        return;
    }
}

// How far each window's content reaches past its right edge this frame (0 = it fits): text or
// widgets cut off. Windows that scroll sideways are not cut, only scrolled.
void record_overflow(AppState& state) {
    state.overflow.clear();
    const ImGuiContext& g = *GImGui;
    for (const ImGuiWindow* w : g.Windows) {
        if (!w->Active || (w->Flags & (ImGuiWindowFlags_Tooltip | ImGuiWindowFlags_Popup)) || w->ScrollbarX) continue;
        const float over = w->DC.CursorMaxPos.x - w->WorkRect.Max.x;
        if (over > 0.5f) state.overflow[w->Name] = over;
    }
}

}  // namespace

// Decided before SameLine(): SameLine then NewLine would leave the cursor past the right edge for
// one ItemSize, which counts as content there (a window scrolled or cut by a few pixels).
void same_line_if_fits(float width) {
    const float x = ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x;
    if (x + width <= ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x) ImGui::SameLine();
}

void hint_text(const char* fmt, ...) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    va_list args;
    va_start(args, fmt);
    ImGui::TextWrappedV(fmt, args);
    va_end(args);
    ImGui::PopStyleColor();
}

bool is_narrow(float width, float height) { return width < kNarrowWidth || height < kNarrowHeight; }

void record_item(AppState& state, const char* name) {
    const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
    state.layout[name] = {min.x, min.y, max.x - min.x, max.y - min.y};
}

void record_text_field(AppState& state, const char* name, const char* label, bool step_buttons) {
    record_item(state, name);
    Rect r = state.layout[name];  // the whole widget: the field, then its ± buttons and its label
    const float inner = ImGui::GetStyle().ItemInnerSpacing.x;
    const float label_w = ImGui::CalcTextSize(label, nullptr, true).x;
    r.w -= (label_w > 0 ? label_w + inner : 0) + (step_buttons ? 2 * (ImGui::GetFrameHeight() + inner) : 0);
    r.w = std::max(r.w, 1.0f);
    state.text_fields.push_back(r);
}

void draw_ui(AppState& state) {
    ImGuiIO& io = ImGui::GetIO();
    for (auto it = state.layout.begin(); it != state.layout.end();)  // windows hidden this frame must not linger
        it = it->first.rfind("window:", 0) == 0 || it->first == "tooltip" ? state.layout.erase(it) : std::next(it);
    if (state.reset_widgets) {  // an active text field would otherwise write its old text back
        ImGui::ClearActiveID();
        state.reset_widgets = false;
    }
    state.hovered_token = -1;  // set again by whichever widget is under the mouse this frame
    state.readout.clear();     // refilled by the views drawn this frame
    state.text_fields.clear();
    state.touch = touch_input();
    state.gesture = touch_gesture();
    const float W = io.DisplaySize.x, H = io.DisplaySize.y;
    const bool narrow = is_narrow(W, H);
    if (narrow != state.narrow) state.view_forced = true;  // the other layout's view tabs select state.view, not their own last
    state.narrow = narrow;
    apply_style(state.narrow);
    if (state.narrow) narrow_layout(state, W, H);
    else wide_layout(state, W, H);
    keep_caret_visible(state);
    record_overflow(state);
    if (ImGuiWindow* tip = ImGui::FindWindowByName("##Tooltip_00"); tip && tip->Active)  // what hover (or a long press) shows
        state.layout["tooltip"] = {tip->Pos.x, tip->Pos.y, tip->Size.x, tip->Size.y};
}

}  // namespace attnviz::app
