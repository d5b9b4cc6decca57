// image_state — the Images view's data: each dataset's model and gallery as the page delivers
// them, the image shown (picked, drawn or dropped, with undo), and the core's trace of it. No
// page or ImGui calls (app_state.cpp uses it, and the native URL-state fuzz target compiles both);
// what asks the page for files or notices is in view_images.cpp.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "app.hpp"

namespace attnviz::app {

const ImageModel* image_model(const AppState& state) {
    const auto it = state.images.models.find(state.images.dataset);
    return it == state.images.models.end() ? nullptr : &it->second;
}

namespace {

bool blank(const std::vector<float>& pixels) {
    return std::all_of(pixels.begin(), pixels.end(), [](float p) { return p == 0.0f; });
}

// The shown dataset's model is ready: show the first gallery image if nothing is shown yet.
void show_first(AppState& state) {
    ImageState& im = state.images;
    const ImageModel* m = image_model(state);
    if (!m || !m->model) return;
    const std::size_t pixels = static_cast<std::size_t>(m->model->config.image_size) * m->model->config.image_size;
    if (im.pixels.size() == pixels) return image_retrace(state);
    im.undo.clear();
    if (!m->gallery.empty()) {
        const int k = im.pending_gallery >= 0 && im.pending_gallery < static_cast<int>(m->gallery.size()) ? im.pending_gallery : 0;
        im.pixels = m->gallery[k].pixels;
        im.gallery = k;
        im.label = m->gallery[k].label;
        im.pending_gallery = -1;
    } else {
        im.pixels.assign(pixels, 0.0f);
        im.gallery = -1;
        im.label = -1;
    }
    image_retrace(state);
}

}  // namespace

std::string image_model_loaded(AppState& state, const std::string& dataset, std::string_view bytes) {
    ImageModel& m = state.images.models[dataset];
    m.loading = false;
    Expected<Model> loaded = load_model(bytes);
    if (loaded && !loaded.value().config.is_image()) loaded = fail("model: expected an image model (config.image_size), got a text model");
    if (!loaded) {
        m.error = "The " + dataset + " model could not load: " + loaded.error();
        return loaded.error();
    }
    m.model = std::make_shared<const Model>(std::move(loaded.value()));
    m.error.clear();
    if (dataset == state.images.dataset) show_first(state);
    return "";
}

std::string image_gallery_loaded(AppState& state, const std::string& dataset, const std::string& json) {
    ImageModel& m = state.images.models[dataset];
    const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
    const auto refuse = [&](const std::string& why) {
        m.error = "The " + dataset + " gallery could not load: " + why;
        return why;
    };
    if (!j.is_object() || !j.contains("images") || !j["images"].is_array() || !j.value("size", 0) || !j.value("levels", 0))
        return refuse("expected {\"size\", \"levels\", \"images\": [...]}");
    const int size = j["size"], levels = j["levels"];
    std::vector<GalleryImage> gallery;
    for (const nlohmann::json& e : j["images"]) {
        if (!e.is_object() || !e.contains("pixels") || !e["pixels"].is_array() || e["pixels"].size() != static_cast<std::size_t>(size) * size)
            return refuse("expected each image's pixels, " + std::to_string(size * size) + " of them");
        GalleryImage g;
        g.test_index = e.value("test_index", 0);
        g.label = e.value("label", 0);
        g.predicted = e.value("predicted", 0);
        for (const nlohmann::json& p : e["pixels"]) g.pixels.push_back(p.is_number() ? std::clamp(p.get<float>() / levels, 0.0f, 1.0f) : 0.0f);
        gallery.push_back(std::move(g));
    }
    m.gallery = std::move(gallery);
    ImageState& im = state.images;
    if (dataset == im.dataset && m.model && (im.pixels.empty() || (blank(im.pixels) && im.gallery < 0 && im.undo.empty()))) {
        im.pixels.clear();  // nothing drawn yet: the gallery's first image
        show_first(state);
    }
    return "";
}

void image_switch(AppState& state, const std::string& dataset) {
    ImageState& im = state.images;
    if (im.dataset == dataset) return;
    im.dataset = dataset;
    im.pixels.clear();
    im.undo.clear();
    im.trace.reset();
    im.rollout = Matrix();
    im.error.clear();
    im.notice.clear();
    im.gallery = im.label = im.hovered_patch = -1;
    im.layer = 0;
    im.head = -1;
    im.heads_off.clear();
    ++im.version;
    show_first(state);  // the view fetches the dataset's files when it is shown
}

void image_show_gallery(AppState& state, int index) {
    ImageState& im = state.images;
    const ImageModel* m = image_model(state);
    if (!m || !m->model || m->gallery.empty()) {
        im.pending_gallery = index;
        return;
    }
    const int k = std::clamp(index, 0, static_cast<int>(m->gallery.size()) - 1);
    image_set_pixels(state, m->gallery[k].pixels, k, m->gallery[k].label);
}

void image_failed(AppState& state, const std::string& dataset, const std::string& message) {
    ImageModel& m = state.images.models[dataset];
    m.loading = false;
    m.error = message;
}

void image_set_pixels(AppState& state, std::vector<float> pixels, int gallery, int label) {
    ImageState& im = state.images;
    if (!im.pixels.empty()) im.undo.push_back(im.pixels);
    if (im.undo.size() > 64) im.undo.erase(im.undo.begin());
    im.pixels = std::move(pixels);
    im.gallery = gallery;
    im.label = label;
    image_retrace(state);
}

std::string image_dropped(AppState& state, int width, int height, std::vector<float> gray) {
    ImageState& im = state.images;
    const ImageModel* m = image_model(state);
    std::string why;
    if (!m || !m->model) {
        why = "image: the model is not loaded yet; drop the picture again in a moment";
    } else {
        const int S = m->model->config.image_size;
        if (width != S || height != S)
            why = "image: expected " + std::to_string(S) + "×" + std::to_string(S) + " pixels (the model's input), got " +
                  std::to_string(width) + "×" + std::to_string(height);
        else if (gray.size() != static_cast<std::size_t>(S) * S)
            why = "image: expected " + std::to_string(S * S) + " gray values";
    }
    if (!why.empty()) {
        im.notice = why;
        return why;
    }
    im.notice.clear();
    image_set_pixels(state, std::move(gray), -1, -1);
    return "";
}

void image_retrace(AppState& state) {
    ImageState& im = state.images;
    const ImageModel* m = image_model(state);
    if (!m || !m->model) return;
    const ModelConfig& c = m->model->config;
    if (blank(im.pixels)) {  // nothing to classify: say so, keep the last good view
        im.error = "The image is empty: draw on the grid, or pick an image from the gallery.";
        return;
    }
    ModelTraceOptions options;
    options.image = im.pixels;
    options.label = im.label;
    options.top_k = c.vocab_size;
    for (const auto& [l, h] : im.heads_off)
        if (l < c.n_layer && h < c.n_head) options.ablation.heads.emplace_back(l, h);
    Expected<ModelTrace> traced = model_trace(*m->model, options);
    if (!traced) {
        im.error = traced.error();
        return;
    }
    im.error.clear();
    im.trace = std::make_shared<const ModelTrace>(std::move(traced.value()));
    im.rollout = attention_rollout(*im.trace);
    im.layer = std::clamp(im.layer, 0, c.n_layer - 1);
    if (im.head >= c.n_head) im.head = -1;
    ++im.version;
}

}  // namespace attnviz::app
