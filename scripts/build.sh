#!/usr/bin/env bash
# Configures and builds one configuration: release (default), asan (ASan + UBSan), or fuzz
# (clang-14 libFuzzer targets from tests/fuzz/).
# Usage: scripts/build.sh [release|asan|fuzz] [ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-release}"
shift || true
case "$config" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DFINSYNC_SANITIZE=ON) ;;
  fuzz) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFINSYNC_FUZZ=ON
               -DCMAKE_CXX_COMPILER=clang++-14) ;;
  *) echo "unknown configuration $config (release, asan or fuzz)" >&2; exit 2 ;;
esac
# ccache, when installed, shares object files between work trees (CCACHE_BASEDIR).
if command -v ccache >/dev/null; then
  flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"
fi
if [ ! -f "build/$config/build.ninja" ]; then
  cmake -G Ninja -S . -B "build/$config" "${flags[@]}" >/dev/null
fi
# Two cores and heavy Boost headers: two jobs keep memory and time predictable.
ninja -C "build/$config" -j "${FINSYNC_BUILD_JOBS:-2}" "$@"
