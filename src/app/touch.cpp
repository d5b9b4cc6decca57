// touch — tap, drag, long press and pinch, read from SDL's finger events (see touch.hpp).
#include "touch.hpp"

#include <cfloat>
#include <cmath>
#include <deque>
#include <vector>

#include "imgui_internal.h"  // ImGuiWindow: which panel a drag scrolls

namespace attnviz::app {

namespace {

constexpr float kDragStart = 10.0f;      // CSS px a finger moves before a touch is a drag, not a tap
constexpr Uint32 kLongPressMs = 450;     // held this long without moving: show what hover shows
const ImVec2 kAway(-FLT_MAX, -FLT_MAX);  // ImGui's "no mouse": nothing hovered

enum class Gesture { none, pending, press, scroll, hover, pinch };

struct Finger {
    SDL_FingerID id = 0;  // SDL's id for this finger while it is down
    ImVec2 pos;           // CSS px from the canvas's top-left
};

struct MouseFrame {
    ImVec2 pos;           // where ImGui's mouse is for one frame
    bool down = false;    // left button
};

struct TouchState {
    bool active = false;                    // fingers drive ImGui's mouse (until a real mouse moves)
    Gesture gesture = Gesture::none;        // what the fingers down now are doing
    std::vector<Finger> fingers;            // down now, in the order they touched
    ImVec2 start;                           // where the gesture's first finger touched
    Uint32 start_ms = 0;                    // when (SDL ticks)
    ImVec2 rest = kAway;                    // where the mouse rests between gestures: off screen, or where a long press lifted
    std::deque<MouseFrame> script;          // mouse states played one per frame (a tap: press, then release)
    ImGuiWindow* scrolling = nullptr;       // the window a scroll gesture moves
    ImVec2 scroll_last;                     // finger position the scroll was last applied at
    float pinch_distance = 0;               // the two fingers' distance at the previous frame
    ImVec2 pinch_centre;                    // their midpoint at the previous frame
    Pinch pinch;                            // this frame's pinch
    std::vector<Rect> claims, last_claims;  // zoomed heatmaps of this frame / of the previous one
};

TouchState g_touch;

float distance(ImVec2 a, ImVec2 b) { return std::hypot(a.x - b.x, a.y - b.y); }
ImVec2 midpoint(ImVec2 a, ImVec2 b) { return ImVec2((a.x + b.x) / 2, (a.y + b.y) / 2); }
bool contains(const Rect& r, ImVec2 p) { return p.x >= r.x && p.x < r.x + r.w && p.y >= r.y && p.y < r.y + r.h; }

ImVec2 finger_pos(const SDL_TouchFingerEvent& f) {
    const ImVec2 size = ImGui::GetIO().DisplaySize;  // CSS px; SDL gives 0..1 of the canvas
    return ImVec2(f.x * size.x, f.y * size.y);
}

Finger* find_finger(SDL_FingerID id) {
    for (Finger& f : g_touch.fingers)
        if (f.id == id) return &f;
    return nullptr;
}

// The window a vertical drag at `p` should scroll: the top-most window under the finger (as
// ImGui finds the hovered one, from last frame's rectangles), or the nearest enclosing child
// parent that has something to scroll. None when nothing there scrolls.
ImGuiWindow* scrollable_window_at(ImVec2 p) {
    ImGuiContext& g = *GImGui;
    for (int i = g.Windows.Size - 1; i >= 0; --i) {
        ImGuiWindow* w = g.Windows[i];
        if (!w->Active || w->Hidden || (w->Flags & (ImGuiWindowFlags_Tooltip | ImGuiWindowFlags_NoMouseInputs))) continue;
        if (!w->OuterRectClipped.Contains(p)) continue;
        for (ImGuiWindow* s = w; s; s = (s->Flags & ImGuiWindowFlags_ChildWindow) ? s->ParentWindow : nullptr)
            if (s->ScrollMax.y > 0 && !(s->Flags & ImGuiWindowFlags_NoScrollWithMouse)) return s;
        return nullptr;
    }
    return nullptr;
}

// A finger moved past the drag threshold: a scroll of the panel, or a press that ImGui drags.
void start_drag(ImVec2 pos) {
    TouchState& t = g_touch;
    bool on_claim = false;
    for (const Rect& r : t.last_claims) on_claim |= contains(r, t.start);
    const bool vertical = std::abs(pos.y - t.start.y) >= std::abs(pos.x - t.start.x);
    ImGuiWindow* window = !on_claim && vertical ? scrollable_window_at(t.start) : nullptr;
    if (window) {
        t.gesture = Gesture::scroll;
        t.scrolling = window;
        t.scroll_last = t.start;
    } else {
        t.gesture = Gesture::press;
        t.script.push_back({t.start, true});  // pressed where the finger landed, then it follows the finger
    }
}

}  // namespace

bool touch_process_event(const SDL_Event& event) {
    TouchState& t = g_touch;
    switch (event.type) {
        case SDL_MOUSEMOTION:  // a real mouse: SDL's backend drives ImGui again
            if (event.motion.which != SDL_TOUCH_MOUSEID && t.active) t = TouchState{};
            return false;
        case SDL_MOUSEBUTTONDOWN:
            if (event.button.which != SDL_TOUCH_MOUSEID && t.active) t = TouchState{};
            return false;
        case SDL_FINGERDOWN: {
            t.active = true;
            const ImVec2 pos = finger_pos(event.tfinger);
            t.fingers.push_back({event.tfinger.fingerId, pos});
            if (t.fingers.size() == 1) {
                t.gesture = Gesture::pending;
                t.start = pos;
                t.start_ms = SDL_GetTicks();
                t.rest = kAway;
            } else if (t.fingers.size() == 2) {
                if (t.gesture == Gesture::press) t.script.push_back({t.fingers[0].pos, false});  // end the drag before pinching
                t.gesture = Gesture::pinch;
                t.pinch_distance = distance(t.fingers[0].pos, t.fingers[1].pos);
                t.pinch_centre = midpoint(t.fingers[0].pos, t.fingers[1].pos);
            }
            return true;
        }
        case SDL_FINGERMOTION: {
            Finger* f = find_finger(event.tfinger.fingerId);
            if (!f) return true;
            f->pos = finger_pos(event.tfinger);
            if (t.gesture == Gesture::pending && f == &t.fingers[0] && distance(f->pos, t.start) > kDragStart) start_drag(f->pos);
            return true;
        }
        case SDL_FINGERUP: {
            Finger* f = find_finger(event.tfinger.fingerId);
            if (!f) return true;
            const ImVec2 pos = finger_pos(event.tfinger);
            t.fingers.erase(t.fingers.begin() + (f - t.fingers.data()));
            if (t.gesture == Gesture::pinch) {  // a finger left over from a pinch does nothing until it lifts too
                if (t.fingers.empty()) t.gesture = Gesture::none;
                return true;
            }
            if (t.gesture == Gesture::pending) {  // a tap: press and release where it landed, on two frames
                t.script.push_back({t.start, true});
                t.script.push_back({t.start, false});
            } else if (t.gesture == Gesture::press) {
                t.script.push_back({pos, false});
            } else if (t.gesture == Gesture::hover) {
                t.rest = pos;  // what the long press showed stays until the next touch
            }
            t.gesture = Gesture::none;
            t.scrolling = nullptr;
            return true;
        }
        default: return false;
    }
}

void touch_new_frame() {
    TouchState& t = g_touch;
    t.pinch = Pinch{};
    if (t.active) {
        if (t.gesture == Gesture::pending && SDL_GetTicks() - t.start_ms >= kLongPressMs) t.gesture = Gesture::hover;

        MouseFrame m{t.rest, false};
        if (!t.script.empty()) {
            m = t.script.front();
            t.script.pop_front();
        } else if ((t.gesture == Gesture::press || t.gesture == Gesture::hover) && !t.fingers.empty()) {
            m = {t.fingers[0].pos, t.gesture == Gesture::press};
        }
        ImGuiIO& io = ImGui::GetIO();
        io.MousePos = m.pos;
        io.MouseDown[0] = m.down;
        io.MouseDown[1] = io.MouseDown[2] = false;

        if (t.gesture == Gesture::scroll && t.scrolling && !t.fingers.empty()) {  // the content follows the finger
            const ImVec2 pos = t.fingers[0].pos;
            ImGui::SetScrollY(t.scrolling, t.scrolling->Scroll.y - (pos.y - t.scroll_last.y));
            t.scroll_last = pos;
        }
        if (t.gesture == Gesture::pinch && t.fingers.size() >= 2) {
            const float d = distance(t.fingers[0].pos, t.fingers[1].pos);
            const ImVec2 c = midpoint(t.fingers[0].pos, t.fingers[1].pos);
            t.pinch.active = true;
            t.pinch.centre = c;
            t.pinch.scale = t.pinch_distance > 1 ? d / t.pinch_distance : 1.0f;
            t.pinch.pan = ImVec2(c.x - t.pinch_centre.x, c.y - t.pinch_centre.y);
            t.pinch_distance = d;
            t.pinch_centre = c;
        }
    }
    t.last_claims.swap(t.claims);
    t.claims.clear();
}

bool touch_input() { return g_touch.active; }

const Pinch& touch_pinch() { return g_touch.pinch; }

void touch_claim_drags(const Rect& area) { g_touch.claims.push_back(area); }

const char* touch_gesture() {
    switch (g_touch.gesture) {
        case Gesture::none: return "none";
        case Gesture::pending: return "pending";
        case Gesture::press: return "press";
        case Gesture::scroll: return "scroll";
        case Gesture::hover: return "hover";
        case Gesture::pinch: return "pinch";
    }
    return "none";
}

}  // namespace attnviz::app
