#!/usr/bin/env bash
# What the client suites need beyond scripts/setup.sh: jq and chromium (apt; the browser test drives Debian's
# Chromium with playwright-core), the Python client's virtualenv with grpcio, protobuf and pytest (PyPI) in
# clients/python/.venv, and the official A2A Python SDK in test/a2a/python/.venv (the A2A tests' outside client).
# Go modules come through `go test`.
# Idempotent and quiet when nothing is missing.
set -euo pipefail
clients="$(cd "$(dirname "$0")/.." && pwd)"
missing=()
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]} > 0)); then
  echo "clients/scripts/setup.sh: installing ${missing[*]}"
  run=(); [[ $(id -u) -eq 0 ]] || run=(sudo)
  "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
venv="$clients/python/.venv"
if ! "$venv/bin/python" -c 'import grpc, google.rpc, pytest, pytest_asyncio, mypy, agentnet' >/dev/null 2>&1; then
  echo "clients/scripts/setup.sh: creating $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$clients/python[test]"
fi
a2a_venv="$clients/../test/a2a/python/.venv"
if ! "$a2a_venv/bin/python" -c 'import a2a.client, a2a.types' >/dev/null 2>&1; then
  echo "clients/scripts/setup.sh: creating $a2a_venv"
  python3 -m venv "$a2a_venv"
  "$a2a_venv/bin/pip" install -q --disable-pip-version-check -r "$clients/../test/a2a/python/requirements.txt"
fi
