"""A private PostgreSQL cluster under ``var/`` (or a temp folder for tests).

Used when ``ONEMAP_DATABASE_URL`` is unset: ``initdb`` once, ``pg_ctl start`` on a
free loopback port, trust auth on 127.0.0.1 only. PostgreSQL refuses to run as
root, so when we are root the server runs as the ``postgres`` system account.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from layers.errors import ClusterError, PostgisMissing

DEFAULT_PORT = 55432
SUPERUSER = "onemap"
DATABASE = "onemap"

_TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass(frozen=True, slots=True)
class PgInstall:
    """A PostgreSQL server installation with PostGIS available."""

    bindir: Path
    major: int

    def exe(self, name: str) -> str:
        """Path of the PostgreSQL program ``name`` in this installation."""
        return str(self.bindir / name)


def postgis_install_hint(major: int | None = None) -> str:
    """The Debian command that installs PostGIS for PostgreSQL ``major`` (newest installed if None)."""
    ver = str(major) if major else "$(ls /usr/lib/postgresql | sort -n | tail -1)"
    return f"apt-get install -y postgresql-{ver}-postgis-3"


def find_pg_install(
    *, roots: Sequence[Path] = (Path("/usr/lib/postgresql"),), use_path: bool = True
) -> PgInstall:
    """Find the newest local PostgreSQL server whose share folder has PostGIS.

    ``ONEMAP_PG_BINDIR`` overrides the search. Debian keeps servers under
    ``<root>/<major>/bin`` and extensions under ``/usr/share/postgresql/<major>/extension``.
    """
    override = os.environ.get("ONEMAP_PG_BINDIR")
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
    for root in roots:
        candidates += sorted(
            (p / "bin" for p in root.glob("*") if p.name.isdigit()),
            key=lambda p: int(p.parent.name),
            reverse=True,
        )
    which = shutil.which("pg_ctl") if use_path else None
    if which:
        candidates.append(Path(which).resolve().parent)
    found_server: PgInstall | None = None
    for bindir in candidates:
        if not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
            continue
        major = _server_major(bindir)
        install = PgInstall(bindir=bindir, major=major)
        found_server = found_server or install
        if _has_postgis(bindir, major):
            return install
    if found_server is None:
        raise ClusterError(
            "No PostgreSQL server binaries found (initdb/pg_ctl). Install them with "
            "`apt-get install -y postgresql postgis` (as root), or set ONEMAP_DATABASE_URL "
            "to an existing PostGIS server."
        )
    raise PostgisMissing(
        f"PostgreSQL {found_server.major} is installed but PostGIS is not. Install it with "
        f"`{postgis_install_hint(found_server.major)}` (as root)."
    )


def _server_major(bindir: Path) -> int:
    out = subprocess.run(
        [str(bindir / "pg_ctl"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def _has_postgis(bindir: Path, major: int) -> bool:
    sharedirs = [Path(f"/usr/share/postgresql/{major}/extension")]
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        share = subprocess.run(
            [str(pg_config), "--sharedir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if share:
            sharedirs.insert(0, Path(share) / "extension")
    return any((d / "postgis.control").exists() for d in sharedirs)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP socket can bind ``host``:``port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host``:``port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def find_free_port(start: int = DEFAULT_PORT, attempts: int = 200) -> int:
    """The first free TCP port on 127.0.0.1 from ``start``.

    Raises:
        ClusterError: none of ``attempts`` ports is free.
    """
    for port in range(start, start + attempts):
        if port_is_free(port):
            return port
    raise ClusterError(f"no free TCP port on 127.0.0.1 between {start} and {start + attempts}")


class PrivateCluster:
    """One PostgreSQL cluster owned by One Map, rooted at ``root``.

    Layout: ``root/data`` (PGDATA), ``root/run`` (socket), ``root/log/postgres.log``,
    ``root/state.json`` (port and superuser).
    """

    def __init__(self, root: Path, *, throwaway: bool = False) -> None:
        self.root = root.resolve()
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log_file = self.root / "log" / "postgres.log"
        self.state_file = self.root / "state.json"
        self.throwaway = throwaway
        self._install: PgInstall | None = None

    # -- state -----------------------------------------------------------------
    @property
    def install(self) -> PgInstall:
        """The PostgreSQL installation this cluster runs on (found once, then cached)."""
        if self._install is None:
            self._install = find_pg_install()
        return self._install

    def _state(self) -> dict[str, object]:
        if not self.state_file.exists():
            return {}
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def port(self) -> int:
        """The TCP port the cluster listens on, as recorded in its state file."""
        value = self._state().get("port", DEFAULT_PORT)
        return int(value) if isinstance(value, int | str) else DEFAULT_PORT

    def url(self, database: str = DATABASE) -> str:
        """Connection URL of ``database`` in this cluster, as its superuser over 127.0.0.1."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def status(self) -> str:
        """``absent``, ``half-initialised``, ``stopped`` or ``running``."""
        if not self.data_dir.exists() or not any(self.data_dir.iterdir()):
            return "absent"
        if not (self.data_dir / "PG_VERSION").exists() or not (self.data_dir / "postgresql.conf").exists():
            return "half-initialised"
        if not self.state_file.exists():
            return "half-initialised"
        result = self._pg_ctl(["status", "-D", str(self.data_dir)], check=False)
        return "running" if result.returncode == 0 else "stopped"

    # -- privilege handling ----------------------------------------------------
    def _run_as(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterError(
                "PostgreSQL will not run as root and there is no 'postgres' system account. "
                "Run One Map as an ordinary user, or install the postgresql package, which creates it."
            ) from None
        return ["runuser", "-u", "postgres", "--"]

    def _chown_for_server(self, *paths: Path) -> None:
        if os.geteuid() != 0:
            return
        entry = pwd.getpwnam("postgres")
        for path in paths:
            for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
                os.chown(p, entry.pw_uid, entry.pw_gid)
        # The server must be able to walk down to root/.
        for parent in self.root.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
            if parent == Path("/"):
                break

    def _pg_ctl(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [*self._run_as(), self.install.exe("pg_ctl"), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise ClusterError(f"pg_ctl {args[0]} failed: {(result.stderr or result.stdout).strip()[-800:]}")
        return result

    # -- lifecycle ---------------------------------------------------------------
    def init(self, *, port: int | None = None) -> bool:
        """Create the cluster if absent, on ``port`` (default: the first free one from 55432).

        Returns True when it was created now.
        """
        state = self.status()
        if state == "half-initialised":
            raise ClusterError(
                f"{self.data_dir} is half-initialised (an earlier initdb was interrupted). "
                f"Remove it with `onemap db reset-cluster` (or `rm -rf {self.root}`) and run again."
            )
        if state != "absent":
            return False
        for d in (self.data_dir, self.socket_dir, self.log_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._chown_for_server(self.root)
        cmd = [
            *self._run_as(),
            self.install.exe("initdb"),
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise ClusterError(f"initdb failed: {(result.stderr or result.stdout).strip()[-800:]}")
        self._write_conf()
        # Throwaway clusters (tests, often several sessions or xdist workers at once) start their
        # search at a per-process offset, so two of them rarely probe the same port first.
        start = DEFAULT_PORT + 100 + os.getpid() % 800 if self.throwaway else DEFAULT_PORT
        self._save_state(port=port or find_free_port(start))
        return True

    def _write_conf(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "120",
            "shared_buffers": "'512MB'",
            "work_mem": "'32MB'",
            "maintenance_work_mem": "'512MB'",
            "effective_cache_size": "'8GB'",
            "random_page_cost": "1.1",
            "jit": "off",
            "max_wal_size": "'4GB'",
            "logging_collector": "off",
            "timezone": "'Asia/Shanghai'",
        }
        if self.throwaway:
            settings.update(_TEST_SETTINGS)
        conf = self.data_dir / "postgresql.auto.conf"
        lines = ["# Written by One Map (layers/cluster.py)"] + [f"{k} = {v}" for k, v in settings.items()]
        conf.write_text("\n".join(lines) + "\n")
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self._chown_for_server(conf, hba)

    def _save_state(self, *, port: int) -> None:
        self.state_file.write_text(json.dumps({"port": port, "superuser": SUPERUSER}))

    def start(self, *, timeout_s: float = 60.0) -> None:
        """Start the server, moving to another free port if ours is taken."""
        state = self.status()
        if state == "running":
            return
        if state != "stopped":
            raise ClusterError(f"cannot start the private cluster: it is {state}; run `onemap db init`")
        port = self.port
        if not port_is_free(port):
            new_port = find_free_port(port + 1)
            self._save_state(port=new_port)
            port = new_port
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._chown_for_server(self.log_file.parent, self.socket_dir)
        for _ in range(5):
            self._pg_ctl(
                [
                    "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                    "-o", f"-p {port}", "-w", "-t", str(int(timeout_s)),
                ],
                check=False,
            )
            if self.status() == "running" or port_is_free(port):
                break
            # Another process bound the port between our check and the server's bind: move on.
            port = find_free_port(port + 1)
            self._save_state(port=port)
        if self.status() != "running":
            tail = self.log_file.read_text(errors="replace")[-1500:] if self.log_file.exists() else ""
            raise ClusterError(f"PostgreSQL did not start; the end of {self.log_file} says:\n{tail}")
        self._wait_ready(port, timeout_s)

    def _wait_ready(self, port: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if port_accepts(port):
                return
            time.sleep(0.1)
        raise ClusterError(f"PostgreSQL did not accept connections on 127.0.0.1:{port}")

    def stop(self, *, mode: str = "fast") -> bool:
        """Stop the server cleanly. Returns False when it was not running."""
        if self.status() != "running":
            return False
        self._pg_ctl(["stop", "-D", str(self.data_dir), "-m", mode, "-w"])
        return True

    def restart(self, *, mode: str = "fast", timeout_s: float = 60.0) -> None:
        """``pg_ctl restart``: sessions are ended (``fast``: AdminShutdown) and the server comes back.

        The server keeps the port it was started with (pg_ctl reuses ``postmaster.opts``); ``-l``
        is given again so the server's output never goes to our pipe, which would never close.
        """
        self._pg_ctl(
            ["restart", "-D", str(self.data_dir), "-m", mode, "-l", str(self.log_file), "-w",
             "-t", str(int(timeout_s))]
        )
        self._wait_ready(self.port, timeout_s)

    def ensure_database(self, name: str = DATABASE) -> None:
        """Create ``name`` if it does not exist (uses psql from the same install)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ClusterError(f"refusing database name {name!r}")
        psql = [
            *self._run_as(), self.install.exe("psql"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", SUPERUSER, "-d", "postgres", "-tAc",
        ]
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],  # noqa: S608 - name checked above
            capture_output=True, text=True, check=False,
        )
        if exists.returncode != 0:
            raise ClusterError(f"cannot query the private cluster: {exists.stderr.strip()}")
        if exists.stdout.strip() != "1":
            created = subprocess.run(
                [*psql, f'CREATE DATABASE "{name}"'], capture_output=True, text=True, check=False
            )
            if created.returncode != 0:
                raise ClusterError(f"cannot create database {name}: {created.stderr.strip()}")

    def destroy(self) -> None:
        """Stop (immediately) and delete the whole cluster folder."""
        if self.status() == "running":
            self._pg_ctl(["stop", "-D", str(self.data_dir), "-m", "immediate", "-w"], check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def private_cluster(var_dir: Path) -> PrivateCluster:
    """The private cluster that lives in ``var_dir``/pg (not created until :meth:`PrivateCluster.init`)."""
    return PrivateCluster(var_dir / "pg")
