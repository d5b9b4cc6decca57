// Fonts: DejaVu Sans (fonts-dejavu-core, preloaded at /fonts) for Latin, Greek and the
// notation (ᵀ √ · × →), and Droid Sans Fallback (fonts-droid-fallback) for Chinese, Japanese
// and Korean, fetched by the page only the first time such text appears. Only the CJK glyphs
// in use are rasterized: the atlas is rebuilt, between frames, whenever new ones show up, and
// when presentation mode changes the pixel size (sharp text rather than a scaled-up atlas).
// On a high-density screen the glyphs are rasterized at the device pixel ratio (a 16 px font
// at ratio 3 is a 48 px atlas, drawn at 1/3 scale), so text is as sharp as the screen; the
// ratio is capped at 3 and the base glyph ranges are small, which bounds the atlas.
#include "fonts.hpp"

#include <emscripten.h>

#include <cstdio>
#include <set>
#include <vector>

#include "imgui.h"
#include "imgui_impl_opengl3.h"
#include "imgui_internal.h"  // ImTextCharFromUtf8

namespace attnviz::app {

namespace {

constexpr const char* kBaseFontPath = "/fonts/DejaVuSans.ttf";

struct FontState {
    float built_size = 0;                   // CSS pixel size of the current atlas, 0 = not built
    float built_ratio = 0;                  // device pixels per CSS pixel it was rasterized for
    std::set<ImWchar> wanted;               // CJK code points seen in text the UI draws
    std::set<ImWchar> in_atlas;             // CJK code points rasterized in the current atlas
    std::vector<unsigned char> cjk_font;    // the CJK font file, once the page delivered it
    bool cjk_requested = false;             // the page was asked to fetch it
    ImVector<ImWchar> cjk_ranges;           // glyph ranges of in_atlas, alive while the atlas is
    int rebuilds = 0;                       // atlas builds so far (test hook)
};

FontState g_fonts;

EM_JS(void, js_fetch_cjk_font, (), {
    if (window.attnviz && window.attnviz._fetchCjkFont) window.attnviz._fetchCjkFont();
});

// Code points the base font lacks and the CJK font has: CJK punctuation, kana, ideographs,
// hangul, fullwidth forms.
bool is_cjk(unsigned c) {
    return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFFEF);
}

void build_atlas(float size_px, float ratio) {
    static const ImWchar base_ranges[] = {
        0x0020, 0x024F,  // Basic Latin, Latin-1, Latin Extended-A/B
        0x0370, 0x03FF,  // Greek (α, σ, θ)
        0x1D00, 0x1DBF,  // Phonetic extensions: modifier letters such as ᵀ
        0x2000, 0x206F,  // General punctuation (…, ·)
        0x2070, 0x209F,  // Superscripts and subscripts
        0x2190, 0x21FF,  // Arrows
        0x2200, 0x22FF,  // Mathematical operators (√, ∑, ×, ≤)
        0x25A0, 0x25FF,  // Geometric shapes (▶, ■)
        0,
    };
    ImGuiIO& io = ImGui::GetIO();
    io.Fonts->Clear();
    const float raster_px = size_px * ratio;
    io.FontGlobalScale = 1.0f / ratio;  // layout stays in CSS px; the glyphs carry the device pixels
    if (std::FILE* f = std::fopen(kBaseFontPath, "rb")) {
        std::fclose(f);
        io.Fonts->AddFontFromFileTTF(kBaseFontPath, raster_px, nullptr, base_ranges);
    } else {
        std::fprintf(stderr, "attnviz: %s missing, using ImGui's built-in font\n", kBaseFontPath);
        ImFontConfig config;
        config.SizePixels = raster_px;
        io.Fonts->AddFontDefault(&config);
    }
    g_fonts.in_atlas.clear();
    if (!g_fonts.cjk_font.empty() && !g_fonts.wanted.empty()) {
        ImFontGlyphRangesBuilder builder;
        for (ImWchar c : g_fonts.wanted) builder.AddChar(c);
        g_fonts.cjk_ranges.clear();
        builder.BuildRanges(&g_fonts.cjk_ranges);
        ImFontConfig merge;
        merge.MergeMode = true;
        merge.FontDataOwnedByAtlas = false;  // g_fonts keeps the bytes for every rebuild
        io.Fonts->AddFontFromMemoryTTF(g_fonts.cjk_font.data(), static_cast<int>(g_fonts.cjk_font.size()), raster_px, &merge,
                                       g_fonts.cjk_ranges.Data);
        g_fonts.in_atlas = g_fonts.wanted;
    }
    io.Fonts->Flags |= ImFontAtlasFlags_NoPowerOfTwoHeight;  // as tall as the glyphs need, no more
    io.Fonts->Build();
    g_fonts.built_size = size_px;
    g_fonts.built_ratio = ratio;
    ++g_fonts.rebuilds;
}

}  // namespace

void require_glyphs(std::string_view utf8) {
    for (std::size_t i = 0; i < utf8.size();) {
        unsigned int c = 0;
        const int n = ImTextCharFromUtf8(&c, utf8.data() + i, utf8.data() + utf8.size());
        if (n <= 0) break;
        i += static_cast<std::size_t>(n);
        if (is_cjk(c)) g_fonts.wanted.insert(static_cast<ImWchar>(c));
    }
}

bool fonts_update(float size_px, float pixel_ratio, bool device_objects_ready) {
    ImFontAtlas& atlas = *ImGui::GetIO().Fonts;
    if (atlas.TexID && (atlas.TexPixelsAlpha8 || atlas.TexPixelsRGBA32)) atlas.ClearTexData();  // the GPU has it: free the CPU copies
    const bool missing = g_fonts.wanted.size() != g_fonts.in_atlas.size();
    if (missing && g_fonts.cjk_font.empty() && !g_fonts.cjk_requested) {
        g_fonts.cjk_requested = true;
        js_fetch_cjk_font();
    }
    const bool can_add = missing && !g_fonts.cjk_font.empty();
    if (g_fonts.built_size == size_px && g_fonts.built_ratio == pixel_ratio && !can_add) return false;
    build_atlas(size_px, pixel_ratio);
    if (device_objects_ready) {
        ImGui_ImplOpenGL3_DestroyFontsTexture();
        ImGui_ImplOpenGL3_CreateFontsTexture();
    }
    return true;
}

std::string fonts_status_json() {
    const ImGuiIO& io = ImGui::GetIO();
    return "{\"cjk_loaded\":" + std::string(g_fonts.cjk_font.empty() ? "false" : "true") +
           ",\"cjk_glyphs\":" + std::to_string(g_fonts.in_atlas.size()) +
           ",\"cjk_wanted\":" + std::to_string(g_fonts.wanted.size()) +
           ",\"rebuilds\":" + std::to_string(g_fonts.rebuilds) + ",\"size\":" + std::to_string(g_fonts.built_size) +
           ",\"pixel_ratio\":" + std::to_string(g_fonts.built_ratio) + ",\"raster_px\":" + std::to_string(g_fonts.built_size * g_fonts.built_ratio) +
           ",\"atlas_width\":" + std::to_string(io.Fonts->TexWidth) + ",\"atlas_height\":" + std::to_string(io.Fonts->TexHeight) + "}";
}

}  // namespace attnviz::app

extern "C" {
// The page hands over the CJK font file it fetched (fonts/DroidSansFallbackFull.ttf).
EMSCRIPTEN_KEEPALIVE void attnviz_cjk_font_loaded(const unsigned char* data, int size) {
    if (size > 0) attnviz::app::g_fonts.cjk_font.assign(data, data + size);
}
}
