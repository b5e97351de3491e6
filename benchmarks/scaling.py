"""Read throughput with 1, 2 and 3 app instances behind HAProxy, and with reads on the hot standby.

The topology is `onemap cluster`'s (api/topology.py): a primary, a streaming standby, N instances
of one worker each, HAProxy in front. wrk loads HAProxy with the ``items_bbox`` workload (random
~500 m box, 100 buildings) at concurrency 64. The CPU each part used during the run is read from
/proc (user + system ticks of the primary's, the standby's, the instances' and HAProxy's process
trees), so the table shows where the scaling bends: when PostgreSQL and the instances share the
machine's cores, a further instance only takes CPU from PostgreSQL.

    ONEMAP_BENCH_PORT_BASE=9140 .venv/bin/python -m benchmarks.scaling --size 20000 --duration 10

Finally the write rate of single-row commits is measured with the standby asynchronous and then
synchronous (``synchronous_standby_names``), the price of losing no acknowledged write at failover.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from api.topology import Topology
from benchmarks import load as loadgen
from benchmarks.run import prepare
from benchmarks.settings import PORT_BASE, WORK
from benchmarks.workloads import WORKLOADS, BenchContext, RequestSpec
from layers.failover import DRILL_DATABASE, write_rate
from layers.failover import prepare as prepare_drill
from layers.replication import postmaster_pid, set_synchronous

CONFIGS = [(1, False), (2, False), (3, False), (3, True)]  # (instances, reads on the standby)
TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    out = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        for child in children.read_text().split():
            out += _tree(int(child))
    except OSError:
        pass
    return out


def _cpu_s(roots: list[int]) -> float:
    total = 0
    for root in roots:
        for pid in _tree(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()
            except (OSError, IndexError):
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (children not yet reaped are theirs)
    return total / TICK


@dataclass
class Row:
    instances: int
    standby_reads: bool
    result: loadgen.Result
    cpu: dict[str, float]


def _parts(topo: Topology) -> dict[str, list[int]]:
    state = topo.state()
    assert state is not None
    return {
        "primary": [p for p in [postmaster_pid(topo.primary)] if p],
        "standby": [p for p in [postmaster_pid(topo.standby)] if p],
        "apps": list(state.app_pids),
        "haproxy": [state.haproxy_pid] if state.haproxy_pid else [],
    }


def measure(topo: Topology, instances: int, standby_reads: bool, ctx: BenchContext, *, duration: int,
            concurrency: int) -> Row:
    """One configuration: start its instances, load them through HAProxy, stop them."""
    state = topo.start_apps(instances=instances, workers=1, port=PORT_BASE, replica_reads=standby_reads)
    try:
        spec = WORKLOADS["items_bbox"].targets["onemap"](ctx)
        assert isinstance(spec, RequestSpec)
        parts = _parts(topo)
        before = {k: _cpu_s(v) for k, v in parts.items()}
        started = time.monotonic()
        result = loadgen.run_wrk(f"http://127.0.0.1:{state.port}", spec.path, ctx,
                                 duration_s=duration, concurrency=concurrency)
        wall = time.monotonic() - started
        cpu = {k: (_cpu_s(v) - before[k]) / wall for k, v in parts.items()}  # cores busy, warm-up included
    finally:
        topo.stop_apps()
    return Row(instances, standby_reads, result, cpu)


def main(argv: list[str] | None = None) -> int:
    """Run every configuration and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    topo = Topology(WORK / "scaling")
    topo.stop()
    print("starting primary + standby …", flush=True)
    topo.start_databases()
    try:
        ctx = asyncio.run(prepare(topo.primary.url(), args.size))
        rows = [measure(topo, n, standby, ctx, duration=args.duration, concurrency=args.concurrency)
                for n, standby in CONFIGS]
        asyncio.run(prepare_drill(topo.primary, topo.standby))
        url = topo.primary.url(DRILL_DATABASE)
        async_rate = asyncio.run(write_rate(url, seconds=args.duration / 2))
        set_synchronous(topo.primary, True)
        sync_rate = asyncio.run(write_rate(url, seconds=args.duration / 2))
        set_synchronous(topo.primary, False)
    finally:
        topo.stop()
    base = rows[0].result.rps or 1.0
    print(f"\nitems_bbox through HAProxy, concurrency {args.concurrency}, {os.cpu_count()} cores (under load)")
    print("instances  reads    req/s   ×1-inst  p50 ms  p99 ms  errors  cores: primary standby apps haproxy")
    for r in rows:
        c = r.cpu
        print(f"{r.instances:9d}  {'standby' if r.standby_reads else 'primary':7s} {r.result.rps:7.0f}  "
              f"{r.result.rps / base:7.2f}  {r.result.p50_ms:6.1f}  {r.result.p99_ms:6.1f}  {r.result.errors:6d}"
              f"         {c['primary']:5.2f}   {c['standby']:5.2f} {c['apps']:5.2f}   {c['haproxy']:5.2f}")
    print(f"\nsingle-row commits, 8 clients: asynchronous standby {async_rate:.0f}/s, synchronous "
          f"{sync_rate:.0f}/s ({sync_rate / async_rate:.2f}×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
