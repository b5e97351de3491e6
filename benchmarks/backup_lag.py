"""The WAL archive lag, sampled while a write load runs: the RPO of continuous archiving.

Every ``interval`` seconds the sampler notes the server's WAL write position and the end of the
last segment pgBackRest archived. The lag at a sample is how old the oldest write not yet archived
is (the time since the write position passed the archived end) and how many bytes lie beyond it:
what a lost primary disk would lose at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass, field

import asyncpg

SEGMENT_BYTES = 16 * 1024 * 1024  # initdb's default wal_segment_size
_SAMPLE = ("SELECT clock_timestamp() AS t, pg_current_wal_lsn() - '0/0'::pg_lsn AS lsn, last_archived_wal "
           "FROM pg_stat_archiver")


def archived_end(segment: str | None, segment_bytes: int = SEGMENT_BYTES) -> int:
    """The byte position (LSN) where WAL segment file ``segment`` ends; 0 before any archive."""
    if not segment or len(segment) != 24:
        return 0
    log, seg = int(segment[8:16], 16), int(segment[16:24], 16)
    return log * (1 << 32) + (seg + 1) * segment_bytes


@dataclass
class LagSampler:
    """Samples the archive lag on its own connection until stopped."""

    url: str
    interval: float = 0.25
    history: list[tuple[dt.datetime, int]] = field(default_factory=list)
    lag_s: list[float] = field(default_factory=list)
    lag_bytes: list[int] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        """Sample until :meth:`stop`."""
        conn = await asyncpg.connect(self.url)
        try:
            while not self._stop.is_set():
                row = await conn.fetchrow(_SAMPLE)
                assert row is not None
                self._note(row["t"], int(row["lsn"]), archived_end(row["last_archived_wal"]))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.interval)
        finally:
            await conn.close()

    def stop(self) -> None:
        """End sampling after the current sample."""
        self._stop.set()

    def _note(self, t: dt.datetime, lsn: int, archived: int) -> None:
        self.history.append((t, lsn))
        self.lag_bytes.append(max(0, lsn - archived))
        if lsn <= archived:
            self.lag_s.append(0.0)
            return
        # The last moment the write position was still within the archive: writes since are at risk.
        safe = [ts for ts, pos in self.history if pos <= archived]
        since = safe[-1] if safe else self.history[0][0]
        self.lag_s.append((t - since).total_seconds())

    def summary(self) -> dict[str, float]:
        """p50, p95 and max of the lag in seconds and MB, and the WAL rate in MB/s."""
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

        span = (self.history[-1][0] - self.history[0][0]).total_seconds() if len(self.history) > 1 else 0.0
        mb = [b / 1e6 for b in self.lag_bytes]
        return {
            "samples": float(len(self.lag_s)),
            "lag_p50_s": pct(self.lag_s, 0.5), "lag_p95_s": pct(self.lag_s, 0.95),
            "lag_max_s": max(self.lag_s, default=0),
            "lag_p95_mb": pct(mb, 0.95), "lag_max_mb": max(mb, default=0),
            "wal_mb_per_s": (self.history[-1][1] - self.history[0][1]) / 1e6 / span if span else 0.0,
        }
