// heatmap — matrices as GPU textures with labels, legend, zoom, hover and pin.
#include "heatmap.hpp"

#include <GLES3/gl3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "colormap.hpp"
#include "imgui_internal.h"
#include "touch.hpp"

namespace attnviz::app {

namespace {

constexpr ImU32 kMaskedColor = IM_COL32(70, 70, 74, 255);
constexpr ImU32 kHatchColor = IM_COL32(120, 120, 126, 255);
constexpr ImU32 kLabelColor = IM_COL32(220, 220, 220, 255);
constexpr int kEvictAfterFrames = 120;

struct Texture {
    GLuint id = 0;               // GL name, 0 = not created
    std::uint64_t version = 0;   // spec.version it was built from
    double lo = 0, hi = 0;       // colour range it was built with
    ColorScale scale = ColorScale::sequential;
    int rows = 0, cols = 0;      // its size in texels
    int last_frame = 0;          // ImGui frame it was last drawn in
};

struct ZoomState {
    float zoom = 1.0f;           // 1 = the whole matrix fits
    float x0 = 0, y0 = 0;        // top-left visible cell (fractional), in cell units
};

std::unordered_map<ImGuiID, Texture>& textures() {
    static std::unordered_map<ImGuiID, Texture> cache;  // one texture per heatmap id
    return cache;
}

std::unordered_map<ImGuiID, ZoomState>& zooms() {
    static std::unordered_map<ImGuiID, ZoomState> states;  // zoom and pan per heatmap id
    return states;
}

// Maps a value to a colour for the spec's scale and range.
Rgb colour_of(double v, ColorScale scale, double lo, double hi) {
    if (scale == ColorScale::diverging) {
        const double m = std::max(std::abs(lo), std::abs(hi));
        return diverging(m > 0 ? static_cast<float>(0.5 + 0.5 * v / m) : 0.5f);
    }
    return viridis(hi > lo ? static_cast<float>((v - lo) / (hi - lo)) : 0.5f);
}

template <class M>
std::pair<double, double> finite_range(const M& values, const BoolMatrix* allowed) {
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t i = 0; i < values.shape(0); ++i)
        for (std::size_t j = 0; j < values.shape(1); ++j) {
            if (allowed && !(*allowed)(i, j)) continue;
            const double v = values(i, j);
            if (!std::isfinite(v)) continue;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (lo > hi) return {0.0, 1.0};  // nothing allowed or nothing finite
    return {lo, hi};
}

template <class M>
void upload(Texture& tex, const M& values, const BoolMatrix* allowed, ColorScale scale, double lo, double hi) {
    const int rows = static_cast<int>(values.shape(0)), cols = static_cast<int>(values.shape(1));
    std::vector<std::uint32_t> pixels(static_cast<std::size_t>(rows) * cols);
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) {
            const bool masked = allowed && !(*allowed)(i, j);
            const double v = values(i, j);
            pixels[static_cast<std::size_t>(i) * cols + j] =
                masked || !std::isfinite(v) ? kMaskedColor : to_abgr(colour_of(v, scale, lo, hi));
        }
    if (tex.id == 0) glGenTextures(1, &tex.id);
    glBindTexture(GL_TEXTURE_2D, tex.id);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, cols, rows, 0, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
    tex.rows = rows;
    tex.cols = cols;
}

std::string label_or_index(const std::vector<std::string>* labels, int i) {
    if (labels && i < static_cast<int>(labels->size())) return (*labels)[i];
    return std::to_string(i);
}

}  // namespace

// Fits `text` into `width` pixels, ending in "…" when cut.
std::string fit_text(const std::string& text, float width) {
    if (ImGui::CalcTextSize(text.c_str()).x <= width) return text;
    std::string cut = text;
    while (!cut.empty()) {
        do cut.pop_back(); while (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0xC0) == 0x80);
        if (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0x80)) cut.pop_back();  // drop a dangling lead byte
        if (ImGui::CalcTextSize((cut + "…").c_str()).x <= width) return cut + "…";
    }
    return "";
}

namespace {

constexpr float kLegendGap = 14;  // from the grid to the colour bar
constexpr float kLegendBar = 12;  // the colour bar's width; its labels 4 px to its right

// A legend label: 4 significant digits, the range at a glance (exact values are on hover).
std::string legend_label(double v) {
    char text[24];
    std::snprintf(text, sizeof text, "%.4g", v);
    return text;
}

// The legend's width beside the grid: the gap, the bar and its widest label (wider in large type).
float legend_width(double lo, double hi) {
    const float labels = std::max(ImGui::CalcTextSize(legend_label(lo).c_str()).x, ImGui::CalcTextSize(legend_label(hi).c_str()).x);
    return std::max(70.0f, kLegendGap + kLegendBar + 4 + labels + 2);
}

void draw_legend(ImDrawList* draw, ImVec2 at, float height, ColorScale scale, double lo, double hi) {
    constexpr int steps = 48;
    constexpr float bar_w = kLegendBar;
    for (int s = 0; s < steps; ++s) {
        const double v = hi - (hi - lo) * (s + 0.5) / steps;
        draw->AddRectFilled(ImVec2(at.x, at.y + s * height / steps), ImVec2(at.x + bar_w, at.y + (s + 1) * height / steps + 1),
                            to_abgr(colour_of(v, scale, lo, hi)));
    }
    const float line = ImGui::GetTextLineHeight();
    draw->AddText(ImVec2(at.x + bar_w + 4, at.y - line * 0.3f), kLabelColor, legend_label(hi).c_str());
    draw->AddText(ImVec2(at.x + bar_w + 4, at.y + height - line * 0.7f), kLabelColor, legend_label(lo).c_str());
    if (scale == ColorScale::diverging && lo < 0 && hi > 0)
        draw->AddText(ImVec2(at.x + bar_w + 4, at.y + height * static_cast<float>(hi / (hi - lo)) - line / 2), kLabelColor, "0");
}

bool contains_point(const Rect& r, ImVec2 p) { return p.x >= r.x && p.x < r.x + r.w && p.y >= r.y && p.y < r.y + r.h; }

template <class M>
HeatmapEvents draw_heatmap(const HeatmapSpec& spec, const M& values, const BoolMatrix* allowed) {
    HeatmapEvents events;
    const int rows = static_cast<int>(values.shape(0)), cols = static_cast<int>(values.shape(1));
    ImGui::PushID(spec.id);
    const ImGuiID id = ImGui::GetID("##heatmap");
    if (rows == 0 || cols == 0) {
        ImGui::TextDisabled("(empty: this matrix does not apply to this configuration)");
        ImGui::PopID();
        return events;
    }

    // Colour range: explicit, else from the allowed finite values (symmetric for diverging).
    auto [lo, hi] = finite_range(values, allowed);
    if (spec.lo) lo = *spec.lo;
    if (spec.hi) hi = *spec.hi;
    if (spec.scale == ColorScale::diverging) {
        const double m = std::max({std::abs(lo), std::abs(hi), 1e-30});
        lo = -m;
        hi = m;
    }

    Texture& tex = textures()[id];
    if (tex.id == 0 || tex.version != spec.version || tex.lo != lo || tex.hi != hi || tex.scale != spec.scale ||
        tex.rows != rows || tex.cols != cols) {
        upload(tex, values, allowed, spec.scale, lo, hi);
        tex.version = spec.version;
        tex.lo = lo;
        tex.hi = hi;
        tex.scale = spec.scale;
    }
    tex.last_frame = ImGui::GetFrameCount();

    // Geometry: labels left and top, legend right, cells fitted to what is left.
    const float line = ImGui::GetTextLineHeight();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const ImVec2 size(spec.size.x > 0 ? spec.size.x : avail.x, spec.size.y > 0 ? spec.size.y : avail.y);
    float label_w = 0;
    for (int i = 0; i < std::min(rows, 512); ++i)
        label_w = std::max(label_w, ImGui::CalcTextSize(label_or_index(spec.row_labels, i).c_str()).x);
    label_w = spec.axis_labels ? std::min(label_w + 8, 110.0f) : 0.0f;
    const float legend_w = spec.legend ? legend_width(lo, hi) : 0.0f;
    const float top = spec.axis_labels ? 2 * line + 4 : 0.0f;
    const float fit = std::max(0.01f, std::min({spec.max_cell, (size.x - label_w - legend_w) / cols, (size.y - top) / rows}));

    ZoomState& zs = zooms()[id];
    const float cell = fit * zs.zoom;
    const float grid_w = std::min(cols * fit, cols * cell), grid_h = std::min(rows * fit, rows * cell);
    const float vis_cols = grid_w / cell, vis_rows = grid_h / cell;  // cells visible along each axis
    zs.x0 = std::clamp(zs.x0, 0.0f, cols - vis_cols);
    zs.y0 = std::clamp(zs.y0, 0.0f, rows - vis_rows);

    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 grid(origin.x + label_w, origin.y + top);
    ImDrawList* draw = ImGui::GetWindowDrawList();
    const ImVec2 uv0(zs.x0 / cols, zs.y0 / rows), uv1((zs.x0 + vis_cols) / cols, (zs.y0 + vis_rows) / rows);
    draw->AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(tex.id)), grid, ImVec2(grid.x + grid_w, grid.y + grid_h), uv0, uv1);

    auto cell_min = [&](int i, int j) { return ImVec2(grid.x + (j - zs.x0) * cell, grid.y + (i - zs.y0) * cell); };
    const int i_begin = static_cast<int>(zs.y0), i_end = std::min(rows, static_cast<int>(std::ceil(zs.y0 + vis_rows)));
    const int j_begin = static_cast<int>(zs.x0), j_end = std::min(cols, static_cast<int>(std::ceil(zs.x0 + vis_cols)));
    draw->PushClipRect(ImVec2(origin.x, origin.y), ImVec2(grid.x + grid_w, grid.y + grid_h), true);
    if (allowed && cell >= 6) {  // hatch masked cells so they never read as a colour of the scale
        for (int i = i_begin; i < i_end; ++i)
            for (int j = j_begin; j < j_end; ++j)
                if (!(*allowed)(i, j)) {
                    const ImVec2 a = cell_min(i, j);
                    draw->AddLine(ImVec2(a.x, a.y + cell), ImVec2(a.x + cell, a.y), kHatchColor);
                    draw->AddLine(ImVec2(a.x, a.y + cell / 2), ImVec2(a.x + cell / 2, a.y), kHatchColor);
                    draw->AddLine(ImVec2(a.x + cell / 2, a.y + cell), ImVec2(a.x + cell, a.y + cell / 2), kHatchColor);
                }
    }
    if (spec.axis_labels && cell >= line * 0.9f) {  // row labels, right-aligned against the grid
        for (int i = i_begin; i < i_end; ++i) {
            const std::string text = fit_text(label_or_index(spec.row_labels, i), label_w - 6);
            const float w = ImGui::CalcTextSize(text.c_str()).x;
            draw->AddText(ImVec2(grid.x - w - 6, cell_min(i, 0).y + (cell - line) / 2), kLabelColor, text.c_str());
        }
    }
    if (spec.axis_labels && cell >= line * 0.9f) {  // column labels: one line when each fits its cell, else two staggered
        // lines (even columns low, odd high), so that labels on one line are two cells apart and never touch ("satonthe")
        bool all_fit = true;
        for (int j = j_begin; j < j_end && all_fit; ++j) all_fit = ImGui::CalcTextSize(label_or_index(spec.col_labels, j).c_str()).x <= cell - 2;
        for (int j = j_begin; j < j_end; ++j) {
            const std::string text = fit_text(label_or_index(spec.col_labels, j), all_fit ? cell - 2 : cell * 2 - 4);
            const float w = ImGui::CalcTextSize(text.c_str()).x;
            const float y = origin.y + ((all_fit || j % 2 == 0) ? line + 2 : 0);
            draw->AddText(ImVec2(cell_min(0, j).x + (cell - w) / 2, y), kLabelColor, text.c_str());
        }
    }
    if (spec.pinned && spec.pinned->query < rows && spec.pinned->key < cols) {
        const ImVec2 a = cell_min(spec.pinned->query, spec.pinned->key);
        draw->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(a.x + cell + 1, a.y + cell + 1), IM_COL32(255, 255, 255, 255), 0, 0, 2.5f);
    }
    draw->PopClipRect();
    if (spec.legend) draw_legend(draw, ImVec2(grid.x + grid_w + kLegendGap, grid.y), std::max(grid_h, 3 * line), spec.scale, lo, hi);

    // Interaction: hover, click (pin), wheel or pinch (zoom around the mouse or the fingers), drag (pan).
    ImGui::SetCursorScreenPos(grid);
    ImGui::InvisibleButton("##grid", ImVec2(std::max(grid_w, 1.0f), std::max(grid_h, 1.0f)));
    events.grid = {grid.x, grid.y, grid_w, grid_h};
    events.zoom = zs.zoom;
    events.cells = {zs.x0, zs.y0, vis_cols, vis_rows};
    if (zs.zoom > 1.0f) touch_claim_drags(events.grid);  // one finger pans it rather than scrolling the panel
    const ImGuiIO& io = ImGui::GetIO();
    // Zooms by `factor` keeping the cell under `at` (screen px) where it is.
    auto zoom_around = [&](float factor, ImVec2 at) {
        const float old_cell = fit * zs.zoom;
        zs.zoom = std::clamp(zs.zoom * factor, 1.0f, std::max(1.0f, 120.0f / fit));
        const float new_cell = fit * zs.zoom;
        const float mx = at.x - grid.x, my = at.y - grid.y;
        zs.x0 += mx / old_cell - mx / new_cell;
        zs.y0 += my / old_cell - my / new_cell;
    };
    if (const Pinch& pinch = touch_pinch(); pinch.active && contains_point(events.grid, pinch.centre)) {
        zoom_around(pinch.scale, pinch.centre);
        zs.x0 -= pinch.pan.x / (fit * zs.zoom);  // two fingers moving together pan
        zs.y0 -= pinch.pan.y / (fit * zs.zoom);
    }
    auto cell_at = [&](ImVec2 p) {
        return Cell{std::clamp(static_cast<int>(zs.y0 + (p.y - grid.y) / cell), 0, rows - 1),
                    std::clamp(static_cast<int>(zs.x0 + (p.x - grid.x) / cell), 0, cols - 1)};
    };
    if (ImGui::IsItemHovered()) {
        const Cell c = cell_at(io.MousePos);
        events.hovered = c;
        ImGui::SetItemUsingMouseWheel();
        if (io.MouseWheel != 0) zoom_around(std::pow(1.25f, io.MouseWheel), io.MousePos);
        ImGui::BeginTooltip();
        ImGui::PushTextWrapPos(std::min(ImGui::GetFontSize() * 32, io.DisplaySize.x * 0.8f));  // within a phone's width
        ImGui::TextWrapped("%s %d \"%s\"  ×  %s %d \"%s\"", spec.row_axis, c.query, label_or_index(spec.row_labels, c.query).c_str(),
                    spec.col_axis, c.key, label_or_index(spec.col_labels, c.key).c_str());
        if (allowed && !(*allowed)(c.query, c.key)) {
            ImGui::TextWrapped("masked: hidden from this query (weight exactly 0)");
        } else {
            ImGui::Text("value = %s", format_value(values(c.query, c.key)).c_str());
        }
        hint_text(touch_input() ? "tap to pin · pinch to zoom · drag to pan · double-tap to reset"
                                : "click to pin · wheel to zoom · drag to pan");
        ImGui::PopTextWrapPos();
        ImGui::EndTooltip();
    }
    if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 4.0f)) {
        zs.x0 -= io.MouseDelta.x / cell;
        zs.y0 -= io.MouseDelta.y / cell;
    }
    if (ImGui::IsItemDeactivated() && !ImGui::IsMouseDragPastThreshold(ImGuiMouseButton_Left, 4.0f)) events.clicked = cell_at(io.MousePos);
    if (ImGui::IsItemHovered() && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) zs = ZoomState{};

    ImGui::SetCursorScreenPos(ImVec2(origin.x, std::max(grid.y + grid_h, grid.y + 3 * line) + 6));
    ImGui::PopID();
    return events;
}

}  // namespace

HeatmapEvents heatmap(const HeatmapSpec& spec, const Matrix& values, const BoolMatrix* allowed) {
    return draw_heatmap(spec, values, allowed);
}

HeatmapEvents heatmap(const HeatmapSpec& spec, const xt::xtensor<double, 2>& values, const BoolMatrix* allowed) {
    return draw_heatmap(spec, values, allowed);
}

HeatmapEvents heatmap_mask(const HeatmapSpec& spec, const BoolMatrix& allowed) {
    Matrix ones = xt::ones<float>(allowed.shape());
    HeatmapSpec s = spec;
    s.scale = ColorScale::sequential;
    s.lo = 0.0;
    s.hi = 1.0;
    return draw_heatmap(s, ones, &allowed);
}

void heatmap_end_frame() {
    const int now = ImGui::GetFrameCount();
    for (auto it = textures().begin(); it != textures().end();) {
        if (now - it->second.last_frame > kEvictAfterFrames) {
            glDeleteTextures(1, &it->second.id);
            it = textures().erase(it);
        } else {
            ++it;
        }
    }
}

void heatmap_lost_context() { textures().clear(); }

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+inf" : "−inf";
    char buf[32];
    for (int precision = 6; precision <= 9; ++precision) {  // shortest form that reads back as the same float
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (static_cast<float>(std::strtod(buf, nullptr)) == static_cast<float>(v)) break;
    }
    return buf;
}

namespace {

constexpr ImU32 kHeadColours[] = {  // head_colour's palette (heatmap.hpp)
    IM_COL32(230, 159, 0, 255),   IM_COL32(86, 180, 233, 255), IM_COL32(0, 158, 115, 255),  IM_COL32(240, 228, 66, 255),
    IM_COL32(0, 114, 178, 255),   IM_COL32(213, 94, 0, 255),   IM_COL32(204, 121, 167, 255), IM_COL32(200, 200, 200, 255),
};

}  // namespace

ImU32 head_colour(int h, float alpha) {
    const ImU32 c = kHeadColours[h % (sizeof kHeadColours / sizeof kHeadColours[0])];
    const auto a = static_cast<ImU32>(std::clamp(alpha, 0.0f, 1.0f) * 255.0f + 0.5f);
    return (c & ~IM_COL32_A_MASK) | (a << IM_COL32_A_SHIFT);
}

}  // namespace attnviz::app
