"""``onemap backup run`` and ``onemap backup list``: backups into both repositories, and what is kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from backup.pgbackrest import BackupSite

BackupType = Literal["full", "diff", "incr"]
REPOS = (1, 2)


@dataclass(frozen=True, slots=True)
class BackupSet:
    """One backup in one repository, as ``pgbackrest info`` reports it.

    Attributes:
        repo: 1 (local) or 2 (remote, encrypted).
        label: pgBackRest's label, e.g. ``20261206-112233F_20261206-113000I``.
        type: full, diff or incr.
        start / stop: When the backup began and ended (UTC).
        db_bytes: Size of the database files the backup stands for.
        delta_bytes: Of which changed since the prior backup (= ``db_bytes`` for a full).
        repo_bytes: Bytes this backup added to the repository (compressed, encrypted in repo2).
        wal_start / wal_stop: The WAL segments needed to make it consistent.
    """

    repo: int
    label: str
    type: str
    start: dt.datetime
    stop: dt.datetime
    db_bytes: int
    delta_bytes: int
    repo_bytes: int
    wal_start: str
    wal_stop: str


def run_backup(site: BackupSite, kind: BackupType = "incr", repos: Sequence[int] = REPOS) -> list[BackupSet]:
    """Take a ``kind`` backup into each of ``repos`` (an incremental with no full before it becomes a
    full, as pgBackRest does), then expire what retention no longer needs. Returns the new sets."""
    site.refresh()
    before = {(b.repo, b.label) for b in list_backups(site)}
    for repo in repos:
        site.run("backup", f"--repo={repo}", f"--type={kind}")
    return [b for b in list_backups(site) if (b.repo, b.label) not in before]


def list_backups(site: BackupSite) -> list[BackupSet]:
    """Every backup in every repository, oldest first."""
    sets: list[BackupSet] = []
    for stanza in site.info():
        for raw in stanza.get("backup", []):
            sets.append(_backup_set(raw))
    return sorted(sets, key=lambda b: (b.stop, b.repo))


def _backup_set(raw: dict[str, Any]) -> BackupSet:
    info = raw.get("info", {})
    stamps = raw.get("timestamp", {})
    archive = raw.get("archive", {})
    return BackupSet(
        repo=int(raw.get("database", {}).get("repo-key", 1)),
        label=str(raw["label"]),
        type=str(raw["type"]),
        start=dt.datetime.fromtimestamp(int(stamps["start"]), dt.UTC),
        stop=dt.datetime.fromtimestamp(int(stamps["stop"]), dt.UTC),
        db_bytes=int(info.get("size", 0)),
        delta_bytes=int(info.get("delta", 0)),
        repo_bytes=int(info.get("repository", {}).get("delta", 0)),
        wal_start=str(archive.get("start", "")),
        wal_stop=str(archive.get("stop", "")),
    )


def archive_status(site: BackupSite) -> dict[str, str]:
    """The WAL range each repository holds (``repo<n>`` → ``first..last`` segment)."""
    out: dict[str, str] = {}
    for stanza in site.info():
        for arch in stanza.get("archive", []):
            key = f"repo{arch.get('database', {}).get('repo-key', 1)}"
            out[key] = f"{arch.get('min', '')}..{arch.get('max', '')}"
    return out
