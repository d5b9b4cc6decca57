// view_lines — BertViz's head view: queries on the left, keys on the right, one line per
// (query, key) pair with opacity = weight, one colour per head.
//
// Hovering a token (either column) isolates its lines and prints the weights beside the other
// column. Masked pairs draw nothing. Lines fainter than one alpha step (weight < 1/512) are
// skipped, and the un-hovered picture keeps only the strongest kMaxLines lines: WebGL2 draws
// with 16-bit indices, so one draw list must stay under 65 536 vertices (4 per line), and the
// faintest lines are the ones nobody can see. The kept set is rebuilt only when the trace or the
// shown heads change, so a few hundred tokens stay smooth.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"

namespace attnviz::app {

namespace {

constexpr float kMinWeight = 1.0f / 512;  // below this a line's alpha rounds to 0
constexpr std::size_t kMaxLines = 12000;  // 48 000 vertices: under the 16-bit index limit with room for text

struct Line {
    int head, query, key;
    float weight;
};

// The strongest visible lines of the shown heads, rebuilt when the trace or the shown heads change.
struct LineCache {
    std::uint64_t version = ~std::uint64_t{0};
    std::vector<bool> shown;
    std::vector<Line> lines;   // sorted weakest first, so strong lines are drawn on top
    std::size_t visible = 0;   // lines above kMinWeight before the kMaxLines cut
};

const LineCache& strongest_lines(const Trace& trace, const std::vector<bool>& shown, std::uint64_t version) {
    static LineCache cache;
    if (cache.version == version && cache.shown == shown) return cache;
    cache.version = version;
    cache.shown = shown;
    cache.lines.clear();
    for (int h = 0; h < static_cast<int>(trace.heads.size()); ++h) {
        if (h >= static_cast<int>(shown.size()) || !shown[h] || !trace.keeps(h)) continue;
        const HeadTrace& head = trace.heads[h];
        for (int i = 0; i < trace.T; ++i)
            for (int j = 0; j < trace.N; ++j)
                if (head.mask(i, j) && head.weights(i, j) >= kMinWeight) cache.lines.push_back({h, i, j, head.weights(i, j)});
    }
    cache.visible = cache.lines.size();
    auto weaker = [](const Line& a, const Line& b) { return a.weight > b.weight; };
    if (cache.lines.size() > kMaxLines) {
        std::nth_element(cache.lines.begin(), cache.lines.begin() + kMaxLines, cache.lines.end(), weaker);
        cache.lines.resize(kMaxLines);
    }
    std::sort(cache.lines.begin(), cache.lines.end(), [](const Line& a, const Line& b) { return a.weight < b.weight; });
    return cache;
}

void head_toggles(AppState& state, int H) {
    ImGui::TextUnformatted("Heads:");
    // Stay on the line while the next box fits; many heads wrap onto further lines.
    const float right_edge = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
    auto same_line_if_fits = [&](float next_w) {
        if (ImGui::GetItemRectMax().x + ImGui::GetStyle().ItemSpacing.x + next_w < right_edge) ImGui::SameLine();
    };
    const float box_w = ImGui::GetFrameHeight() + ImGui::GetStyle().ItemInnerSpacing.x + ImGui::CalcTextSize("00").x;
    for (int h = 0; h < H; ++h) {
        same_line_if_fits(box_w);
        // The box is filled with the head's colour when the head is on, a dark shade of it when off.
        const ImVec4 colour = ImGui::ColorConvertU32ToFloat4(head_colour(h));
        const ImVec4 off(colour.x * 0.3f, colour.y * 0.3f, colour.z * 0.3f, 1.0f);
        bool on = state.heads_shown[h];
        ImGui::PushStyleColor(ImGuiCol_CheckMark, ImVec4(0.08f, 0.08f, 0.1f, 1.0f));
        ImGui::PushStyleColor(ImGuiCol_FrameBg, on ? colour : off);
        ImGui::PushStyleColor(ImGuiCol_FrameBgHovered, on ? colour : ImVec4(off.x * 2, off.y * 2, off.z * 2, 1.0f));
        ImGui::PushStyleColor(ImGuiCol_FrameBgActive, colour);
        if (ImGui::Checkbox((std::to_string(h) + "##lines_head").c_str(), &on)) state.heads_shown[h] = on;
        ImGui::PopStyleColor(4);
        record_item(state, ("lines_head_" + std::to_string(h)).c_str());
    }
    same_line_if_fits(ImGui::CalcTextSize("all none").x + 4 * ImGui::GetStyle().FramePadding.x + 16);
    if (ImGui::SmallButton("all")) std::fill(state.heads_shown.begin(), state.heads_shown.end(), true);
    ImGui::SameLine();
    if (ImGui::SmallButton("none")) std::fill(state.heads_shown.begin(), state.heads_shown.end(), false);
}

}  // namespace

void view_lines(AppState& state) {
    if (!state.trace) return;
    const Trace& trace = *state.trace;
    const int H = static_cast<int>(trace.heads.size());
    state.heads_shown.resize(H, true);
    const std::vector<std::string>& keys = trace.cross ? trace.source_tokens : trace.tokens;
    const bool keys_are_tokens = trace.N == static_cast<int>(keys.size());  // false with Linformer
    auto key_label = [&](int j) { return keys_are_tokens ? keys[j] : "proj " + std::to_string(j); };

    head_toggles(state, H);
    if (trace.kept_head >= 0)
        ImGui::TextWrapped("Long sequence: only head %d's weights are kept (all %d heads' T×N matrices would not fit the page's "
                           "memory); select another head to see its lines.", trace.kept_head, H);
    hint_text("Line opacity = weight. %s a token to isolate its lines.%s", state.touch ? "Long-press" : "Hover",
              keys_are_tokens ? "" : " Linformer: the right column holds the k projected keys.");

    // The hover readout line is reserved before the canvas so the layout does not jump.
    const ImVec2 readout_at = ImGui::GetCursorScreenPos();
    ImGui::NewLine();

    ImGui::BeginChild("##lines_canvas", ImVec2(0, 0), false, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
    ImDrawList* draw = ImGui::GetWindowDrawList();
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float line_h = ImGui::GetTextLineHeight();
    const int rows = std::max(trace.T, trace.N);
    const float pitch = std::clamp(avail.y / std::max(rows, 1), 1.0f, line_h * 3.5f);
    const int label_every = std::max(1, static_cast<int>(std::ceil(line_h / pitch)));  // tokens labelled when rows are too thin

    float left_w = 0, right_w = 0;
    for (int i = 0; i < std::min(trace.T, 512); ++i) left_w = std::max(left_w, ImGui::CalcTextSize(trace.tokens[i].c_str()).x);
    for (int j = 0; j < std::min(trace.N, 512); ++j) right_w = std::max(right_w, ImGui::CalcTextSize(key_label(j).c_str()).x);
    left_w = std::min(left_w, 140.0f) + 8;
    right_w = std::min(right_w, 140.0f) + 8;
    const float weights_w = ImGui::CalcTextSize("0.12345678").x + 10;  // room for the hovered token's weights beside the far column
    const float gap = std::clamp(avail.x - left_w - right_w - 2 * weights_w, 80.0f, 480.0f);
    const float block_w = left_w + gap + right_w + 2 * weights_w;
    const float x0 = origin.x + std::max(0.0f, (avail.x - block_w) / 2) + weights_w;
    const float x_left = x0 + left_w, x_right = x_left + gap;  // line end points
    auto y_of = [&](int r) { return origin.y + (r + 0.5f) * pitch; };
    state.layout["lines_rows"] = {x0, origin.y, x_right + right_w - x0, rows * pitch};  // both token columns (test hook)

    // Hover: a token's row in either column.
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    const bool in_canvas = ImGui::IsWindowHovered() && mouse.y >= origin.y && mouse.y < origin.y + rows * pitch;
    if (in_canvas) {
        const int r = static_cast<int>((mouse.y - origin.y) / pitch);
        if (mouse.x >= x0 - weights_w && mouse.x < x_left + 4 && r < trace.T) {
            state.hovered_token = r;
            state.hovered_key_side = false;
        } else if (mouse.x > x_right - 4 && mouse.x < x_right + right_w + weights_w && r < trace.N) {
            state.hovered_token = r;
            state.hovered_key_side = true;
        }
    }
    const int hovered = state.hovered_token;
    const bool key_side = state.hovered_key_side;

    // Heads' lines between the same two tokens would coincide: each head's end points are shifted a
    // little, in the order of the heads, so every head stays visible (at most 40% of a row in all).
    const float thickness = pitch >= 6 ? 2.0f : 1.0f;
    const float head_shift = H > 1 ? std::min(3.0f, pitch * 0.4f / (H - 1)) : 0.0f;
    auto draw_line = [&](int h, int i, int j, float w) {
        const float dy = (h - (H - 1) / 2.0f) * head_shift;
        draw->AddLine(ImVec2(x_left + 4, y_of(i) + dy), ImVec2(x_right - 4, y_of(j) + dy), head_colour(h, w), thickness);
    };
    int drawn = 0;
    if (hovered < 0) {
        const LineCache& cache = strongest_lines(trace, state.heads_shown, state.trace_version);
        for (const Line& l : cache.lines) draw_line(l.head, l.query, l.key, l.weight);
        drawn = static_cast<int>(cache.lines.size());
        if (cache.visible > cache.lines.size())
            state.readout["lines_cut"] = std::to_string(cache.visible - cache.lines.size());
    } else {
        for (int h = 0; h < H; ++h) {
            if (!state.heads_shown[h] || !trace.keeps(h)) continue;
            const HeadTrace& head = trace.heads[h];
            const int n = key_side ? trace.T : trace.N;
            for (int o = 0; o < n; ++o) {
                const int i = key_side ? o : hovered, j = key_side ? hovered : o;
                if (!head.mask(i, j) || head.weights(i, j) < kMinWeight) continue;
                draw_line(h, i, j, head.weights(i, j));
                ++drawn;
            }
        }
    }

    // Token columns: the hovered token bright, the others dimmed while something is hovered.
    const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text), dim = ImGui::GetColorU32(ImGuiCol_TextDisabled);
    const ImU32 highlight = IM_COL32(70, 70, 90, 255);
    auto column = [&](int n, bool is_keys) {
        for (int r = 0; r < n; ++r) {
            const bool me = hovered == r && key_side == is_keys;
            if (me) {
                const float xa = is_keys ? x_right : x0, xb = is_keys ? x_right + right_w : x_left;
                const float half_h = line_h * 0.65f;
                draw->AddRectFilled(ImVec2(xa - 2, y_of(r) - half_h), ImVec2(xb + 2, y_of(r) + half_h), highlight, 3);
            }
            if (r % label_every != 0 && !me) continue;
            const std::string label = is_keys ? key_label(r) : trace.tokens[r];
            const float w = std::min(ImGui::CalcTextSize(label.c_str()).x, 140.0f);
            const float x = is_keys ? x_right + 4 : x_left - 4 - w;
            const ImVec4 clip(x, origin.y, x + w, origin.y + std::max(rows * pitch, line_h));
            const float y = std::clamp(y_of(r) - line_h / 2, origin.y, origin.y + rows * pitch - line_h);  // first/last stay inside
            draw->AddText(nullptr, 0, ImVec2(x, y), hovered < 0 || me ? text : dim, label.c_str(), nullptr, 0, &clip);
        }
    };
    column(trace.T, false);
    column(trace.N, true);

    // Beside the far column, the hovered token's weights for the first shown head, in its colour.
    int first_shown = -1;
    for (int h = 0; h < H && first_shown < 0; ++h)
        if (state.heads_shown[h] && trace.keeps(h)) first_shown = h;
    if (hovered >= 0 && first_shown >= 0 && pitch >= line_h * 0.9f) {
        const HeadTrace& head = trace.heads[first_shown];
        const int n = key_side ? trace.T : trace.N;
        for (int o = 0; o < n; ++o) {
            const int i = key_side ? o : hovered, j = key_side ? hovered : o;
            if (!head.mask(i, j)) continue;  // masked pairs show nothing, as they draw no line
            const std::string value = format_value(head.weights(i, j));
            const float w = ImGui::CalcTextSize(value.c_str()).x;
            const float x = key_side ? x0 - 6 - w : x_right + right_w + 6;
            draw->AddText(ImVec2(x, y_of(o) - line_h / 2), head_colour(first_shown), value.c_str());
        }
    }
    ImGui::Dummy(ImVec2(avail.x, rows * pitch));
    ImGui::EndChild();
    record_item(state, "lines_canvas");

    // The readout: which token, how many lines it has, and whose weights are printed.
    std::string readout = state.touch ? "Long-press a query (left) or a key (right)." : "Hover a query (left) or a key (right).";
    if (hovered >= 0) {
        readout = std::string(key_side ? "key " : "query ") + std::to_string(hovered) + " \"" +
                  (key_side ? key_label(hovered) : trace.tokens[hovered]) + "\": " + std::to_string(drawn) +
                  (key_side ? " lines from the queries that see it" : " lines to the keys it sees");
        if (first_shown >= 0) readout += "; numbers: head " + std::to_string(first_shown) + "'s weights";
    }
    ImGui::GetWindowDrawList()->AddText(readout_at, ImGui::GetColorU32(ImGuiCol_Text), readout.c_str());
    if (hovered >= 0) {
        state.readout["lines_hovered"] = (key_side ? "key " : "query ") + std::to_string(hovered);
        state.readout["lines_drawn"] = std::to_string(drawn);
    }
}

}  // namespace attnviz::app
