"""Streaming replication between two One Map private clusters: a primary and a hot standby.

The standby is a ``pg_basebackup`` of the primary that keeps a physical replication slot (so the
primary holds the WAL the standby has not received yet, however long it is away) and replays the
primary's WAL continuously; it answers read-only queries while it does (``hot_standby``, on by
default). :func:`promote` turns it into a primary when the old one is lost.

Used by ``onemap cluster`` (api/cluster_cli.py), the failover drill (layers/failover.py) and the
tests. On separate machines the same steps are run by hand or by Patroni: docs/CLUSTER.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from layers.cluster import SUPERUSER, PrivateCluster, find_free_port
from layers.errors import ClusterError

STANDBY_NAME = "standby1"
SLOT_NAME = "onemap_standby1"


@dataclass(frozen=True, slots=True)
class Lsn:
    """A WAL position (``pg_lsn``), comparable as an integer byte offset."""

    value: int

    @classmethod
    def parse(cls, text: str) -> Lsn:
        """``'16/B374D848'`` → its byte offset.

        Raises:
            ValueError: ``text`` is not ``hex/hex``.
        """
        high, sep, low = text.strip().partition("/")
        if not sep:
            raise ValueError(f"not an LSN: {text[:40]!r}")
        return cls((int(high, 16) << 32) + int(low, 16))

    def __str__(self) -> str:
        return f"{self.value >> 32:X}/{self.value & 0xFFFFFFFF:X}"


def enable_replication(primary: PrivateCluster, *, synchronous: bool = False) -> None:
    """Let the standby connect for replication, and (``synchronous``) make commits wait for it.

    The private cluster trusts 127.0.0.1 for ordinary sessions; replication connections need their
    own pg_hba line. ``synchronous`` sets ``synchronous_standby_names`` to the standby's
    application name, so a commit returns only after the standby has flushed its WAL: no
    acknowledged write is lost when the primary dies, at the cost measured in docs/CLUSTER.md.
    """
    hba = primary.data_dir / "pg_hba.conf"
    text = hba.read_text()
    if "replication" not in text:
        hba.write_text(text + "host replication all 127.0.0.1/32 trust\n")
    lines = [
        "# Written by One Map (layers/replication.py)",
        "wal_level = replica",
        "max_wal_senders = 10",
        "max_replication_slots = 10",
        "hot_standby = on",
        # Kill -9 and promote must not lose what the primary acknowledged: WAL is flushed at commit.
        "synchronous_commit = on",
        "fsync = on",
        f"synchronous_standby_names = '{STANDBY_NAME if synchronous else ''}'",
    ]
    (primary.data_dir / "conf.d.onemap-replication.conf").write_text("\n".join(lines) + "\n")
    conf = primary.data_dir / "postgresql.conf"
    include = "include_if_exists = 'conf.d.onemap-replication.conf'"
    if include not in conf.read_text():
        conf.write_text(conf.read_text() + f"\n{include}\n")
    # postgresql.auto.conf is read after postgresql.conf and the throwaway settings sit there.
    auto = primary.data_dir / "postgresql.auto.conf"
    kept = [ln for ln in auto.read_text().splitlines()
            if not ln.startswith(("synchronous_commit", "fsync", "full_page_writes"))]
    auto.write_text("\n".join(kept) + "\n")
    primary._chown_for_server(primary.data_dir)


def set_synchronous(primary: PrivateCluster, synchronous: bool) -> None:
    """Switch synchronous replication on or off on a running primary (reload, no restart)."""
    enable_replication(primary, synchronous=synchronous)
    primary._pg_ctl(["reload", "-D", str(primary.data_dir)])


def create_standby(primary: PrivateCluster, root: Path, *, port: int | None = None) -> PrivateCluster:
    """A hot standby of the running ``primary`` in ``root``, started and streaming.

    ``pg_basebackup -R -C -S`` copies the primary, creates the replication slot and writes
    ``standby.signal`` with the connection back to the primary.

    Raises:
        ClusterError: the base backup or the start failed.
    """
    standby = PrivateCluster(root, throwaway=primary.throwaway)
    if standby.status() != "absent":
        raise ClusterError(f"{root} already holds a cluster; remove it first")
    for d in (standby.data_dir, standby.socket_dir, standby.log_file.parent):
        d.mkdir(parents=True, exist_ok=True)
    standby.data_dir.chmod(0o700)
    standby._chown_for_server(standby.root)
    _drop_slot_if_any(primary)
    cmd = [
        *standby._run_as(), standby.install.exe("pg_basebackup"),
        "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER,
        "-D", str(standby.data_dir), "-R", "-X", "stream", "-C", "-S", SLOT_NAME, "--checkpoint=fast",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"pg_basebackup failed: {(result.stderr or result.stdout).strip()[:800]}")
    auto = standby.data_dir / "postgresql.auto.conf"
    auto.write_text(auto.read_text() + "\n".join([
        "",
        "# Written by One Map (layers/replication.py): the standby's own socket, and its name on the primary.",
        f"unix_socket_directories = '{standby.socket_dir}'",
        f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user={SUPERUSER} "
        f"application_name={STANDBY_NAME}'",
        f"primary_slot_name = '{SLOT_NAME}'",
        # Copied from the primary: once promoted, this server has no standby of its own to wait for.
        "synchronous_standby_names = ''",
        "",
    ]))
    standby._chown_for_server(standby.data_dir)
    start = port or find_free_port(primary.port + 1)
    standby._save_state(port=start)
    standby.start()
    return standby


def _drop_slot_if_any(primary: PrivateCluster) -> None:
    psql = [*primary._run_as(), primary.install.exe("psql"), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", SUPERUSER, "-d", "postgres", "-tAc"]
    subprocess.run(
        [*psql, f"SELECT pg_drop_replication_slot('{SLOT_NAME}') FROM pg_replication_slots "  # noqa: S608
                f"WHERE slot_name = '{SLOT_NAME}' AND NOT active"],
        capture_output=True, text=True, check=False,
    )


def promote(standby: PrivateCluster, *, timeout_s: float = 60.0) -> None:
    """Make ``standby`` a primary (``pg_ctl promote -w``): it stops replaying and accepts writes."""
    standby._pg_ctl(["promote", "-D", str(standby.data_dir), "-w", "-t", str(int(timeout_s))])


def postmaster_pid(cluster: PrivateCluster) -> int | None:
    """The pid in ``postmaster.pid``, or None when the server is not running."""
    pidfile = cluster.data_dir / "postmaster.pid"
    try:
        return int(pidfile.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def kill_hard(cluster: PrivateCluster) -> None:
    """SIGKILL the postmaster and every one of its processes: a crashed machine, as far as we can tell.

    Backends are killed too, so none finishes a commit after the postmaster is gone.
    """
    pid = postmaster_pid(cluster)
    if pid is None:
        return
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    for victim in [pid, *kids]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() and process_alive(p) for p in [pid, *kids]):
        time.sleep(0.02)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux /proc)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def multi_host_url(hosts: list[tuple[str, int]], database: str, *, attrs: str = "read-write") -> str:
    """A libpq-style URL naming several servers; asyncpg connects to the first matching ``attrs``.

    ``read-write`` finds whichever is the primary now, so the pool reconnects to a promoted
    standby by itself; ``prefer-standby`` reads from a standby while there is one.
    """
    netloc = ",".join(f"{h}:{p}" for h, p in hosts)
    return f"postgresql://{SUPERUSER}@{netloc}/{database}?target_session_attrs={attrs}"


async def replay_lsn(conn: asyncpg.Connection) -> Lsn | None:
    """How far this standby has replayed the primary's WAL; None on a primary (a promoted standby too)."""
    text = await conn.fetchval("SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END")
    return Lsn.parse(text) if text else None


async def current_lsn(conn: asyncpg.Connection) -> Lsn:
    """The primary's WAL write position: everything committed so far lies before it."""
    text = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    return Lsn.parse(str(text))


async def wait_replayed(primary_url: str, standby_url: str, *, timeout_s: float = 30.0) -> Lsn:
    """Wait until the standby has replayed everything the primary had written when this was called.

    Raises:
        TimeoutError: it had not after ``timeout_s``.
    """
    conn = await asyncpg.connect(primary_url)
    try:
        target = await current_lsn(conn)
    finally:
        await conn.close()
    conn = await asyncpg.connect(standby_url)
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                replayed = await replay_lsn(conn)
                if replayed is None or replayed.value >= target.value:
                    return target
                await asyncio.sleep(0.01)
    finally:
        await conn.close()


async def standbys(conn: asyncpg.Connection) -> list[dict[str, object]]:
    """Each connected standby as the primary sees it: name, state, sync state and replay lag in bytes."""
    rows = await conn.fetch(
        "SELECT application_name, state, sync_state, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag_bytes, "
        "extract(epoch FROM replay_lag)::float8 AS lag_s FROM pg_stat_replication ORDER BY application_name"
    )
    return [dict(r) for r in rows]
