#!/usr/bin/env bash
# Configures and builds one configuration: release (default) or asan (ASan + UBSan).
# Usage: scripts/build.sh [release|asan] [ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-release}"
shift || true
case "$config" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFINSYNC_SANITIZE=ON) ;;
  *) echo "unknown configuration $config (release or asan)" >&2; exit 2 ;;
esac
if [ ! -f "build/$config/build.ninja" ]; then
  cmake -G Ninja -S . -B "build/$config" "${flags[@]}" >/dev/null
fi
# Two cores and heavy Boost headers: two jobs keep memory and time predictable.
ninja -C "build/$config" -j "${FINSYNC_BUILD_JOBS:-2}" "$@"
