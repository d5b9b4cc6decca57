# attnviz_add_test(<target>): registers every Catch2 test case of <target> with CTest.
# Natively the executable runs as is; in the wasm build it is a .js run by node
# (--no-experimental-fetch: node 20's fetch breaks Emscripten 3.1.6's loader) with the
# real filesystem mounted (NODERAWFS), so tests read fixtures from the source tree.
# Catch.cmake (catch_discover_tests) comes from Debian's catch2 package; it is a plain CMake
# module, so it is found by path in both flavours (find_package would look in the Emscripten
# sysroot when cross-compiling).
list(APPEND CMAKE_MODULE_PATH "/usr/lib/cmake/Catch2")
include(Catch)

function(attnviz_add_test target)
  target_link_libraries(${target} PRIVATE attnviz::thirdparty attnviz::flags)
  target_compile_definitions(${target} PRIVATE
    ATTNVIZ_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    ATTNVIZ_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures")
  if(ATTNVIZ_WASM)
    target_link_options(${target} PRIVATE -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB
                                          -sEXIT_RUNTIME=1 -sENVIRONMENT=node)
    set_target_properties(${target} PROPERTIES CROSSCOMPILING_EMULATOR "${ATTNVIZ_NODE};--no-experimental-fetch")
  endif()
  catch_discover_tests(${target} TEST_PREFIX "${ATTNVIZ_TEST_PREFIX}" DISCOVERY_TIMEOUT 60)
  # catch_discover_tests cuts a test name at each ';' (a CMake list separator): the pieces match
  # no test case, run nothing and pass. A name with ';' fails here instead. (The listing's exit
  # status is the number of tests, so the output decides: some names, none with ';'.)
  add_test(NAME ${ATTNVIZ_TEST_PREFIX}${target}:names COMMAND ${target} --list-test-names-only)
  set_tests_properties(${ATTNVIZ_TEST_PREFIX}${target}:names PROPERTIES PASS_REGULAR_EXPRESSION "[a-z]" FAIL_REGULAR_EXPRESSION ";")
endfunction()

if(ATTNVIZ_WASM)
  find_program(ATTNVIZ_NODE node REQUIRED)
  set(ATTNVIZ_TEST_PREFIX "wasm:")
else()
  set(ATTNVIZ_TEST_PREFIX "native:")
endif()
