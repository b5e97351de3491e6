"""What the backup tests share: a cluster that archives to two repositories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backup.pgbackrest import BackupSite


@dataclass(frozen=True, slots=True)
class Archived:
    """A throwaway cluster with WAL archiving to two repositories under ``root``."""

    root: Path
    site: BackupSite

    @property
    def url(self) -> str:
        return self.site.cluster.url()
