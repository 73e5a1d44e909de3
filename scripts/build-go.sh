#!/usr/bin/env bash
# Builds one Go program of this repository (a directory of package main sources: test/interop/go-host,
# bench/go-status) offline from Debian's packages (see .ci/install-interop-deps): GOPATH mode, no module downloads.
# The ProviderService stubs are generated from the repo's proto with Debian's protoc, protoc-gen-go and
# protoc-gen-go-grpc into the work dir on every build (import path nomadprovider/providerv1), so no generated Go code
# is committed.
#
# Usage: build-go.sh <Go source dir> <work dir> <output binary>. The work dir keeps Go's build cache between runs and
# programs (a cold build of grpc-go takes 20-30 s on 2 cores; a warm one under 1 s). Exits 3, saying what is missing,
# when the toolchain is not installed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
srcdir="$(cd "$1" && pwd)"
work="$2"
out="$3"
name="$(basename "$srcdir")"

for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null || { echo "$name: $tool is missing; run .ci/install-interop-deps" >&2; exit 3; }
done
# Every program here imports the generated stubs, which need these two from Debian's Go sources.
for pkg in google.golang.org/grpc google.golang.org/protobuf; do
  [ -d "/usr/share/gocode/src/$pkg" ] || { echo "$name: Go package $pkg is missing; run .ci/install-interop-deps" >&2; exit 3; }
done

# A private GOPATH per build (concurrent builds never see each other's files); Go's build cache is shared and safe.
mkdir -p "$work"
gopath="$(mktemp -d "$work/gopath.XXXXXX")"
trap 'rm -rf "$gopath"' EXIT
stubs="$gopath/src/nomadprovider/providerv1"
src="$gopath/src/nomadprovider/$name"
mkdir -p "$stubs" "$src"

# The proto has no go_package: map it to a GOPATH import path here instead of adding Go specifics to the contract.
map="Mctrlplane/provider/v1/provider.proto=nomadprovider/providerv1"
protoc -I "$repo/proto" \
  --go_out="$gopath/src" --go_opt="$map" \
  --go-grpc_out="$gopath/src" --go-grpc_opt="$map" \
  "$repo/proto/ctrlplane/provider/v1/provider.proto"

cp "$srcdir"/*.go "$src/"
export GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$work/gocache" GOFLAGS=
go build -o "$out" "nomadprovider/$name"
