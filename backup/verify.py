"""``onemap backup verify``: restore the newest backup elsewhere, start it, and check it.

The check is the same feature-by-feature comparison as the restore drill, as of the moment the
backup began: every version the live database had recorded by then must be in the restore,
unchanged, with the validity it had then. Reading every row of every layer table also proves
each heap page of them can be read back.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from backup.compare import Comparison, compare
from backup.errors import BackupError
from backup.pgbackrest import BackupSite
from backup.restore import restore
from backup.runs import BackupSet, list_backups


@dataclass(frozen=True, slots=True)
class Verified:
    """A verification: which backup, from which repository, how long, and the comparison."""

    backup: BackupSet
    comparison: Comparison
    restore_s: float
    compare_s: float
    folder: Path | None

    @property
    def ok(self) -> bool:
        """Whether the restore matched the live database as of the backup's start."""
        return self.comparison.equal


def verify(site: BackupSite, live_url: str, *, repo: int = 2, workdir: Path | None = None,
           keep: bool = False) -> Verified:
    """Restore the newest backup of ``repo`` (default: the remote copy) into ``workdir`` (a new
    temporary folder by default), compare it with the live database, and remove it unless ``keep``.

    Raises:
        BackupError: the repository holds no backup yet.
        RestoreFailed: the restored cluster did not come up.
    """
    sets = [b for b in list_backups(site) if b.repo == repo]
    if not sets:
        raise BackupError(f"repo{repo} holds no backup yet; run `onemap backup run` first")
    newest = sets[-1]
    folder = workdir or Path(tempfile.mkdtemp(prefix="onemap-verify-"))
    restored = restore(site, folder / "pg", repo=repo)
    try:
        began = time.monotonic()
        comparison = asyncio.run(compare(live_url, restored.cluster.url(), newest.start))
        took = time.monotonic() - began
    finally:
        if not keep:
            restored.cluster.destroy()
            if workdir is None:
                shutil.rmtree(folder, ignore_errors=True)
    return Verified(backup=newest, comparison=comparison, restore_s=restored.restore_s + restored.recovery_s,
                    compare_s=took, folder=folder / "pg" if keep else None)
