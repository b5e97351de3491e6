"""A progress bar with rows per second for long imports (stderr, only when asked for)."""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm


class Progress:
    """Thin wrapper so the loader never cares whether a bar is shown."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: tqdm[Any] | None = None
        # Wall seconds spent in each phase, shown or not (the report keeps them).
        self.seconds: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def start(self, total: int | None) -> None:
        """Show the bar (when enabled), out of ``total`` rows if known."""
        if self.enabled and self._bar is None:
            self._bar = tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                             desc="importing", mininterval=0.5)

    def advance(self, rows: int) -> None:
        """Count ``rows`` more rows read."""
        if self._bar is not None:
            self._bar.update(rows)

    def phase(self, text: str) -> None:
        """Announce a step on its own line ("phase: merging"), so people and scripts can follow."""
        now = time.perf_counter()
        if self._current is not None:
            name, since = self._current
            self.seconds[name] = round(self.seconds.get(name, 0.0) + now - since, 3)
        self._current = (text, now)
        if self.enabled:
            if self._bar is not None:
                self._bar.clear()
            print(f"phase: {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Take the bar down (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
