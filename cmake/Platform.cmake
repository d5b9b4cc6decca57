# Compiler flags shared by every attnviz target, decided once per platform.
#   wasm:   SIMD128 (-msimd128), native wasm exceptions (errors inside the core are caught
#           at its boundary and returned as values; Catch2 needs them too)
#   native: AVX2 + FMA, the CPUs these machines and CI have
#   attnviz::flags_nosimd: the same without SIMD128, for the wasm fallback build that browsers
#           without WebAssembly SIMD load (web/loader.js decides)
add_library(attnviz_flags_nosimd INTERFACE)
add_library(attnviz::flags_nosimd ALIAS attnviz_flags_nosimd)
add_library(attnviz_flags INTERFACE)
add_library(attnviz::flags ALIAS attnviz_flags)
target_link_libraries(attnviz_flags INTERFACE attnviz_flags_nosimd)

target_compile_options(attnviz_flags_nosimd INTERFACE -Wall -Wextra -Wno-unused-parameter)
if(ATTNVIZ_WASM)
  target_compile_options(attnviz_flags_nosimd INTERFACE -fwasm-exceptions)
  target_link_options(attnviz_flags_nosimd INTERFACE -fwasm-exceptions)
  target_compile_options(attnviz_flags INTERFACE -msimd128)
  target_link_options(attnviz_flags INTERFACE -msimd128)
else()
  option(ATTNVIZ_NATIVE_AVX2 "Build native kernels for AVX2+FMA" ON)
  if(ATTNVIZ_NATIVE_AVX2)
    target_compile_options(attnviz_flags INTERFACE -mavx2 -mfma)
  endif()
endif()

option(ATTNVIZ_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer (native)" OFF)
if(ATTNVIZ_SANITIZE AND NOT ATTNVIZ_WASM)
  target_compile_options(attnviz_flags_nosimd INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(attnviz_flags_nosimd INTERFACE -fsanitize=address,undefined)
endif()
