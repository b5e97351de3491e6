"""The pgBackRest configuration of one private cluster, and running pgBackRest against it.

The configuration lives in the project's own folder and is always passed with ``--config``;
nothing under /etc is written. When we are root the cluster runs as ``postgres``, so pgBackRest
(and the ``archive_command`` the server runs) does too, and every folder it writes is theirs.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backup.errors import BackupNotConfigured, PgBackRestFailed
from backup.settings import BackupSettings
from layers.cluster import SUPERUSER, PrivateCluster

STANZA = "onemap"


def _server_user() -> tuple[int, int] | None:
    """(uid, gid) of ``postgres`` when we are root (the server runs as that account), else None."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def give_to_server(path: Path) -> None:
    """Make ``path`` (and all below it) the server account's, and its parents walkable by it."""
    _own(path)
    _walkable(path)


def _own(path: Path) -> None:
    owner = _server_user()
    if owner is None:
        return
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.chown(p, *owner)


def _walkable(path: Path) -> None:
    """Let the server's account walk down to ``path`` (search permission on every parent)."""
    if _server_user() is None:
        return
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


@dataclass(frozen=True, slots=True)
class BackupSite:
    """pgBackRest for ``cluster``: configuration file, local repo1 and the encrypted remote repo2.

    Layout of ``dir``: ``pgbackrest.conf``, ``repo1/``, ``log/``, ``lock/``, ``spool/``,
    ``repo2.pass`` (only when the passphrase was generated here).
    """

    cluster: PrivateCluster
    dir: Path
    remote_path: Path
    settings: BackupSettings

    @classmethod
    def for_cluster(cls, cluster: PrivateCluster, settings: BackupSettings, var_dir: Path) -> BackupSite:
        """The site of ``cluster`` with the folders ``settings`` name (defaults under ``var_dir``)."""
        folder = (settings.dir or var_dir / "backup").resolve()
        remote = (settings.remote_path or var_dir / "backup-remote").resolve()
        return cls(cluster=cluster, dir=folder, remote_path=remote, settings=settings)

    @property
    def config_file(self) -> Path:
        """The pgbackrest.conf this site passes with ``--config``."""
        return self.dir / "pgbackrest.conf"

    @property
    def repo1(self) -> Path:
        """The local repository."""
        return self.dir / "repo1"

    @property
    def configured(self) -> bool:
        """Whether ``setup`` has written the configuration."""
        return self.config_file.exists()

    def archive_command(self) -> str:
        """The ``archive_command`` the server runs for each finished WAL segment."""
        exe = shutil.which("pgbackrest") or "pgbackrest"
        return f"{exe} --config={self.config_file} --stanza={STANZA} archive-push %p"

    def cipher_pass(self) -> str:
        """repo2's passphrase: from settings, else the one generated into ``repo2.pass`` on first use."""
        if self.settings.cipher_pass is not None:
            return self.settings.cipher_pass.get_secret_value()
        pass_file = self.dir / "repo2.pass"
        if not pass_file.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            pass_file.touch(mode=0o600)
            pass_file.write_text(secrets.token_urlsafe(48))
        return pass_file.read_text().strip()

    def render(self) -> str:
        """pgbackrest.conf for the cluster's current data folder, port and socket."""
        s = self.settings
        lines = [
            "# Written by One Map (backup/pgbackrest.py); `onemap backup setup` rewrites it.",
            "[global]",
            f"repo1-path={self.repo1}",
            f"repo1-retention-full={s.retention_full_local}",
            f"repo2-path={self.remote_path}",
            f"repo2-retention-full={s.retention_full_remote}",
            "repo2-cipher-type=aes-256-cbc",
            f"repo2-cipher-pass={self.cipher_pass()}",
            f"lock-path={self.dir / 'lock'}",
            f"log-path={self.dir / 'log'}",
            f"spool-path={self.dir / 'spool'}",
            f"compress-type={s.compress_type}",
            f"process-max={s.process_max}",
            "start-fast=y",
            "log-level-console=warn",
            "log-level-file=info",
            "",
            f"[{STANZA}]",
            f"pg1-path={self.cluster.data_dir}",
            f"pg1-port={self.cluster.port}",
            f"pg1-socket-path={self.cluster.socket_dir}",
            f"pg1-user={SUPERUSER}",
        ]
        return "\n".join(lines) + "\n"

    def write_config(self) -> None:
        """Write pgbackrest.conf (0600: it holds repo2's passphrase) and the folders it names."""
        for d in (self.dir, self.repo1, self.remote_path, self.dir / "log", self.dir / "lock", self.dir / "spool"):
            d.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        self.config_file.touch(mode=0o600)
        self.config_file.write_text(self.render())
        for folder in (self.dir, self.remote_path):
            give_to_server(folder)

    def refresh(self) -> None:
        """Rewrite the configuration when the cluster moved port (``start`` may pick another one)."""
        if not self.configured:
            raise BackupNotConfigured(f"no {self.config_file}; run `onemap backup setup` first")
        if self.config_file.read_text() != self.render():
            self.write_config()

    def run(self, command: str, *args: str, timeout_s: float | None = None) -> str:
        """Run ``pgbackrest <command>`` for this stanza and return its standard output.

        Raises:
            BackupNotConfigured: ``setup`` has not written the configuration yet.
            PgBackRestFailed: it exited non-zero.
        """
        if not self.configured:
            raise BackupNotConfigured(f"no {self.config_file}; run `onemap backup setup` first")
        cmd = [*self._run_as(), shutil.which("pgbackrest") or "pgbackrest", f"--config={self.config_file}",
               f"--stanza={STANZA}", *args, command]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout_s)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()[-1500:]
            raise PgBackRestFailed(f"pgbackrest {command} failed (exit {result.returncode}): {detail}")
        return result.stdout

    def info(self) -> list[dict[str, Any]]:
        """``pgbackrest info --output=json``: the stanza, its backups per repository and WAL range."""
        data: Any = json.loads(self.run("info", "--output=json") or "[]")
        return data if isinstance(data, list) else []

    def _run_as(self) -> Sequence[str]:
        return ["runuser", "-u", "postgres", "--"] if _server_user() is not None else []
