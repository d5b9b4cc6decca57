// The app's state as JSON: what the URL hash, window.attnviz.getState()/setState() and a
// saved view carry — the Config plus the UI's selections. Data only: decoding never runs code.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "app.hpp"

namespace attnviz::app {

const char* view_name(View v);                                  // "pipeline", "matrices", …
std::optional<View> view_from_name(const std::string& name);   // inverse of view_name

nlohmann::json ui_state_json(const AppState& state);            // {config, ui, compare}
nlohmann::json run_link_state(const AppState& state);           // the same with the Train view's run: {…, train: {settings, steps}}
std::string apply_ui_state(AppState& state, const std::string& json_text);  // "" on success, else the message; state unchanged on error

}  // namespace attnviz::app
