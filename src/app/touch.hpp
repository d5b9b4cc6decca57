// touch — fingers on a touch screen, turned into the one mouse Dear ImGui 1.86 understands.
//
// SDL is told not to fake mouse events from touches (main.cpp); this file reads the fingers
// instead and decides what each gesture means before ImGui sees it:
//   tap            a click at the finger (press and release on two frames, so 1.86 sees both)
//   drag           a vertical drag scrolls the panel under the finger; any other drag (or any
//                  drag on a zoomed heatmap) presses there and moves, so heatmaps pan and sliders slide
//   long press     the mouse rests at the finger without a button: what hover shows on a desktop
//   pinch          two fingers: a zoom factor and a centre each frame, read by the heatmaps
// Between gestures the mouse is parked off screen, so nothing stays hovered after a tap.
#pragma once

#include <SDL.h>

#include "app.hpp"
#include "imgui.h"

namespace attnviz::app {

struct Pinch {
    bool active = false;        // two fingers are down this frame
    ImVec2 centre;              // their midpoint, CSS pixels
    float scale = 1.0f;         // their distance now / on the previous frame
    ImVec2 pan;                 // how far the midpoint moved since the previous frame
};

bool touch_process_event(const SDL_Event& event);  // fingers (true: consumed); a real mouse hands control back to SDL's mouse
void touch_new_frame();                            // between ImGui_ImplSDL2_NewFrame and ImGui::NewFrame: the mouse ImGui gets
bool touch_input();                                // the last pointer was a finger (views word their hints for touch)
const Pinch& touch_pinch();                        // this frame's pinch, if any
void touch_claim_drags(const Rect& area);          // a widget that pans under one finger this frame (a zoomed heatmap)
const char* touch_gesture();                       // "none" | "pending" | "press" | "scroll" | "hover" | "pinch" (test hook)

}  // namespace attnviz::app
