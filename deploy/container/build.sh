#!/usr/bin/env bash
# Builds the KundOnline image (deploy/Containerfile) with podman: build.sh [TAG]
#
# The base is $BASE when given; otherwise the official python:3.11-slim-bookworm when it can be
# pulled, and where no registry answers, a stand-in built from Debian (deploy/container/base.sh).
# Prints the image's name and size.
set -euo pipefail
cd "$(dirname "$0")/../.."

OFFICIAL=docker.io/library/python:3.11-slim-bookworm
LOCAL=localhost/python:3.11-slim-bookworm
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)"
TAG="${1:-localhost/kundonline:$VERSION}"

say() { echo "image: $*" >&2; }

base="${BASE:-}"
if [ -z "$base" ]; then
  if podman image exists "$OFFICIAL" || podman pull --quiet "$OFFICIAL" >/dev/null 2>&1; then
    base="$OFFICIAL"
  else
    say "no registry reachable; using a base built from Debian ($LOCAL)"
    bash deploy/container/base.sh
    base="$LOCAL"
  fi
fi

# The build downloads from PyPI trusting what this machine trusts (a proxy that inspects TLS
# may have its own authority); the bundle is a build secret, never part of the image.
ca="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
secret=()
if [ -s "$ca" ]; then secret=(--secret "id=ca,src=$ca"); fi

say "building $TAG from $base"
start=$(date +%s)
podman build --format docker --build-arg "BASE=$base" --build-arg "VERSION=$VERSION" \
  "${secret[@]}" -f deploy/Containerfile --ignorefile deploy/Containerfile.dockerignore \
  -t "$TAG" .
say "built $TAG in $(($(date +%s) - start)) s: $(podman image inspect --format '{{.Size}}' "$TAG" |
  awk '{printf "%.0f MB", $1 / 1000000}')"
