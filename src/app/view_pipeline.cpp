// view_pipeline — first version: the selected head's weights; the full view is being written.
#include "app.hpp"
#include "heatmap.hpp"
#include "imgui.h"

namespace attnviz::app {

void view_pipeline(AppState& state) {
    if (!state.trace) return;
    const Trace& trace = *state.trace;
    const HeadTrace& head = trace.heads[state.selected_head];
    HeatmapSpec spec;
    spec.id = "view_pipeline";
    spec.row_labels = &trace.tokens;
    spec.col_labels = trace.cross ? &trace.source_tokens : &trace.tokens;
    spec.scale = ColorScale::sequential;
    spec.lo = 0.0;
    spec.hi = 1.0;
    spec.version = state.trace_version;
    spec.pinned = state.pinned ? &*state.pinned : nullptr;
    const HeatmapEvents events = heatmap(spec, head.weights, &head.mask);
    if (events.clicked) state.pinned = events.clicked;
}

}  // namespace attnviz::app
