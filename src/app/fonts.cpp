// Fonts: DejaVu Sans (from Debian's fonts-dejavu-core, preloaded into the module's virtual
// filesystem at /fonts) with the ranges attention's notation needs — Latin, Greek, super-
// and subscripts (ᵀ), arrows, mathematical operators (√, ·, ×). Falls back to ImGui's
// built-in font when the file is absent, so a missing font never stops the app.
#include <cstdio>

#include "app.hpp"
#include "imgui.h"

namespace attnviz::app {

void load_fonts(float size_px) {
    static const ImWchar ranges[] = {
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
    if (std::FILE* f = std::fopen("/fonts/DejaVuSans.ttf", "rb")) {
        std::fclose(f);
        io.Fonts->AddFontFromFileTTF("/fonts/DejaVuSans.ttf", size_px, nullptr, ranges);
    } else {
        std::fprintf(stderr, "attnviz: /fonts/DejaVuSans.ttf missing, using ImGui's built-in font\n");
        ImFontConfig config;
        config.SizePixels = size_px;
        io.Fonts->AddFontDefault(&config);
    }
}

}  // namespace attnviz::app
