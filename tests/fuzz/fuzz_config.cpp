// fuzz_config.cpp — parse_config (and parse_json_strict) on any bytes.
//
// Checks: no crash, hang or exception; an error is one readable line "<field>: <expected>";
// a config that parses writes back (config_to_json, compact and pretty) to JSON that parses to
// the same config, so an export always imports; parse_json_strict accepts what parse_config does.
#include <cstdint>
#include <string>
#include <string_view>

#include "attnviz/core.hpp"
#include "attnviz/json.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const attnviz::Expected<nlohmann::json> doc = attnviz::parse_json_strict(text);
    if (!doc) fuzz::check_message(doc.error());

    const attnviz::Expected<attnviz::Config> config = attnviz::parse_config(text);
    if (!config) {
        fuzz::check_message(config.error());
        return 0;
    }
    FUZZ_CHECK(doc.ok(), "parse_config accepted what parse_json_strict refused: " + doc.error());

    const std::string once = attnviz::config_to_json(config.value());
    FUZZ_CHECK(fuzz::valid_utf8(once), "config_to_json wrote invalid UTF-8");
    const attnviz::Expected<attnviz::Config> again = attnviz::parse_config(once);
    FUZZ_CHECK(again.ok(), "config_to_json's output does not parse: " + again.error() + "\n  " + once.substr(0, 2000));
    const std::string twice = attnviz::config_to_json(again.value());
    FUZZ_CHECK(twice == once, "the round trip changed the config:\n  " + once.substr(0, 2000) + "\n  " + twice.substr(0, 2000));

    const attnviz::Expected<attnviz::Config> pretty = attnviz::parse_config(attnviz::config_to_json(config.value(), true));
    FUZZ_CHECK(pretty.ok(), "the pretty form does not parse: " + pretty.error());
    FUZZ_CHECK(attnviz::config_to_json(pretty.value()) == once, "the pretty form parses to another config");
    return 0;
}
