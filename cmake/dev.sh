#!/usr/bin/env bash
# attnviz developer commands, for a fresh Debian bookworm machine or an old checkout alike.
#
#   cmake/dev.sh run  [--port N] [--host ADDR]   install what is missing, build the web app, serve it
#   cmake/dev.sh test                            install what is missing, build both flavours (and a native
#                                                ASan + UBSan build), run every test
#   cmake/dev.sh build                           install and build, no tests
#   cmake/dev.sh bench [MAX_T]                   benchmarks, native and wasm, with onnxruntime-web and tfjs (bench/run.sh)
#   cmake/dev.sh train [OPTIONS]                 train the shipped model (web/models/attnviz_char.*) natively;
#                                                OPTIONS go to attnviz-train (--help lists them)
#   cmake/dev.sh train-vit [DATASET]             train the shipped image models (web/models/vit_{digits,fashion}.*)
#                                                natively: both, or the one named (digits or fashion)
#
# Each step is skipped when its output is up to date, so a second run is quick. Everything
# comes from Debian's packages (binary and source) and the npm registry, nothing else.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${ATTNVIZ_BUILD_DIR:-$ROOT/build}"
DEPS="$BUILD/deps"
export NODE_PATH=/usr/share/nodejs   # emcc needs Debian's acorn

IMGUI_VERSION="1.86+ds"
SDL2_VERSION="2.26.5+dfsg"
APT_PACKAGES=(cmake ninja-build g++ dpkg-dev emscripten libxtensor-dev libxsimd-dev nlohmann-json3-dev zlib1g-dev
              catch2 chromium fonts-dejavu-core fonts-droid-fallback fortunes fortunes-zh)
# The image models' data, needed only by `train-vit` (never by the build or the tests).
VIT_DATA_PACKAGES=(dataset-fashion-mnist python3-sklearn)

log()  { printf '\033[1;34m[attnviz]\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31m[attnviz] error:\033[0m %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages ---------------------------------------------------------------------
apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -q >&2
    apt_updated=1
  fi
}

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_update_once
    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
  fi
}

ensure_deb_src() {
  if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding a deb-src entry for bookworm main (for apt-get source imgui libsdl2)"
    as_root tee /etc/apt/sources.list.d/attnviz-deb-src.sources >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt_updated=0
  fi
}

# --- Source packages: Dear ImGui and SDL2 for the wasm build --------------------------------
fetch_sources() {
  local src="$DEPS/src"
  mkdir -p "$src"
  if [ ! -f "$src/imgui-$IMGUI_VERSION/imgui.h" ] || [ ! -f "$src/libsdl2-$SDL2_VERSION/CMakeLists.txt" ]; then
    ensure_deb_src
    apt_update_once
    log "fetching source packages imgui $IMGUI_VERSION and libsdl2 $SDL2_VERSION"
    (cd "$src" && apt-get source -q "imgui=${IMGUI_VERSION}-1" "libsdl2=${SDL2_VERSION}-1" >&2) ||
      die "apt-get source failed; is there a deb-src entry for bookworm main?"
  fi
  [ -f "$src/imgui-$IMGUI_VERSION/imgui.h" ] || die "imgui sources missing in $src"
  [ -f "$src/libsdl2-$SDL2_VERSION/CMakeLists.txt" ] || die "SDL2 sources missing in $src"
}

build_sdl2_wasm() {
  local prefix="$DEPS/sdl2-wasm" stamp="$DEPS/sdl2-wasm/.built-$SDL2_VERSION"
  [ -f "$stamp" ] && return 0
  log "building SDL2 $SDL2_VERSION for wasm (once; about 3 minutes)"
  local t0=$SECONDS
  emcmake cmake -S "$DEPS/src/libsdl2-$SDL2_VERSION" -B "$DEPS/sdl2-wasm-build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DSDL_SHARED=OFF -DSDL_STATIC=ON -DSDL_TEST=OFF \
    -DCMAKE_INSTALL_PREFIX="$prefix" >"$DEPS/sdl2-wasm-configure.log" 2>&1 ||
    { tail -30 "$DEPS/sdl2-wasm-configure.log" >&2; die "SDL2 configure failed (log: $DEPS/sdl2-wasm-configure.log)"; }
  cmake --build "$DEPS/sdl2-wasm-build" >"$DEPS/sdl2-wasm-build.log" 2>&1 ||
    { tail -30 "$DEPS/sdl2-wasm-build.log" >&2; die "SDL2 build failed (log: $DEPS/sdl2-wasm-build.log)"; }
  cmake --install "$DEPS/sdl2-wasm-build" >/dev/null
  touch "$stamp"
  log "SDL2 for wasm built in $((SECONDS - t0)) s"
}

# --- npm: playwright-core (drives Debian's chromium; never downloads a browser) -----------
install_npm_packages() {
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] || ! cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.attnviz-lock"; then
    log "npm ci (playwright-core, pinned by package-lock.json)"
    (cd "$ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$ROOT/package-lock.json" "$ROOT/node_modules/.attnviz-lock"
  fi
}

# --- The two flavours --------------------------------------------------------------------
build_native() {
  if [ ! -f "$BUILD/native/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD/native" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  fi
  log "building native (core, attnviz-trace, tests)"
  cmake --build "$BUILD/native" >&2
}

# The same native tests (core, CLI, fuzz corpus replays) under AddressSanitizer and
# UndefinedBehaviorSanitizer, in its own tree: g++, -O2 with debug info for readable reports.
build_native_asan() {
  if [ ! -f "$BUILD/native-asan/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD/native-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNVIZ_SANITIZE=ON \
      -DATTNVIZ_BUILD_BENCH=OFF >&2   # the native tree already compiles the benchmarks
  fi
  log "building native with ASan + UBSan (tests and fuzz corpus replays)"
  cmake --build "$BUILD/native-asan" >&2
}

build_wasm() {
  if [ ! -f "$BUILD/wasm/build.ninja" ]; then
    emcmake cmake -S "$ROOT" -B "$BUILD/wasm" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DATTNVIZ_IMGUI_DIR="$DEPS/src/imgui-$IMGUI_VERSION" \
      -DATTNVIZ_SDL2_PREFIX="$DEPS/sdl2-wasm" \
      -DATTNVIZ_WEB_DIR="$BUILD/web" -DATTNVIZ_BUILD_BENCH=OFF >&2   # bench/run.sh builds its own wasm tree
  fi
  log "building wasm ${*:-(web app in $BUILD/web, core tests for node)}"
  cmake --build "$BUILD/wasm" ${1:+--target "$@"} >&2
}

prepare() {
  install_apt_packages
  fetch_sources
  build_sdl2_wasm
}

# --- Commands ----------------------------------------------------------------------------
cmd_build() {
  prepare
  build_native
  build_wasm
}

cmd_run() {
  local port="${ATTNVIZ_PORT:-8080}" host="${ATTNVIZ_HOST:-127.0.0.1}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --host) host="$2"; shift 2 ;;
      *) die "unknown option for run: $1 (use --port N, --host ADDR)" ;;
    esac
  done
  install_apt_packages
  fetch_sources
  build_sdl2_wasm
  build_wasm attnviz_app attnviz_app_nosimd
  exec node "$ROOT/cmake/serve.mjs" --root "$BUILD/web" --host "$host" --port "$port"
}

cmd_test() {
  local t0=$SECONDS
  cmd_build
  build_native_asan
  install_npm_packages
  log "build ready after $((SECONDS - t0)) s; running tests"
  node "$ROOT/tests/run_all.mjs" --build "$BUILD"
}

# The shipped model: attnviz-train's defaults are its settings. Same build, same bytes.
cmd_train() {
  install_apt_packages
  if [ ! -f "$BUILD/native/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD/native" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  fi
  log "building attnviz-train"
  cmake --build "$BUILD/native" --target attnviz-train >&2
  mkdir -p "$ROOT/web/models"
  exec "$BUILD/native/attnviz-train" --out "$ROOT/web/models/attnviz_char" "$@"
}

# The shipped image models: attnviz-train-vit's defaults per dataset are their settings.
cmd_train_vit() {
  install_apt_packages "${VIT_DATA_PACKAGES[@]}"
  if [ ! -f "$BUILD/native/build.ninja" ]; then
    cmake -S "$ROOT" -B "$BUILD/native" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
  fi
  log "building attnviz-train-vit"
  cmake --build "$BUILD/native" --target attnviz-train-vit >&2
  mkdir -p "$ROOT/web/models"
  local datasets=("${@:-digits fashion}")
  for dataset in ${datasets[*]}; do
    case "$dataset" in digits|fashion) ;; *) die "train-vit: expected digits or fashion, got $dataset" ;; esac
    log "training vit_$dataset"
    "$BUILD/native/attnviz-train-vit" --dataset "$dataset" --out "$ROOT/web/models/vit_$dataset"
  done
}

cmd_bench() {
  install_apt_packages
  exec bash "$ROOT/bench/run.sh" "$@"
}

case "${1:-}" in
  run)   shift; cmd_run "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  test)  shift; cmd_test "$@" ;;
  train) shift; cmd_train "$@" ;;
  train-vit) shift; cmd_train_vit "$@" ;;
  build) shift; cmd_build "$@" ;;
  *) cat >&2 <<'USAGE'
usage: cmake/dev.sh run [--port N] [--host ADDR]   build the web app and serve it (default http://127.0.0.1:8080)
       cmake/dev.sh test                            build both flavours and run every test
       cmake/dev.sh build                           build both flavours
       cmake/dev.sh bench [MAX_T]                   run the benchmarks (not part of the tests)
       cmake/dev.sh train [OPTIONS]                 train the shipped model (attnviz-train --help)
       cmake/dev.sh train-vit [digits|fashion]      train the shipped image models (attnviz-train-vit --help)
USAGE
     exit 2 ;;
esac
