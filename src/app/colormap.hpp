// Colour maps for heatmaps: viridis (sequential, colour-blind safe) for weights, and a
// blue–white–red diverging map for signed values. Both take t in [0, 1].
#pragma once

#include <algorithm>
#include <cstdint>

namespace attnviz::app {

struct Rgb {
    float r, g, b;  // each in [0, 1]
};

// Piecewise-linear interpolation between N evenly spaced anchor colours.
template <int N>
Rgb interpolate(const Rgb (&anchors)[N], float t) {
    constexpr int last = N - 1;
    t = std::clamp(t, 0.0f, 1.0f) * last;
    const int i = std::min(static_cast<int>(t), last - 1);
    const float f = t - i;
    const Rgb a = anchors[i], b = anchors[i + 1];
    return {a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f};
}

// viridis sampled at 9 evenly spaced points (matplotlib's table), linearly interpolated.
inline Rgb viridis(float t) {
    static constexpr Rgb anchors[] = {
        {0.267f, 0.005f, 0.329f}, {0.279f, 0.175f, 0.483f}, {0.230f, 0.322f, 0.546f},
        {0.173f, 0.449f, 0.558f}, {0.128f, 0.567f, 0.551f}, {0.158f, 0.684f, 0.502f},
        {0.369f, 0.789f, 0.383f}, {0.678f, 0.864f, 0.190f}, {0.993f, 0.906f, 0.144f},
    };
    return interpolate(anchors, t);
}

// Diverging: t = 0 → blue, 0.5 → near white, 1 → red (ColorBrewer RdBu, reversed).
inline Rgb diverging(float t) {
    static constexpr Rgb anchors[] = {
        {0.020f, 0.188f, 0.380f}, {0.263f, 0.576f, 0.765f}, {0.969f, 0.969f, 0.969f},
        {0.839f, 0.376f, 0.302f}, {0.404f, 0.000f, 0.122f},
    };
    return interpolate(anchors, t);
}

inline uint32_t to_abgr(Rgb c, float alpha = 1.0f) {  // ImGui's packed IM_COL32 layout
    auto byte = [](float v) { return static_cast<uint32_t>(std::clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f); };
    return (byte(alpha) << 24) | (byte(c.b) << 16) | (byte(c.g) << 8) | byte(c.r);
}

}  // namespace attnviz::app
