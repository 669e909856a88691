#!/usr/bin/env bash
# Lints the OpenAPI document: bundles api/openapi/ (scripts/openapi_bundle.py) and runs Redocly
# CLI, pinned in tools/openapi-lint/package-lock.json and installed with npm ci into
# build/openapi-lint on first use (or when the lock changes). Exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=tools/openapi-lint
out=build/openapi-lint
mkdir -p "$out"
if [ ! -x "$out/node_modules/.bin/redocly" ] || ! cmp -s "$tools/package-lock.json" "$out/package-lock.json"; then
  cp "$tools/package.json" "$tools/package-lock.json" "$out/"
  npm ci --prefix "$out" --ignore-scripts --no-audit --no-fund --loglevel=error
fi
python3=/usr/bin/python3
[ -x "$python3" ] || python3=python3
"$python3" scripts/openapi_bundle.py --pretty --output "$out/openapi.json"
# The ignore file's paths are relative to the configuration's folder.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  "$out/node_modules/.bin/redocly" lint "$out/openapi.json" --config "$tools/redocly.yaml"
