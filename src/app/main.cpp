// attnviz app — SDL2 window, WebGL2 context, Dear ImGui, and the browser's frame loop.
#include <SDL.h>
#include <SDL_opengles2.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "app.hpp"
#include "fonts.hpp"
#include "heatmap.hpp"
#include "page.hpp"
#include "touch.hpp"
#include "imgui.h"
#include "imgui_impl_opengl3.h"
#include "imgui_impl_sdl.h"

namespace {

constexpr int kFrameLog = 600;  // frames whose timings the test hook keeps (10 s at 60 Hz)

struct Platform {
    SDL_Window* window = nullptr;      // the page's canvas
    SDL_GLContext gl = nullptr;        // its WebGL2 context
    long long frames = 0;              // frames drawn so far (test hook)
    double last_start_ms = 0;          // when the previous frame began (emscripten_get_now)
    float work_ms[kFrameLog] = {};     // ring: time spent inside each frame callback (input, compute, UI, GL calls)
    float interval_ms[kFrameLog] = {}; // ring: time from the previous frame's start to this one's
    bool context_lost = false;         // the WebGL context is gone; GL objects must be rebuilt when it returns
    attnviz::app::AppState state;      // everything the interface knows
};

Platform g_platform;  // one page, one app: the browser's frame callback needs a fixed address

// WebGL context loss (GPU reset, too many contexts, WEBGL_lose_context): draw nothing while it
// is lost, then recreate every GL object ImGui and the heatmaps own, without a page reload.
bool context_ready(Platform& p) {
    const bool lost = emscripten_is_webgl_context_lost(emscripten_webgl_get_current_context());
    if (lost) {
        p.context_lost = true;
        return false;
    }
    if (p.context_lost) {
        p.context_lost = false;
        attnviz::app::heatmap_lost_context();
        // A full renderer restart: ImGui 1.86's backend keeps its buffer sizes across
        // DestroyDeviceObjects and would then write past the new, empty buffers.
        ImGui_ImplOpenGL3_Shutdown();
        ImGui_ImplOpenGL3_Init("#version 300 es");
        attnviz::app::page_notify("The graphics context was lost and has been restored");
    }
    return true;
}

void process_events() {
    SDL_Event event;
    while (SDL_PollEvent(&event))
        if (!attnviz::app::touch_process_event(event)) ImGui_ImplSDL2_ProcessEvent(&event);
}

// The canvas's device pixel ratio (2 or 3 on phones): the font is rasterized at it, so text is
// as sharp as the screen. Capped at 3, which bounds the font atlas (fonts.cpp).
float pixel_ratio(SDL_Window* window) {
    int w = 0, h = 0, dw = 0, dh = 0;
    SDL_GetWindowSize(window, &w, &h);
    SDL_GL_GetDrawableSize(window, &dw, &dh);
    return w > 0 ? std::clamp(static_cast<float>(dw) / w, 1.0f, 3.0f) : 1.0f;
}

void frame(void* arg) {
    auto& p = *static_cast<Platform*>(arg);
    if (!context_ready(p)) {
        process_events();  // keep input flowing
        return;
    }
    const double start_ms = emscripten_get_now();

    process_events();
    attnviz::app::page_key_frame();

    if (p.frames > 0 && p.state.source == attnviz::app::Source::model) attnviz::app::page_fetch_model(p.state);  // after the first frame
    attnviz::app::recompute(p.state);
    attnviz::app::page_text_focus(ImGui::GetIO().WantTextInput);
    attnviz::app::require_glyphs(p.state.text);
    attnviz::app::require_glyphs(p.state.source_text);
    if (p.state.trace) {
        for (const auto& t : p.state.trace->tokens) attnviz::app::require_glyphs(t);
        for (const auto& t : p.state.trace->source_tokens) attnviz::app::require_glyphs(t);
    }
    int css_w = 0, css_h = 0;
    SDL_GetWindowSize(p.window, &css_w, &css_h);
    const bool big_type = p.state.presentation && !attnviz::app::is_narrow(static_cast<float>(css_w), static_cast<float>(css_h));
    attnviz::app::fonts_update(big_type ? 24.0f : 16.0f, pixel_ratio(p.window), true);

    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplSDL2_NewFrame();
    attnviz::app::touch_new_frame();
    ImGui::NewFrame();

    attnviz::app::draw_ui(p.state);
    attnviz::app::page_sync_url(p.state);

    ImGui::Render();
    int width = 0, height = 0;
    SDL_GL_GetDrawableSize(p.window, &width, &height);
    glViewport(0, 0, width, height);
    glClearColor(0.118f, 0.122f, 0.141f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    attnviz::app::heatmap_end_frame();
    attnviz::app::page_after_render();
    SDL_GL_SwapWindow(p.window);
    const int slot = static_cast<int>(p.frames % kFrameLog);
    p.work_ms[slot] = static_cast<float>(emscripten_get_now() - start_ms);
    p.interval_ms[slot] = p.last_start_ms > 0 ? static_cast<float>(start_ms - p.last_start_ms) : 0.0f;
    p.last_start_ms = start_ms;
    ++p.frames;
}

}  // namespace

extern "C" {
// The page's test hook (web/loader.js) reads it to wait for frames.
EMSCRIPTEN_KEEPALIVE double attnviz_frame_count() { return static_cast<double>(g_platform.frames); }

// The last `count` frames' timings (at most 600), oldest first: {"work_ms": [...], "interval_ms": [...]}.
// work = inside the frame callback; interval = from the previous frame's start (what a user sees).
EMSCRIPTEN_KEEPALIVE const char* attnviz_frame_stats_json(int count) {
    static std::string out;
    const auto& p = g_platform;
    const long long n = std::min<long long>({static_cast<long long>(std::max(count, 0)), p.frames, kFrameLog});
    std::string work = "[", interval = "[";
    for (long long f = p.frames - n; f < p.frames; ++f) {
        const int slot = static_cast<int>(f % kFrameLog);
        const char* sep = f + 1 < p.frames ? "," : "";
        work += std::to_string(p.work_ms[slot]) + sep;
        interval += std::to_string(p.interval_ms[slot]) + sep;
    }
    out = "{\"work_ms\":" + work + "],\"interval_ms\":" + interval + "]}";
    return out.c_str();
}
}

int main() {
    // Touches reach the app as fingers only (touch.cpp turns them into ImGui's mouse): SDL's own
    // mouse emulation would press at once on touch-down, leaving no way to scroll or long-press.
    SDL_SetHint(SDL_HINT_TOUCH_MOUSE_EVENTS, "0");
    if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_TIMER) != 0) {
        std::fprintf(stderr, "attnviz: SDL_Init failed: %s\n", SDL_GetError());
        return 1;
    }
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK, SDL_GL_CONTEXT_PROFILE_ES);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, 0);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);

    double css_width = 1280, css_height = 720;
    emscripten_get_element_css_size("#canvas", &css_width, &css_height);
    auto& p = g_platform;
    p.window = SDL_CreateWindow("attnviz", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                                static_cast<int>(css_width), static_cast<int>(css_height),
                                SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
    if (!p.window) {
        std::fprintf(stderr, "attnviz: SDL_CreateWindow failed: %s\n", SDL_GetError());
        return 1;
    }
    p.gl = SDL_GL_CreateContext(p.window);
    if (!p.gl) {
        std::fprintf(stderr, "attnviz: WebGL2 is not available: %s\n", SDL_GetError());
        return 1;
    }
    SDL_GL_MakeCurrent(p.window, p.gl);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    attnviz::app::page_attach(p.state);
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // layout comes from the URL state, not from a file
    ImGui::StyleColorsDark();
    attnviz::app::fonts_update(16.0f, pixel_ratio(p.window), false);
    ImGui_ImplSDL2_InitForOpenGL(p.window, p.gl);
    ImGui_ImplOpenGL3_Init("#version 300 es");

    // The page opens on the trained model, unless the address asks for the lab (?lab); a link's
    // state (applied after main) chooses for itself, and links from before the model open the lab.
    if (!attnviz::app::page_query_has("lab")) {
        p.state.source = attnviz::app::Source::model;
        p.state.text = attnviz::app::kModelSentence;
        p.state.view = attnviz::app::View::predictions;
    }
    emscripten_set_main_loop_arg(frame, &p, 0, true);
    return 0;
}
