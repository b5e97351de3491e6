"""pgbackrest.conf as written for a cluster, restore-time parsing, and the printed schedule (no server)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from backup.errors import BackupNotConfigured, RestoreFailed
from backup.pgbackrest import BackupSite
from backup.restore import pg_target, restore
from backup.schedule import crontab, systemd_units
from backup.settings import BackupSettings
from layers.cluster import PrivateCluster


def _site(tmp_path: Path, **kw: object) -> BackupSite:
    return BackupSite.for_cluster(PrivateCluster(tmp_path / "pg"), BackupSettings(**kw), tmp_path)  # type: ignore[arg-type]


def test_config_has_two_repos_the_remote_one_encrypted_and_is_private(tmp_path: Path) -> None:
    site = _site(tmp_path, cipher_pass=SecretStr("s3cret-passphrase"), retention_full_remote=7)
    site.write_config()
    text = site.config_file.read_text()
    assert f"repo1-path={tmp_path / 'backup' / 'repo1'}" in text
    assert f"repo2-path={tmp_path / 'backup-remote'}" in text
    assert "repo2-cipher-type=aes-256-cbc" in text and "repo2-cipher-pass=s3cret-passphrase" in text
    assert "repo1-cipher" not in text and "repo2-retention-full=7" in text
    assert f"pg1-path={site.cluster.data_dir}" in text
    assert stat.S_IMODE(site.config_file.stat().st_mode) == 0o600
    assert f"--config={site.config_file} --stanza=onemap archive-push %p" in site.archive_command()


def test_generated_passphrase_is_kept_and_reused(tmp_path: Path) -> None:
    site = _site(tmp_path)
    first = site.cipher_pass()
    assert len(first) >= 40 and site.cipher_pass() == first
    assert stat.S_IMODE((site.dir / "repo2.pass").stat().st_mode) == 0o600


def test_nothing_runs_before_setup(tmp_path: Path) -> None:
    with pytest.raises(BackupNotConfigured):
        _site(tmp_path).refresh()


def test_restore_refuses_a_folder_in_use(tmp_path: Path) -> None:
    site = _site(tmp_path, cipher_pass=SecretStr("x" * 20))
    site.write_config()
    busy = tmp_path / "busy"
    (busy / "data").mkdir(parents=True)
    (busy / "data" / "PG_VERSION").write_text("15\n")
    with pytest.raises(RestoreFailed, match="not empty"):
        restore(site, busy)


def test_target_time_is_sent_in_utc_and_needs_an_offset() -> None:
    at = dt.datetime.fromisoformat("2026-12-01 10:00+08")
    assert pg_target(at) == "2026-12-01 02:00:00.000000+00"
    with pytest.raises(ValueError, match="offset"):
        pg_target(dt.datetime(2026, 12, 1, 10))


def test_schedule_prints_a_weekly_full_daily_incrementals_and_a_verify(tmp_path: Path) -> None:
    cron = crontab(tmp_path, "onemap", tmp_path / "log")
    lines = [ln for ln in cron.splitlines() if ln and not ln.startswith(("#", "SHELL"))]
    assert [ln.split()[:6] for ln in lines] == [
        ["30", "1", "*", "*", "0", "onemap"], ["30", "1", "*", "*", "1-6", "onemap"],
        ["0", "4", "*", "*", "0", "onemap"]]
    assert "backup run --type full" in lines[0] and "backup run --type incr" in lines[1] and "backup verify" in lines[2]
    units = systemd_units(tmp_path, "onemap")
    assert units.count("[Timer]") == 3 and "OnCalendar=Sun *-*-* 01:30:00" in units


def test_pgbackrest_is_not_run_before_setup(tmp_path: Path) -> None:
    with pytest.raises(BackupNotConfigured, match="onemap backup setup"):
        _site(tmp_path).info()
