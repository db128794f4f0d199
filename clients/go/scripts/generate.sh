#!/usr/bin/env bash
# Regenerates gen/ from ../../proto. Needs buf (the repository's npm devDependency) and the Go plugins:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$here/../../node_modules/.bin:$(go env GOPATH)/bin:$PATH"
cd "$here"
buf generate --template buf.gen.yaml
