"""Backup settings (env prefix ``ONEMAP_BACKUP_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BackupSettings(BaseSettings):
    """Where pgBackRest keeps its configuration and the two repositories, and what it retains.

    Attributes:
        dir: Configuration, logs, locks and ``repo1`` (the local repository); None means
            ``<ONEMAP_VAR_DIR>/backup``.
        remote_path: ``repo2``, the encrypted copy for the remote site: a mounted path on other
            storage (NFS, a second disk); None means ``<ONEMAP_VAR_DIR>/backup-remote``.
        cipher_pass: Passphrase of ``repo2`` (aes-256-cbc). When unset, ``onemap backup setup``
            generates one and keeps it in ``<dir>/repo2.pass`` (0600); it must also be kept
            somewhere off this machine, since without it ``repo2`` cannot be read.
        retention_full_local / retention_full_remote: Full backups kept in each repository
            (with the incrementals and WAL that depend on them).
        archive_timeout_s: PostgreSQL's ``archive_timeout``: on a quiet system a WAL segment is
            archived at least this often, which bounds the RPO.
        process_max: pgBackRest worker processes for backup and restore.
        compress_type: pgBackRest compression (``zst`` is fast and small).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_BACKUP_", extra="ignore")

    dir: Path | None = None
    remote_path: Path | None = None
    cipher_pass: SecretStr | None = None
    retention_full_local: Annotated[int, Field(ge=1, le=100)] = 2
    retention_full_remote: Annotated[int, Field(ge=1, le=100)] = 4
    archive_timeout_s: Annotated[int, Field(ge=0, le=86_400)] = 60
    process_max: Annotated[int, Field(ge=1, le=32)] = 2
    compress_type: str = "zst"
