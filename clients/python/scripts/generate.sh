#!/usr/bin/env bash
# Regenerates the Python stubs (agentnet/v1/*_pb2.py, *_pb2_grpc.py, *.pyi) from ../../proto with grpcio-tools.
# Run from anywhere after changing a .proto file; commit the result. Needs: pip install grpcio-tools.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
[ -x "$python" ] || python=python3
rm -f "$here"/agentnet/v1/*_pb2.py "$here"/agentnet/v1/*_pb2.pyi "$here"/agentnet/v1/*_pb2_grpc.py
"$python" -m grpc_tools.protoc -I "$here/../../proto" \
  --python_out="$here" --pyi_out="$here" --grpc_python_out="$here" \
  "$here"/../../proto/agentnet/v1/*.proto
touch "$here/agentnet/v1/__init__.py"
