"""``onemap backup setup``: continuous WAL archiving on the private cluster, and the stanza.

``archive_mode`` and ``wal_level`` only change with a server restart, so setup restarts the
cluster once (sessions are ended) and never again while they stay as set.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from backup.errors import BackupError
from backup.pgbackrest import BackupSite

# Settings that need a restart to change; the others take effect on reload.
_NEEDS_RESTART = frozenset({"archive_mode", "wal_level"})


@dataclass(frozen=True, slots=True)
class SetupResult:
    """What setup changed: server settings (name → new value) and whether it restarted."""

    changed: dict[str, str]
    restarted: bool


def psql(site: BackupSite, sql: str, *, database: str = "postgres") -> str:
    """Run one statement on the site's cluster with its own psql; return the unaligned output.

    Raises:
        BackupError: psql failed.
    """
    cluster = site.cluster
    cmd = [cluster.install.exe("psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "onemap",
           "-d", database, "-XtAc", sql]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"psql failed: {result.stderr.strip()[-500:]}")
    return result.stdout.strip()


def wanted_settings(site: BackupSite) -> dict[str, str]:
    """Server settings continuous archiving needs (values as ``SHOW`` prints them)."""
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": site.archive_command(),
        "archive_timeout": f"{site.settings.archive_timeout_s}s",
    }


def _current(site: BackupSite, name: str) -> str:
    # name is one of wanted_settings()' keys, never user input.
    return psql(site, f"SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = '{name}'")  # noqa: S608


def enable_archiving(site: BackupSite) -> SetupResult:
    """Set the archiving settings with ALTER SYSTEM; restart when one needs it, else reload."""
    changed: dict[str, str] = {}
    for name, value in wanted_settings(site).items():
        if _current(site, name) != value:
            literal = value.replace("'", "''")
            psql(site, f"ALTER SYSTEM SET {name} = '{literal}'")
            changed[name] = value
    restart = bool(_NEEDS_RESTART & changed.keys())
    if restart:
        site.cluster.restart()
    elif changed:
        psql(site, "SELECT pg_reload_conf()")
    return SetupResult(changed=changed, restarted=restart)


def setup(site: BackupSite) -> SetupResult:
    """Write pgbackrest.conf, turn archiving on, create the stanza in both repositories and check.

    Idempotent: a second run changes nothing and does not restart the server.
    """
    site.write_config()
    result = enable_archiving(site)
    site.run("stanza-create")
    site.run("check")
    return result
