# Header-only dependencies come from Debian's packages (libxtensor-dev, libxsimd-dev,
# nlohmann-json3-dev, catch2). Their headers live in /usr/include beside glibc's, which
# must never reach an Emscripten compile, so each library's folder is linked into one
# staging directory that both flavours put on their include path.
set(ATTNVIZ_SYSTEM_INCLUDE "/usr/include" CACHE PATH "Where Debian installed the header-only libraries")
set(ATTNVIZ_STAGED_INCLUDE "${CMAKE_BINARY_DIR}/staged-include")
file(MAKE_DIRECTORY "${ATTNVIZ_STAGED_INCLUDE}")

foreach(lib xtensor xtl xsimd nlohmann catch2)
  set(src "${ATTNVIZ_SYSTEM_INCLUDE}/${lib}")
  if(NOT EXISTS "${src}")
    message(FATAL_ERROR "attnviz: ${src} is missing; run `cmake/dev.sh test` (it installs the Debian packages) "
                        "or apt-get install libxtensor-dev libxsimd-dev nlohmann-json3-dev catch2")
  endif()
  if(NOT EXISTS "${ATTNVIZ_STAGED_INCLUDE}/${lib}")
    file(CREATE_LINK "${src}" "${ATTNVIZ_STAGED_INCLUDE}/${lib}" SYMBOLIC)
  endif()
endforeach()

add_library(attnviz_thirdparty INTERFACE)
target_include_directories(attnviz_thirdparty SYSTEM INTERFACE "${ATTNVIZ_STAGED_INCLUDE}")
add_library(attnviz::thirdparty ALIAS attnviz_thirdparty)
