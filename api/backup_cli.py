"""``onemap backup setup | run | list | restore | verify | schedule``: pgBackRest for the private cluster."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
from pathlib import Path
from typing import Annotated

import typer

from api.settings import load_settings
from backup.archiving import setup
from backup.compare import Comparison, compare
from backup.errors import BackupError
from backup.pgbackrest import BackupSite
from backup.restore import restore
from backup.runs import BackupType, archive_status, list_backups, run_backup
from backup.schedule import crontab, systemd_units
from backup.settings import BackupSettings
from backup.verify import verify
from layers.db import cluster_for, resolve_database_url
from layers.errors import LayerError

backup_app = typer.Typer(help="Backups: WAL archiving, full/incremental backups to a local and an encrypted "
                              "remote repository, point-in-time restore into a new cluster, verification.",
                         no_args_is_help=True)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _site() -> BackupSite:
    db = load_settings().db
    cluster = cluster_for(db)
    if cluster is None:
        _fail("ONEMAP_DATABASE_URL points at a server One Map does not manage; configure pgBackRest on "
              "that server's host (docs/SCALING.md, backups)")
        raise AssertionError  # unreachable
    return BackupSite.for_cluster(cluster, BackupSettings(), db.var_dir)


def parse_moment(text: str) -> dt.datetime:
    """``2026-12-01 10:00+08`` (ISO 8601 / RFC 3339 with a UTC offset or Z) → an aware datetime."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not a date and time: {text!r} (e.g. '2026-12-01 10:00+08')") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give a UTC offset, e.g. '2026-12-01 10:00+08', so the moment is unambiguous")
    return moment


@backup_app.command("setup")
def backup_setup() -> None:
    """Write pgbackrest.conf, turn on WAL archiving (restarts the cluster once), create the stanza."""
    site = _site()
    try:
        if site.cluster.status() != "running":
            _fail("the private cluster is not running; run `onemap db start` first")
        result = setup(site)
    except (BackupError, LayerError) as exc:
        _fail(str(exc))
        return
    for name, value in result.changed.items():
        typer.echo(f"set {name} = {value}")
    typer.echo("restarted the cluster (archive_mode)" if result.restarted else "no restart needed")
    typer.echo(f"pgBackRest configuration: {site.config_file}")
    typer.echo(f"repo1 (local): {site.repo1}\nrepo2 (remote, aes-256-cbc): {site.remote_path}")
    if site.settings.cipher_pass is None:
        typer.secho(f"repo2's passphrase was generated into {site.dir / 'repo2.pass'}: keep a copy off this "
                    "machine (or set ONEMAP_BACKUP_CIPHER_PASS); without it repo2 cannot be restored",
                    fg=typer.colors.YELLOW)


@backup_app.command("run")
def backup_run(
    kind: Annotated[str, typer.Option("--type", help="full, diff or incr")] = "incr",
    repo: Annotated[list[int] | None, typer.Option("--repo", help="1 (local) or 2 (remote); default both")] = None,
) -> None:
    """Take a backup into both repositories (an incremental with no full yet becomes a full)."""
    if kind not in ("full", "diff", "incr"):
        raise typer.BadParameter("--type is full, diff or incr")
    site = _site()
    kind_t: BackupType = "full" if kind == "full" else "diff" if kind == "diff" else "incr"
    try:
        made = run_backup(site, kind_t, tuple(repo or (1, 2)))
    except BackupError as exc:
        _fail(str(exc))
        return
    for b in made:
        typer.echo(f"repo{b.repo} {b.label} {b.type}: {b.delta_bytes / 1e6:.1f} MB changed, "
                   f"{b.repo_bytes / 1e6:.1f} MB stored, {(b.stop - b.start).total_seconds():.0f} s")


@backup_app.command("list")
def backup_list() -> None:
    """The backups in each repository and the WAL range archived."""
    site = _site()
    try:
        sets = list_backups(site)
        wal = archive_status(site)
    except BackupError as exc:
        _fail(str(exc))
        return
    typer.echo(f"{'repo':5} {'label':34} {'type':5} {'stopped (UTC)':20} {'database':>10} {'stored':>10}")
    for b in sets:
        typer.echo(f"repo{b.repo} {b.label:34} {b.type:5} {b.stop:%Y-%m-%d %H:%M:%S} "
                   f"{b.db_bytes / 1e6:>8.1f}MB {b.repo_bytes / 1e6:>8.1f}MB")
    for repo, span in sorted(wal.items()):
        typer.echo(f"{repo} WAL archive: {span}")


def _print_comparison(comparison: Comparison) -> None:
    for t in comparison.tables:
        if t.live or t.restored:
            typer.echo(f"  {t.table:40} {t.restored:>8} rows"
                       + (f" ({t.current} current features)" if t.table.startswith("data.") else "")
                       + ("  ok" if t.equal else "  DIFFERS"))
    for line in comparison.problems():
        typer.secho(f"  {line}", fg=typer.colors.RED)


@backup_app.command("restore")
def backup_restore(
    target: Annotated[Path, typer.Option("--target", help="New folder for the restored cluster")],
    to: Annotated[str | None, typer.Option("--to", help="Moment to restore to, e.g. '2026-12-01 10:00+08'; "
                                                       "default: the end of the newest backup")] = None,
    repo: Annotated[int | None, typer.Option("--repo", help="1 (local) or 2 (remote); default: the first "
                                                            "that has a fitting backup")] = None,
    check: Annotated[bool, typer.Option("--compare/--no-compare",
                                        help="Compare with the live database as of --to")] = True,
) -> None:
    """Restore into a NEW cluster under --target and start it on a free port; the running one is untouched."""
    moment = parse_moment(to) if to else None
    site = _site()
    try:
        done = restore(site, target.resolve(), to=moment, repo=repo)
    except (BackupError, LayerError) as exc:
        _fail(str(exc))
        return
    typer.echo(f"restored in {done.restore_s:.1f} s, recovered in {done.recovery_s:.1f} s: {done.cluster.url()}")
    if not done.target_reached:
        typer.secho("the WAL archive ends before --to: restored to its end, the newest state that survived",
                    fg=typer.colors.YELLOW)
    typer.echo(f"stop it with: runuser -u postgres -- {done.cluster.install.exe('pg_ctl')} -D {done.cluster.data_dir} "
               "stop" if getpass.getuser() == "root" else
               f"stop it with: {done.cluster.install.exe('pg_ctl')} -D {done.cluster.data_dir} stop")
    if moment is not None and check and site.cluster.status() == "running":
        comparison = asyncio.run(compare(resolve_database_url(load_settings().db), done.cluster.url(), moment))
        typer.echo(f"compared with the live database as of {moment.isoformat()} (transaction time):")
        _print_comparison(comparison)
        if not comparison.equal or comparison.recorded_after:
            _fail("the restore differs from the live database's answer for that moment", code=1)


@backup_app.command("verify")
def backup_verify(
    repo: Annotated[int, typer.Option("--repo", help="Repository to verify; default the remote copy")] = 2,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the restored cluster running")] = False,
) -> None:
    """Restore the newest backup into a temporary cluster and compare it with the live database."""
    site = _site()
    try:
        done = verify(site, resolve_database_url(load_settings().db), repo=repo, keep=keep)
    except (BackupError, LayerError) as exc:
        _fail(str(exc))
        return
    typer.echo(f"repo{repo} {done.backup.label}: restored and started in {done.restore_s:.1f} s, "
               f"compared in {done.compare_s:.1f} s as of {done.backup.start.isoformat()}")
    _print_comparison(done.comparison)
    if done.folder is not None:
        typer.echo(f"kept the restored cluster in {done.folder}")
    if not done.ok:
        _fail("verification failed", code=1)
    typer.echo("verified")


@backup_app.command("schedule")
def backup_schedule(
    print_: Annotated[bool, typer.Option("--print", help="Print the schedule (nothing is installed)")] = True,
    systemd: Annotated[bool, typer.Option("--systemd", help="systemd timers instead of cron lines")] = False,
) -> None:
    """Print cron lines (or systemd timers) for a weekly full, daily incrementals and a weekly verify."""
    if not print_:
        _fail("only --print is offered: install the printed lines yourself")
    site = _site()
    if not site.configured:
        typer.secho("note: run `onemap backup setup` before the first scheduled backup", err=True)
    user = getpass.getuser()
    text = systemd_units(Path.cwd(), user) if systemd else crontab(Path.cwd(), user, site.dir / "log")
    typer.echo(text, nl=False)
