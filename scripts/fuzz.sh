#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz/ with clang-14 and runs each for a bounded time.
# Usage: scripts/fuzz.sh [seconds per target, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
targets=()
for source in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$source" .cc)"); done
scripts/build.sh fuzz "${targets[@]}"
mkdir -p build/fuzz/corpus
for target in "${targets[@]}"; do
  mkdir -p "build/fuzz/corpus/$target"
  echo "== fuzz $target for ${seconds}s" >&2
  "build/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=0 \
    "build/fuzz/corpus/$target" 2>"build/fuzz/$target.log" || {
      tail -40 "build/fuzz/$target.log" >&2
      echo "fuzz target $target failed" >&2
      exit 1
    }
done
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a finding" >&2
