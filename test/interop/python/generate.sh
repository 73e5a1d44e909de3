#!/usr/bin/env bash
# Generates the Python ProviderService stubs with Debian's protoc and grpc_python_plugin (protobuf-compiler-grpc) into
# the given directory; nothing generated is committed. Usage: generate.sh <out dir>
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$1"
for tool in protoc grpc_python_plugin; do
  command -v "$tool" >/dev/null || { echo "python client: $tool is missing; run .ci/install-interop-deps" >&2; exit 3; }
done
mkdir -p "$out"
protoc -I "$repo/proto" \
  --python_out="$out" \
  --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  "$repo/proto/ctrlplane/provider/v1/provider.proto"
