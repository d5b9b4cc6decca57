// fonts — the UI font atlas: DejaVu Sans always, CJK glyphs on demand (see fonts.cpp).
#pragma once

#include <string>
#include <string_view>

namespace attnviz::app {

bool fonts_update(float size_px, float pixel_ratio, bool device_objects_ready);  // rebuilds the atlas if the size, the device pixel
                                                                                 // ratio or the needed glyphs changed; call between frames
std::string fonts_status_json();  // {cjk_loaded, cjk_glyphs, cjk_wanted, rebuilds, size, pixel_ratio, raster_px, atlas_width, atlas_height}

}  // namespace attnviz::app
