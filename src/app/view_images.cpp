// view_images — attention over an image (issue 13): a small Vision Transformer reads an image cut
// into patches. The image (picked from a gallery, drawn with the mouse, or dropped on the page)
// with the patch grid over it; the class probabilities; for a layer and head, the class token's
// attention to every patch laid over the image (a hovered patch's own attention instead), or the
// attention rollout across layers; every head of the layer as small maps; the learned positions'
// similarities as the familiar grid of small maps. Every number comes from the core's trace.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "app.hpp"
#include "colormap.hpp"
#include "heatmap.hpp"
#include "imgui.h"
#include "page.hpp"

namespace attnviz::app {

namespace {

ImU32 rgb(const Rgb& c, float alpha = 1.0f) { return ImGui::ColorConvertFloat4ToU32(ImVec4(c.r, c.g, c.b, alpha)); }

// The weights the overlay shows for query `query`: (N) one per patch, head `head` of layer
// `layer`'s, the mean of that layer's heads (head -1), or, with `rollout`, that row of the rollout.
std::vector<float> patch_weights(const ImageState& im, int layer, int head, int query, bool rollout) {
    const ModelTrace& t = *im.trace;
    const int N = t.T - 1;
    std::vector<float> w(N, 0.0f);
    if (rollout) {
        for (int n = 0; n < N; ++n) w[n] = im.rollout(query, 1 + n);
        return w;
    }
    const auto& heads = t.layers[layer].attention.heads;
    for (int n = 0; n < N; ++n) {
        if (head >= 0) {
            w[n] = heads[head].weights(query, 1 + n);
        } else {
            double sum = 0;
            for (const auto& h : heads) sum += h.weights(query, 1 + n);
            w[n] = static_cast<float>(sum / heads.size());
        }
    }
    return w;
}

// The image as S×S squares (white ink on black, as the datasets store it), `size` px a side; with
// `weights`, each patch tinted by its weight over the largest; the patch grid. Returns the top-left.
ImVec2 draw_image(ImDrawList* dl, ImVec2 at, float size, const std::vector<float>& pixels, int S, int p,
                  const std::vector<float>* weights, int outlined) {
    const float cell = size / S;
    for (int y = 0; y < S; ++y)
        for (int x = 0; x < S; ++x) {
            const float v = pixels[static_cast<std::size_t>(y) * S + x];
            dl->AddRectFilled(ImVec2(at.x + x * cell, at.y + y * cell), ImVec2(at.x + (x + 1) * cell, at.y + (y + 1) * cell),
                              ImGui::ColorConvertFloat4ToU32(ImVec4(v, v, v, 1.0f)));
        }
    const int side = S / p;
    const float patch = cell * p;
    if (weights) {
        const float top = std::max(1e-9f, *std::max_element(weights->begin(), weights->end()));
        for (int n = 0; n < side * side; ++n) {
            const float t = (*weights)[n] / top;
            const ImVec2 a(at.x + (n % side) * patch, at.y + (n / side) * patch);
            dl->AddRectFilled(a, ImVec2(a.x + patch, a.y + patch), rgb(viridis(t), 0.08f + 0.5f * t));
        }
    }
    for (int k = 0; k <= side; ++k) {  // the patch grid
        const ImU32 line = IM_COL32(255, 170, 60, 150);
        dl->AddLine(ImVec2(at.x + k * patch, at.y), ImVec2(at.x + k * patch, at.y + size), line);
        dl->AddLine(ImVec2(at.x, at.y + k * patch), ImVec2(at.x + size, at.y + k * patch), line);
    }
    if (outlined >= 0) {
        const ImVec2 a(at.x + (outlined % side) * patch, at.y + (outlined / side) * patch);
        dl->AddRect(a, ImVec2(a.x + patch, a.y + patch), IM_COL32(255, 255, 255, 255), 0, 0, 2.5f);
    }
    return at;
}

// The editable image: left button paints ink, right button erases; a stroke is one undo step.
// The patch under a pointer that is not painting becomes the hovered patch.
void image_canvas(AppState& state, const Model& model, float size) {
    ImageState& im = state.images;
    const int S = model.config.image_size, p = model.config.patch_size, side = S / p;
    const ImVec2 at = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton("##image", ImVec2(size, size), ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
    record_item(state, "images.canvas");
    const ImVec2 mouse = ImGui::GetIO().MousePos;
    const int px = static_cast<int>(std::floor((mouse.x - at.x) / size * S)), py = static_cast<int>(std::floor((mouse.y - at.y) / size * S));
    const bool inside = px >= 0 && px < S && py >= 0 && py < S;
    const bool painting = ImGui::IsItemActive() && (ImGui::IsMouseDown(ImGuiMouseButton_Left) || ImGui::IsMouseDown(ImGuiMouseButton_Right));
    if (painting && inside) {
        const bool erase = ImGui::IsMouseDown(ImGuiMouseButton_Right);
        std::vector<float> next = im.pixels;
        // a round brush: the pixel itself, and for the larger images a softer ring around it
        const int reach = S >= 16 ? 1 : 0;
        for (int dy = -reach; dy <= reach; ++dy)
            for (int dx = -reach; dx <= reach; ++dx) {
                const int x = px + dx, y = py + dy;
                if (x < 0 || x >= S || y < 0 || y >= S) continue;
                float& v = next[static_cast<std::size_t>(y) * S + x];
                const float ink = dx == 0 && dy == 0 ? 1.0f : (dx == 0 || dy == 0 ? 0.6f : 0.3f);
                v = erase ? (dx == 0 && dy == 0 ? 0.0f : std::min(v, 1.0f - ink)) : std::max(v, ink);
            }
        if (next != im.pixels) {
            if (!im.stroke) {  // the stroke's first change: one undo step for the whole stroke
                image_set_pixels(state, std::move(next), -1, -1);
                im.stroke = true;
            } else {
                im.pixels = std::move(next);
                image_retrace(state);
            }
        }
    }
    if (!ImGui::IsItemActive()) im.stroke = false;
    im.hovered_patch = inside && ImGui::IsItemHovered() && !painting ? (py / p) * side + px / p : -1;

    const bool rollout = im.overlay == ImageOverlay::rollout;
    std::vector<float> weights;
    const bool overlay = im.trace && (im.overlay != ImageOverlay::none || im.hovered_patch >= 0);
    if (overlay) weights = patch_weights(im, im.layer, im.head, im.hovered_patch >= 0 ? 1 + im.hovered_patch : 0, rollout && im.hovered_patch < 0);
    draw_image(ImGui::GetWindowDrawList(), at, size, im.pixels, S, p, overlay ? &weights : nullptr, im.hovered_patch);
    // the test hook: the values laid over the image, as drawn
    std::string drawn;
    for (float w : weights) drawn += (drawn.empty() ? "" : ",") + std::to_string(w);
    state.readout["images.overlay"] = drawn;
    state.readout["images.overlay_query"] = std::to_string(im.hovered_patch >= 0 ? 1 + im.hovered_patch : 0);
}

// The class token's distribution: a bar per class, the most likely marked, the true class named.
void class_bars(AppState& state, const Model& model, float width) {
    const ImageState& im = state.images;  // (All heads on edits it through state)
    if (!im.trace) return;
    const std::vector<float>& probs = im.trace->predictions.class_probs;
    const int best = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
    if (im.trace->intact) {  // heads switched off: the whole model's answer too
        const std::vector<float>& whole = im.trace->intact->class_probs;
        const int was = static_cast<int>(std::max_element(whole.begin(), whole.end()) - whole.begin());
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.75f, 0.4f, 1));
        ImGui::TextWrapped("%zu head%s switched off. The whole model says %s (%.1f %%).", im.heads_off.size(),
                           im.heads_off.size() == 1 ? "" : "s", model.vocab.tokens[was].c_str(), 100.0 * whole[was]);
        ImGui::PopStyleColor();
        same_line_if_fits(ImGui::CalcTextSize("All heads on").x + 2 * ImGui::GetStyle().FramePadding.x);
        if (ImGui::SmallButton("All heads on")) {
            state.images.heads_off.clear();
            image_retrace(state);
            return;
        }
    }
    ImGui::Text("Prediction: %s (%.1f %%)", model.vocab.tokens[best].c_str(), 100.0 * probs[best]);
    state.readout["images.predicted"] = model.vocab.tokens[best];
    if (im.label >= 0) {
        same_line_if_fits(ImGui::CalcTextSize("wrong: it is Ankle boot").x);
        if (im.label == best) ImGui::TextColored(ImVec4(0.5f, 0.9f, 0.5f, 1), "right");
        else ImGui::TextColored(ImVec4(1.0f, 0.55f, 0.45f, 1), "wrong: it is %s", model.vocab.tokens[im.label].c_str());
    }
    for (std::size_t k = 0; k < probs.size(); ++k) {
        char overlay[96];
        std::snprintf(overlay, sizeof overlay, "%s%s  %.1f %%", model.vocab.tokens[k].c_str(),
                      static_cast<int>(k) == im.label ? " (true)" : "", 100.0 * probs[k]);
        ImGui::PushStyleColor(ImGuiCol_PlotHistogram, static_cast<int>(k) == best ? ImVec4(0.95f, 0.65f, 0.2f, 1) : ImVec4(0.35f, 0.55f, 0.85f, 1));
        ImGui::ProgressBar(probs[k], ImVec2(width, 0), "");
        ImGui::PopStyleColor();
        // the label at the bar's left end, clipped to the bar (ProgressBar puts its text after the fill)
        const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
        const float pad = ImGui::GetStyle().FramePadding.x;
        const ImVec4 clip(a.x, a.y, b.x - pad, b.y);
        ImGui::GetWindowDrawList()->AddText(ImGui::GetFont(), ImGui::GetFontSize(), ImVec2(a.x + pad, a.y + ImGui::GetStyle().FramePadding.y),
                                            ImGui::GetColorU32(ImGuiCol_Text), overlay, nullptr, 0.0f, &clip);
    }
}

// Each head of the layer (and their mean) as a small map of the class token's attention; a click
// overlays that one.
void head_maps(AppState& state, const Model& model, float map) {
    ImageState& im = state.images;
    const int S = model.config.image_size, p = model.config.patch_size;
    const int H = model.config.n_head;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    for (int h = -1; h < H; ++h) {
        ImGui::PushID(h);
        ImGui::BeginGroup();
        const ImVec2 at = ImGui::GetCursorScreenPos();
        if (ImGui::InvisibleButton("##head", ImVec2(map, map))) {
            im.head = h;
            im.overlay = ImageOverlay::class_token;
        }
        const std::vector<float> w = patch_weights(im, im.layer, h, 0, false);  // the same layer, this head
        draw_image(dl, at, map, im.pixels, S, p, &w, -1);
        if (im.head == h && im.overlay == ImageOverlay::class_token) dl->AddRect(at, ImVec2(at.x + map, at.y + map), IM_COL32(255, 255, 255, 255), 0, 0, 2);
        if (h < 0) {
            ImGui::TextUnformatted("mean");
        } else {
            ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(head_colour(h)), "head %d", h);
            const std::pair<int, int> key(im.layer, h);
            bool off = std::find(im.heads_off.begin(), im.heads_off.end(), key) != im.heads_off.end();
            if (ImGui::Checkbox("off", &off)) {
                if (off) im.heads_off.push_back(key);
                else im.heads_off.erase(std::remove(im.heads_off.begin(), im.heads_off.end(), key), im.heads_off.end());
                image_retrace(state);
            }
            record_item(state, ("images.off" + std::to_string(h)).c_str());
        }
        ImGui::EndGroup();
        ImGui::PopID();
        same_line_if_fits(map);
    }
    ImGui::NewLine();
}

// The learned positions: for each patch (laid out as the grid), its cosine similarity to every
// patch, a small map each (diverging colours, −1 blue, +1 red).
void position_maps(AppState& state, const Model& model, float width) {
    Expected<Matrix> sim = position_similarity(model);
    if (!sim) return error_text(sim.error());
    const int side = model.config.patches_per_side(), N = side * side;
    const float map = std::floor((width - 4.0f * side) / side), cell = map / side;
    const ImVec2 at = ImGui::GetCursorScreenPos();
    ImDrawList* dl = ImGui::GetWindowDrawList();
    for (int i = 0; i < N; ++i) {
        const ImVec2 a(at.x + (i % side) * (map + 4), at.y + (i / side) * (map + 4));
        for (int j = 0; j < N; ++j) {
            const ImVec2 c(a.x + (j % side) * cell, a.y + (j / side) * cell);
            dl->AddRectFilled(c, ImVec2(c.x + cell, c.y + cell), rgb(diverging(0.5f + 0.5f * sim.value()(i, j))));
        }
    }
    ImGui::Dummy(ImVec2(side * (map + 4), side * (map + 4)));
    record_item(state, "images.positions");
    hint_text("Each small map is one patch's learned position compared with every patch's (cosine: red alike, blue opposite). "
              "Nearby patches learn similar positions: the model finds the grid by itself.");
}

void gallery_strip(AppState& state, const ImageModel& m, float thumb) {
    ImageState& im = state.images;
    const int S = m.model->config.image_size;
    for (std::size_t k = 0; k < m.gallery.size(); ++k) {
        const GalleryImage& g = m.gallery[k];
        ImGui::PushID(static_cast<int>(k));
        const ImVec2 at = ImGui::GetCursorScreenPos();
        if (ImGui::InvisibleButton("##g", ImVec2(thumb, thumb))) image_set_pixels(state, g.pixels, static_cast<int>(k), g.label);
        if (k == 0) record_item(state, "images.gallery0");
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("test image %d: %s, the model says %s", g.test_index, m.model->vocab.tokens[g.label].c_str(),
                              m.model->vocab.tokens[g.predicted].c_str());
        ImDrawList* dl = ImGui::GetWindowDrawList();
        draw_image(dl, at, thumb, g.pixels, S, S, nullptr, -1);
        const ImU32 frame = static_cast<int>(k) == im.gallery ? IM_COL32(255, 255, 255, 255)
                            : g.predicted == g.label     ? IM_COL32(90, 200, 110, 200)
                                                         : IM_COL32(240, 90, 70, 255);
        dl->AddRect(at, ImVec2(at.x + thumb, at.y + thumb), frame, 0, 0, static_cast<int>(k) == im.gallery ? 2.5f : 1.5f);
        ImGui::PopID();
        same_line_if_fits(thumb);
    }
    ImGui::NewLine();
    hint_text("Green frame: the model is right about this test image; red: wrong (hover for both labels).");
}

}  // namespace

void image_request(AppState& state) {
    ImageModel& m = state.images.models[state.images.dataset];
    if (m.model || m.loading || !m.error.empty()) return;
    m.loading = true;
    page_fetch_image_model(state.images.dataset);
}

void image_open_in_views(AppState& state) {
    ImageState& im = state.images;
    const ImageModel* m = image_model(state);
    if (!m || !m->model || !im.trace) return;
    ModelState& model = state.model;
    model.model = m->model;
    model.packed = pack_weights(*m->model);
    model.name = "vit_" + im.dataset;
    model.shipped = false;  // a link names it but cannot carry the image
    model.load_error.clear();
    model.image = im.pixels;
    model.image_label = im.label;
    model.ablation = Ablation{};
    for (const auto& lh : im.heads_off) model.ablation.heads.push_back(lh);
    model.ablation_changed = true;
    model.layer = std::min(im.layer, m->model->config.n_layer - 1);
    model.selected_position = -1;
    model.trace.reset();
    model.intact_trace.reset();
    state.selected_head = std::max(im.head, 0);
    set_source(state, Source::model);
    state.dirty = true;
    state.view = View::pipeline;
    state.view_forced = true;
    page_notify("The " + model.name + " model and this image are open in every view");
}

void view_images(AppState& state) {
    ImageState& im = state.images;
    image_request(state);
    if (ImGui::RadioButton("Digits (8×8 pixels, 2×2 patches)", im.dataset == "digits")) image_switch(state, "digits");
    record_item(state, "images.digits");
    same_line_if_fits(ImGui::CalcTextSize("Fashion-MNIST (28×28 pixels, 14×14 patches)").x + ImGui::GetFrameHeight() + 8);
    if (ImGui::RadioButton("Fashion-MNIST (28×28 pixels, 14×14 patches)", im.dataset == "fashion")) image_switch(state, "fashion");
    record_item(state, "images.fashion");
    if (im.dataset != "digits" && im.dataset != "fashion") {  // a model file of one's own
        same_line_if_fits(ImGui::CalcTextSize(im.dataset.c_str()).x + ImGui::GetFrameHeight() + 8);
        ImGui::RadioButton(im.dataset.c_str(), true);
    }
    const ImageModel* m = image_model(state);
    if (!m || !m->error.empty()) {
        error_text(m ? m->error : "");
        return;
    }
    if (!m->model) {
        ImGui::TextUnformatted("Loading the model and its gallery…");
        return;
    }
    const Model& model = *m->model;
    const ModelConfig& c = model.config;
    if (im.pixels.size() != static_cast<std::size_t>(c.image_size) * c.image_size) im.pixels.assign(static_cast<std::size_t>(c.image_size) * c.image_size, 0.0f);
    hint_text("A Vision Transformer: the image is cut into %d patches of %d×%d pixels; each patch is a token, and a class token "
              "reads them all through %d layers of %d heads (no mask: every token sees every token).",
              c.n_patches(), c.patch_size, c.patch_size, c.n_layer, c.n_head);

    const float avail = ImGui::GetContentRegionAvail().x;
    const bool two_columns = avail >= 560;
    const float canvas = std::floor(std::clamp(two_columns ? avail * 0.45f : avail, 160.0f, 420.0f));
    ImGui::BeginGroup();
    image_canvas(state, model, canvas);
    if (ImGui::Button("Clear")) image_set_pixels(state, std::vector<float>(im.pixels.size(), 0.0f), -1, -1);
    record_item(state, "images.clear");
    ImGui::SameLine();
    ImGui::BeginDisabled(im.undo.empty());
    if (ImGui::Button("Undo")) {
        im.pixels = im.undo.back();
        im.undo.pop_back();
        im.gallery = im.label = -1;
        image_retrace(state);
    }
    record_item(state, "images.undo");
    ImGui::EndDisabled();
    ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + canvas);
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    ImGui::TextWrapped("Draw: left button. Erase: right button.");
    ImGui::PopStyleColor();
    ImGui::PopTextWrapPos();
    ImGui::EndGroup();

    if (two_columns) ImGui::SameLine();
    ImGui::BeginGroup();
    const float right = two_columns ? avail - canvas - ImGui::GetStyle().ItemSpacing.x : avail;
    error_text(im.error);
    error_text(im.notice);
    class_bars(state, model, std::min(right, 440.0f));
    ImGui::Separator();
    ImGui::TextUnformatted("Laid over the image:");
    const auto radio_width = [](const char* label) { return ImGui::CalcTextSize(label).x + ImGui::GetFrameHeight() + 8; };
    if (ImGui::RadioButton("Class token's attention", im.overlay == ImageOverlay::class_token)) im.overlay = ImageOverlay::class_token;
    same_line_if_fits(radio_width("Rollout (all layers)"));
    if (ImGui::RadioButton("Rollout (all layers)", im.overlay == ImageOverlay::rollout)) im.overlay = ImageOverlay::rollout;
    record_item(state, "images.rollout");
    same_line_if_fits(radio_width("Nothing"));
    if (ImGui::RadioButton("Nothing", im.overlay == ImageOverlay::none)) im.overlay = ImageOverlay::none;
    ImGui::SetNextItemWidth(std::min(right, 220.0f));
    ImGui::SliderInt("Layer", &im.layer, 0, c.n_layer - 1);
    im.layer = std::clamp(im.layer, 0, c.n_layer - 1);
    if (im.hovered_patch >= 0)
        hint_text("Laid over the image now: where patch r%dc%d (row %d, column %d) looks in layer %d, %s.", im.hovered_patch / c.patches_per_side(),
                  im.hovered_patch % c.patches_per_side(), im.hovered_patch / c.patches_per_side(), im.hovered_patch % c.patches_per_side(),
                  im.layer, im.head < 0 ? "the mean of its heads" : ("head " + std::to_string(im.head)).c_str());
    else if (im.overlay == ImageOverlay::rollout)
        hint_text("Rollout (Abnar & Zuidema): each layer's mean attention plus the residual path, multiplied through the layers: "
                  "what the class token draws on in the end.");
    else
        hint_text("Brighter patches get more of the class token's attention in layer %d, %s. Point at a patch to see where "
                  "that patch looks instead.", im.layer, im.head < 0 ? "the mean of its heads" : ("head " + std::to_string(im.head)).c_str());
    if (im.trace) head_maps(state, model, std::clamp(std::floor(right / (c.n_head + 1)) - 8, 48.0f, 96.0f));
    ImGui::EndGroup();

    if (im.trace) {
        if (ImGui::Button("Open in every view")) image_open_in_views(state);
        record_item(state, "images.open");
        ImGui::SameLine();
        hint_text("Pipeline, matrices, all heads, lines, one cell worked out, atlas, residual: this model on this image, "
                  "its tokens the class token and the patches by row and column.");
    }
    ImGui::Separator();
    ImGui::TextUnformatted("Gallery: test images the model never trained on");
    gallery_strip(state, *m, c.image_size <= 8 ? 40.0f : 48.0f);
    if (ImGui::CollapsingHeader("Positions: how alike the learned position of each patch is to every other's")) position_maps(state, model, std::min(avail, 420.0f));

    if (im.trace) {
        const std::vector<float>& probs = im.trace->predictions.class_probs;
        std::string text;
        for (float q : probs) text += (text.empty() ? "" : ",") + std::to_string(q);
        state.readout["images.class_probs"] = text;
    }
}

}  // namespace attnviz::app
