"""A local One Map cluster: primary, hot standby, N stateless app instances and HAProxy in front.

``onemap cluster start|status|stop|promote`` (api/cluster_cli.py) drives it, tests and the scaling
benchmark reuse it. Everything lives under ``<var>/cluster``: ``primary/`` and ``standby/``
(private PostgreSQL clusters, layers/replication.py), ``apps/<n>.log``, ``haproxy.cfg`` and
``state.json`` (ports and pids). The app instances share ``<var>`` itself, so they share the dev
signing key (a token from one is valid on all) and the disk tile tier; each listens to edits on
the primary, so each drops its own memory tiles (tiles/invalidation.py).

The instances reach the databases through multi-host URLs: writes ``target_session_attrs=read-write``
(whichever server is the primary now, so a promoted standby is found by reconnecting) and reads
``prefer-standby``. Production runs the same pieces on separate machines: docs/CLUSTER.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from layers.cluster import PrivateCluster, find_free_port, port_accepts
from layers.errors import ClusterError
from layers.replication import (
    create_standby,
    enable_replication,
    multi_host_url,
    postmaster_pid,
    process_alive,
    set_synchronous,
)

PROJECT = Path(__file__).resolve().parent.parent
HAPROXY = "/usr/sbin/haproxy"


@dataclass
class TopologyState:
    """What ``state.json`` records: where each piece listens and which process it is."""

    port: int
    workers: int
    app_ports: list[int] = field(default_factory=list)
    app_pids: list[int] = field(default_factory=list)
    haproxy_pid: int | None = None
    synchronous: bool = False


def haproxy_config(port: int, app_ports: list[int], *, stats_port: int | None = None) -> str:
    """HAProxy's configuration: round robin over ``app_ports``, checked on /health/ready.

    ``retry-on`` with ``redispatch`` re-sends a request that failed on one instance (refused,
    reset before any answer, 502/503/504) to another one; HAProxy does this only for requests
    that are safe to repeat, so a read under an instance's death still succeeds and a write is
    never sent twice. ``timeout tunnel`` keeps Server-Sent Event streams open.

    A request has ``retries`` (3) attempts to spare, and HAProxy closes the client's connection without
    an answer when they run out on a keep-alive connection (a 502 on its first request). So a lost
    instance must cost each request at most one: ``observe layer4`` with ``on-error mark-down`` takes
    it out of rotation at its first refused connection, instead of after two failed checks (2 s or
    more) in which every request sent to it spent a retry. ``timeout check`` lets a busy but healthy
    instance answer /health/ready, which may wait 2 s for a pooled connection (api/health.py); without
    it the check gives up after ``inter`` (1 s) and HAProxy drops busy instances under load.
    """
    servers = "\n".join(
        f"    server app{i} 127.0.0.1:{p} check inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down"
        for i, p in enumerate(app_ports)
    )
    stats = (f"\nfrontend stats\n    bind 127.0.0.1:{stats_port}\n    stats enable\n    stats uri /\n"
             if stats_port else "")
    return f"""# Written by One Map (api/topology.py)
global
    maxconn 4096
    # HAProxy runs in the foreground with stdout going to <cluster>/haproxy.log (it has no file target).
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    # Only requests that failed, were retried or redispatched, and server state changes: what a lost
    # instance did to the traffic, without a line per request.
    option dontlog-normal
    option dontlognull
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 1h
    timeout check 5s
    retries 3
    option redispatch 1
    retry-on all-retryable-errors
    option http-keep-alive

frontend onemap
    bind 127.0.0.1:{port}
    default_backend apps

backend apps
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
{servers}
{stats}"""


class Topology:
    """The cluster under ``root`` (normally ``<var>/cluster``)."""

    def __init__(self, var_dir: Path) -> None:
        """Point at ``var_dir``; nothing starts before :meth:`start`."""
        self.var_dir = var_dir.resolve()
        self.root = self.var_dir / "cluster"
        self.primary = PrivateCluster(self.root / "primary")
        self.standby = PrivateCluster(self.root / "standby")
        self.state_file = self.root / "state.json"

    # ---- state --------------------------------------------------------------------------------
    def state(self) -> TopologyState | None:
        """The recorded state, or None before the first start."""
        if not self.state_file.exists():
            return None
        return TopologyState(**json.loads(self.state_file.read_text()))

    def _save(self, state: TopologyState) -> None:
        self.state_file.write_text(json.dumps(asdict(state)))

    def _hosts(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", self.primary.port), ("127.0.0.1", self.standby.port)]

    def write_url(self) -> str:
        """Where writes go: whichever of the two servers is the primary now."""
        return multi_host_url(self._hosts(), "onemap")

    def read_url(self) -> str:
        """Where stale-tolerant reads go: the standby while there is one."""
        return multi_host_url(self._hosts(), "onemap", attrs="prefer-standby")

    # ---- databases ----------------------------------------------------------------------------
    def start_databases(self, *, synchronous: bool = False) -> None:
        """Primary (created and migrated on first use) and its streaming standby."""
        from layers.migrate import migrate
        from layers.replication import wait_replayed

        self.root.mkdir(parents=True, exist_ok=True)
        created = self.primary.init()
        if created:
            enable_replication(self.primary)
        self.primary.start()
        self.primary.ensure_database()
        asyncio.run(migrate(self.primary.url()))
        if self.standby.status() == "absent":
            create_standby(self.primary, self.standby.root)
        else:
            self.standby.start()
        asyncio.run(wait_replayed(self.primary.url(), self.standby.url()))
        set_synchronous(self.primary, synchronous)

    # ---- app instances and HAProxy ------------------------------------------------------------
    def _start_app(self, port: int, workers: int, env: dict[str, str]) -> int:
        log = self.root / "apps" / f"{port}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(workers)],
                env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return proc.pid

    def app_env(self) -> dict[str, str]:
        """The environment of every app instance: the same databases, var folder and log level."""
        return {
            **os.environ,
            "ONEMAP_DATABASE_URL": self.write_url(),
            "ONEMAP_REPLICA_URL": self.read_url(),
            "ONEMAP_VAR_DIR": str(self.var_dir),
            "ONEMAP_LOG_LEVEL": os.environ.get("ONEMAP_LOG_LEVEL", "warning"),
        }

    def start(self, *, instances: int = 2, workers: int = 2, port: int = 8000, synchronous: bool = False,
              replica_reads: bool = True, timeout_s: float = 120.0) -> TopologyState:
        """Start everything; returns once every instance answers /health/ready.

        Raises:
            ClusterError: something did not come up in ``timeout_s``.
        """
        if self.state() is not None and self.running_apps():
            raise ClusterError("the cluster is already running; `onemap cluster stop` first")
        self.start_databases(synchronous=synchronous)
        return self.start_apps(instances=instances, workers=workers, port=port, synchronous=synchronous,
                               replica_reads=replica_reads, timeout_s=timeout_s)

    def start_apps(self, *, instances: int, workers: int, port: int, synchronous: bool = False,
                   replica_reads: bool = True, timeout_s: float = 120.0) -> TopologyState:
        """Start ``instances`` app instances and HAProxy in front of them (the databases must run)."""
        env = self.app_env()
        if not replica_reads:
            env.pop("ONEMAP_REPLICA_URL")
        state = TopologyState(port=port, workers=workers, synchronous=synchronous)
        next_port = port + 1
        for _ in range(instances):
            app_port = find_free_port(next_port)
            next_port = app_port + 1
            state.app_ports.append(app_port)
            state.app_pids.append(self._start_app(app_port, workers, env))
        self._save(state)
        cfg = self.root / "haproxy.cfg"
        cfg.write_text(haproxy_config(port, state.app_ports))
        state.haproxy_pid = self._start_haproxy(cfg, port)
        self._save(state)
        self._wait_ready(state, timeout_s)
        return state

    def _start_haproxy(self, cfg: Path, port: int) -> int:
        """HAProxy in the foreground of its own session, logging to ``haproxy.log``; returns its pid.

        Not ``haproxy -D``: a daemon closes its stdout, and HAProxy logs only to syslog or stdout, so the
        log of what a lost instance did to requests (retries, redispatches, aborts) would be lost.
        """
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise ClusterError(f"haproxy rejects {cfg}: {(check.stdout + check.stderr).strip()[-800:]}")
        log = self.root / "haproxy.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen([HAPROXY, "-f", str(cfg)], stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while not port_accepts(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ClusterError(f"haproxy did not start: {log.read_text(errors='replace')[-800:]}")
            time.sleep(0.05)
        return proc.pid

    def _wait_ready(self, state: TopologyState, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = set(state.app_ports)
        while pending and time.monotonic() < deadline:
            for p in list(pending):
                try:
                    if httpx.get(f"http://127.0.0.1:{p}/health/ready", timeout=2).status_code == 200:
                        pending.discard(p)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        if pending:
            raise ClusterError(f"app instances on ports {sorted(pending)} did not become ready; see {self.root}/apps")
        time.sleep(1.5)  # HAProxy's first health checks (inter 1s) mark the servers up

    # ---- status, failure and stop -------------------------------------------------------------
    def running_apps(self) -> list[int]:
        """Pids of app instances (uvicorn supervisors) that are still alive."""
        state = self.state()
        return [pid for pid in (state.app_pids if state else []) if process_alive(pid)]

    def kill_app(self, index: int, timeout_s: float = 10.0) -> None:
        """SIGKILL app instance ``index`` and all its workers: a lost machine, for drills and tests.

        Returns once the instance's process is gone. A signal is delivered when the process next runs,
        and until it has died its listening socket still completes TCP handshakes: a write sent right
        after the kill could be handed to a process about to vanish, and HAProxy never re-sends a
        write whose fate it does not know (it answers 502).
        """
        state = self.state()
        if state is None:
            return
        pid = state.app_pids[index]
        _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout_s
        while process_alive(pid) and time.monotonic() < deadline:  # a zombie has closed its sockets
            time.sleep(0.01)

    def stop_apps(self) -> list[str]:
        """Stop HAProxy and the app instances (SIGTERM, then SIGKILL). Returns what stopped."""
        done = []
        state = self.state()
        if state and state.haproxy_pid and process_alive(state.haproxy_pid):
            _signal(state.haproxy_pid, signal.SIGTERM, group=False)
            done.append("haproxy")
        pids = state.app_pids if state else []
        for pid in pids:
            if process_alive(pid):
                _signal(pid, signal.SIGTERM)
                done.append(f"app {pid}")
        deadline = time.monotonic() + 15
        while any(process_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids:
            if process_alive(pid):
                _signal(pid, signal.SIGKILL)
        return done

    def stop(self) -> list[str]:
        """Stop HAProxy, the app instances and both databases. Returns what stopped."""
        done = self.stop_apps()
        for name, pg in (("standby", self.standby), ("primary", self.primary)):
            if pg.status() == "running" and postmaster_pid(pg) and process_alive(postmaster_pid(pg) or 0):
                pg.stop()
                done.append(name)
        return done


def _signal(pid: int, sig: signal.Signals, *, group: bool = True) -> None:
    """Send ``sig`` to ``pid`` (its whole session: the supervisor and its workers), if it still exists."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
