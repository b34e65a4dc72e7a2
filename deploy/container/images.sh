#!/usr/bin/env bash
# The infrastructure images of the one-server install, printed as shell assignments for compose:
# the official ones where they can be pulled, else ones built here from Debian
# (deploy/container/base.sh; LOCAL=1 builds them without trying a registry):
#
#   KAFKA_IMAGE=docker.io/apache/kafka:<version>   or localhost/kafka:<version>, the broker
#                                                  of deploy/kafka/pom.xml
#   POSTGRES_IMAGE=docker.io/library/postgres:15-bookworm   or localhost/postgres:15-bookworm
#
# Local ones are built only when missing (FORCE=1 builds again).
set -euo pipefail
cd "$(dirname "$0")/../.."

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' deploy/kafka/pom.xml)"
KAFKA_IMAGE="localhost/kafka:$KAFKA_VERSION"
POSTGRES_IMAGE=localhost/postgres:15-bookworm

say() { echo "images: $*" >&2; }
have() { [ -z "${FORCE:-}" ] && podman image exists "$1"; }
pulled() { podman image exists "$1" || podman pull --quiet "$1" >/dev/null 2>&1; }

if [ -z "${LOCAL:-}" ] && pulled "docker.io/apache/kafka:$KAFKA_VERSION" &&
  pulled docker.io/library/postgres:15-bookworm; then
  echo "KAFKA_IMAGE=docker.io/apache/kafka:$KAFKA_VERSION"
  echo "POSTGRES_IMAGE=docker.io/library/postgres:15-bookworm"
  exit 0
fi

bash deploy/container/base.sh

if ! have "$KAFKA_IMAGE"; then
  libs="$(bash deploy/kafka/kafka.sh fetch)"
  context="$(mktemp -d /var/tmp/kundonline-kafka.XXXXXX)"
  trap 'rm -rf "$context"' EXIT
  cp deploy/container/kafka/{Containerfile,run,log4j2.properties} "$context/"
  cp -r "$libs" "$context/libs"
  say "building $KAFKA_IMAGE"
  podman build --quiet -t "$KAFKA_IMAGE" "$context" >/dev/null
  rm -rf "$context"
  trap - EXIT
fi

if ! have "$POSTGRES_IMAGE"; then
  say "building $POSTGRES_IMAGE"
  podman build --quiet -t "$POSTGRES_IMAGE" deploy/container/postgres >/dev/null
fi

echo "KAFKA_IMAGE=$KAFKA_IMAGE"
echo "POSTGRES_IMAGE=$POSTGRES_IMAGE"
