"""``onemap backup restore``: a backup, replayed to a moment, in a NEW cluster folder.

The running cluster is never restored over: pgBackRest writes into ``<target>/data`` and the
restored server starts on a free port with its own socket folder, with archiving off so its new
timeline never reaches the repositories the live cluster archives to.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from backup.archiving import psql
from backup.errors import RestoreFailed
from backup.pgbackrest import BackupSite, give_to_server
from layers.cluster import DEFAULT_PORT, SUPERUSER, PrivateCluster, find_free_port
from layers.errors import ClusterError


@dataclass(frozen=True, slots=True)
class Restored:
    """A restored cluster, running, and how long each step took (seconds).

    ``target_reached`` is False when the archive ended before ``target_time`` and the whole archive
    was replayed instead; ``total_s`` includes the empty commit and WAL switch on the live cluster.
    """

    cluster: PrivateCluster
    target_time: dt.datetime | None
    restore_s: float
    recovery_s: float
    target_reached: bool = True
    total_s: float = 0.0


def pg_target(at: dt.datetime) -> str:
    """``at`` as pgBackRest's ``--target`` and PostgreSQL's recovery_target_time read it (UTC)."""
    if at.tzinfo is None:
        raise ValueError("a restore time needs a UTC offset, e.g. '2026-12-01 10:00+08'")
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")


def restore(site: BackupSite, target: Path, *, to: dt.datetime | None = None, repo: int | None = None,
            timeout_s: float = 3600.0) -> Restored:
    """Restore into ``target`` (must not hold a cluster yet) and start it on a free port.

    ``to`` None restores the newest backup to its consistent end (``--type=immediate``); else the
    WAL is replayed to ``to`` (commit time, inclusive) and the server promoted there. The newest
    backup that ended before ``to`` is chosen. ``repo`` 2 restores from the remote copy.

    Recovery knows it has passed ``to`` only on reading a commit made after it. So while the live
    cluster runs, one empty transaction is committed there and its WAL archived (``pgbackrest
    check``); its data is not touched. When the live cluster is gone and the archive ends before
    ``to``, the restore replays the whole archive instead (``target_reached`` False): that is the
    newest state that survived.

    Raises:
        RestoreFailed: the folder is in use, ``to`` is in the future, pgBackRest failed, or the
            restored server did not come up.
    """
    site.refresh()
    new = PrivateCluster(target)
    if new.data_dir.exists() and any(new.data_dir.iterdir()):
        raise RestoreFailed(f"{new.data_dir} is not empty; restore into a new folder")
    if new.data_dir.resolve() == site.cluster.data_dir.resolve():
        raise RestoreFailed("refusing to restore over the running cluster's own data folder")
    if to is not None and site.cluster.status() == "running":
        _commit_past(site, to)
    began = time.monotonic()
    _fresh_folders(new)
    kind = ["--type=immediate"] if to is None else ["--type=time", f"--target={pg_target(to)}"]
    try:
        restore_s, recovery_s = _restore_and_start(site, new, kind, repo, timeout_s)
        reached = True
    except RestoreFailed as exc:
        if to is None or _ENDED_EARLY not in str(exc):
            raise
        new.destroy()
        _fresh_folders(new)
        restore_s, recovery_s = _restore_and_start(site, new, ["--type=default"], repo, timeout_s)
        reached = False
    return Restored(cluster=new, target_time=to, restore_s=restore_s, recovery_s=recovery_s,
                    target_reached=reached, total_s=time.monotonic() - began)


_ENDED_EARLY = "recovery ended before configured recovery target was reached"


def _commit_past(site: BackupSite, to: dt.datetime) -> None:
    now = dt.datetime.fromisoformat(psql(site, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                               "'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"))
    if to > now:
        raise RestoreFailed(f"{to.isoformat()} is in the future (the server's clock says {now.isoformat()})")
    psql(site, "SELECT txid_current()")  # an empty commit, after `to`, for recovery to stop at
    site.run("check")  # switches to a new WAL segment and waits until the old one is archived


def _fresh_folders(new: PrivateCluster) -> None:
    for d in (new.data_dir, new.socket_dir, new.log_file.parent):
        d.mkdir(parents=True, exist_ok=True)
    new.data_dir.chmod(0o700)
    give_to_server(new.root)


def _restore_and_start(site: BackupSite, new: PrivateCluster, kind: list[str], repo: int | None,
                       timeout_s: float) -> tuple[float, float]:
    # Promote at the target; a restore to the end of the archive (``default``) promotes there anyway.
    promote = [] if kind == ["--type=default"] else ["--target-action=promote"]
    args = [f"--pg1-path={new.data_dir}", "--archive-mode=off", *promote, *kind]
    args += [f"--repo={repo}"] if repo else []
    began = time.monotonic()
    site.run("restore", *args, timeout_s=timeout_s)
    restored_at = time.monotonic()
    _point_at_own_folders(new)
    try:
        new.start(timeout_s=timeout_s)
        _wait_promoted(new, timeout_s)
    except ClusterError as exc:
        raise RestoreFailed(f"the restored cluster did not come up: {exc}") from exc
    return restored_at - began, time.monotonic() - restored_at


def _point_at_own_folders(new: PrivateCluster) -> None:
    """Give the restored server its own socket folder and a free port (state.json, as PrivateCluster keeps it)."""
    conf = new.data_dir / "postgresql.auto.conf"
    with conf.open("a") as f:  # later lines win over the live cluster's copied settings
        f.write(f"# Restored by One Map (backup/restore.py)\nunix_socket_directories = '{new.socket_dir}'\n")
    port = find_free_port(DEFAULT_PORT + 100 + os.getpid() % 800)
    new.state_file.write_text(json.dumps({"port": port, "superuser": SUPERUSER}))
    give_to_server(new.root)


def _wait_promoted(new: PrivateCluster, timeout_s: float) -> None:
    """Wait until recovery has ended (the server promoted itself at the target)."""
    psql = new.install.exe("psql")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if new.status() != "running":
            tail = new.log_file.read_text(errors="replace")[-1500:] if new.log_file.exists() else ""
            raise RestoreFailed(f"the restored server stopped during recovery; its log ends:\n{tail}")
        out = subprocess.run(
            [psql, "-h", "127.0.0.1", "-p", str(new.port), "-U", SUPERUSER, "-d", "postgres", "-XtAc",
             "SELECT pg_is_in_recovery()"], capture_output=True, text=True, check=False)
        if out.stdout.strip() == "f":
            return
        time.sleep(0.2)
    raise RestoreFailed(f"recovery did not finish within {timeout_s:.0f} s")
