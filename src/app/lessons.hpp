// lessons — the guided sequence a teacher steps through (content in lessons.cpp).
//
// A lesson is a title and a few short steps. Each step says what to look at and sets everything
// needed to see it: the example config (text and options), the view, the matrix, the head, the
// pinned cell and, for compare steps, the right-hand config. panel_lesson applies a step once,
// when the user enters it, so the user may then edit freely.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app.hpp"

namespace attnviz::app {

// A step in the Images view: a dataset's gallery image, what is laid over it, heads switched off.
struct ImageStep {
    std::string dataset = "digits";
    int gallery = 0;                                // the gallery image shown
    ImageOverlay overlay = ImageOverlay::class_token;
    int layer = 0;
    int head = -1;                                  // -1: the mean of the layer's heads
    std::vector<std::pair<int, int>> heads_off;     // (layer, head)
};

struct LessonStep {
    std::string text;                    // the explanation, English, a few sentences
    std::string zh;                      // the key sentence in Chinese, or empty
    Config config;                       // the example: text and options
    View view = View::matrices;          // the tab to show
    std::string matrix = "weights";      // the matrix shown in the matrices view (trace field name)
    int head = 0;                        // selected head
    std::optional<Cell> pinned;          // cell worked out in the right column, if any
    std::optional<Config> compare;       // compare view: the right-hand config (text borrowed from `config`)
    bool model = false;                  // the trained model reads config.text (the lab's options do not apply)
    int layer = 0;                       // with the model: the layer the per-head views show
    Ablation ablation;                   // with the model: what is switched off
    std::optional<SessionSettings> train;  // the Train view: a run to start on entering the step (none: the run goes on)
    std::optional<ImageStep> image;      // the Images view: what it shows
};

struct Lesson {
    std::string title;                   // English
    std::string title_zh;                // Chinese
    std::vector<LessonStep> steps;       // at least one
};

const std::vector<Lesson>& lessons();    // the sequence, built once

}  // namespace attnviz::app
