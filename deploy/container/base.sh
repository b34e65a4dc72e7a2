#!/usr/bin/env bash
# Base images built here, for machines that reach Debian's mirror but no container registry:
#
#   localhost/debian:bookworm          debootstrap --variant=minbase, imported with podman
#   localhost/python:3.11-slim-bookworm  that plus Debian's python3 (3.11 in bookworm), a
#                                        stand-in for docker.io/library/python:3.11-slim-bookworm
#
# Each is built only when missing (FORCE=1 builds again). Where a registry is reachable,
# none of this is needed: the Containerfiles default to the official images.
set -euo pipefail
cd "$(dirname "$0")/../.."

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_IMAGE=localhost/debian:bookworm
PYTHON_IMAGE=localhost/python:3.11-slim-bookworm

say() { echo "base: $*" >&2; }
have() { [ -z "${FORCE:-}" ] && podman image exists "$1"; }

if ! have "$DEBIAN_IMAGE"; then
  root="$(mktemp -d /var/tmp/kundonline-debian.XXXXXX)"
  trap 'rm -rf "$root"' EXIT
  say "debootstrap bookworm into $root"
  debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null
  # Slim like Debian's own -slim images: no manuals, documentation or translations now, and
  # dpkg told to leave them out of every package installed later.
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
SLIM
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/groff/* "$root"/usr/share/info/* \
    "$root"/usr/share/lintian/* "$root"/usr/share/linda/*
  # What an image needs no more of: package lists, caches, logs, and the host's resolver.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/log/* "$root"/tmp/*
  : >"$root/etc/resolv.conf"
  tar --numeric-owner -C "$root" -c . |
    podman import --change 'CMD ["/bin/bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$root"
  trap - EXIT
  say "built $DEBIAN_IMAGE"
fi

if ! have "$PYTHON_IMAGE"; then
  podman build --quiet --build-arg "BASE=$DEBIAN_IMAGE" \
    -f deploy/container/python/Containerfile -t "$PYTHON_IMAGE" deploy/container/python >/dev/null
  say "built $PYTHON_IMAGE"
fi
