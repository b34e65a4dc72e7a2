#!/usr/bin/env bash
# What the container targets (make image, compose-up, kube-smoke) need on this machine:
# podman, runc and debootstrap from Debian, podman-compose from PyPI in a tool folder of its
# own (.cache/tools/podman-compose; `uv sync` would remove it from the project's venv), and
# /etc/containers/containers.conf only where the machine needs it (see needs_engine_conf).
# Safe to run again: it only adds what is missing. make test never calls it.
set -euo pipefail
cd "$(dirname "$0")/../.."

PODMAN_COMPOSE_VERSION="${PODMAN_COMPOSE_VERSION:-1.5.0}"
TOOLS=.cache/tools
CONF=/etc/containers/containers.conf
MARK="# Written by KundOnline's deploy/container/setup.sh"

say() { echo "setup: $*" >&2; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    say "missing system packages: $*; install them as root (apt-get install -y $*)"
    exit 1
  fi
  say "installing $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v openssl >/dev/null || missing+=(openssl)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

if [ ! -x "$TOOLS/podman-compose/bin/podman-compose" ]; then
  say "installing podman-compose $PODMAN_COMPOSE_VERSION into $TOOLS/podman-compose"
  uv venv --quiet --python python3 "$TOOLS/podman-compose"
  uv pip install --quiet --python "$TOOLS/podman-compose/bin/python" \
    "podman-compose==$PODMAN_COMPOSE_VERSION"
fi

# crun refuses a cgroup v1 or hybrid hierarchy ("cgroups in hybrid mode not supported"), and
# podman raises RLIMIT_NOFILE/NPROC in every container by default, which a machine that
# forbids raising limits refuses. A normal laptop or server needs neither setting.
cgroup_v1() { [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; }
cannot_raise_limits() { ! (ulimit -Hn 1048576) 2>/dev/null; }

needs_engine_conf() { cgroup_v1 || cannot_raise_limits; }

if needs_engine_conf; then
  if [ ! -e "$CONF" ] || head -n1 "$CONF" | grep -qF "$MARK"; then
    if [ "$(id -u)" -ne 0 ]; then
      say "this machine needs $CONF (cgroup v1 or fixed limits); run this script as root"
      exit 1
    fi
    mkdir -p "$(dirname "$CONF")"
    cat >"$CONF.tmp" <<CONFEOF
$MARK: this machine mounts cgroup v1
# (crun refuses it; runc with cgroupfs works) or forbids raising RLIMIT_NOFILE/NPROC (podman's
# default ulimits for every container).
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONFEOF
    if ! cmp -s "$CONF.tmp" "$CONF" 2>/dev/null; then
      mv "$CONF.tmp" "$CONF"
      say "wrote $CONF"
    else
      rm -f "$CONF.tmp"
    fi
  else
    say "$CONF exists and is not ours; leaving it alone (it needs runtime = \"runc\"," \
      "cgroup_manager = \"cgroupfs\" and default_ulimits = [] on this machine)"
  fi
fi
