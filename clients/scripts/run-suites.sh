#!/usr/bin/env bash
# Runs the Python and Go client suites and the grpcurl scenarios, each against its own live server started from the
# built command (run `npm run build` first). Prints each suite's result and ends with "N passed, N failed" (suites).
set -uo pipefail
clients="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$clients/../node_modules/.bin:$PATH:$(go env GOPATH 2>/dev/null)/bin"
passed=0
failed=0
suite() {
  local name=$1
  shift
  echo "::: $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "::: FAILED: $name"; fi
}
bash "$clients/scripts/setup.sh" || { echo "clients/scripts/setup.sh failed"; exit 1; }
suite "python client (pytest)" bash -c "cd '$clients/python' && .venv/bin/python -m pytest -q"
suite "go client (go test)" bash -c "cd '$clients/go' && go test -count=1 ./..."
suite "grpcurl scenarios" bash "$clients/grpcurl/scenarios.sh"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
