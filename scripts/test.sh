#!/usr/bin/env bash
# Installs what is missing, builds the release and the ASan+UBSan configurations, and runs
# every test (unit tests and black-box API tests against the real server) in both, then runs
# each fuzz target for a short bounded time. The OpenAPI document is linted first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
status=0
echo "== OpenAPI lint (Redocly CLI from npm)" >&2
if ! scripts/openapi_lint.sh; then status=1; fi
for config in release asan; do
  echo "== $config: build" >&2
  if [ "$config" = release ]; then
    scripts/build.sh release  # Everything, benchmarks included, so they keep compiling.
  else
    scripts/build.sh asan finsync finsync_unit_tests
  fi
  echo "== $config: tests" >&2
  if ! (cd "build/$config" && ASAN_OPTIONS=detect_leaks=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j 2 --timeout 600); then
    status=1
  fi
done
echo "== fuzz targets (bounded smoke run)" >&2
if ! scripts/fuzz.sh "${FINSYNC_FUZZ_SECONDS:-15}"; then status=1; fi
exit $status
