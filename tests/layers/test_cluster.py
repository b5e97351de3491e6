"""The private PostgreSQL cluster: lifecycle, idempotence and the faults users hit."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from layers.cluster import PrivateCluster, find_pg_install, port_is_free
from layers.db import connect
from layers.errors import ClusterError, DatabaseUnavailable, PostgisMissing


def test_lifecycle_and_idempotence(tmp_path: Path) -> None:
    cluster = PrivateCluster(tmp_path / "pg", throwaway=True)
    assert cluster.status() == "absent"
    assert cluster.init() is True
    assert cluster.init() is False  # a second init changes nothing
    assert cluster.status() == "stopped"
    cluster.start()
    try:
        cluster.start()  # already running: no-op
        assert cluster.status() == "running"
        cluster.ensure_database("onemap")
        cluster.ensure_database("onemap")

        async def probe() -> str:
            conn = await connect(cluster.url())
            try:
                return str(await conn.fetchval("SELECT current_database()"))
            finally:
                await conn.close()

        assert asyncio.run(probe()) == "onemap"
    finally:
        assert cluster.stop() is True
    assert cluster.status() == "stopped"
    assert cluster.stop() is False
    cluster.destroy()
    assert not (tmp_path / "pg").exists()


def test_taken_port_moves_to_a_free_one(tmp_path: Path) -> None:
    cluster = PrivateCluster(tmp_path / "pg", throwaway=True)
    cluster.init()
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        blocker.bind(("127.0.0.1", cluster.port))
        blocker.listen()
    except OSError:
        pass  # someone else holds it already, which is just as good for this test
    try:
        taken = cluster.port
        cluster.start()
        assert cluster.port != taken and not port_is_free(cluster.port)
    finally:
        blocker.close()
        cluster.destroy()


def test_half_initialised_cluster_names_the_fix(tmp_path: Path) -> None:
    data = tmp_path / "pg" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")  # as if initdb was killed half-way
    cluster = PrivateCluster(tmp_path / "pg")
    assert cluster.status() == "half-initialised"
    with pytest.raises(ClusterError, match="reset-cluster"):
        cluster.init()
    with pytest.raises(ClusterError, match="half-initialised"):
        cluster.start()


def _fake_server(root: Path, major: str) -> None:
    bindir = root / major / "bin"
    bindir.mkdir(parents=True)
    for exe in ("initdb", "pg_ctl"):
        script = bindir / exe
        script.write_text(f"#!/bin/sh\necho '{exe} (PostgreSQL) {major}.1'\n")
        script.chmod(0o755)


def test_missing_postgis_names_the_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEMAP_PG_BINDIR", raising=False)
    _fake_server(tmp_path, "98")  # a server with no /usr/share/postgresql/98/extension/postgis.control
    with pytest.raises(PostgisMissing, match="apt-get install -y postgresql-98-postgis-3"):
        find_pg_install(roots=[tmp_path], use_path=False)


def test_no_server_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEMAP_PG_BINDIR", raising=False)
    with pytest.raises(ClusterError, match="ONEMAP_DATABASE_URL"):
        find_pg_install(roots=[tmp_path], use_path=False)


def test_real_install_found() -> None:
    install = find_pg_install()
    assert install.major >= 13 and (install.bindir / "initdb").exists()


async def test_unreachable_database_names_the_fix() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatabaseUnavailable, match="onemap db start"):
        await connect(f"postgresql://onemap@127.0.0.1:{port}/onemap", timeout_s=3)
