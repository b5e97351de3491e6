#!/usr/bin/env bash
# Bootstrap whatever is missing for `make demo` (mode: demo) or `make test` (mode: test).
# Idempotent: a second run only checks. System packages are installed with apt when
# running as root; otherwise the exact command is printed and we stop.
set -euo pipefail
mode="${1:-demo}"
cd "$(dirname "$0")/.."

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }
die() { printf '\033[31m[bootstrap] %s\033[0m\n' "$*" >&2; exit 1; }

# ---- system packages -------------------------------------------------------
pg_major() {
  if [ -x /usr/share/postgresql-common/supported_versions ]; then
    /usr/share/postgresql-common/supported_versions | sort -n | tail -1
  elif ls /usr/lib/postgresql 2>/dev/null | grep -qE '^[0-9]+$'; then
    ls /usr/lib/postgresql | grep -E '^[0-9]+$' | sort -n | tail -1
  elif command -v apt-cache >/dev/null; then
    apt-cache depends postgresql 2>/dev/null | grep -oE 'postgresql-[0-9]+' | head -1 | cut -d- -f2
  fi
}

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if [ -z "${ONEMAP_DATABASE_URL:-}" ] || [ "$mode" = test ]; then
  major="$(pg_major || true)"
  if [ -z "$major" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && major="$(pg_major || true)"
  fi
  [ -n "$major" ] || die "cannot tell which PostgreSQL this distribution ships; install PostgreSQL with PostGIS, or set ONEMAP_DATABASE_URL"
  have_pkg "postgresql-$major" || need+=("postgresql-$major")
  have_pkg "postgresql-$major-postgis-3" || need+=("postgresql-$major-postgis-3")
fi
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ "$mode" = test ]; then
  command -v ogrinfo >/dev/null || need+=(gdal-bin)
  command -v chromium >/dev/null || need+=(chromium)
  # QGIS's own Python bindings and providers (OAPIF), for the desktop-client test (tests/api/test_qgis.py).
  have_pkg python3-qgis || need+=(python3-qgis)
  have_pkg qgis-providers || need+=(qgis-providers)
  # A small CJK font, so browser tests and their screenshots render Chinese labels instead of boxes.
  have_pkg fonts-wqy-microhei || need+=(fonts-wqy-microhei)
  # Backup and point-in-time restore (backup/, tests/backup): WAL archiving and backups.
  command -v pgbackrest >/dev/null || need+=(pgbackrest)
  # The load balancer of `onemap cluster` and its tests (api/topology.py, tests/api/test_cluster_topology.py).
  command -v haproxy >/dev/null || need+=(haproxy)
fi

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    die "missing system packages. Run this once as root, then run make again:
    sudo apt-get update && sudo apt-get install -y ${need[*]}"
  fi
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is needed (found $(python3 --version))"

# ---- Python environment from pyproject.toml ----------------------------------
extras="$([ "$mode" = test ] && echo '[dev,test]' || echo '[dev]')"
stamp=".venv/.onemap-installed"
hash="$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
have="$(cat "$stamp" 2>/dev/null || true)"
# A test install is a superset of a demo install.
if [ "$have" != "$hash-test" ] && [ "$have" != "$hash-$mode" ]; then
  say "installing Python packages from pyproject.toml $extras"
  [ -x .venv/bin/uv ] || .venv/bin/python -m pip install -q --disable-pip-version-check uv
  .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python -e ".$extras"
  echo "$hash-$mode" > "$stamp"
fi
# Byte-compile ahead of time: with PYTHONDONTWRITEBYTECODE set (as on our CI machines) every
# process would otherwise recompile its imports, about 1.5 s per `onemap` command.
.venv/bin/python -m compileall -q -j 0 spatial layers ingest sample tiles api styles import benchmarks tests >/dev/null || true

# ---- front-end libraries from npm (served locally, never committed) -----------
npm_stamp="node_modules/.onemap-installed"
npm_want="$(cat package.json $([ -f package-lock.json ] && echo package-lock.json) | sha256sum | cut -c1-16)"
if [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
  say "installing front-end libraries from npm"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  cat package.json package-lock.json | sha256sum | cut -c1-16 > "$npm_stamp"
fi
say "ready ($mode)"
