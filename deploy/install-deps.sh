#!/usr/bin/env bash
# Installs what a fresh machine lacks for `make run` and `make test`: uv, the Python
# workspace, Debian's PostgreSQL server and Chromium (browser tests drive it; Playwright
# never downloads a browser of its own), and from npm axe-core for the accessibility checks
# and vnu-jar, the Nu Html Checker, for the HTML checks.
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg_server() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: $*; install them as root (apt-get install -y $*)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
have_pg_server || missing+=(postgresql)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

if ! command -v uv >/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set, as on the build machine,
# every service start would otherwise compile its libraries again (about 1.7 s each).
uv sync --frozen --quiet --compile-bytecode
.venv/bin/python -m compileall -q contracts/src common/src services/*/src deploy/devstack/src >/dev/null
# --ignore-scripts: vnu-jar's install script would download a Java runtime if it found none;
# Java comes from Debian here.
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ] ||
   [ ! -f tests/browser/node_modules/vnu-jar/build/dist/vnu.jar ]; then
  npm ci --prefix tests/browser --silent --no-audit --no-fund --ignore-scripts
fi
