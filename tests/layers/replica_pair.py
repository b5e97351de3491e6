"""A throwaway primary with a streaming hot standby, for the replication and read-routing tests."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from layers.cluster import PrivateCluster
from layers.replication import create_standby, enable_replication, set_synchronous


@contextlib.contextmanager
def throwaway_pair(prefix: str, *, synchronous: bool = False) -> Iterator[tuple[PrivateCluster, PrivateCluster]]:
    """A started primary and its standby in a new temporary folder; both destroyed on leaving.

    The folder comes from :mod:`tempfile`, not pytest's ``tmp_path``: a pytest run of another checkout on the
    same machine prunes old pytest base folders, and would delete these data folders under running servers.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        primary = PrivateCluster(root / "primary", throwaway=True)
        try:
            primary.init()
            enable_replication(primary)
            primary.start()
            primary.ensure_database()
            standby = create_standby(primary, root / "standby")
            try:
                if synchronous:  # only once the standby is there: until then every commit would wait for it
                    set_synchronous(primary, True)
                yield primary, standby
            finally:
                standby.destroy()
        finally:
            primary.destroy()
