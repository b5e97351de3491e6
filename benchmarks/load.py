"""Load generators: wrk (HTTP, Lua-randomised paths) and pgbench (the raw SQL floor).

Both run at the same concurrency and report requests per second and the p50/p99
latency. wrk comes from Debian's ``wrk`` package; it is installed if missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.settings import CITY_BBOX_4490, WORK
from benchmarks.workloads import BenchContext


@dataclass(frozen=True, slots=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    note: str = ""
    max_ms: float = float("nan")  # the tail's worst request (issue 15: p99 and max at 64 clients)


# wrk's default 2 s timeout counts a slow but successful answer (a dense low-zoom tile) as an
# error and leaves it out of the latency figures; pgbench, the floor, waits as long as it takes.
WRK_TIMEOUT = "60s"


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's packages when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package) …", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not available; install Debian's wrk package")
    return found


def lua_script(
    path_template: str, ctx: BenchContext, *, tile_zoom: int | None = None,
    tile_bbox: tuple[float, float, float, float] | None = None,
) -> str:
    """A wrk Lua script requesting ``path_template`` filled with random boxes, ids or tiles from ``ctx``
    (tiles drawn over ``tile_bbox``, default the city)."""
    xmin, ymin, xmax, ymax = CITY_BBOX_4490
    tx0, ty0, tx1, ty1 = tile_bbox or CITY_BBOX_4490
    dx, dy = ctx.box_deg
    z = ctx.tile_zoom if tile_zoom is None else tile_zoom
    return f"""
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("seed", counter) end
init = function(args) math.randomseed(os.time() * 1000 + (seed or 0)) end
local function tile_range(lon, lat)
  local n = 2 ^ {z}
  local x = math.floor((lon + 180) / 360 * n)
  local r = math.rad(lat)
  local y = math.floor((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
  return x, y
end
local tx1, ty2 = tile_range({tx0}, {ty0})
local tx2, ty1 = tile_range({tx1}, {ty1})
local template = [[{path_template}]]
request = function()
  local x = {xmin} + math.random() * {xmax - xmin - dx}
  local y = {ymin} + math.random() * {ymax - ymin - dy}
  local bbox = string.format("%.6f,%.6f,%.6f,%.6f", x, y, x + {dx}, y + {dy})
  local path = template
  path = string.gsub(path, "{{bbox}}", bbox)
  path = string.gsub(path, "{{fid}}", tostring(math.random({ctx.fid_min}, {ctx.fid_max})))
  path = string.gsub(path, "{{z}}", tostring({z}))
  path = string.gsub(path, "{{x}}", tostring(math.random(tx1, tx2)))
  path = string.gsub(path, "{{y}}", tostring(math.random(ty1, ty2)))
  return wrk.format("GET", path)
end
"""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(
    base_url: str, path_template: str, ctx: BenchContext, *, duration_s: int, concurrency: int,
    tile_zoom: int | None = None, tile_bbox: tuple[float, float, float, float] | None = None,
) -> Result:
    """Load ``base_url`` with wrk for ``duration_s`` at ``concurrency`` and return the measured result."""
    wrk = ensure_wrk()
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=WORK, delete=False) as f:
        f.write(lua_script(path_template, ctx, tile_zoom=tile_zoom, tile_bbox=tile_bbox))
        script = f.name
    threads = min(2, concurrency)  # wrk refuses more threads than connections (c=1 latency runs)
    try:
        # Warm up first (pool connections, statement caches), then measure.
        subprocess.run(
            [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{min(3, duration_s)}s", "--timeout", WRK_TIMEOUT,
             "-s", script, base_url],
            capture_output=True,
            timeout=duration_s + 60,
        )
        proc = subprocess.run(
            [wrk, f"-t{threads}", f"-c{concurrency}", f"-d{duration_s}s", "--timeout", WRK_TIMEOUT, "--latency",
             "-s", script, base_url],
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
        )
    finally:
        Path(script).unlink(missing_ok=True)
    out = proc.stdout
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    rps = float(rps_match.group(1)) if rps_match else 0.0
    # Anchored: the thread stats' "+/- Stdev" column (e.g. "85.50%") also ends in 50% or 99%.
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    worst = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors:.*?read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return Result(
        rps,
        _ms(p50.group(1)) if p50 else float("nan"),
        _ms(p99.group(1)) if p99 else float("nan"),
        errors,
        "" if proc.returncode == 0 else proc.stderr[-200:],
        _ms(worst.group(1)) if worst else float("nan"),
    )


def run_pgbench(database_url: str, script: str, *, duration_s: int, concurrency: int) -> Result:
    """Run the raw-SQL floor: pgbench with ``script`` at the same duration and concurrency."""
    pgbench = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        sfile = Path(tmp) / "floor.sql"
        sfile.write_text(script)
        prefix = Path(tmp) / "log"
        proc = subprocess.run(
            [
                pgbench,
                "-n",
                "-M",
                "prepared",
                "-c",
                str(concurrency),
                "-j",
                "2",
                "-T",
                str(duration_s),
                "-f",
                str(sfile),
                "--log",
                f"--log-prefix={prefix}",
                database_url,
            ],
            capture_output=True,
            text=True,
            timeout=duration_s + 120,
        )
        if proc.returncode != 0:
            return Result(0.0, float("nan"), float("nan"), 1, proc.stderr[-300:])
        lat: list[float] = []
        for log in Path(tmp).glob("log*"):
            for line in log.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3:
                    lat.append(int(parts[2]) / 1000.0)
    tps = re.search(r"tps = ([\d.]+)", proc.stdout)
    arr = np.array(lat) if lat else np.array([float("nan")])
    return Result(
        float(tps.group(1)) if tps else 0.0, float(np.percentile(arr, 50)), float(np.percentile(arr, 99)),
        max_ms=float(np.max(arr)),
    )
