// fuzz_url_state.cpp — the app's URL-state / setState() / saved-view decoder on any bytes:
// attnviz::app::apply_ui_state (src/app/app_state.cpp, which needs no ImGui and is compiled in).
//
// Checks: no crash or exception; a refused state leaves the AppState as it was; an accepted one
// encodes back (ui_state_json) to a state that decodes again to the same encoding; and, for small
// configs, running the engine and writing the page's getState() JSON never throws (an error
// message with a raw invalid byte would make nlohmann's dump() throw and abort the wasm page).
#include <cstdint>
#include <string>

#include "app_state.hpp"
#include "fuzz_check.hpp"

namespace {

// Small enough to run in a fuzz iteration: a few tokens, a small d_model.
bool small(const attnviz::Config& c, const std::string& text, const std::string& source_text) {
    const auto few = [](const std::optional<std::vector<std::string>>& t) { return !t || t->size() <= 32; };
    return c.d_model <= 64 && text.size() <= 256 && source_text.size() <= 256 && few(c.tokens) && few(c.source_tokens);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using attnviz::app::AppState;
    const std::string text(reinterpret_cast<const char*>(data), size);
    AppState state;
    const std::string before = attnviz::app::ui_state_json(state).dump();
    const std::string message = attnviz::app::apply_ui_state(state, text);
    if (!message.empty()) {
        FUZZ_CHECK(fuzz::valid_utf8(message), "a message that is not valid UTF-8");
        FUZZ_CHECK(attnviz::app::ui_state_json(state).dump() == before, "a refused state changed the app: " + message);
        return 0;
    }
    const std::string encoded = attnviz::app::ui_state_json(state).dump();
    AppState decoded;
    const std::string again = attnviz::app::apply_ui_state(decoded, encoded);
    FUZZ_CHECK(again.empty(), "the app's own state does not decode: " + again + "\n  " + encoded.substr(0, 2000));
    FUZZ_CHECK(attnviz::app::ui_state_json(decoded).dump() == encoded, "the state changed on the way round");

    if (small(state.config, state.text, state.source_text) && small(state.compare.config, "", "")) {
        attnviz::app::recompute(state);  // starts the pass and steps it for a frame's budget
        for (int frame = 0; state.job && frame < 10000; ++frame) attnviz::app::recompute(state);
        FUZZ_CHECK(!state.job, "a small pass did not finish in 10 000 frames");
        state.view = attnviz::app::View::compare;
        state.compare.dirty = true;
        attnviz::app::recompute_compare(state);
        FUZZ_CHECK(fuzz::valid_utf8(state.error) && fuzz::valid_utf8(state.compare.error), "an engine message that is not valid UTF-8");
        if (!state.error.empty()) fuzz::check_message(state.error);
        const std::string page = attnviz::app::state_json(state);  // throws on invalid UTF-8
        FUZZ_CHECK(!page.empty(), "empty getState()");
    }
    return 0;
}
