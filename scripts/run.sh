#!/usr/bin/env bash
# Installs what is missing, builds finsync, and starts the server on the embedded SQLite store
# with a demo user; prints the URL and a newly created access token.
# Environment: FINSYNC_PORT (default 8080), FINSYNC_DB (default ./finsync.db), and any other
# FINSYNC_* option of `finsync serve --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release finsync
exec build/release/finsync serve --demo --db "${FINSYNC_DB:-finsync.db}" \
  --port "${FINSYNC_PORT:-8080}" "$@"
