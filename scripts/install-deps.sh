#!/usr/bin/env bash
# Installs the Debian 12 packages finsync needs to build, test and benchmark. Idempotent: when
# everything is already installed it does nothing (and needs no network).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libboost-dev libboost-system-dev libssl-dev libsqlite3-dev sqlite3
  rapidjson-dev libspdlog-dev libfmt-dev libcli11-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-yaml python3-jsonschema libcurl4-openssl-dev nodejs
  wrk clang-14 libclang-rt-14-dev
)
# NodeSource's nodejs ships npm; Debian's does not (the /docs renderer and the OpenAPI linter
# are installed with npm).
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
