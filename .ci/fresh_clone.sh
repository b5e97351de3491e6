#!/usr/bin/env bash
# Proves the repository stands on its own: a clone in a folder with no sibling shared/ runs the
# README's first command (`make demo`) until /collections answers with the public layers, then stops
# it cleanly (server, private cluster) and checks that no process of the clone is left behind.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d -t onemap-fresh.XXXXXX)"
clone="$work/onemap"
log="$work/demo.log"
say() { printf '\033[1m[fresh-clone]\033[0m %s\n' "$*"; }

git clone -q "$src" "$clone"
[ ! -e "$work/shared" ] || { say "a shared/ folder sits beside the clone"; exit 1; }
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
say "make demo in $clone (port $port)"
start=$(date +%s)
( cd "$clone" && ONEMAP_PORT="$port" exec setsid make demo ) >"$log" 2>&1 &
demo=$!

cleanup() {
  kill -TERM -- "-$demo" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$demo" 2>/dev/null || break; sleep 1; done
  kill -KILL -- "-$demo" 2>/dev/null || true
  [ -x "$clone/.venv/bin/onemap" ] && (cd "$clone" && .venv/bin/onemap db stop >/dev/null 2>&1 || true)
}
trap 'cleanup; tail -n 40 "$log"; rm -rf "$work"' ERR INT TERM

ok=""
for _ in $(seq 600); do
  kill -0 "$demo" 2>/dev/null || { say "make demo exited before serving"; tail -n 60 "$log"; exit 1; }
  if python3 - "$port" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/collections?f=json", timeout=5) as r:
        ids = {c["id"] for c in json.load(r)["collections"]}
except Exception:
    sys.exit(1)
# The public layers answer anonymously; internal (landuse) and restricted (pipelines) layers never do.
missing = {"buildings", "admin_districts", "rail_stations", "roads"} - ids
if missing or "landuse" in ids or any(i.startswith("pipeline_") for i in ids):
    print(f"unexpected /collections: missing {sorted(missing)}, got {sorted(ids)}")
    sys.exit(2)
sys.exit(0)
PY
  then ok=1; break; else rc=$?; [ "$rc" = 2 ] && exit 1; fi
  sleep 2
done
[ -n "$ok" ] || { say "/collections never answered"; tail -n 60 "$log"; exit 1; }
say "/collections answered with the public layers after $(( $(date +%s) - start )) s"

cleanup
trap - ERR INT TERM
left="$(pgrep -af -- "$clone" || true)"
if [ -n "$left" ]; then
  say "processes of the clone are still running:"; echo "$left"; exit 1
fi
say "stopped cleanly: no server, no cluster, no leftover process"
rm -rf "$work"
