// attnviz/json.hpp — the core's strict JSON reader, for other documents that carry a Config
// (the app's URL state and saved views) so they are validated like the CLI's input.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "attnviz/expected.hpp"

namespace attnviz {

// Parses `text` with the same rules as parse_config: at most 64 MiB, at most 64 levels of
// nesting, no duplicate keys, numbers within double's range. Errors read "json: …" or
// "<path>: duplicate key; …".
Expected<nlohmann::json> parse_json_strict(std::string_view text);

}  // namespace attnviz
