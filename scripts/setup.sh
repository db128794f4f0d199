#!/usr/bin/env bash
# Installs what agentnet's tests and CI need on a Debian machine, skipping whatever is already there:
#   - postgresql   (the test harness runs initdb + pg_ctl from /usr/lib/postgresql/<major>/bin)
#   - nats-server  (the test harness starts throwaway servers)
#   - grpcurl      (end-to-end checks; `go install`, into $(go env GOPATH)/bin)
# Idempotent; quiet when there is nothing to do; on failure prints what went wrong and exits non-zero.
set -euo pipefail

log=$(mktemp)
trap 'rm -f "$log"' EXIT

fail() {
  echo "setup.sh: $*" >&2
  if [[ -s "$log" ]]; then
    echo "----- output -----" >&2
    tail -n 50 "$log" >&2
  fi
  exit 1
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    fail "need root (or sudo) to run: $*"
  fi
}

missing=()
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
if ! command -v nats-server >/dev/null 2>&1 && [[ ! -x /usr/sbin/nats-server ]]; then
  missing+=(nats-server)
fi

if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install ${missing[*]} by hand"
  echo "setup.sh: installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 ||
    fail "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1 ||
    fail "apt-get install ${missing[*]} failed"
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || fail "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
fi

if ! command -v grpcurl >/dev/null 2>&1; then
  command -v go >/dev/null 2>&1 || fail "grpcurl is missing and so is go (needed to install it: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest)"
  gobin="$(go env GOBIN)"
  [[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
  if [[ ! -x "$gobin/grpcurl" ]]; then
    echo "setup.sh: installing grpcurl with go install"
    go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest >"$log" 2>&1 || fail "go install grpcurl failed"
    [[ -x "$gobin/grpcurl" ]] || fail "go install reported success but $gobin/grpcurl is missing"
  fi
  # Not on PATH: say where it is, so callers can add it (export PATH="$PATH:<dir>").
  echo "setup.sh: grpcurl is in $gobin (not on PATH)"
fi
