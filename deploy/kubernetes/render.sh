#!/usr/bin/env bash
# Renders a kustomization to standard output: render.sh DIR
# With `kubectl kustomize`, else `kustomize build`, else kustomize built from the Go module
# proxy into .cache/tools/bin (go install; the first time takes a few minutes).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
KUSTOMIZE_VERSION=v5.5.0
TOOLS="$REPO/.cache/tools/bin"
dir="${1:?usage: render.sh DIR}"

if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  exec kubectl kustomize "$dir"
elif command -v kustomize >/dev/null; then
  exec kustomize build "$dir"
fi
if [ ! -x "$TOOLS/kustomize" ]; then
  command -v go >/dev/null || {
    echo "render.sh: no kubectl, kustomize or go to render $dir with" >&2
    exit 1
  }
  echo "render.sh: building kustomize $KUSTOMIZE_VERSION into $TOOLS" >&2
  GOBIN="$TOOLS" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
fi
exec "$TOOLS/kustomize" build "$dir"
