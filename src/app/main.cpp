// attnviz app — SDL2 window, WebGL2 context, Dear ImGui, and the browser's frame loop.
#include <SDL.h>
#include <SDL_opengles2.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <cstdio>

#include "app.hpp"
#include "fonts.hpp"
#include "heatmap.hpp"
#include "page.hpp"
#include "imgui.h"
#include "imgui_impl_opengl3.h"
#include "imgui_impl_sdl.h"

namespace {

struct Platform {
    SDL_Window* window = nullptr;      // the page's canvas
    SDL_GLContext gl = nullptr;        // its WebGL2 context
    long long frames = 0;              // frames drawn so far (test hook)
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

void frame(void* arg) {
    auto& p = *static_cast<Platform*>(arg);
    if (!context_ready(p)) {
        SDL_Event event;
        while (SDL_PollEvent(&event)) ImGui_ImplSDL2_ProcessEvent(&event);  // keep input flowing
        return;
    }

    SDL_Event event;
    while (SDL_PollEvent(&event)) ImGui_ImplSDL2_ProcessEvent(&event);

    attnviz::app::recompute(p.state);
    attnviz::app::page_text_focus(ImGui::GetIO().WantTextInput);
    attnviz::app::require_glyphs(p.state.text);
    attnviz::app::require_glyphs(p.state.source_text);
    if (p.state.trace) {
        for (const auto& t : p.state.trace->tokens) attnviz::app::require_glyphs(t);
        for (const auto& t : p.state.trace->source_tokens) attnviz::app::require_glyphs(t);
    }
    attnviz::app::fonts_update(p.state.presentation ? 24.0f : 16.0f, true);

    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplSDL2_NewFrame();
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
    ++p.frames;
}

}  // namespace

extern "C" {
// The page's test hook (web/loader.js) reads it to wait for frames.
EMSCRIPTEN_KEEPALIVE double attnviz_frame_count() { return static_cast<double>(g_platform.frames); }
}

int main() {
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

    attnviz::app::page_attach(p.state);
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // layout comes from the URL state, not from a file
    ImGui::StyleColorsDark();
    attnviz::app::fonts_update(16.0f, false);
    ImGui_ImplSDL2_InitForOpenGL(p.window, p.gl);
    ImGui_ImplOpenGL3_Init("#version 300 es");

    emscripten_set_main_loop_arg(frame, &p, 0, true);
    return 0;
}
