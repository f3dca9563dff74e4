#!/usr/bin/env bash
# Builds Lemmy 0.17.4 (lemmy_server from crates.io, AGPL) once, for the
# forum federation tests, and prints LEMMY=<path of the binary>.
#
#   bash federation-tests/setup-lemmy.sh
#
# The binary is cached outside the clone (a clean clone reuses it):
#   ${INTERCOOP_PEER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/intercoop-peers}/lemmy-0.17.4/lemmy_server
# A first build takes about 10 minutes on 2 cores and 1.5 GB of disk, which
# are freed afterwards.
#
# Why not `cargo install lemmy_server`: its Cargo.lock pins `time` 0.3.20,
# which today's rustc refuses, and without --locked diesel-async no longer
# matches. So: the crate's source from static.crates.io, `time` moved to
# 0.3.36 in its own lock, `cargo build --release`.
set -euo pipefail

VERSION=0.17.4
CACHE="${INTERCOOP_PEER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/intercoop-peers}/lemmy-$VERSION"
BIN="$CACHE/lemmy_server"

if [[ ! -x "$BIN" ]]; then
  for tool in curl cargo pkg-config; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "setup-lemmy: $tool is needed" >&2
      exit 1
    }
  done
  # Lemmy links libpq (diesel) and OpenSSL (its HTTP client).
  for header in /usr/include/postgresql/libpq-fe.h /usr/include/openssl/ssl.h; do
    [[ -f "$header" ]] || {
      echo "setup-lemmy: $header is missing (apt-get install libpq-dev libssl-dev)" >&2
      exit 1
    }
  done
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "setup-lemmy: building Lemmy $VERSION in $work (about 10 minutes, once)" >&2
  curl -sSfL -o "$work/lemmy.crate" \
    "https://static.crates.io/crates/lemmy_server/lemmy_server-$VERSION.crate"
  tar xzf "$work/lemmy.crate" -C "$work"
  src="$work/lemmy_server-$VERSION"
  (
    cd "$src"
    cargo update -p time@0.3.20 --precise 0.3.36 >&2
    CARGO_TARGET_DIR="$work/target" cargo build --release >&2
  )
  mkdir -p "$CACHE"
  cp "$work/target/release/lemmy_server" "$BIN.partial"
  mv "$BIN.partial" "$BIN"
  # Lemmy runs its migrations from the binary; nothing else is needed.
fi

# Lemmy compares hosts without their ports and refuses IP addresses, so
# it runs as lemmy.test, a loopback name (the co-op is localhost).
if ! getent hosts lemmy.test >/dev/null 2>&1; then
  line="127.0.0.1 lemmy.test"
  if [[ "$(id -u)" == 0 ]]; then
    echo "$line" >>/etc/hosts
  else
    echo "$line" | sudo tee -a /etc/hosts >/dev/null
  fi
fi
[[ "$(getent hosts lemmy.test | awk '{print $1}')" == 127.0.0.1 ]] || {
  echo "setup-lemmy: lemmy.test must resolve to 127.0.0.1 (add it to /etc/hosts)" >&2
  exit 1
}

echo "LEMMY=$BIN"
