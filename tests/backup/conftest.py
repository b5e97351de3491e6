"""The backup drill's own cluster: archiving needs a restart and its own repositories, so these tests
never share the session's server. One cluster per module, with setup already run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from backup.archiving import setup
from backup.pgbackrest import BackupSite
from backup.settings import BackupSettings
from layers.cluster import PrivateCluster
from tests.backup.archive import Archived


@pytest.fixture(scope="module")
def archived() -> Iterator[Archived]:
    # Not pytest's tmp_path: pytest resets its root folder to 0700 and the server runs as postgres.
    tmp = tempfile.TemporaryDirectory(prefix="onemap-backup-")
    root = Path(tmp.name)
    cluster = PrivateCluster(root / "live", throwaway=True)
    cluster.init()
    cluster.start()
    cluster.ensure_database()
    settings = BackupSettings(cipher_pass=SecretStr("drill-passphrase-not-a-secret"), archive_timeout_s=30)
    site = BackupSite.for_cluster(cluster, settings, root)
    try:
        setup(site)
        yield Archived(root=root, site=site)
    finally:
        cluster.destroy()
        tmp.cleanup()
