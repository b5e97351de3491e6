"""The app's shutdown: every step is bounded, and one that hangs or fails does not stop the rest."""

from __future__ import annotations

import asyncio
import time

import pytest

import api.app
from api.app import create_app
from api.settings import ApiSettings, Settings
from layers.settings import DatabaseSettings


class _StuckFeed:
    """A case feed whose stop never returns (as on a database that went away mid-goodbye)."""

    async def stop(self) -> None:
        await asyncio.Event().wait()


class _BrokenFeed:
    async def stop(self) -> None:
        raise RuntimeError("the feed's connection is gone")


@pytest.mark.parametrize("feed", [_StuckFeed(), _BrokenFeed()], ids=["hangs", "fails"])
async def test_a_stuck_or_failing_step_does_not_stop_the_rest(
    module_db_url: str, monkeypatch: pytest.MonkeyPatch, feed: object,
) -> None:
    monkeypatch.setattr(api.app, "SHUTDOWN_STEP_S", 0.5)
    app = create_app(Settings(db=DatabaseSettings(database_url=module_db_url), api=ApiSettings(env="test")))
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        assert app.state.feed_worker is not None  # the change feed's worker runs
        app.state.case_feed = feed
        started = time.monotonic()
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"shutdown took {elapsed:.1f} s"
    # The steps after the stuck one ran: the change feed's worker stopped, the pool closed.
    assert getattr(app.state, "feed_worker", None) is None
    with pytest.raises(Exception, match="clos"):
        async with ctx.pool.acquire():
            pass
