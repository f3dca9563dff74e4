#!/usr/bin/env bash
# Runs every Intercoop test: formatting and lints, unit tests, the real
# server on SQLite and on a throwaway PostgreSQL, the browser test in
# headless Chromium, and the federation tests with independent peers.
# Installs what it needs (Debian packages, npm and PyPI packages) on first run.
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
started=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
need_deb() {
  # need_deb COMMAND PACKAGE...: installs the packages when COMMAND is missing.
  local cmd=$1; shift
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "$cmd" ]; then
    step "installing Debian packages: $*"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
  fi
}

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "browser: Debian chromium and chromium-driver"
need_deb /usr/bin/chromedriver chromium chromium-driver

step "throwaway PostgreSQL"
pgdir="$root/.test-pg"
eval "$(scripts/test-postgres.sh start "$pgdir")"
trap 'scripts/test-postgres.sh stop "$pgdir"' EXIT
echo "PostgreSQL at $INTERCOOP_TEST_POSTGRES_URL"

step "federation peers (Node 22 + Fedify, Python bovine)"
need_deb npm npm
federation-tests/setup-peers.sh

step "Lemmy 0.17.4 (built once into ~/.cache/intercoop-peers)"
if [ ! -f /usr/include/postgresql/libpq-fe.h ] || [ ! -f /usr/include/openssl/ssl.h ]; then
  step "installing Debian packages: libpq-dev libssl-dev pkg-config"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libpq-dev libssl-dev pkg-config >/dev/null
fi
lemmy_line=$(federation-tests/setup-lemmy.sh | tail -1)
export LEMMY="${lemmy_line#LEMMY=}"
echo "Lemmy at $LEMMY"

step "tests"
cargo test --workspace --locked --no-fail-fast

echo
echo "All tests passed in $(( $(date +%s) - started )) s."
