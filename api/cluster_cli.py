"""``onemap cluster``: start, inspect, fail over and stop the local primary/standby/apps/HAProxy topology."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import typer

from api.settings import load_settings
from api.topology import Topology
from layers.errors import LayerError
from layers.replication import promote, standbys

cluster_app = typer.Typer(
    help="A local cluster: PostgreSQL primary + hot standby, N app instances, HAProxy (docs/CLUSTER.md).",
    no_args_is_help=True,
)


def _topology() -> Topology:
    return Topology(load_settings().db.var_dir)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@cluster_app.command("start")
def start(
    instances: Annotated[int, typer.Option(help="App instances behind HAProxy", min=1, max=16)] = 2,
    workers: Annotated[int, typer.Option(help="Worker processes per instance", min=1)] = 2,
    port: Annotated[int, typer.Option(help="HAProxy's port; instances take the next free ones")] = 8000,
    synchronous: Annotated[bool, typer.Option("--synchronous/--asynchronous",
                                              help="Commits wait for the standby (no write lost at failover)")] = False,
) -> None:
    """Start (creating on first use) the primary, the standby, the app instances and HAProxy."""
    try:
        state = _topology().start(instances=instances, workers=workers, port=port, synchronous=synchronous)
    except LayerError as exc:
        _fail(str(exc))
        return
    typer.echo(f"One Map cluster up: http://127.0.0.1:{state.port}/ (HAProxy) → instances on "
               f"{', '.join(map(str, state.app_ports))}")


@cluster_app.command("status")
def status() -> None:
    """Each piece and whether it runs; the standby's replay lag; each instance's readiness."""
    topo = _topology()
    state = topo.state()
    typer.echo(f"primary  {topo.primary.root} ({topo.primary.status()}, port {topo.primary.port})")
    typer.echo(f"standby  {topo.standby.root} ({topo.standby.status()}, port {topo.standby.port})")
    try:
        for row in asyncio.run(_standbys(topo.write_url())):
            typer.echo(f"  streaming to {row['application_name']}: {row['state']}, {row['sync_state']}, "
                       f"lag {row['lag_bytes']} bytes")
    except Exception as exc:  # status must print whatever it can
        typer.echo(f"  primary not reachable: {exc.__class__.__name__}")
    if state is None:
        typer.echo("apps     never started")
        return
    alive = set(topo.running_apps())
    for pid, port in zip(state.app_pids, state.app_ports, strict=True):
        typer.echo(f"app      127.0.0.1:{port} pid {pid} {'running' if pid in alive else 'stopped'}"
                   f"{_ready(port) if pid in alive else ''}")
    typer.echo(f"haproxy  127.0.0.1:{state.port} {_ready(state.port)}")


async def _standbys(url: str) -> list[dict[str, object]]:
    from layers.db import connect

    conn = await connect(url)
    try:
        return await standbys(conn)
    finally:
        await conn.close()


def _ready(port: int) -> str:
    try:
        code = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=3).status_code
    except httpx.HTTPError as exc:
        return f", not answering ({exc.__class__.__name__})"
    return ", ready" if code == 200 else f", not ready ({code})"


@cluster_app.command("promote")
def promote_standby() -> None:
    """Fail over by hand: promote the standby (do it only once the primary is really gone)."""
    try:
        promote(_topology().standby)
    except LayerError as exc:
        _fail(str(exc))
    typer.echo("standby promoted; the app instances reconnect to it by themselves")


@cluster_app.command("stop")
def stop() -> None:
    """Stop HAProxy, the app instances and both databases."""
    done = _topology().stop()
    typer.echo(f"stopped: {', '.join(done)}" if done else "nothing was running")


@cluster_app.command("drill")
def drill(
    synchronous: Annotated[bool, typer.Option("--synchronous/--asynchronous",
                                              help="Drill with a synchronous standby")] = False,
    promote_after: Annotated[float, typer.Option(help="Seconds between the kill and the promotion")] = 0.5,
) -> None:
    """Failover drill on a throwaway primary + standby (not the running cluster): SIGKILL under load, promote."""
    import tempfile
    from pathlib import Path

    from layers.cluster import PrivateCluster
    from layers.failover import run_drill
    from layers.replication import create_standby, enable_replication, set_synchronous

    with tempfile.TemporaryDirectory(prefix="onemap-drill-") as tmp:
        primary = PrivateCluster(Path(tmp) / "primary", throwaway=True)
        standby = PrivateCluster(Path(tmp) / "standby", throwaway=True)
        try:
            primary.init()
            enable_replication(primary)
            primary.start()
            primary.ensure_database()
            standby = create_standby(primary, standby.root)
            set_synchronous(primary, synchronous)
            report = asyncio.run(run_drill(primary, standby, promote_after_s=promote_after))
        except LayerError as exc:
            _fail(str(exc))
            return
        finally:
            standby.destroy()
            primary.destroy()
    typer.echo(f"{'synchronous' if synchronous else 'asynchronous'} standby; primary SIGKILLed, "
               f"promoted {report.promoted_s:.2f} s later")
    typer.echo(f"writes acknowledged {report.acknowledged}, failed {report.failed_writes}; writes back "
               f"{report.write_outage_s or 0:.2f} s after the kill")
    typer.echo(f"reads {report.reads}, failed {report.failed_reads}")
    typer.echo(f"acknowledged writes missing on the new primary: {len(report.lost)}")
