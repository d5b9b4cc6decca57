// page — the seam between the app and the web page (the only file with EM_JS).
//
// C++ → page: downloads (trace JSON, matrix CSV, PNG), the URL hash, the clipboard, the file
// picker, the hidden text field (focus, and where the caret is). Page → C++: the exported
// functions window.attnviz calls (web/loader.js), which take and return plain strings and
// numbers, never pointers JS must manage; among them what an on-screen keyboard does (text,
// Backspace, Enter), how much of the canvas it covers, and whether a tap lands on a text field.
#pragma once

#include <string>
#include <vector>

#include "app.hpp"

namespace attnviz::app {

void page_attach(AppState& state);                 // the state the page's calls act on (once, from main)
void page_sync_url(const AppState& state);        // writes the state into the URL hash when it changed
void page_copy_link(AppState& state);             // URL hash → clipboard, with a notice
void page_copy_run_link(const AppState& state);   // a link that trains the Train view's run again → clipboard
void page_export_trace(const AppState& state);    // the current trace as JSON, downloaded
void page_export_csv(const std::string& name, const Matrix& m, const std::vector<std::string>* rows,
                     const std::vector<std::string>* cols);  // one matrix as CSV, downloaded
void page_export_png(int frames_later = 0);       // the canvas as PNG, downloaded after this frame (or a later one) renders
void page_after_render();                         // runs what must follow the frame's drawing (PNG capture)
void page_open_import();                          // opens the browser's file picker (JSON trace or config)
void page_text_focus(bool want_text);             // focus the page's hidden text field while ImGui edits text (IME, paste, on-screen keyboards)
void page_key_frame();                            // before ImGui::NewFrame: holds a key the on-screen keyboard pressed for one frame
void page_fetch_model(AppState& state);           // the page fetches the shipped model (once; progress and bytes come back)
void page_open_model_file();
void page_fetch_image_model(const std::string& dataset);  // the page fetches models/vit_<dataset>.{safetensors,gallery.json}
bool page_query_has(const char* key);             // the address has ?key (e.g. ?lab: open on the one-layer lab)                      // the browser's file picker for a .safetensors model
void page_train_post(const std::string& json);    // a command to the training worker (web/train_worker.js; made on first use)
void page_download(const std::string& name, const std::string& mime, const std::string& bytes);  // a file, downloaded
void page_notify(std::string message);            // a short notice in the toolbar
const std::string& page_notice();                 // the current notice, empty when it has expired

std::string import_json(AppState& state, const std::string& text);  // trace or config JSON → state; "" or the error

}  // namespace attnviz::app
