"""The ``onemap`` command: serve, db, demo, import, token/user administration."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from api.accounts_cli import add_account_commands, checked_password, checked_roles
from api.audit_cli import audit_app, record
from api.backup_cli import backup_app
from api.cluster_cli import cluster_app
from api.feed.cli import subscription_app
from api.settings import Settings, load_settings
from api.tiles.cli import tiles_app
from layers.cluster import port_is_free
from layers.db import cluster_for, connect, redact_url, resolve_database_url
from layers.errors import ClusterError, LayerError
from spatial.errors import SpatialError

app = typer.Typer(help="One Map 一张图 — Changsha spatio-temporal information platform.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: private cluster, migrations, sample data.", no_args_is_help=True)
token_app = typer.Typer(help="API keys for other systems.", no_args_is_help=True)
user_app = typer.Typer(help="Sign-in accounts for people.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(tiles_app, name="tiles")
app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")
app.add_typer(subscription_app, name="subscription")  # webhooks of the change feed (api/feed/cli.py)
app.add_typer(cluster_app, name="cluster")  # primary + standby + apps + HAProxy (api/cluster_cli.py)
add_account_commands(token_app, user_app)

T = TypeVar("T")


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    except (LayerError, SpatialError) as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail raises


def _settings() -> Settings:
    try:
        return load_settings()
    except ValueError as exc:
        _fail(f"bad settings: {exc}")
        raise


def ensure_database(settings: Settings, *, verbose: bool = True) -> str:
    """Make the database usable: private cluster up (if no URL), schema migrated. Returns the URL."""
    from layers.migrate import migrate

    cluster = cluster_for(settings.db)
    if cluster is not None:
        try:
            created = cluster.init()
            if created and verbose:
                typer.echo(f"created private PostgreSQL cluster in {cluster.root}")
            cluster.start()
            cluster.ensure_database()
        except LayerError as exc:
            _fail(str(exc))
    url = _run(lambda: _resolve(settings))
    changed = _run(lambda: migrate(url))
    if verbose:
        typer.echo(f"database {redact_url(url)} is at the newest schema"
                   + (f"; registered/updated {len(changed)} layers" if changed else ""))
    return url


async def _resolve(settings: Settings) -> str:
    url = resolve_database_url(settings.db)
    conn = await connect(url)
    await conn.close()
    return url


@db_app.command("init")
def db_init() -> None:
    """Create (if needed) and start the private cluster, then migrate. Idempotent."""
    ensure_database(_settings())


@db_app.command("start")
def db_start() -> None:
    """Start the private cluster (creating it on first use)."""
    settings = _settings()
    cluster = cluster_for(settings.db)
    if cluster is None:
        typer.echo("ONEMAP_DATABASE_URL is set; there is no private cluster to start")
        return
    try:
        cluster.init()
        cluster.start()
        cluster.ensure_database()
    except LayerError as exc:
        _fail(str(exc))
    typer.echo(f"private cluster running: {cluster.url()}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the private cluster cleanly."""
    cluster = cluster_for(_settings().db)
    if cluster is None:
        typer.echo("ONEMAP_DATABASE_URL is set; One Map does not manage that server")
        return
    try:
        stopped = cluster.stop()
    except ClusterError as exc:
        _fail(str(exc))
        return
    typer.echo("private cluster stopped" if stopped else f"private cluster is {cluster.status()}; nothing to stop")


@db_app.command("status")
def db_status() -> None:
    """Where the database is, whether it runs, its schema revision and layer counts."""
    from layers.migrate import schema_status

    settings = _settings()
    cluster = cluster_for(settings.db)
    if cluster is not None:
        typer.echo(f"private cluster: {cluster.root} ({cluster.status()})")
    try:
        url = asyncio.run(_resolve(settings))
    except LayerError as exc:
        _fail(str(exc), code=1)
        return
    status = _run(lambda: schema_status(url))
    typer.echo(f"database: {redact_url(url)}")
    typer.echo(f"postgis: {status.postgis or 'not installed in this database'}")
    typer.echo(f"schema: {status.current or 'empty'} (newest {status.head})"
               + ("" if status.up_to_date else " — run `onemap db migrate`"))
    if status.current:
        for layer_id, count in _run(lambda: _layer_counts(url)):
            typer.echo(f"  {layer_id:34s} {count:>9}")


async def _layer_counts(url: str) -> list[tuple[str, str]]:
    from layers.reads import layer_counts

    conn = await connect(url)
    try:
        counts = await layer_counts(conn)
    finally:
        await conn.close()
    return [(c.layer_id, "raster" if c.versions is None else f"{c.current} current / {c.versions} versions")
            for c in counts]


@db_app.command("migrate")
def db_migrate() -> None:
    """Upgrade the schema and register built-in layers."""
    ensure_database(_settings())


@db_app.command("load-sample")
def db_load_sample() -> None:
    """Load the sample Changsha city (real data plus labelled sample data). Idempotent."""
    settings = _settings()
    url = ensure_database(settings)
    _load_sample(settings, url)


def _load_sample(settings: Settings, url: str) -> None:
    from sample.loader import load_sample

    started = time.monotonic()
    report = _run(lambda: load_sample(url, data_dir=settings.api.data_dir, progress=True))
    if report.skipped:
        typer.echo("sample city already loaded; nothing to do")
        return
    typer.echo(f"sample city loaded in {time.monotonic() - started:.1f} s:")
    for layer_id, (current, versions) in sorted(report.counts.items()):
        typer.echo(f"  {layer_id:34s} {current:>7} current {versions:>8} versions")


@db_app.command("reset-cluster")
def db_reset_cluster(yes: Annotated[bool, typer.Option("--yes", help="Really delete it")] = False) -> None:
    """Delete the private cluster (all its data) so the next command starts fresh."""
    cluster = cluster_for(_settings().db)
    if cluster is None:
        _fail("ONEMAP_DATABASE_URL is set; One Map will not delete a server it does not own")
        return
    if not yes:
        _fail(f"this deletes {cluster.root} and every layer in it; add --yes to confirm", code=1)
    cluster.destroy()
    typer.echo(f"deleted {cluster.root}")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (for psql, QGIS or ogr2ogr)."""
    typer.echo(_run(lambda: _resolve(_settings())))


def _check_port(host: str, port: int) -> None:
    if not port_is_free(port, host if host not in ("0.0.0.0", "") else "127.0.0.1"):
        _fail(f"port {port} on {host} is already in use; stop the other process or choose --port")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default ONEMAP_WORKERS, 2)", min=1)] = None,
) -> None:
    """Serve the API and the web map (database must be initialised)."""
    settings = _settings()
    _serve(settings, host=host, port=port, workers=workers)


def _serve(settings: Settings, *, host: str | None, port: int | None, workers: int | None) -> None:
    import uvicorn

    from api.serving import AtomicResponseProtocol

    host = host or settings.api.host
    port = port or settings.api.port
    workers = workers or settings.api.workers
    _check_port(host, port)
    _run(lambda: _resolve(settings))
    if settings.db.database_url is None:
        # Workers resolve the private cluster themselves; pass the URL so they need not.
        os.environ["ONEMAP_DATABASE_URL"] = _run(lambda: _resolve(settings))
    # Made once here, before the workers start, so they all read the same dev key.
    settings.api.signing_key(settings.db.var_dir)
    # With workers > 1 uvicorn's supervisor runs them and starts a new one when one dies
    # (uvicorn >= 0.30; pinned in pyproject). One worker runs in this process, unsupervised.
    # AtomicResponseProtocol: a response's head and body leave in one write, so an instance that dies
    # mid-response sends nothing rather than headers alone (api/serving.py).
    uvicorn.run("api.asgi:app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.api.log_level, proxy_headers=True, access_log=False,
                http=AtomicResponseProtocol)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port")] = None,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading")] = True,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default ONEMAP_WORKERS, 2)", min=1)] = None,
) -> None:
    """Set up the database, load the sample city, and serve it."""
    settings = _settings()
    url = ensure_database(settings)
    _load_sample(settings, url)
    if not serve_after:
        return
    h = host or settings.api.host
    p = port or settings.api.port
    base = settings.api.public_url or f"http://{'127.0.0.1' if h in ('0.0.0.0', '') else h}:{p}"
    typer.secho("\nOne Map is starting. Open:", bold=True)
    for path, what in [("/map", "web map for planners (一张图)"), ("/", "OGC API landing page"),
                       ("/collections", "collections"), ("/api-docs", "interactive API docs")]:
        typer.echo(f"  {base}{path:<14} {what}")
    typer.echo("Stop with Ctrl-C; stop the database with `onemap db stop`.\n")
    _serve(settings, host=host, port=port, workers=workers)


@app.command("import", context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
             add_help_option=False)
def import_(ctx: typer.Context) -> None:
    """Run a batch import job: onemap import <job> [options] (see `onemap import --help`)."""
    runner = importlib.import_module("import.cli")
    code: int = runner.main(list(ctx.args))
    raise typer.Exit(code)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="System name, e.g. traffic-platform")],
    role: Annotated[list[str], typer.Option(help="viewer, editor or admin (repeatable)")] = ["viewer"],  # noqa: B006
    grant: Annotated[list[str], typer.Option(help="Layer id or pattern, e.g. 'pipeline_*'")] = [],  # noqa: B006
    label: Annotated[str | None, typer.Option(help="What the key is for")] = None,
) -> None:
    """Create an API key for another system and print it (shown once)."""
    from layers.principals import create_principal, issue_api_key

    settings = _settings()
    url = _run(lambda: _resolve(settings))

    async def go() -> str:
        conn = await connect(url)
        try:
            pid = await create_principal(conn, name=name, kind="system", roles=_split(role), grants=_split(grant))
            key = await issue_api_key(conn, principal_id=pid, label=label)
            await record(conn, "admin.key_created", detail={"principal": name, "key": key.split("_")[1],
                                                            "roles": _split(role), "grants": _split(grant)})
            return key
        finally:
            await conn.close()

    typer.echo(_run(go))


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Option(help="Sign-in name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    role: Annotated[list[str], typer.Option(help="viewer, editor, admin, or a 数字城管 role: inspector, operator, "
                                                "supervisor, dispatcher, handler, leader")] = ["viewer"],  # noqa: B006
    grant: Annotated[list[str], typer.Option(help="Layer id or pattern")] = [],  # noqa: B006
    display_name: Annotated[str | None, typer.Option(help="Name shown in the map")] = None,
    department: Annotated[str | None, typer.Option(help="A handler's 处置部门 code (onemap cases departments)")] = None,
) -> None:
    """Create or update a person's sign-in account (the password must pass the policy)."""
    from layers.principals import create_principal

    checked_password(name, password)
    checked_roles(_split(role), department)
    settings = _settings()
    url = _run(lambda: _resolve(settings))

    async def go() -> int:
        conn = await connect(url)
        try:
            pid = await create_principal(conn, name=name, kind="user", roles=_split(role), grants=_split(grant),
                                         password=password, display_name=display_name, department=department)
            await record(conn, "admin.user_saved", detail={"principal": name, "roles": _split(role),
                                                           "grants": _split(grant), "department": department})
            return pid
        finally:
            await conn.close()

    _run(go)
    typer.echo(f"user {name} saved")


def main(argv: list[str] | None = None) -> Any:
    """Run the ``onemap`` command line with ``argv`` (default: the process arguments)."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    return app()


if __name__ == "__main__":
    main()
